"""The ballot log in the database: its public head and checkpoints, receipts, publication of the
results (which freezes the round and signs the bulletin board), and the audit of it all."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy import func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import AuditRecord, audit_head, record_action
from app.database import utcnow
from app.errors import DomainError
from app.i18n import N_, localized
from app.off_loop import in_worker_process
from voting import board_keys, published
from voting.mixing import mix_round, pending_count
from voting.models import (
    Ballot,
    Checkpoint,
    LogEntry,
    LogHead,
    PaperEntry,
    PendingBallot,
    Proposal,
    Publication,
    RollEntry,
    Round,
    SigningKey,
)
from voting.notifications import Kind, Notifier, notify_author
from voting.participation import participation
from voting.rounds import board_changes, iso_utc, round_changes
from voting.tally.board import (
    FORMAT,
    GENESIS,
    BoardChecker,
    Verdict,
    check_board,
    entry_body,
    entry_line,
    head_line,
    roll_line,
    round_line,
    signature_line,
    staff_audit_line,
    tally_line,
    tracker_of,
)
from voting.tally.definition import area_name

CHECKPOINT_SECONDS = 60


class PublicationError(DomainError):
    status_code = 409


async def head_of(session: AsyncSession, round_id: int) -> LogHead:
    return await session.get(LogHead, round_id, populate_existing=True)


async def record_checkpoint(session: AsyncSession, round_id: int, *, force: bool = False) -> None:
    """Keep the current head, at most once a minute (and whenever `force`)."""
    head = await head_of(session, round_id)
    last = await session.scalar(
        select(Checkpoint)
        .where(Checkpoint.round_id == round_id)
        .order_by(Checkpoint.id.desc())
        .limit(1)
    )
    if last is not None and last.count == head.count:
        return
    if (
        not force
        and last is not None
        and utcnow() - last.recorded_at < dt.timedelta(seconds=CHECKPOINT_SECONDS)
    ):
        return
    session.add(Checkpoint(round_id=round_id, count=head.count, head_hash=head.head_hash))
    await session.commit()


async def checkpoints(session: AsyncSession, round_id: int) -> list[Checkpoint]:
    return list(
        await session.scalars(
            select(Checkpoint).where(Checkpoint.round_id == round_id).order_by(Checkpoint.id)
        )
    )


@dataclass
class ReceiptCheck:
    found: bool
    seq: int | None = None
    # After publication: the ballot's choices as (proposal, points).
    choices: list[tuple[Proposal | None, int]] | None = None
    # Received, waiting for the mixer: it joins the public log with the next batch.
    pending: bool = False


async def check_receipt(session: AsyncSession, round_: Round, receipt: str) -> ReceiptCheck:
    """Where the ballot with this tracker (the receipt) is: in the log (with its entry's
    number, and after publication its choices), pending, or nowhere."""

    entry = await session.scalar(
        select(LogEntry).where(LogEntry.round_id == round_.id, LogEntry.tracker == receipt)
    )
    if entry is None:
        pending = await session.scalar(
            select(PendingBallot.id).where(
                PendingBallot.round_id == round_.id, PendingBallot.tracker == receipt
            )
        )
        return ReceiptCheck(found=False, pending=pending is not None)
    if round_.published_at is None:
        return ReceiptCheck(found=True, seq=entry.seq)
    selections = json.loads(entry.entry)["selections"]
    proposals = {
        str(p.id): p
        for p in await session.scalars(select(Proposal).where(Proposal.round_id == round_.id))
    }
    return ReceiptCheck(
        found=True,
        seq=entry.seq,
        choices=[(proposals.get(pid), points) for pid, points in selections.items()],
    )


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


async def definition_of(session: AsyncSession, round_: Round) -> dict:
    """The round line of the board: everything the ballots and the count depend on."""
    proposals = await session.scalars(
        select(Proposal)
        .where(Proposal.round_id == round_.id, Proposal.status == "accepted")
        .order_by(Proposal.id)
    )
    return {
        "format": FORMAT,
        "round": round_.slug,
        "title": round_.title,
        "ballot_rule": round_.ballot_rule,
        "max_choices": round_.max_choices,
        "points_total": round_.points_total,
        "points_per_proposal": round_.points_per_proposal,
        "official_rule": round_.official_rule,
        "budgets": [
            {
                "area": b.area_id,
                "name": localized(b.area.name, "fi") if b.area else None,
                "amount": b.amount,
                # The limits only where the city set them (a board without keeps its bytes).
                **({"min_choices": b.min_choices} if b.min_choices is not None else {}),
                **({"max_choices": b.max_choices} if b.max_choices is not None else {}),
            }
            for b in sorted(round_.budgets, key=lambda b: (b.area_id is None, b.area_id or 0))
        ],
        "projects": [
            {"id": p.id, "area": p.area_id, "cost": p.cost, "title": p.title} for p in proposals
        ],
        # The voting period as it ended, and every change of it made after voting opened
        # (closing early, extending), with its public reason.
        "voting_open_at": iso_utc(round_.voting_open_at),
        "voting_close_at": iso_utc(round_.voting_close_at),
        "changes": board_changes(await round_changes(session, round_.id)),
    }


def _area_order(area: int | None) -> tuple[bool, int]:
    return (area is None, area or 0)


async def roll_summary(session: AsyncSession, round_: Round) -> list[dict]:
    """The roll line: marks per area (the voter's district; None for voters with none) and
    per channel, for every district with a budget and every area with marks. A round
    imported from a pabulib file has no roll of its own: its ballots count as paper marks."""
    if round_.source == "pabulib":
        rows = await session.execute(
            select(Ballot.area_id, literal("paper"), func.count())
            .where(Ballot.round_id == round_.id)
            .group_by(Ballot.area_id)
        )
    else:
        rows = await session.execute(
            select(RollEntry.area_id, RollEntry.voted_via, func.count())
            .where(RollEntry.round_id == round_.id, RollEntry.voted_via.is_not(None))
            .group_by(RollEntry.area_id, RollEntry.voted_via)
        )
    areas = {
        b.area_id: {"area": b.area_id, "marks": 0, "online": 0, "assisted": 0, "paper": 0}
        for b in round_.budgets
        if b.area_id is not None
    }
    for area, channel, count in rows:
        row = areas.setdefault(
            area, {"area": area, "marks": 0, "online": 0, "assisted": 0, "paper": 0}
        )
        row["marks"] += count
        # A channel other than the three is counted as a mark only: the roll line then no
        # longer adds up, and the checks say so.
        if channel in ("online", "assisted", "paper"):
            row[channel] += count
    return [areas[area] for area in sorted(areas, key=_area_order)]


async def stream_entries(
    session: AsyncSession, round_id: int
) -> AsyncIterator[tuple[int, str, str]]:
    result = await session.stream(
        select(LogEntry.seq, LogEntry.entry, LogEntry.hash)
        .where(LogEntry.round_id == round_id)
        .order_by(LogEntry.seq)
        .execution_options(yield_per=5000)
    )
    async for row in result:
        yield row[0], row[1], row[2]


def _check_publishable(round_: Round) -> None:
    if round_.published_at is not None:
        raise PublicationError(N_("The results of this round have been published already."))
    if utcnow() < round_.voting_close_at:
        raise PublicationError(N_("The results can be published only after voting has closed."))


async def _locked(session: AsyncSession, round_id: int) -> Round:
    """The round, re-read under a row lock: concurrent publications wait here, one at a time."""
    return await session.scalar(
        select(Round)
        .where(Round.id == round_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def flagged_slips(session: AsyncSession, round_id: int) -> list[str]:
    return list(
        await session.scalars(
            select(PaperEntry.slip)
            .where(PaperEntry.round_id == round_id, PaperEntry.status == "flagged")
            .distinct()
            .order_by(PaperEntry.slip)
        )
    )


async def publish(
    session: AsyncSession, round_: Round, seed: bytes, actor, notifier: Notifier | None = None
) -> Publication:
    """Count the log, sign the bulletin board, freeze the round and store what is published, in
    one transaction, with the notices to the authors of the selected ideas. Only after voting
    has closed, with no paper slip flagged, and only once."""
    _check_publishable(round_)
    # Every pending ballot joins the log first: the mixer's last batch, in its own transaction,
    # before the round is locked (the mix commits, which would end the lock).
    await mix_round(session, round_, final=True)
    round_ = await _locked(session, round_.id)
    _check_publishable(round_)
    flagged = await flagged_slips(session, round_.id)
    if flagged:
        raise PublicationError(
            N_(
                "Paper slips flagged for review: %(slips)s. Resolve them on the paper ballots "
                "page before publishing."
            ),
            slips=", ".join(flagged),
        )
    if await pending_count(session, round_.id):
        # A ballot cast in the last instant before the close that the final mix did not see.
        raise PublicationError(N_("Ballots are still joining the log. Try again in a minute."))
    head = await head_of(session, round_.id)
    data, log = await published.snapshot_log(session, round_)
    definition = await definition_of(session, round_)
    # Every rule for every budget, counted once, and the board's tally, the verifier's own
    # recount (every rule), in a process of their own (a thread would hold the interpreter
    # lock that the event loop needs).
    results, exports, tally = await in_worker_process(
        published.count_for_publication, data, definition, log
    )
    await fix_board_facts(session, round_, seed)
    digest = await _digest(session, round_, definition, tally)
    round_.published_tally = tally
    round_.published_count, round_.published_head = head.count, head.head_hash
    round_.board_signature = board_keys.sign(seed, digest)
    round_.published_at = utcnow()
    session.add(Checkpoint(round_id=round_.id, count=head.count, head_hash=head.head_hash))
    signed = b"".join([line async for line in board(session, round_, seed)])
    # The board must pass the standalone verifier's own check before anything is published: a
    # ballot that breaks the round's rules (over the budget, say, written past `cast_ballot`'s
    # check straight into the tables) or a roll that does not add up is refused here, not found
    # by an auditor after the city has announced the result. Nothing is stored or recorded.
    problems = await in_worker_process(board_problems, signed)
    if problems:
        await session.rollback()
        raise PublicationError(
            N_(
                "The bulletin board does not pass the verifier's check, so nothing was "
                "published: %(problem)s"
            ),
            problem=problems[0],
        )
    # Who took part, from the roll as it stands at the close (retention deletes it later).
    results["participation"] = await participation(session, round_)
    stored = Publication(
        round_id=round_.id,
        version=1,
        published_at=round_.published_at,
        published_by=getattr(actor, "email", None) or "system",
        count=head.count,
        head=head.head_hash,
        key_id=published.key_id(board_keys.public_key_text(seed)),
        digest=hashlib.sha256(signed).hexdigest(),
        board=signed,
        results=results,
        exports=exports,
    )
    session.add(stored)
    await tell_selected(session, notifier, round_, results)
    await record_action(
        session,
        actor,
        "round.publish",
        f"round {round_.slug}",
        None,
        {"count": head.count, "head": head.head_hash, "tally": tally, "board": stored.digest},
    )
    await session.commit()
    return stored


async def tell_selected(
    session: AsyncSession, notifier: Notifier | None, round_: Round, results: dict
) -> None:
    """The authors of the ideas the official rule selected, in any budget, are told."""
    official = results["official_rule"]
    selected = sorted({p for budget in results["budgets"] for p in budget["selected"][official]})
    if not selected or notifier is None:
        return
    for proposal in await session.scalars(
        select(Proposal).where(Proposal.id.in_(selected)).order_by(Proposal.id)
    ):
        await notify_author(
            session,
            notifier,
            proposal,
            Kind.RESULTS,
            round_,
            results=f"{notifier.site}/pb/{round_.slug}/results",
        )


def board_problems(board_bytes: bytes) -> list[str]:
    """What `tori-verify` would find wrong with a board just made (its signature checked
    against the key written in it: the key in hand made it a moment ago). Run in a worker
    process: a large board takes seconds."""
    return check_board(board_bytes.splitlines(keepends=True)).problems


async def fix_board_facts(session: AsyncSession, round_: Round, seed: bytes) -> None:
    """At publication: keep what the board holds besides the log and the definition (the roll
    summary, the staff audit log's head) and the key that signs it (kept for good)."""
    round_.published_roll = await roll_summary(session, round_)
    round_.published_staff_audit = list(await audit_head(session))
    round_.board_key_id = (await keep_signing_key(session, seed)).key_id


async def keep_signing_key(session: AsyncSession, seed: bytes) -> SigningKey:
    """The current key's row, added the first time it signs; its last use is now."""
    key = await session.get(SigningKey, board_keys.key_id(seed))
    now = utcnow()
    if key is None:
        key = SigningKey(
            key_id=board_keys.key_id(seed),
            public_key=board_keys.public_key_text(seed),
            first_used_at=now,
            last_used_at=now,
        )
        session.add(key)
    else:
        key.last_used_at = now
    return key


@dataclass
class PublishedKey:
    key_id: str
    public_key: str
    fingerprint: str
    first_used_at: dt.datetime | None
    last_used_at: dt.datetime | None
    current: bool


async def signing_keys(session: AsyncSession, seed: bytes) -> list[PublishedKey]:
    """Every key that has signed a board (oldest first) and the current one, which may not
    have signed anything yet."""
    current = board_keys.key_id(seed)
    keys = [
        PublishedKey(
            k.key_id,
            k.public_key,
            board_keys.fingerprint(k.public_key),
            k.first_used_at,
            k.last_used_at,
            k.key_id == current,
        )
        for k in await session.scalars(
            select(SigningKey).order_by(SigningKey.first_used_at, SigningKey.key_id)
        )
    ]
    if not any(k.current for k in keys):
        public = board_keys.public_key_text(seed)
        keys.append(PublishedKey(current, public, board_keys.fingerprint(public), None, None, True))
    return keys


async def _digest(session: AsyncSession, round_: Round, definition: dict, tally: list) -> bytes:
    import hashlib  # noqa: PLC0415

    digest = hashlib.sha256()
    async for line in _board_body(session, round_, definition, tally):
        digest.update(line)
    return digest.digest()


async def _board_body(session, round_, definition, tally) -> AsyncIterator[bytes]:
    """The board's lines before the signature, entries streamed from the database."""
    yield round_line(definition)
    yield roll_line(round_.published_roll)
    count, head = 0, GENESIS
    async for seq, text, hashed in stream_entries(session, round_.id):
        yield entry_line(seq, text, hashed)
        count, head = seq, hashed
    yield head_line(count, head)
    yield tally_line(tally)
    yield staff_audit_line(*round_.published_staff_audit)


async def _public_key_of(session: AsyncSession, round_: Round, seed: bytes) -> str:
    """The key that signed the round's board; the current one for boards signed before keys
    were kept."""
    key = await session.get(SigningKey, round_.board_key_id) if round_.board_key_id else None
    return key.public_key if key else board_keys.public_key_text(seed)


async def board(session: AsyncSession, round_: Round, seed: bytes) -> AsyncIterator[bytes]:
    """The published bulletin board, line by line, as it stands in the database now."""
    definition = await definition_of(session, round_)
    async for line in _board_body(session, round_, definition, round_.published_tally):
        yield line
    yield signature_line(await _public_key_of(session, round_, seed), round_.board_signature)


@dataclass
class Audit:
    """What the audit page and `tori audit` show: the checks of `tori-verify` on the board as
    the database serves it, and that the database agrees with it (ballots, roll, staff log)."""

    entries: int
    head: str
    problems: list[str]
    published: bool
    signature: str
    key_id: str | None = None

    @property
    def valid(self) -> bool:
        return not self.problems


async def _trusted_keys(session: AsyncSession, seed: bytes):
    keys = {k.key_id: k.public_key for k in await session.scalars(select(SigningKey))}
    keys.setdefault(board_keys.key_id(seed), board_keys.public_key_text(seed))

    def check(key_id: str, _public_key: str, signature: str, digest: bytes) -> str:
        if key_id not in keys:
            return f"signed by key {key_id}, which is not one of this instance's signing keys"
        if not board_keys.verify(keys[key_id], signature, digest):
            return "the signature does not match the board"
        return "valid"

    return check


async def _open_log(session: AsyncSession, round_: Round, roll: list[dict]) -> AsyncIterator[bytes]:
    """An unpublished round's log as board lines, its head line from the log head row."""
    yield round_line(await definition_of(session, round_))
    yield roll_line(roll)
    async for seq, text, hashed in stream_entries(session, round_.id):
        yield entry_line(seq, text, hashed)
    head = await head_of(session, round_.id)
    yield head_line(head.count, head.head_hash)


async def _ballots_problems(session: AsyncSession, round_: Round, verdict: Verdict) -> list[str]:
    """The ballot table holds exactly the log's ballots (one per entry, same area and choices)."""
    trackers = set(verdict.trackers)
    problems, per_area = [], {}
    result = await session.stream(
        select(Ballot.id, Ballot.area_id, Ballot.choices)
        .where(Ballot.round_id == round_.id)
        .execution_options(yield_per=5000)
    )
    extra = 0
    async for ballot_id, area, choices in result:
        per_area[area] = per_area.get(area, 0) + 1
        try:
            body = entry_body(round_.slug, area, ballot_id, choices)
        except (AttributeError, TypeError, ValueError):  # choices that are no ballot at all
            extra += 1
            continue
        if tracker_of(body) not in trackers:
            extra += 1
    for area in sorted(set(per_area) | set(verdict.areas), key=_area_order):
        ballots, entries = per_area.get(area, 0), verdict.areas.get(area, 0)
        if ballots != entries:
            problems.append(f"{area_name(area)}: {ballots} ballots but {entries} log entries")
    if extra and not problems:
        problems.append(f"{extra} ballots differ from their log entries (area or choices)")
    return problems


async def _staff_audit_problems(session: AsyncSession, published: list | None) -> list[str]:
    """The staff audit log still has, at the published length, the head the board names."""
    if not published or not published[0]:
        return []
    count, head = published
    hashed = await session.scalar(select(AuditRecord.hash).where(AuditRecord.seq == count))
    if hashed != head:
        problem = (
            "the staff audit log no longer has the head published in the board at record"
            f" {count} (records were changed or removed)"
        )
        return [problem]
    return []


async def audit_round(session: AsyncSession, round_: Round, seed: bytes) -> Audit:
    """The audit of one round from the database. Published: the board as served, checked line
    by line as `tori-verify` does (by this instance's keys), and the database against it.
    Not published: the log so far checked against the current definition and roll, and
    entries + pending ballots = roll marks, entries = ballots, per area."""
    marks = [(c.count, c.head_hash) for c in await checkpoints(session, round_.id) if c.count]
    if round_.published_at is None:
        roll = await roll_summary(session, round_)
        checker = BoardChecker(checkpoints=marks, log_only=True, keep_trackers=True)
        async for line in _open_log(session, round_, roll):
            if not checker.feed(line):
                break
        verdict = checker.finish()
        problems = list(verdict.problems)
        if not problems:
            # Ballots cast (the roll marked) that wait for the mixer, per area.
            pending = dict(
                (
                    await session.execute(
                        select(PendingBallot.area_id, func.count())
                        .where(PendingBallot.round_id == round_.id)
                        .group_by(PendingBallot.area_id)
                    )
                ).all()
            )
            for row in roll:
                area = row["area"]
                entries = verdict.areas.get(area, 0) + pending.get(area, 0)
                if entries != row["marks"]:
                    problems.append(
                        f"{area_name(area)}: {row['marks']} roll marks but {entries} entries"
                        " and pending ballots"
                    )
            problems += await _ballots_problems(session, round_, verdict)
        return Audit(verdict.entries, verdict.head, problems, False, "not published")
    checker = BoardChecker(
        checkpoints=marks,
        verify_signature=await _trusted_keys(session, seed),
        keep_trackers=True,
    )
    async for line in board(session, round_, seed):
        if not checker.feed(line):
            break
    verdict: Verdict = checker.finish()
    problems = list(verdict.problems)
    if not problems and (
        verdict.entries != round_.published_count or verdict.head != round_.published_head
    ):
        problems.append(
            "the log differs from the one counted at publication (entries or head changed)"
        )
    if not problems:
        problems += await _ballots_problems(session, round_, verdict)
        live = await roll_summary(session, round_)
        kept = await session.scalar(
            select(func.count()).select_from(RollEntry).where(RollEntry.round_id == round_.id)
        )
        # After TORI_KEEP_ROLL_DAYS the roll is deleted; the published summary then stands.
        if (kept or round_.source == "pabulib") and live != round_.published_roll:
            problems.append("the roll's marks differ from those published in the board")
        problems += await _staff_audit_problems(session, round_.published_staff_audit)
    return Audit(verdict.entries, verdict.head, problems, True, verdict.signature, verdict.key_id)
