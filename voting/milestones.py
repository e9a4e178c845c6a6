"""Following how the winning proposals are carried out: milestones.

A milestone is a dated step in carrying out a proposal selected by a published round's official
rule: what happened or will happen (in Finnish and Swedish, English optional), how far the work
is in per cent, what it has cost so far and the step's status. Staff add, change and remove
them; each change is checked here, recorded in the staff audit log and committed with it; a new
milestone is news for the idea's author (the "implementation news" notice, voting/notifications.py).

Residents read them on the public pages of a round and of all rounds ("what happened to the
winning proposals") and in the calendar and its feed (`calendar_milestones`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import record_action
from app.database import utcnow
from app.errors import DomainError, NotFoundError
from app.i18n import N_
from voting import pictures, published
from voting.models import Milestone, Proposal, Resident, Round
from voting.notifications import Kind, Notifier, notify_author
from voting.rounds import IMPLEMENTATION_STATUSES, MAX_COST, ImplementationStatus

# A milestone's text in each language; Finnish and Swedish are required, English optional.
MAX_TEXT = 1000
REQUIRED_LANGUAGES = ("fi", "sv")
TEXT_LANGUAGES = ("fi", "sv", "en")
MAX_PROGRESS = 100
FIRST_YEAR, LAST_YEAR = 2000, 2100
STATUSES = IMPLEMENTATION_STATUSES


@dataclass(frozen=True)
class MilestoneDraft:
    """A milestone as staff wrote it; `check` refuses what no form should let through."""

    date: dt.date
    text: dict[str, str]
    progress: int
    status: str
    cost_so_far: int | None = None

    def check(self) -> None:
        if not isinstance(self.date, dt.date) or not FIRST_YEAR <= self.date.year <= LAST_YEAR:
            raise DomainError(N_("Give the milestone's date between the years 2000 and 2100."))
        if any(not (self.text.get(code) or "").strip() for code in REQUIRED_LANGUAGES):
            raise DomainError(N_("Write the milestone in Finnish and in Swedish."))
        if set(self.text) - set(TEXT_LANGUAGES) or any(
            len(text) > MAX_TEXT for text in self.text.values()
        ):
            raise DomainError(N_("A milestone's text is at most 1000 characters in each language."))
        if isinstance(self.progress, bool) or not 0 <= self.progress <= MAX_PROGRESS:
            raise DomainError(N_("Progress is a whole number from 0 to 100 per cent."))
        if self.cost_so_far is not None and not 0 <= self.cost_so_far <= MAX_COST:
            raise DomainError(N_("The cost so far is whole euros from 0 to 100 000 000."))
        if self.status not in set(ImplementationStatus):
            raise DomainError(N_("Choose the milestone's status."))


def snapshot(milestone: Milestone) -> dict:
    """What the staff audit log keeps of a milestone, before and after a change."""
    return {
        "proposal": milestone.proposal_id,
        "date": milestone.date.isoformat(),
        "text": dict(milestone.text),
        "progress": milestone.progress,
        "cost_so_far": milestone.cost_so_far,
        "status": milestone.status,
    }


def target_of(milestone: Milestone) -> str:
    return f"proposal {milestone.proposal_id} milestone {milestone.id}"


async def selected_ids(session: AsyncSession, round_id: int) -> set[int]:
    """The proposals the round's publication in force selected by its official rule."""
    stored = await published.in_force(session, round_id)
    if stored is None:
        return set()
    results = await published.results_of(session, stored)
    official = results["official_rule"]
    return {int(p) for budget in results["budgets"] for p in budget["selected"][official]}


async def may_follow(session: AsyncSession, proposal: Proposal) -> bool:
    """Whether milestones can be kept for the proposal: selected in a published round."""
    return proposal.id in await selected_ids(session, proposal.round_id)


async def _check_followed(session: AsyncSession, proposal: Proposal) -> None:
    if not await may_follow(session, proposal):
        raise DomainError(
            N_("Milestones are kept for the proposals selected in a round's published results.")
        )


