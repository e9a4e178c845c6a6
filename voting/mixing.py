"""The mixer and the one writer of the ballot log.

Casting marks the roll and stores the ballot in `pb_pending` in one transaction, so those two
rows share the casting transaction's id (PostgreSQL's xmin) and the roll row's physical place
follows the order of casting. Nothing of that transaction reaches the log: the mixer, in a
transaction of its own, takes a random selection of a district's pending ballots, shuffles it
(secrets.SystemRandom), and moves it into `pb_ballot` and the log in that order. Every ballot
and log row of a batch carries the mixer's transaction id, was written in the shuffled order and
has no time; a voted roll row leads at best to "some batch after my vote", whose at least k
entries are equally likely.

A district's ballots are moved once at least 2k are pending, and k are left behind, so the
batch taken at the close (everything left, `final=True`) is never smaller than k either (unless
fewer than k people of that district voted at all). k is `TORI_MIX_BATCH` (at least 20 in
production).

The roll rows are not touched again by the mixer ("re-stamped"). The mixer cannot know which
roll rows belong to the ballots it moves (nothing links them), so it could only re-stamp every
roll row voted since the previous mix; that would give them the transaction id of the batch
the mix wrote (a join that links them to a set of entries that contains only some of their
ballots), and it adds no secrecy: the order of casts within the interval between two mixes
tells nothing about the batch, because each pending ballot is equally likely to be taken.

Every worker may run the mixer: a PostgreSQL advisory lock (per round) lets one at a time in.
On SQLite the mixer's first statement writes, which takes the database's write lock.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.database import utcnow
from voting.models import Ballot, LogEntry, LogHead, PendingBallot, Round
from voting.tally.board import chain_hash, entry_body, entry_text, tracker_of

log = logging.getLogger(__name__)

DEFAULT_BATCH = 20
# The first key of the advisory lock (the second is the round's id): "tori" as an int4.
LOCK_CLASS = 0x746F7269
# After the close, the lazily called final mix waits this long for casts that began before
# the close and have not committed yet.
CLOSE_GRACE_SECONDS = 10
CHUNK = 5000

_random = secrets.SystemRandom()


@dataclass(frozen=True)
class LogBallot:
    """A ballot to append: its random id, district and canonical choices (proposal id as a
    string -> points). `tracker`, when given, must be the tracker of the entry's body."""

    id: str
    area_id: int | None
    choices: dict[str, int]
    tracker: str | None = None


