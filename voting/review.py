"""Review at the scale of a big city (Helsinki's OmaStadi has about 1,300 ideas a round): the
staff review list with search, filters, sorting and paging; assigning an idea to a department
and a reviewer; internal notes; one decision for many selected ideas at once."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from app.accounts.models import Role, User
from app.audit import record_action
from app.errors import DomainError
from app.i18n import N_
from app.search import IDEAS, matches
from voting.models import Proposal, ProposalNote, ProposalReport, Round
from voting.moderation import Moderation
from voting.notifications import Notifier
from voting.rounds import ProposalStatus, accept_proposal, merge_proposal, reject_proposal

PAGE_SIZE = 50
MAX_SELECTED = PAGE_SIZE
MAX_DEPARTMENT_LENGTH = 120
MAX_NOTE_LENGTH = 4000
SORTS = {
    "newest": N_("Newest first"),
    "oldest": N_("Oldest first"),
    "cost_high": N_("Highest cost first"),
    "cost_low": N_("Lowest cost first"),
}
BULK_ACTIONS = {
    "accept": N_("Accept for the ballot at the estimated cost"),
    "reject": N_("Reject with the reason below"),
    "merge": N_("Merge into the proposal chosen below"),
}
# Filter values that are not ids: the city-wide ideas, nobody assigned, the signed-in reviewer.
CITY_WIDE, NOBODY, ME = "city", "none", "me"


@dataclass(frozen=True)
class ReviewFilters:
    query: str = ""
    status: str | None = None
    area: str | None = None  # an area id, or CITY_WIDE
    channel: str | None = None
    reviewer: str | None = None  # a staff id, NOBODY or ME
    department: str | None = None  # a department name, or NOBODY
    attention: bool = False
    sort: str = "newest"
    page: int = 1


@dataclass(frozen=True)
class ReviewItem:
    proposal: Proposal
    open_reports: int
    reviewer: str | None  # the reviewer's display name


@dataclass(frozen=True)
class ReviewPage:
    items: list[ReviewItem]
    page: int
    pages: int
    total: int


def open_reports_of(proposal_id: Any):
    return (
        select(func.count())
        .where(ProposalReport.proposal_id == proposal_id, ProposalReport.handled_at.is_(None))
        .scalar_subquery()
    )


def needs_attention_condition():
    """Waiting for a moderator's check, or reported by someone and not yet handled."""
    return or_(
        Proposal.moderation == Moderation.PENDING,
        exists().where(
            ProposalReport.proposal_id == Proposal.id, ProposalReport.handled_at.is_(None)
        ),
    )


def _conditions(dialect: str, round_id: int, filters: ReviewFilters, me: int | None) -> list:
    conditions: list = [Proposal.round_id == round_id]
    if filters.query:
        conditions.append(matches(dialect, IDEAS, Proposal.id, filters.query))
    if filters.status:
        conditions.append(Proposal.status == filters.status)
    else:  # an idea its author withdrew is listed only when asked for
        conditions.append(Proposal.status != ProposalStatus.WITHDRAWN)
    if filters.area == CITY_WIDE:
        conditions.append(Proposal.area_id.is_(None))
    elif filters.area:
        conditions.append(Proposal.area_id == int(filters.area))
    if filters.channel:
        conditions.append(Proposal.channel == filters.channel)
    if filters.reviewer == NOBODY:
        conditions.append(Proposal.reviewer_id.is_(None))
    elif filters.reviewer == ME:
        conditions.append(Proposal.reviewer_id == me)
    elif filters.reviewer:
        conditions.append(Proposal.reviewer_id == int(filters.reviewer))
    if filters.department == NOBODY:
        conditions.append(Proposal.department.is_(None))
    elif filters.department:
        conditions.append(Proposal.department == filters.department)
    if filters.attention:
        conditions.append(needs_attention_condition())
    return conditions


def _order(sort: str) -> tuple:
    # Every order ends with the id: a stable order, so that no idea shows on two pages or none.
    if sort == "oldest":
        return (Proposal.created_at, Proposal.id)
    if sort == "cost_high":
        return (func.coalesce(Proposal.final_cost, Proposal.estimated_cost).desc(), Proposal.id)
    if sort == "cost_low":
        return (func.coalesce(Proposal.final_cost, Proposal.estimated_cost), Proposal.id)
    return (Proposal.created_at.desc(), Proposal.id.desc())