async def milestones_of(session: AsyncSession, proposal_id: int) -> list[Milestone]:
    """A proposal's milestones, earliest first."""
    return list(
        await session.scalars(
            select(Milestone)
            .where(Milestone.proposal_id == proposal_id)
            .order_by(Milestone.date, Milestone.id)
        )
    )


async def get_milestone(session: AsyncSession, milestone_id: int, proposal_id: int) -> Milestone:
    milestone = await session.get(Milestone, milestone_id)
    if milestone is None or milestone.proposal_id != proposal_id:
        raise NotFoundError(N_("There is no such milestone."))
    return milestone


def _apply(milestone: Milestone, draft: MilestoneDraft) -> None:
    milestone.date = draft.date
    milestone.text = {code: draft.text[code] for code in TEXT_LANGUAGES if draft.text.get(code)}
    milestone.progress = draft.progress
    milestone.cost_so_far = draft.cost_so_far
    milestone.status = draft.status
    milestone.updated_at = utcnow()


async def add_milestone(
    session: AsyncSession,
    proposal: Proposal,
    draft: MilestoneDraft,
    actor: Any = None,
    notifier: Notifier | None = None,
) -> Milestone:
    """A new milestone of a selected proposal: checked, audited, told to the idea's author (in
    their language, unless they turned implementation news off) and committed together. The
    same milestone sent again (a double click, a form sent twice) is the one already stored:
    nothing is added, recorded or mailed again."""
    draft.check()
    await _check_followed(session, proposal)
    milestone = Milestone(proposal_id=proposal.id, created_at=utcnow())
    _apply(milestone, draft)
    for stored in await milestones_of(session, proposal.id):
        if snapshot(stored) == snapshot(milestone):
            return stored
    session.add(milestone)
    await session.flush()
    round_ = await session.get(Round, proposal.round_id)
    author = await session.get(Resident, proposal.author_id) if proposal.author_id else None
    language = f"?lang={author.language}" if author else ""
    site = notifier.site if notifier else ""
    await notify_author(
        session,
        notifier,
        proposal,
        Kind.IMPLEMENTATION,
        round_,
        follow_link=f"{site}/pb/{round_.slug}/implementation{language}#proposal-{proposal.id}",
        milestone={
            "date": milestone.date.isoformat(),
            "text": dict(milestone.text),
            "progress": milestone.progress,
            "cost_so_far": milestone.cost_so_far,
            "status": STATUSES[ImplementationStatus(milestone.status)],
        },
    )
    await record_action(
        session, actor, "milestone.add", target_of(milestone), None, snapshot(milestone)
    )
    await session.commit()
    return milestone


async def update_milestone(
    session: AsyncSession, milestone: Milestone, draft: MilestoneDraft, actor: Any = None
) -> None:
    """A correction or an update of a milestone: checked, audited with the record before and
    after, committed. A change that changes nothing records nothing."""
    draft.check()
    proposal = await session.get(Proposal, milestone.proposal_id)
    await _check_followed(session, proposal)
    before = snapshot(milestone)
    _apply(milestone, draft)
    if snapshot(milestone) != before:
        await record_action(
            session, actor, "milestone.edit", target_of(milestone), before, snapshot(milestone)
        )
    await session.commit()


async def remove_milestone(
    session: AsyncSession, milestone: Milestone, actor: Any = None, store: Any = None
) -> None:
    """Remove a milestone (e.g. one added by mistake) and its pictures (the files once the
    removal is committed, with `store`); the audit log keeps what it said."""
    await record_action(
        session, actor, "milestone.remove", target_of(milestone), snapshot(milestone), None
    )
    files = await pictures.forget_pictures_of(session, "milestone", [milestone.id])
    await session.delete(milestone)
    await session.commit()
    if store is not None:
        await pictures.delete_files(store, files)


# --- what residents read -----------------------------------------------------------------------


def latest_of(milestones: list[Milestone]) -> Milestone | None:
    """The latest milestone that was not cancelled: how far the work is now."""
    going = [m for m in milestones if m.status != ImplementationStatus.CANCELLED]
    return max(going, key=lambda m: (m.date, m.id)) if going else None


