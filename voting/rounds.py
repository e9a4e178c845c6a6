"""Rounds and their phases, budgets, proposals and staff review."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

from sqlalchemy import exists, func, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import record_action
from app.database import utcnow
from app.errors import DomainError, NotFoundError
from app.events.models import Event
from app.i18n import N_, localized
from app.slugs import new_slug
from voting import places
from voting.models import Ballot, Budget, LogHead, Proposal, Resident, RollEntry, Round, RoundChange
from voting.moderation import Moderation, initial_moderation
from voting.notifications import Kind, Notifier, moment, notify_author
from voting.tally.board import GENESIS
from voting.tally.count import Rule
from voting.tally.definition import COUNTED_RULES
from voting.translations import OPENING_REFUSED, translation_gaps


class Phase(StrEnum):
    """Where a round is, from its dates (see `phase_of`)."""

    UPCOMING = "upcoming"
    IDEAS = "ideas"
    REVIEW = "review"
    VOTING = "voting"
    COUNTING = "counting"
    RESULTS = "results"


class BallotRule(StrEnum):
    """What a voter may choose on the ballot."""

    APPROVAL = "approval"
    K_APPROVAL = "k_approval"
    POINTS = "points"
    RANKING = "ranking"


class ProposalStatus(StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    MERGED = "merged"
    # Withdrawn by its author during the ideas phase: in no list and never reviewed.
    WITHDRAWN = "withdrawn"


class ImplementationStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


# The official rule of a round is one of the count's rules (voting.tally.count.Rule).
OfficialRule = Rule

PHASES = tuple(Phase)
PHASE_LABELS = {
    Phase.UPCOMING: N_("Coming up"),
    Phase.IDEAS: N_("Ideas"),
    Phase.REVIEW: N_("Review and costing"),
    Phase.VOTING: N_("Voting"),
    Phase.COUNTING: N_("Counting"),
    Phase.RESULTS: N_("Results and implementation"),
}
BALLOT_RULES = {
    BallotRule.APPROVAL: N_("Choose proposals within the budget"),
    BallotRule.K_APPROVAL: N_("Choose up to a number of proposals"),
    BallotRule.POINTS: N_("Spread points among proposals"),
    BallotRule.RANKING: N_("Rank proposals (counted by Borda points)"),
}
OFFICIAL_RULES = {
    Rule.GREEDY: N_("Most votes first, within the budget"),
    Rule.MES_COST: N_("Method of equal shares (cost), completed by votes"),
    Rule.MES_CARDINALITY: N_("Method of equal shares (number of proposals), completed by votes"),
}
PROPOSAL_STATUSES = {
    ProposalStatus.SUBMITTED: N_("Waiting for review"),
    ProposalStatus.ACCEPTED: N_("On the ballot"),
    ProposalStatus.REJECTED: N_("Not on the ballot"),
    ProposalStatus.MERGED: N_("Merged into another proposal"),
}
# The statuses above are the public ones (the filters of the list); a withdrawn idea is shown
# to its author and staff only.
ALL_STATUSES = {**PROPOSAL_STATUSES, ProposalStatus.WITHDRAWN: N_("Withdrawn by its author")}
IMPLEMENTATION_STATUSES = {
    ImplementationStatus.PLANNED: N_("Planned"),
    ImplementationStatus.IN_PROGRESS: N_("Being carried out"),
    ImplementationStatus.DONE: N_("Done"),
    ImplementationStatus.CANCELLED: N_("Cancelled"),
}
MAX_COST = 100_000_000
MAX_BUDGET = 2_000_000_000


def phase_of(round_: Round, now: dt.datetime | None = None) -> Phase:
    now = now or utcnow()
    if now < round_.ideas_open_at:
        return Phase.UPCOMING
    if now < round_.review_at:
        return Phase.IDEAS
    if now < round_.voting_open_at:
        return Phase.REVIEW
    if now < round_.voting_close_at:
        return Phase.VOTING
    if now < round_.results_at:
        return Phase.COUNTING
    return Phase.RESULTS


def phase_dates(round_: Round) -> list[tuple[str, dt.datetime, dt.datetime | None]]:
    """Each phase with its start and end, for the round page and the calendar."""
    return [
        ("ideas", round_.ideas_open_at, round_.review_at),
        ("review", round_.review_at, round_.voting_open_at),
        ("voting", round_.voting_open_at, round_.voting_close_at),
        ("counting", round_.voting_close_at, round_.results_at),
        ("results", round_.results_at, None),
    ]


@dataclass
class RoundDraft:
    title: dict[str, str]
    description: dict[str, str]
    ideas_open_at: dt.datetime
    review_at: dt.datetime
    voting_open_at: dt.datetime
    voting_close_at: dt.datetime
    results_at: dt.datetime
    min_age: int
    ballot_rule: str
    official_rule: str
    # Area id (None: city-wide) -> amount in euros.
    budgets: dict[int | None, int] = field(default_factory=dict)
    max_choices: int | None = None
    points_total: int | None = None
    points_per_proposal: int | None = None
    # Area id (None: city-wide) -> (least, most) proposals one ballot chooses in that budget;
    # either may be None (no limit); budgets without limits are left out.
    limits: dict[int | None, tuple[int | None, int | None]] = field(default_factory=dict)

    def check(self) -> None:
        order = [
            self.ideas_open_at,
            self.review_at,
            self.voting_open_at,
            self.voting_close_at,
            self.results_at,
        ]
        if any(later < earlier for earlier, later in itertools.pairwise(order)):
            raise DomainError(
                N_("The phases must follow each other: ideas, review, voting, results.")
            )
        if self.voting_close_at <= self.voting_open_at:
            raise DomainError(N_("Voting must close after it opens."))
        if not self.budgets or any(amount <= 0 for amount in self.budgets.values()):
            raise DomainError(N_("Give at least one budget."))
        if self.ballot_rule in ("k_approval", "ranking") and not self.max_choices:
            raise DomainError(N_("Say how many proposals a voter may choose."))
        for least, most in self.limits.values():
            if (least is not None and least < 1) or (most is not None and most < 1):
                raise DomainError(N_("A limit on the number of choices is at least 1."))
            if least is not None and most is not None and least > most:
                raise DomainError(N_("The least number of choices cannot be more than the most."))
        if self.ballot_rule == "points" and not (self.points_total and self.points_per_proposal):
            raise DomainError(N_("Say how many points a voter has and how many per proposal."))


def round_snapshot(round_: Round) -> dict:
    """What the staff audit log keeps of a round, before and after a change."""
    return {
        "title": round_.title,
        "phases": [
            getattr(round_, f"{name}_at").isoformat()
            for name in ("ideas_open", "review", "voting_open", "voting_close", "results")
        ],
        "min_age": round_.min_age,
        "ballot_rule": round_.ballot_rule,
        "max_choices": round_.max_choices,
        "points": [round_.points_total, round_.points_per_proposal],
        "official_rule": round_.official_rule,
        "budgets": {str(b.area_id or "city"): b.amount for b in round_.budgets},
        "limits": {
            str(b.area_id or "city"): [b.min_choices, b.max_choices]
            for b in round_.budgets
            if b.min_choices is not None or b.max_choices is not None
        },
    }


def proposal_snapshot(proposal: Proposal) -> dict:
    return {
        "status": proposal.status,
        "final_cost": proposal.final_cost,
        "reason": proposal.reason,
        "merged_into": proposal.merged_into_id,
        "implementation": proposal.implementation,
        "moderation": proposal.moderation,
    }


def _apply(round_: Round, draft: RoundDraft) -> None:
    for name in (
        "title",
        "description",
        "ideas_open_at",
        "review_at",
        "voting_open_at",
        "voting_close_at",
        "results_at",
        "min_age",
        "ballot_rule",
        "official_rule",
    ):
        setattr(round_, name, getattr(draft, name))
    round_.max_choices = draft.max_choices if draft.ballot_rule in COUNTED_RULES else None
    points = draft.ballot_rule == "points"
    round_.points_total = draft.points_total if points else None
    round_.points_per_proposal = draft.points_per_proposal if points else None


async def create_round(
    session: AsyncSession, draft: RoundDraft, source: str = "tori", actor: Any = None
) -> Round:
    """A new round. With `actor` (a staff member), the staff audit log records it in the same
    transaction; rounds imported or built by commands pass none."""
    draft.check()
    round_ = Round(slug=await new_slug(session, Round), source=source, budgets=[])
    _apply(round_, draft)
    round_.budgets = [
        Budget(area_id=area, amount=amount, **_limits_of(draft, area))
        for area, amount in draft.budgets.items()
    ]
    session.add(round_)
    await session.flush()
    session.add(LogHead(round_id=round_.id, count=0, head_hash=GENESIS, prev_hash=GENESIS))
    await record_action(
        session, actor, "round.create", f"round {round_.slug}", None, round_snapshot(round_)
    )
    await session.commit()
    return round_


# Frozen rules ----------------------------------------------------------------------------------
#
# From the moment voting opens, or the first voter is marked on the roll, what the count depends
# on cannot change: the ballot rule and its limits, the budgets, the proposals on the ballot and
# their costs, the official rule, the minimum age and the voting times (closing early and
# extending are separate, public, recorded actions: `change_voting_close`). After publication the
# title, which the bulletin board carries, is fixed too. Every service below checks this itself,
# under a lock on the round's row, so no form, command or second tab can get around it.

# Rules freeze this long before the opening time. Casting checks the voting window against the
# round as committed, so a change checked a moment before the opening and committed a moment
# after could otherwise meet a ballot cast in between; a minute covers a slow commit and a
# modest difference between the application's and the database's clocks.
FREEZE_AHEAD = dt.timedelta(minutes=1)
FROZEN_BY_VOTING = N_(
    "Voting has opened in this round: its ballot, budgets, rules and voting times can no longer"
    " change."
)
FROZEN_BY_PUBLICATION = N_(
    "The results of this round have been published: nothing they were counted from can change."
)
RULES_FIXED = N_(
    "Voting has opened: the ballot rule, budgets, official rule, minimum age and voting times"
    " can no longer change. An administrator can close voting early or extend it, with a"
    " public reason."
)
BALLOT_FIXED = N_("The ballot is fixed once voting opens.")
WITHDRAWN_NOT_REVIEWED = N_("Its author has withdrawn this idea: it is not reviewed.")


async def votes_cast(session: AsyncSession, round_id: int) -> bool:
    """Whether anyone has voted. The roll is marked in the same transaction that keeps the
    ballot, wherever the ballot waits before it joins the log, so the roll is the one place to
    ask."""
    return bool(
        await session.scalar(
            select(exists().where(RollEntry.round_id == round_id, RollEntry.voted_via.is_not(None)))
        )
    )


async def frozen_by(
    session: AsyncSession, round_: Round, now: dt.datetime | None = None
) -> str | None:
    """None while the round's rules may still change, else the reason (a msgid) they may not."""
    if round_.published_at is not None:
        return FROZEN_BY_PUBLICATION
    now = now or utcnow()
    if now >= round_.voting_open_at - FREEZE_AHEAD or await votes_cast(session, round_.id):
        return FROZEN_BY_VOTING
    return None


