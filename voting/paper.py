"""Paper ballots: two staff members type each paper ballot independently. When the second
typing matches the first, the ballot joins the log with channel "paper" and the roll marks the
person as having voted on paper; a mismatch is flagged for review. Once joined, the person's
hash and the choices are erased from the typings, so nothing links the person to the ballot."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import record_action
from app.errors import DomainError
from app.i18n import N_
from voting.ballots import canonical_choices, cast_ballot
from voting.models import PaperEntry, Round
from voting.roll import eligible_entry, person_hash
from voting.rounds import Phase, phase_of
from voting.tally.board import Channel


class PaperStatus(StrEnum):
    """The state of one typing of a paper slip; a typing's outcome is its state after it."""

    PENDING = "pending"
    JOINED = "joined"
    FLAGGED = "flagged"
    DISCARDED = "discarded"


# What each state of a typing means, as staff read it in the table of typings.
PAPER_STATUSES = {
    PaperStatus.PENDING: N_("Waiting for the second typing"),
    PaperStatus.JOINED: N_("The typings match: counted"),
    PaperStatus.FLAGGED: N_("The typings differ: flagged for review"),
    PaperStatus.DISCARDED: N_("Set aside"),
}


async def enter_paper_ballot(
    session: AsyncSession,
    round_: Round,
    key: str,
    slip: str,
    identifier: str,
    birth_date: dt.date,
    choices: dict[int, int],
    today: dt.date,
    staff,
) -> PaperStatus:
    """Record one typing; returns PENDING (waiting for the second), JOINED or FLAGGED."""
    if phase_of(round_) != Phase.VOTING:
        raise DomainError(N_("Voting is not open in this round."))
    entry = await eligible_entry(session, round_, key, identifier, birth_date, today)
    earlier = list(
        await session.scalars(
            select(PaperEntry)
            .where(
                PaperEntry.round_id == round_.id,
                PaperEntry.slip == slip,
                PaperEntry.status != PaperStatus.DISCARDED,
            )
            .with_for_update()
        )
    )
    if any(e.status == PaperStatus.FLAGGED for e in earlier):
        raise DomainError(N_("This slip is flagged for review: the two typings differed."))
    if any(e.status == PaperStatus.JOINED for e in earlier):
        raise DomainError(N_("This slip has already been counted."))
    typed = canonical_choices(choices)
    mine = PaperEntry(
        round_id=round_.id,
        slip=slip,
        person_hash=person_hash(key, identifier),
        choices=typed,
        entered_by=staff.id,
        status=PaperStatus.PENDING,
    )
    if not earlier:
        session.add(mine)
        await record_action(session, staff, "paper.first_entry", f"round {round_.slug} slip {slip}")
        await session.commit()
        return PaperStatus.PENDING
    first = earlier[0]
    if first.entered_by == staff.id:
        raise DomainError(N_("Another staff member must type the second copy of this slip."))
    session.add(mine)
    if first.person_hash != mine.person_hash or first.choices != typed:
        first.status = mine.status = PaperStatus.FLAGGED
        await record_action(session, staff, "paper.mismatch", f"round {round_.slug} slip {slip}")
        await session.commit()
        return PaperStatus.FLAGGED
    # The same person, the same choices, typed by two people: the ballot joins the log (the
    # cast commits), and the typings keep only the slip number.
    for typing in (first, mine):
        typing.status, typing.person_hash, typing.choices = PaperStatus.JOINED, None, None
    await record_action(session, staff, "paper.joined", f"round {round_.slug} slip {slip}")
    await cast_ballot(session, round_, entry.id, Channel.PAPER, choices, entry.area_id)
    return PaperStatus.JOINED


async def discard_flagged(session: AsyncSession, round_: Round, slip: str, staff) -> None:
    """After review, both differing typings are set aside so the slip can be typed again."""
    flagged = list(
        await session.scalars(
            select(PaperEntry).where(
                PaperEntry.round_id == round_.id,
                PaperEntry.slip == slip,
                PaperEntry.status == PaperStatus.FLAGGED,
            )
        )
    )
    if not flagged:
        raise DomainError(N_("This slip has no flagged typings."))
    for typing in flagged:
        typing.status, typing.person_hash, typing.choices = PaperStatus.DISCARDED, None, None
    await record_action(session, staff, "paper.discard", f"round {round_.slug} slip {slip}")
    await session.commit()


async def paper_entries(session: AsyncSession, round_id: int) -> list[PaperEntry]:
    return list(
        await session.scalars(
            select(PaperEntry)
            .where(PaperEntry.round_id == round_id)
            .order_by(PaperEntry.id.desc())
            .limit(200)
        )
    )


@dataclass(frozen=True)
class FlaggedSlip:
    round: Round
    slip: str
    typings: int
    since: dt.datetime


async def flagged_slips(
    session: AsyncSession, page: int = 1, per_page: int = 20
) -> tuple[list[FlaggedSlip], int]:
    """Paper slips whose two typings differed, across rounds, oldest first: (one page, total)."""
    grouped = (
        select(
            PaperEntry.round_id,
            PaperEntry.slip,
            func.count().label("typings"),
            func.min(PaperEntry.created_at).label("since"),
        )
        .where(PaperEntry.status == PaperStatus.FLAGGED)
        .group_by(PaperEntry.round_id, PaperEntry.slip)
        .subquery()
    )
    total = await session.scalar(select(func.count()).select_from(grouped)) or 0
    rows = await session.execute(
        select(Round, grouped.c.slip, grouped.c.typings, grouped.c.since)
        .join(grouped, grouped.c.round_id == Round.id)
        .order_by(grouped.c.since, grouped.c.round_id, grouped.c.slip)
        .offset((max(page, 1) - 1) * per_page)
        .limit(per_page)
    )
    return [FlaggedSlip(r, slip, n, since) for r, slip, n, since in rows.all()], total
