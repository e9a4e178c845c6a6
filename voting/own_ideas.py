"""A resident's own idea: editing it or withdrawing it while ideas are collected.

Only the idea's author may, only during the ideas phase, and only while the idea waits for
review (not once staff have accepted, rejected or merged it, nor after the moderators hid it).
Every earlier text is kept as a numbered version (`pb_proposal_version`, the same history
staff edits write to), which staff see. Under pre-moderation an edited public idea waits for a
check again, since its new text has not been read. A withdrawn idea leaves every public list
and the staff's review; its author still sees it, marked withdrawn. None of this is a staff
action, so the staff audit log records none of it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.database import utcnow
from app.errors import DomainError, NotFoundError
from app.i18n import N_
from voting.models import Proposal, ProposalVersion, Resident, Round
from voting.moderation import NO_SUCH_PROPOSAL, Moderation, add_version, locked_proposal
from voting.rounds import Phase, ProposalStatus, lock_round, phase_of

NOT_IN_IDEAS_PHASE = N_("Ideas can be changed or withdrawn only while ideas are collected.")
NOT_WAITING = N_("This idea has been reviewed already: it can no longer be changed or withdrawn.")
HIDDEN = N_("The moderators have hidden this idea: it can no longer be changed.")
# An author's edits of one idea in an hour: every edit keeps the earlier text as a version and
# (under pre-moderation) sends the idea back to the moderators.
EDITS_PER_HOUR = 20


class EditsThrottledError(DomainError):
    status_code = 429


@dataclass(frozen=True)
class IdeaText:
    """A resident's new text for their idea, in the one language they write in."""

    language: str
    title: str
    description: str


def may_change(proposal: Proposal, resident: Resident | None, round_: Round) -> bool:
    """Whether the page offers the author to edit or withdraw the idea (the service checks
    the same again under a lock)."""
    is_author = resident is not None and proposal.author_id == resident.id
    return is_author and refusal_of(proposal, round_) is None


def refusal_of(proposal: Proposal, round_: Round) -> str | None:
    """Why the author can no longer change or withdraw the idea (a msgid), or None."""
    if phase_of(round_) != Phase.IDEAS:
        return NOT_IN_IDEAS_PHASE
    if proposal.status != ProposalStatus.SUBMITTED:
        return NOT_WAITING
    if proposal.moderation == Moderation.HIDDEN:
        return HIDDEN
    return None


async def _checked(session: AsyncSession, proposal: Proposal, resident: Resident) -> Proposal:
    """The idea as committed now, with its round's and its own row locked, or a DomainError.
    Someone else's idea is answered as if it did not exist (nothing tells them whether it
    does)."""
    proposal_id = inspect(proposal).identity[0]
    round_id = await session.scalar(select(Proposal.round_id).where(Proposal.id == proposal_id))
    if round_id is None:
        raise NotFoundError(NO_SUCH_PROPOSAL)
    round_ = await lock_round(session, round_id)
    proposal = await locked_proposal(session, proposal_id)
    if proposal.author_id != resident.id:
        await session.rollback()
        raise NotFoundError(NO_SUCH_PROPOSAL)
    if refusal := refusal_of(proposal, round_):
        await session.rollback()
        raise DomainError(refusal)
    return proposal


async def edit_own_idea(
    session: AsyncSession,
    proposal: Proposal,
    resident: Resident,
    text: IdeaText,
    *,
    premoderation: bool = True,
) -> Proposal:
    """The author's new title and description; the earlier ones are kept as a version."""
    proposal = await _checked(session, proposal, resident)
    recent = await session.scalar(
        select(func.count())
        .select_from(ProposalVersion)
        .where(
            ProposalVersion.proposal_id == proposal.id,
            ProposalVersion.by_author.is_(True),
            ProposalVersion.replaced_at > utcnow() - dt.timedelta(hours=1),
        )
    )
    if recent >= EDITS_PER_HOUR:
        await session.rollback()
        raise EditsThrottledError(
            N_(
                "You have changed this idea many times in a short time. Please try again in an hour."
            )
        )
    title, description = {text.language: text.title}, {text.language: text.description}
    if title == proposal.title and description == proposal.description:
        await session.rollback()
        raise DomainError(N_("The text is unchanged."))
    await add_version(session, proposal, by_author=True)
    proposal.title, proposal.description = title, description
    proposal.language = text.language
    if premoderation and proposal.moderation == Moderation.PUBLISHED:
        # Nobody has read the new text yet.
        proposal.moderation = Moderation.PENDING
    await session.commit()
    return proposal


async def withdraw_own_idea(session: AsyncSession, proposal: Proposal, resident: Resident) -> None:
    """The author takes the idea back: it leaves the lists and the review for good."""
    proposal = await _checked(session, proposal, resident)
    proposal.status = ProposalStatus.WITHDRAWN
    await session.commit()