async def lock_round(session: AsyncSession, round_id: int) -> Round:
    """The round as committed now, its row locked until the transaction ends: changes of the
    round, its proposals and its voting times queue behind each other (and behind
    publication, which locks the same row) instead of each checking a stale copy."""
    round_ = await session.scalar(
        select(Round)
        .where(Round.id == round_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if round_ is None:
        raise NotFoundError(N_("There is no such participatory budgeting round."))
    return round_


def _fixed_changes(round_: Round, draft: RoundDraft, published: bool) -> list[str]:
    """The fields a draft would change that are fixed once voting opens (and, `published`,
    once the results are out)."""
    points = draft.ballot_rule == "points"
    wanted = {
        "ballot_rule": draft.ballot_rule,
        "max_choices": draft.max_choices if draft.ballot_rule in COUNTED_RULES else None,
        "points_total": draft.points_total if points else None,
        "points_per_proposal": draft.points_per_proposal if points else None,
        "official_rule": draft.official_rule,
        "min_age": draft.min_age,
        "voting_open_at": draft.voting_open_at,
        "voting_close_at": draft.voting_close_at,
    }
    if published:
        wanted["title"] = draft.title
    changed = [name for name, value in wanted.items() if getattr(round_, name) != value]
    if draft.budgets != {budget.area_id: budget.amount for budget in round_.budgets}:
        changed.append("budgets")
    elif any(
        (budget.min_choices, budget.max_choices)
        != tuple(_limits_of(draft, budget.area_id).values())
        for budget in round_.budgets
    ):
        changed.append("limits")
    return changed


def _limits_of(draft: RoundDraft, area: int | None) -> dict[str, int | None]:
    least, most = draft.limits.get(area, (None, None))
    return {"min_choices": least, "max_choices": most}


async def update_round(
    session: AsyncSession, round_: Round, draft: RoundDraft, actor: Any = None
) -> Round:
    """Texts and the other phases' dates can change at any time before publication; what the
    count depends on is fixed once voting opens (see `frozen_by`). A refused change stores
    nothing and records nothing. Returns the round as stored."""
    draft.check()
    round_ = await lock_round(session, inspect(round_).identity[0])
    frozen = await frozen_by(session, round_)
    if frozen and _fixed_changes(round_, draft, frozen == FROZEN_BY_PUBLICATION):
        await session.rollback()
        raise DomainError(RULES_FIXED if frozen == FROZEN_BY_VOTING else frozen)
    if not frozen and draft.voting_open_at <= utcnow() + FREEZE_AHEAD:
        # This change opens voting now: not while the ballot lacks an official language.
        untranslated = [gap for gap in await translation_gaps(session, round_.id) if gap.required]
        if untranslated:
            titles = ", ".join(f"“{localized(gap.proposal.title)}”" for gap in untranslated)
            await session.rollback()
            raise DomainError(OPENING_REFUSED, titles=titles)
    before = round_snapshot(round_)
    _apply(round_, draft)
    current = {budget.area_id: budget for budget in round_.budgets}
    for area, budget in current.items():
        if area not in draft.budgets:
            round_.budgets.remove(budget)
    for area, amount in draft.budgets.items():
        if area in current:
            current[area].amount = amount
            current[area].min_choices, current[area].max_choices = _limits_of(draft, area).values()
        else:
            round_.budgets.append(Budget(area_id=area, amount=amount, **_limits_of(draft, area)))
    await session.flush()
    after = round_snapshot(round_)
    if after != before:
        await record_action(session, actor, "round.save", f"round {round_.slug}", before, after)
    await session.commit()
    return round_


# Closing early and extending -------------------------------------------------------------------

CHANGE_KINDS = {
    "close_early": N_("Voting closed early"),
    "extend": N_("Voting extended"),
}


async def change_voting_close(
    session: AsyncSession,
    round_: Round,
    new_close: dt.datetime,
    reason: dict[str, str],
    actor: Any,
    now: dt.datetime | None = None,
) -> RoundChange:
    """Close voting early or extend it, while voting is open: an administrator's action (the
    controller checks the role) with a public reason, kept in `pb_round_change`, shown on the
    round page, written into the bulletin board and recorded in the staff audit log, all in
    one transaction. Closing early goes no earlier than now (a time within the current minute
    means now); extending is refused once voting has closed; neither after publication."""
    if not reason:
        raise DomainError(N_("Give the public reason for changing the voting time."))
    round_ = await lock_round(session, inspect(round_).identity[0])
    now = now or utcnow()
    refusal = None
    if round_.published_at is not None:
        refusal = FROZEN_BY_PUBLICATION
    elif now >= round_.voting_close_at:
        refusal = N_("Voting has closed: it can no longer be extended or closed early.")
    elif now < round_.voting_open_at and not await votes_cast(session, round_.id):
        refusal = N_("Voting has not opened yet: change its times by editing the round.")
    elif new_close == round_.voting_close_at:
        refusal = N_("Voting already closes at that time.")
    elif new_close < now:
        if now - new_close < dt.timedelta(minutes=1):
            new_close = now
        else:
            refusal = N_("Voting can be closed now or later, not in the past.")
    if refusal:
        await session.rollback()
        raise DomainError(refusal)
    kind = "extend" if new_close > round_.voting_close_at else "close_early"
    change = RoundChange(
        round_id=round_.id,
        at=now,
        kind=kind,
        from_at=round_.voting_close_at,
        to_at=new_close,
        reason=reason,
        changed_by=getattr(actor, "id", None),
    )
    session.add(change)
    before = {"voting_close_at": round_.voting_close_at.isoformat()}
    round_.voting_close_at = new_close
    # The results cannot be due before voting closes.
    round_.results_at = max(round_.results_at, new_close)
    await record_action(
        session,
        actor,
        f"round.{kind}",
        f"round {round_.slug}",
        before,
        {"voting_close_at": new_close.isoformat(), "reason": reason},
    )
    await session.commit()
    return change


async def round_changes(session: AsyncSession, round_id: int) -> list[RoundChange]:
    return list(
        await session.scalars(
            select(RoundChange).where(RoundChange.round_id == round_id).order_by(RoundChange.id)
        )
    )


def iso_utc(moment: dt.datetime) -> str:
    """A moment as the bulletin board writes it: ISO 8601 in UTC to the second, e.g.
    2027-03-24T18:00:00Z."""
    return moment.astimezone(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def board_changes(changes: list[RoundChange]) -> list[dict]:
    """The "changes" of the board's round line."""
    return [
        {
            "at": iso_utc(change.at),
            "kind": change.kind,
            "from": iso_utc(change.from_at),
            "to": iso_utc(change.to_at),
            "reason": change.reason,
        }
        for change in changes
    ]


async def get_round(session: AsyncSession, round_id: int) -> Round:
    round_ = await session.get(Round, round_id)
    if round_ is None:
        raise NotFoundError(N_("There is no such participatory budgeting round."))
    return round_


async def round_by_slug(session: AsyncSession, slug: str) -> Round:
    if len(slug) > 16:
        raise NotFoundError(N_("There is no such participatory budgeting round."))
    round_ = await session.scalar(select(Round).where(Round.slug == slug))
    if round_ is None:
        raise NotFoundError(N_("There is no such participatory budgeting round."))
    return round_


async def list_rounds(session: AsyncSession) -> list[Round]:
    return list(await session.scalars(select(Round).order_by(Round.voting_open_at.desc())))


async def ballot_count(session: AsyncSession, round_id: int) -> int:
    """Ballots cast in the round: the roll's marks (a cast ballot may still be pending, not yet
    in pb_ballot; an imported round has no roll but its ballots)."""
    marks = await session.scalar(
        select(func.count())
        .select_from(RollEntry)
        .where(RollEntry.round_id == round_id, RollEntry.voted_via.is_not(None))
    )
    return marks or await session.scalar(
        select(func.count()).select_from(Ballot).where(Ballot.round_id == round_id)
    )


def budget_of(round_: Round, area_id: int | None) -> Budget | None:
    return next((b for b in round_.budgets if b.area_id == area_id), None)


# Proposals -----------------------------------------------------------------------------------


@dataclass
class ProposalDraft:
    title: dict[str, str]
    description: dict[str, str]
    area_id: int | None
    estimated_cost: int
    # Picked by the resident (voting/places.py); staff change both in review.
    theme_ids: list[int] = field(default_factory=list)
    place_name: str | None = None


# A resident's ideas in an hour, in every round together: enough for anyone writing down the
# ideas of an evening; a script posting hundreds (each one a check for the moderators and a
# message to the author's address) is stopped.
IDEAS_PER_HOUR = 10


class IdeasThrottledError(DomainError):
    status_code = 429


async def _add_proposal(
    session: AsyncSession, round_: Round, draft: ProposalDraft, **how: Any
) -> Proposal:
    """A new proposal of `round_` from `draft`, with its themes, flushed (the caller commits);
    `how`: who sent it and how (author, moderation, channel...). A refused theme rolls back."""
    proposal = Proposal(
        round_id=round_.id,
        area_id=draft.area_id,
        title=draft.title,
        description=draft.description,
        estimated_cost=draft.estimated_cost,
        language=next(iter(draft.title), None),
        status="submitted",
        reason={},
        implementation_note={},
        moderation_reason={},
        place_name=draft.place_name,
        **how,
    )
    session.add(proposal)
    await session.flush()
    try:
        await places.add_themes(session, round_.id, proposal, draft.theme_ids)
    except DomainError:
        await session.rollback()
        raise
    return proposal


async def submit_proposal(
    session: AsyncSession,
    round_: Round,
    author_id: int | None,
    draft: ProposalDraft,
    *,
    premoderation: bool = True,
    notifier: Notifier | None = None,
) -> Proposal:
    """A resident's new idea. With pre-moderation (the default) it waits for a staff member's
    check before anyone else sees it (see voting/moderation.py). Its author is told that it
    arrived, in the same transaction."""
    if phase_of(round_) != "ideas":
        raise DomainError(N_("Ideas are not being collected in this round right now."))
    if budget_of(round_, draft.area_id) is None:
        raise DomainError(N_("This round has no budget for that area."))
    if author_id is not None:
        recent = await session.scalar(
            select(func.count())
            .select_from(Proposal)
            .where(
                Proposal.author_id == author_id,
                Proposal.created_at > utcnow() - dt.timedelta(hours=1),
            )
        )
        if recent >= IDEAS_PER_HOUR:
            raise IdeasThrottledError(
                N_("You have sent many ideas in a short time. Please send more in an hour.")
            )
    proposal = await _add_proposal(
        session, round_, draft, author_id=author_id, moderation=initial_moderation(premoderation)
    )
    await notify_author(session, notifier, proposal, Kind.RECEIVED, round_)
    await session.commit()
    return proposal


# Ideas gathered on paper, at a pop-up stand, a Town Hall meeting or a library, which staff type
# in on the resident's behalf.
STAFF_CHANNELS = {
    "paper": N_("Paper form"),
    "popup": N_("Pop-up"),
    "town_hall": N_("Town Hall meeting"),
    "library": N_("Library"),
}
CHANNELS = {"online": N_("Online, by the resident"), **STAFF_CHANNELS}


async def enter_proposal(
    session: AsyncSession,
    round_: Round,
    draft: ProposalDraft,
    channel: str,
    event_id: int | None,
    actor: Any,
) -> Proposal:
    """An idea a staff member types in on a resident's behalf, with the channel it came by and
    the event it was gathered at. Allowed while ideas are collected and in review (slips are
    typed after the event), never once the ballot is fixed. Staff read it while typing it, so it
    is published at once; the staff audit log records it in the same transaction."""
    if channel not in STAFF_CHANNELS:
        raise DomainError(N_("Choose how the idea was gathered."))
    round_ = await lock_round(session, inspect(round_).identity[0])
    if phase_of(round_) not in (Phase.IDEAS, Phase.REVIEW) or await frozen_by(session, round_):
        await session.rollback()
        raise DomainError(N_("Ideas can be entered while they are collected and reviewed."))
    if budget_of(round_, draft.area_id) is None:
        await session.rollback()
        raise DomainError(N_("This round has no budget for that area."))
    if event_id is not None and await session.get(Event, event_id) is None:
        await session.rollback()
        raise DomainError(N_("There is no such event."))
    proposal = await _add_proposal(
        session,
        round_,
        draft,
        author_id=None,
        moderation=Moderation.PUBLISHED,
        channel=channel,
        event_id=event_id,
        entered_by=getattr(actor, "id", None),
    )
    await record_action(
        session,
        actor,
        "proposal.enter",
        f"proposal {proposal.id}",
        None,
        {"channel": channel, "event": event_id, "round": round_.slug, "area": draft.area_id},
    )
    await session.commit()
    return proposal


async def ideas_events(session: AsyncSession, round_: Round) -> list[Event]:
    """The events an idea of the round may have been gathered at: from a month before ideas open
    until voting opens, newest first."""
    return list(
        await session.scalars(
            select(Event)
            .where(
                Event.starts_at >= round_.ideas_open_at - dt.timedelta(days=31),
                Event.starts_at < round_.voting_open_at,
            )
            .order_by(Event.starts_at.desc(), Event.id)
            .limit(200)
        )
    )


async def get_proposal(
    session: AsyncSession, proposal_id: int, round_id: int | None = None
) -> Proposal:
    proposal = await session.get(Proposal, proposal_id)
    if proposal is None or (round_id is not None and proposal.round_id != round_id):
        raise NotFoundError(N_("There is no such proposal."))
    return proposal


class RoundProposal(NamedTuple):
    round: Round
    proposal: Proposal


async def round_and_proposal(
    session: AsyncSession, round_id: int, proposal_id: int
) -> RoundProposal:
    """A round and one of its proposals (NotFoundError for either missing, or a proposal of
    another round)."""
    round_ = await get_round(session, round_id)
    return RoundProposal(round_, await get_proposal(session, proposal_id, round_.id))


async def list_proposals(
    session: AsyncSession,
    round_id: int,
    *,
    area: int | str | None = "all",
    statuses: tuple[str, ...] | None = None,
    public: bool = False,
) -> list[Proposal]:
    """`area` is "all", None (city-wide proposals only) or an area id. `public`: only the ideas
    the public may see listed (not those waiting for a check). Ideas their authors withdrew
    are left out unless `statuses` asks for them."""
    statement = select(Proposal).where(Proposal.round_id == round_id)
    if not statuses or ProposalStatus.WITHDRAWN not in statuses:
        statement = statement.where(Proposal.status != ProposalStatus.WITHDRAWN)
    if public:
        statement = statement.where(Proposal.moderation != Moderation.PENDING)
    if area is None:
        statement = statement.where(Proposal.area_id.is_(None))
    elif area != "all":
        statement = statement.where(Proposal.area_id == area)
    if statuses:
        statement = statement.where(Proposal.status.in_(statuses))
    return list(await session.scalars(statement.order_by(Proposal.id)))


async def _check_reviewable(session: AsyncSession, proposal: Proposal) -> Round:
    """The proposal's round, locked, while the ballot may still change; the proposal as
    committed now."""
    # By the identity, not the attribute: after an earlier rollback the object is expired.
    round_id = await session.scalar(
        select(Proposal.round_id).where(Proposal.id == inspect(proposal).identity[0])
    )
    round_ = await lock_round(session, round_id)
    frozen = await frozen_by(session, round_)
    if frozen:
        await session.rollback()
        raise DomainError(BALLOT_FIXED if frozen == FROZEN_BY_VOTING else frozen)
    await session.refresh(proposal)
    if proposal.status == ProposalStatus.WITHDRAWN:
        await session.rollback()
        raise DomainError(WITHDRAWN_NOT_REVIEWED)
    return round_


async def _record_review(
    session: AsyncSession,
    actor: Any,
    action: str,
    proposal: Proposal,
    before: dict,
    *,
    commit: bool = True,
) -> None:
    await session.flush()
    await record_action(
        session,
        actor,
        f"proposal.{action}",
        f"proposal {proposal.id}",
        before,
        proposal_snapshot(proposal),
    )
    if commit:  # a bulk review (voting/review.py) commits once, after every idea
        await session.commit()


async def accept_proposal(
    session: AsyncSession,
    proposal: Proposal,
    final_cost: int,
    actor: Any = None,
    notifier: Notifier | None = None,
    *,
    commit: bool = True,
) -> None:
    round_ = await _check_reviewable(session, proposal)
    budget = budget_of(round_, proposal.area_id)
    if budget is None:
        raise DomainError(N_("This round has no budget for that area."))
    if final_cost > budget.amount:
        raise DomainError(N_("The final cost is larger than the area's whole budget."))
    if proposal.moderation == Moderation.HIDDEN:
        raise DomainError(
            N_("A hidden idea cannot go on the ballot. Publish it first if it may be shown.")
        )
    before = proposal_snapshot(proposal)
    # Accepting is a check: the proposal goes on the public ballot.
    proposal.moderation = Moderation.PUBLISHED
    proposal.status, proposal.final_cost, proposal.reason = "accepted", final_cost, {}
    proposal.merged_into_id = None
    await notify_author(
        session,
        notifier,
        proposal,
        Kind.REVIEW,
        round_,
        event="accepted",
        cost=final_cost,
        opens=moment(round_.voting_open_at),
    )
    await _record_review(session, actor, "accept", proposal, before, commit=commit)


async def reject_proposal(
    session: AsyncSession,
    proposal: Proposal,
    reason: dict[str, str],
    actor: Any = None,
    notifier: Notifier | None = None,
    *,
    commit: bool = True,
) -> None:
    if not reason:
        raise DomainError(N_("Give the public reason for not putting the proposal on the ballot."))
    round_ = await _check_reviewable(session, proposal)
    before = proposal_snapshot(proposal)
    proposal.status, proposal.reason, proposal.merged_into_id = "rejected", reason, None
    if proposal.moderation == Moderation.PENDING:
        # Rejected without being published: the public sees the reason, never the text.
        proposal.moderation, proposal.moderation_reason = Moderation.HIDDEN, reason
    await notify_author(
        session, notifier, proposal, Kind.REVIEW, round_, event="rejected", reason=reason
    )
    await _record_review(session, actor, "reject", proposal, before, commit=commit)


async def merge_proposal(
    session: AsyncSession,
    proposal: Proposal,
    into_id: int,
    actor: Any = None,
    notifier: Notifier | None = None,
    reason: dict[str, str] | None = None,
    *,
    commit: bool = True,
) -> None:
    """Merge a duplicate into another proposal, with an optional public reason."""
    round_ = await _check_reviewable(session, proposal)
    target = await session.get(Proposal, into_id)
    if (
        target is None
        or target.id == proposal.id
        or target.round_id != proposal.round_id
        or target.status in (ProposalStatus.MERGED, ProposalStatus.WITHDRAWN)
    ):
        raise DomainError(N_("Choose another proposal of the same round to merge into."))
    before = proposal_snapshot(proposal)
    proposal.status, proposal.merged_into_id, proposal.reason = "merged", target.id, reason or {}
    # Proposals already merged into this one follow it.
    for other in await session.scalars(
        select(Proposal).where(Proposal.merged_into_id == proposal.id)
    ):
        other.merged_into_id = target.id
    await notify_author(
        session,
        notifier,
        proposal,
        Kind.REVIEW,
        round_,
        event="merged",
        reason=reason or {},
        into_title=dict(target.title),
        into_link=f"{notifier.site}/pb/{round_.slug}/proposals/{target.id}" if notifier else "",
    )
    await _record_review(session, actor, "merge", proposal, before, commit=commit)


async def set_implementation(
    session: AsyncSession,
    proposal: Proposal,
    status: str | None,
    note: dict[str, str],
    actor: Any = None,
    notifier: Notifier | None = None,
) -> None:
    """How carrying out a proposal goes, after the results: not part of the count, so allowed
    after publication too. A change is news for the idea's author."""
    round_ = await get_round(session, proposal.round_id)
    if phase_of(round_) != "results" or proposal.status != "accepted":
        raise DomainError(
            N_("Implementation is followed for proposals on the ballot after the results.")
        )
    before = proposal_snapshot(proposal)
    changed = (proposal.implementation, proposal.implementation_note) != (status, note)
    proposal.implementation, proposal.implementation_note = status, note
    if changed:
        await notify_author(
            session,
            notifier,
            proposal,
            Kind.IMPLEMENTATION,
            round_,
            status=IMPLEMENTATION_STATUSES[ImplementationStatus(status)] if status else None,
            note=note,
        )
    await _record_review(session, actor, "implementation", proposal, before)


async def implementation_states(session: AsyncSession, round_id: int) -> dict[int, str]:
    """proposal id -> how carrying it out goes, for the proposals that staff follow."""
    rows = await session.execute(
        select(Proposal.id, Proposal.implementation).where(
            Proposal.round_id == round_id, Proposal.implementation.is_not(None)
        )
    )
    return dict(rows.all())


async def proposal_languages(session: AsyncSession, round_id: int) -> dict[int, str]:
    """proposal id -> the language it was written in, where known."""
    rows = await session.execute(
        select(Proposal.id, Proposal.language).where(
            Proposal.round_id == round_id, Proposal.language.is_not(None)
        )
    )
    return dict(rows.all())


async def merged_into(session: AsyncSession, proposal: Proposal) -> Proposal | None:
    """The proposal this one was merged into, if any."""
    if proposal.merged_into_id is None:
        return None
    return await session.get(Proposal, proposal.merged_into_id)


async def gathered_at(session: AsyncSession, proposal: Proposal) -> Event | None:
    """The event an idea entered by staff was gathered at, if any."""
    if proposal.event_id is None:
        return None
    return await session.get(Event, proposal.event_id)


async def author_of(session: AsyncSession, proposal: Proposal) -> Resident | None:
    """Who sent the idea, for staff who need to ask about it (never shown publicly)."""
    if proposal.author_id is None:
        return None
    return await session.get(Resident, proposal.author_id)


@dataclass(frozen=True)
class ProposalReview:
    """One review decision on a proposal: what to do and its one or two values."""

    action: str
    final_cost: int | None = None
    reason: dict[str, str] | None = None
    merge_into: int | None = None
    implementation: str | None = None
    note: dict[str, str] | None = None


async def review_proposal(
    session: AsyncSession,
    proposal: Proposal,
    review: ProposalReview,
    actor: Any = None,
    notifier: Notifier | None = None,
) -> None:
    """Accept (with the final cost), reject (with the reason), merge, or follow the
    implementation: each checked, recorded in the staff audit log, told to the idea's author
    and committed together."""
    if review.action == "accept":
        await accept_proposal(session, proposal, review.final_cost, actor, notifier)
    elif review.action == "reject":
        await reject_proposal(session, proposal, review.reason, actor, notifier)
    elif review.action == "merge":
        await merge_proposal(
            session, proposal, review.merge_into, actor, notifier, review.reason or None
        )
    elif review.action == "implementation":
        await set_implementation(
            session, proposal, review.implementation, review.note, actor, notifier
        )
    else:
        raise ValueError(review.action)