async def review_list(
    session: AsyncSession,
    round_id: int,
    filters: ReviewFilters,
    *,
    me: int | None = None,
    per_page: int = PAGE_SIZE,
) -> ReviewPage:
    """One page of a round's ideas as the filters choose them, in a stable order."""
    dialect = session.get_bind().dialect.name
    condition = and_(*_conditions(dialect, round_id, filters, me))
    total = await session.scalar(select(func.count()).select_from(Proposal).where(condition)) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(max(filters.page, 1), pages)
    rows = await session.execute(
        select(Proposal, open_reports_of(Proposal.id), User.display_name)
        # The list shows no description: not read, not decoded (50 JSON documents a page).
        .options(defer(Proposal.description, raiseload=True))
        .outerjoin(User, User.id == Proposal.reviewer_id)
        .where(condition)
        .order_by(*_order(filters.sort))
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    items = [ReviewItem(p, n or 0, name) for p, n, name in rows.all()]
    return ReviewPage(items, page, pages, total)


async def departments_in_use(session: AsyncSession, round_id: int) -> list[str]:
    """The departments ideas of the round are assigned to: the list offered when assigning."""
    return list(
        await session.scalars(
            select(Proposal.department)
            .where(Proposal.round_id == round_id, Proposal.department.is_not(None))
            .distinct()
            .order_by(Proposal.department)
        )
    )


async def possible_reviewers(session: AsyncSession) -> list[User]:
    """Staff accounts that may review ideas: active staff members and administrators."""
    return list(
        await session.scalars(
            select(User)
            .where(User.is_active.is_(True), User.role.in_([Role.STAFF, Role.ADMIN]))
            .order_by(User.display_name, User.id)
        )
    )


async def assign(
    session: AsyncSession,
    proposal: Proposal,
    department: str | None,
    reviewer_id: int | None,
    actor: Any,
) -> None:
    """Assign the idea to a department and a reviewer (either may be left empty); audited."""
    if reviewer_id is not None:
        reviewer = await session.get(User, reviewer_id)
        if reviewer is None or not reviewer.is_active or reviewer.role == Role.AUDITOR:
            raise DomainError(N_("Choose a reviewer from the list."))
    before = {"department": proposal.department, "reviewer": proposal.reviewer_id}
    proposal.department, proposal.reviewer_id = department, reviewer_id
    after = {"department": department, "reviewer": reviewer_id}
    if before != after:
        await record_action(
            session, actor, "proposal.assign", f"proposal {proposal.id}", before, after
        )
    await session.commit()


async def add_note(session: AsyncSession, proposal: Proposal, text: str, actor: Any) -> None:
    """An internal note, staff only. The audit record names the note, not its text: a note may
    hold a resident's details, which the append-only log would keep for ever."""
    note = ProposalNote(proposal_id=proposal.id, author_id=getattr(actor, "id", None), text=text)
    session.add(note)
    await session.flush()
    await record_action(
        session,
        actor,
        "proposal.note",
        f"proposal {proposal.id}",
        None,
        {"note": note.id, "characters": len(text)},
    )
    await session.commit()


@dataclass(frozen=True)
class NoteView:
    note: ProposalNote
    author: str | None


async def notes_of(session: AsyncSession, proposal_id: int) -> list[NoteView]:
    rows = await session.execute(
        select(ProposalNote, User.display_name)
        .outerjoin(User, User.id == ProposalNote.author_id)
        .where(ProposalNote.proposal_id == proposal_id)
        .order_by(ProposalNote.created_at, ProposalNote.id)
    )
    return [NoteView(note, name) for note, name in rows.all()]


@dataclass(frozen=True)
class BulkDecision:
    action: str
    proposal_ids: list[int]
    reason: dict[str, str] | None = None
    merge_into: int | None = None


class BulkReviewError(DomainError):
    """One selected idea could not take the decision, so none did: nothing was stored."""

    def __init__(self, cause: DomainError, title: dict[str, str]) -> None:
        super().__init__(cause.message, **cause.params)
        self.cause, self.title = cause, title


async def bulk_review(
    session: AsyncSession,
    round_: Round,
    decision: BulkDecision,
    actor: Any,
    notifier: Notifier | None = None,
) -> int:
    """The same decision for every selected idea, in one transaction: either every idea takes
    it (each recorded in the audit log and told to its author as if decided alone) or, if one
    cannot, none does."""
    proposals = list(
        await session.scalars(
            select(Proposal)
            .where(Proposal.round_id == round_.id, Proposal.id.in_(decision.proposal_ids))
            .order_by(Proposal.id)
        )
    )
    if not proposals or len(proposals) != len(set(decision.proposal_ids)):
        raise DomainError(N_("Choose ideas of this round from the list."))
    for proposal in proposals:
        title = dict(proposal.title)
        try:
            if decision.action == "accept":
                await accept_proposal(
                    session, proposal, proposal.cost, actor, notifier, commit=False
                )
            elif decision.action == "reject":
                await reject_proposal(
                    session, proposal, decision.reason, actor, notifier, commit=False
                )
            elif decision.action == "merge":
                await merge_proposal(
                    session, proposal, decision.merge_into, actor, notifier, commit=False
                )
            else:
                raise ValueError(decision.action)
        except DomainError as error:
            await session.rollback()
            raise BulkReviewError(error, title) from error
    await session.commit()
    return len(proposals)
