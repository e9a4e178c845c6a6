"""The ballot log in the database: its public head and checkpoints, receipts, publication of the
results (which freezes the round and signs the bulletin board), and the audit of it all."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import record_action
from app.database import utcnow
from app.errors import DomainError
from app.i18n import N_, localized
from voting import published, signing
from voting.mixing import mix_round, pending_count
from voting.models import (
    Checkpoint,
    LogEntry,
    LogHead,
    PaperEntry,
    PendingBallot,
    Proposal,
    Publication,
    Round,
)
from voting.rounds import board_changes, iso_utc, round_changes
from voting.tally.board import (
    FORMAT,
    BoardChecker,
    Verdict,
    board_lines,
    check_log,
    signature_line,
)

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
    import json  # noqa: PLC0415

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


async def definition_of(session: AsyncSession, round_: Round) -> dict:
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


async def publish(session: AsyncSession, round_: Round, seed: bytes, actor) -> Publication:
    """Count the log, sign the bulletin board, freeze the round and store what is published, in
    one transaction. Only after voting has closed, with no paper slip flagged, and only once."""
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
    data = await published.snapshot(session, round_)
    # Every rule for every budget, counted once, in a worker thread (not on the event loop).
    results, exports = await anyio.to_thread.run_sync(published.count_round, data)
    definition = await definition_of(session, round_)
    tally = published.board_tally(results)
    digest = await _digest(session, round_, definition, tally)
    round_.published_tally = tally
    round_.published_count, round_.published_head = head.count, head.head_hash
    round_.board_signature = signing.sign(seed, digest)
    round_.published_at = utcnow()
    session.add(Checkpoint(round_id=round_.id, count=head.count, head_hash=head.head_hash))
    signed = b"".join([line async for line in board(session, round_, seed)])
    stored = Publication(
        round_id=round_.id,
        version=1,
        published_at=round_.published_at,
        published_by=getattr(actor, "email", None) or "system",
        count=head.count,
        head=head.head_hash,
        key_id=published.key_id(signing.public_key_text(seed)),
        digest=hashlib.sha256(signed).hexdigest(),
        board=signed,
        results=results,
        exports=exports,
    )
    session.add(stored)
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


async def _digest(session: AsyncSession, round_: Round, definition: dict, tally: list) -> bytes:
    import hashlib  # noqa: PLC0415

    digest = hashlib.sha256()
    async for line in _board_body(session, round_, definition, tally):
        digest.update(line)
    return digest.digest()


async def _board_body(session, round_, definition, tally) -> AsyncIterator[bytes]:
    """The board's lines before the signature, entries streamed from the database."""
    entries = [row async for row in stream_entries(session, round_.id)]
    for line in board_lines(definition, entries, tally):
        yield line


async def board(session: AsyncSession, round_: Round, seed: bytes) -> AsyncIterator[bytes]:
    """The published bulletin board, line by line, as it stands in the database now."""
    definition = await definition_of(session, round_)
    async for line in _board_body(session, round_, definition, round_.published_tally):
        yield line
    yield signature_line(signing.public_key_text(seed), round_.board_signature)


@dataclass
class Audit:
    """What the audit page shows: the same checks as `tori-verify`, from the database."""

    entries: int
    head: str
    problems: list[str]
    published: bool
    signature: str

    @property
    def valid(self) -> bool:
        return not self.problems


async def audit_round(session: AsyncSession, round_: Round, seed: bytes) -> Audit:
    marks = [(c.count, c.head_hash) for c in await checkpoints(session, round_.id) if c.count]
    head = await head_of(session, round_.id)
    if round_.published_at is None:
        rows = [row async for row in stream_entries(session, round_.id)]
        count, last, problem = check_log(round_.slug, rows, marks)
        problems = [problem] if problem else []
        if not problems and (count != head.count or last != head.head_hash):
            problems.append(
                f"the log head says {head.count} entries ending {head.head_hash}, the entries end at {count} with {last}"
            )
        return Audit(count, last, problems, False, "not published")
    checker = BoardChecker(checkpoints=marks, verify_signature=signing.verify)
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
    return Audit(verdict.entries, verdict.head, problems, True, verdict.signature)