class BallotLog:
    """The one place that forms log entries and appends them (the mixer and the pabulib
    import both go through `append`)."""

    @staticmethod
    async def append(session: AsyncSession, round_: Round, ballots: Sequence[LogBallot]) -> int:
        """Store the ballots in `pb_ballot` and append their entries to the round's log in the
        given order, in the caller's transaction. The lock on the log's head makes appends
        queue, so the log stays one chain. Returns the new length of the log."""
        head = await session.scalar(
            select(LogHead)
            .where(LogHead.round_id == round_.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        seq, previous, before = head.count, head.head_hash, head.head_hash
        ballot_rows, entry_rows = [], []
        for ballot in ballots:
            body = entry_body(round_.slug, ballot.area_id, ballot.id, ballot.choices)
            tracker = tracker_of(body)
            if ballot.tracker is not None and ballot.tracker != tracker:
                raise ValueError(f"ballot {ballot.id}: its tracker does not match its contents")
            seq += 1
            text = entry_text(body, seq)
            before, previous = previous, chain_hash(previous, text)
            ballot_rows.append(
                {
                    "id": ballot.id,
                    "round_id": round_.id,
                    "area_id": ballot.area_id,
                    "choices": ballot.choices,
                }
            )
            entry_rows.append(
                {
                    "round_id": round_.id,
                    "seq": seq,
                    "entry": text,
                    "hash": previous,
                    "tracker": tracker,
                }
            )
        for start in range(0, len(ballot_rows), CHUNK):
            await session.execute(insert(Ballot), ballot_rows[start : start + CHUNK])
            await session.execute(insert(LogEntry), entry_rows[start : start + CHUNK])
        head.count, head.prev_hash, head.head_hash = seq, before, previous
        await session.flush()
        return seq


async def _locked(session: AsyncSession, round_id: int, *, wait: bool) -> bool:
    """Take the round's mixing lock for this transaction (PostgreSQL); False when another
    worker holds it and `wait` is off. On SQLite a first write takes the database's lock."""
    if session.bind.dialect.name == "postgresql":
        function = func.pg_advisory_xact_lock if wait else func.pg_try_advisory_xact_lock
        got = await session.scalar(select(function(LOCK_CLASS, round_id)))
        return got is None or bool(got)
    await session.execute(
        update(LogHead).where(LogHead.round_id == round_id).values(count=LogHead.count)
    )
    return True


def voting_closed(round_: Round, grace_seconds: float = 0) -> bool:
    import datetime as dt  # noqa: PLC0415

    return utcnow() >= round_.voting_close_at + dt.timedelta(seconds=grace_seconds)


async def mix_round(
    session: AsyncSession,
    round_: Round,
    final: bool = False,
    *,
    k: int = DEFAULT_BATCH,
    wait: bool = True,
) -> int:
    """One mix of a round, committed in its own transaction: per district, when at least 2k
    ballots are pending, a random selection leaving k pending joins the log in a shuffled
    order; with `final` (only once voting has closed) every pending ballot does. Returns how
    many ballots joined. With `wait` off it gives up at once when another worker is mixing."""
    if k < 1:
        raise ValueError("k must be at least 1")
    if final and not voting_closed(round_):
        raise ValueError("the final mix is for rounds whose voting has closed")
    round_id, slug = round_.id, round_.slug
    if session.in_transaction():
        await session.commit()
    try:
        # Nothing to write: end the transaction with a commit (it only read), which unlike a
        # rollback leaves the caller's loaded objects usable.
        if not await _locked(session, round_id, wait=wait):
            await session.commit()
            return 0
        waiting = dict(
            (
                await session.execute(
                    select(PendingBallot.area_id, func.count())
                    .where(PendingBallot.round_id == round_id)
                    .group_by(PendingBallot.area_id)
                )
            ).all()
        )
        areas = [area for area, n in waiting.items() if final or n >= 2 * k]
        if not areas:
            await session.commit()
            return 0
        _random.shuffle(areas)
        batch: list[LogBallot] = []
        for area in areas:
            rows = (
                await session.execute(
                    select(
                        PendingBallot.id,
                        PendingBallot.area_id,
                        PendingBallot.choices,
                        PendingBallot.tracker,
                    ).where(
                        PendingBallot.round_id == round_id,
                        PendingBallot.area_id.is_(None)
                        if area is None
                        else PendingBallot.area_id == area,
                    )
                )
            ).all()
            chosen = list(rows) if final else _random.sample(list(rows), len(rows) - k)
            _random.shuffle(chosen)
            batch += [LogBallot(r.id, r.area_id, dict(r.choices), r.tracker) for r in chosen]
        ids = [ballot.id for ballot in batch]
        for start in range(0, len(ids), CHUNK):
            await session.execute(
                delete(PendingBallot)
                .where(PendingBallot.id.in_(ids[start : start + CHUNK]))
                .execution_options(synchronize_session=False)
            )
        await BallotLog.append(session, RoundRef(round_id, slug), batch)
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return len(batch)


@dataclass(frozen=True)
class RoundRef:
    """What the log writer needs of a round (the caller's object may be detached)."""

    id: int
    slug: str


async def pending_count(session: AsyncSession, round_id: int) -> int:
    return await session.scalar(
        select(func.count()).select_from(PendingBallot).where(PendingBallot.round_id == round_id)
    )


async def flush_if_closed(session: AsyncSession, round_: Round) -> int:
    """The final mix of a round whose voting has closed (a little while ago) and that still
    has pending ballots: called lazily by the log and receipt pages and by publication."""
    if not voting_closed(round_, CLOSE_GRACE_SECONDS) or not await pending_count(
        session, round_.id
    ):
        return 0
    return await mix_round(session, round_, final=True)


class MixScheduler:
    """Per process: after a cast, a mix attempt in the background, never blocking the voter.
    The request's background task only starts (or asks again of) one detached task per process,
    so the response and its keep-alive connection are free at once. That task mixes while casts
    keep asking; another worker's mix makes it give up at once (try-lock)."""

    def __init__(self, k: int = DEFAULT_BATCH, interval: float = 0.2) -> None:
        self.k, self.interval = k, interval
        self._wanted: dict[int, RoundRef] = {}
        self._task: asyncio.Task | None = None

    async def after_cast(self, database: Any, round_: RoundRef) -> None:
        """`round_` is a RoundRef made while handling the request (a loaded Round is expired
        once the request's session has ended)."""
        self._wanted[round_.id] = RoundRef(round_.id, round_.slug)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(database))

    async def idle(self) -> None:
        """Wait until no mix attempt of this process is running (tests, shutdown). Polls, as
        the caller may run in another event loop (a test client runs the app in its own)."""
        while self._task is not None and not self._task.done():  # noqa: ASYNC110 - another loop
            await asyncio.sleep(0.01)

    async def _run(self, database: Any) -> None:
        while self._wanted:
            _, ref = self._wanted.popitem()
            try:
                async with database.sessionmaker() as session:
                    await mix_round(session, ref, k=self.k, wait=False)
            except Exception:
                # The ballots stay pending and safe; the next cast or `tori mix` retries.
                log.exception("mixing round %s failed", ref.slug)
            if self._wanted:
                # Under load, at most one attempt per interval per process: the casts meanwhile
                # only make the next batch larger.
                await asyncio.sleep(self.interval)