@dataclass
class Followed:
    """One selected proposal as the public page shows it: id, title and cost as published, its
    overall status (set by staff, voting.rounds.set_implementation), its milestones."""

    id: int
    title: dict[str, str]
    cost: int
    language: str | None
    status: str | None
    milestones: list[Milestone] = field(default_factory=list)

    @property
    def latest(self) -> Milestone | None:
        return latest_of(self.milestones)

    @property
    def cost_so_far(self) -> int | None:
        known = [m for m in self.milestones if m.cost_so_far is not None]
        return max(known, key=lambda m: (m.date, m.id)).cost_so_far if known else None


@dataclass
class FollowedBudget:
    area_name: dict[str, str] | None
    proposals: list[Followed]


@dataclass
class FollowedRound:
    round: Round
    budgets: list[FollowedBudget]

    @property
    def count(self) -> int:
        return sum(len(budget.proposals) for budget in self.budgets)


async def followed_round(session: AsyncSession, round_: Round) -> FollowedRound | None:
    """The round's selected proposals per budget, as published, with their milestones; None
    before the results are published."""
    stored = await published.in_force(session, round_.id)
    if stored is None:
        return None
    results = await published.results_of(session, stored)
    official = results["official_rule"]
    budgets = []
    for budget in results["budgets"]:
        rows = [row for row in budget["rows"] if row["chosen"][official]]
        budgets.append(
            FollowedBudget(
                budget["area_name"],
                [Followed(row["id"], row["title"], row["cost"], None, None) for row in rows],
            )
        )
    every = {item.id: item for budget in budgets for item in budget.proposals}
    if every:
        for proposal_id, language, status in await session.execute(
            select(Proposal.id, Proposal.language, Proposal.implementation).where(
                Proposal.id.in_(every)
            )
        ):
            every[proposal_id].language, every[proposal_id].status = language, status
        for milestone in await session.scalars(
            select(Milestone)
            .where(Milestone.proposal_id.in_(every))
            .order_by(Milestone.date, Milestone.id)
        ):
            every[milestone.proposal_id].milestones.append(milestone)
    return FollowedRound(round_, budgets)


async def followed_rounds(session: AsyncSession) -> list[FollowedRound]:
    """Every published round, the latest first, with its selected proposals."""
    found = []
    for round_ in await session.scalars(
        select(Round).where(Round.published_at.is_not(None)).order_by(Round.results_at.desc())
    ):
        followed = await followed_round(session, round_)
        if followed is not None:
            found.append(followed)
    return found


@dataclass(frozen=True)
class CalendarMilestone:
    """A milestone for the calendar and its feed."""

    id: int
    proposal_id: int
    date: dt.date
    text: dict[str, str]
    title: dict[str, str]
    round_slug: str
    area_id: int | None
    updated_at: dt.datetime


async def calendar_milestones(
    session: AsyncSession, start: dt.date, end: dt.date
) -> list[CalendarMilestone]:
    """Milestones dated from `start` up to (not including) `end` of published rounds, except the
    cancelled ones, earliest first."""
    rows = await session.execute(
        select(Milestone, Proposal.title, Proposal.area_id, Round.slug, Round.id)
        .join(Proposal, Proposal.id == Milestone.proposal_id)
        .join(Round, Round.id == Proposal.round_id)
        .where(
            Round.published_at.is_not(None),
            Milestone.date >= start,
            Milestone.date < end,
            Milestone.status != ImplementationStatus.CANCELLED,
        )
        .order_by(Milestone.date, Milestone.id)
    )
    found = []
    selected: dict[int, set[int]] = {}
    for milestone, title, area_id, slug, round_id in rows:
        if round_id not in selected:
            selected[round_id] = await selected_ids(session, round_id)
        if milestone.proposal_id in selected[round_id]:
            found.append(
                CalendarMilestone(
                    milestone.id,
                    milestone.proposal_id,
                    milestone.date,
                    dict(milestone.text),
                    dict(title),
                    slug,
                    area_id,
                    milestone.updated_at,
                )
            )
    return found
