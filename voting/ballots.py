"""The ballot a voter sees, checking what they chose, and casting it exactly once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.areas.models import Area
from app.errors import DomainError
from app.i18n import N_, gettext, ngettext
from voting.models import Ballot, Budget, Proposal, RollEntry, Round
from voting.rounds import phase_of

CHANNELS = ("online", "assisted", "paper")


@dataclass
class BallotPart:
    """The proposals of one budget on a voter's ballot: their district's, or the city-wide one."""

    budget: Budget
    proposals: list[Proposal]

    @property
    def key(self) -> str:
        return str(self.budget.area_id) if self.budget.area_id else "city"

    @property
    def area(self) -> Area | None:
        return self.budget.area


async def ballot_parts(
    session: AsyncSession, round_: Round, area_id: int | None
) -> list[BallotPart]:
    """The voter's district part (when their area has a budget) and the city-wide part."""
    parts = []
    for budget in sorted(round_.budgets, key=lambda b: b.area_id is None):
        if budget.area_id is not None and budget.area_id != area_id:
            continue
        proposals = list(
            await session.scalars(
                select(Proposal)
                .where(
                    Proposal.round_id == round_.id,
                    Proposal.status == "accepted",
                    Proposal.area_id.is_(None)
                    if budget.area_id is None
                    else Proposal.area_id == budget.area_id,
                )
                .order_by(Proposal.id)
            )
        )
        parts.append(BallotPart(budget, proposals))
    return parts


@dataclass
class PartTotal:
    part: BallotPart
    chosen: list[Proposal] = field(default_factory=list)
    points: dict[int, int] = field(default_factory=dict)
    cost: int = 0
    used_points: int = 0
    error: str | None = None

    @property
    def remaining(self) -> int:
        return self.part.budget.amount - self.cost


@dataclass
class ReadBallot:
    totals: list[PartTotal]
    # Proposal id -> points (1 for approval ballots).
    choices: dict[int, int]
    errors: dict[str, str]

    @property
    def is_valid(self) -> bool:
        return not self.errors


def read_ballot(round_: Round, parts: list[BallotPart], fields: dict[str, list[str]]) -> ReadBallot:  # noqa: PLR0912 - one branch per rule and per kind of error
    """What the voter chose, part by part, with an error in their language for a part that
    breaks the round's rule. Ids that are not on this voter's ballot are refused."""
    errors: dict[str, str] = {}
    choices: dict[int, int] = {}
    totals = []
    on_ballot = {p.id: p for part in parts for p in part.proposals}
    picked = fields.get("proposal", [])
    if len(picked) > len(on_ballot) or any(
        not value.isdigit() or int(value) not in on_ballot for value in picked
    ):
        errors["form"] = gettext("Choose from the proposals shown on your ballot.")
        picked = []
    for part in parts:
        total = PartTotal(part)
        for proposal in part.proposals:
            if round_.ballot_rule == "points":
                raw = (fields.get(f"points_{proposal.id}") or [""])[0].strip()
                if not raw:
                    continue
                if not raw.isdigit() or len(raw) > 4:
                    errors[f"points_{proposal.id}"] = gettext("Enter a whole number of points.")
                    continue
                value = int(raw)
                if value > (round_.points_per_proposal or 0):
                    errors[f"points_{proposal.id}"] = gettext(
                        "Give at most %(num)d points to one proposal."
                    ) % {"num": round_.points_per_proposal}
                    continue
                if value:
                    total.points[proposal.id] = value
                    total.used_points += value
                    total.chosen.append(proposal)
            elif str(proposal.id) in picked:
                total.chosen.append(proposal)
        total.cost = sum(p.cost for p in total.chosen)
        if round_.ballot_rule == "approval" and total.cost > part.budget.amount:
            total.error = gettext(
                "The proposals you chose cost more than the budget. Remove some to fit."
            )
        elif round_.ballot_rule == "k_approval" and len(total.chosen) > (round_.max_choices or 0):
            total.error = ngettext(
                "Choose at most %(num)d proposal.",
                "Choose at most %(num)d proposals.",
                round_.max_choices or 0,
            ) % {"num": round_.max_choices}
        elif round_.ballot_rule == "points" and total.used_points > (round_.points_total or 0):
            total.error = gettext("You have %(num)d points to give in this part.") % {
                "num": round_.points_total
            }
        if total.error:
            errors[f"part_{part.key}"] = total.error
        for proposal in total.chosen:
            choices[proposal.id] = total.points.get(proposal.id, 1)
        totals.append(total)
    return ReadBallot(totals, choices, errors)


class AlreadyVotedError(DomainError):
    status_code = 409


async def cast_ballot(
    session: AsyncSession, round_: Round, roll_id: int, channel: str, choices: dict[int, int]
) -> str:
    """Mark the roll and store the ballot in one transaction: the row lock on the roll entry
    lets exactly one of many simultaneous attempts through. The ballot gets a random id and
    no trace of the voter."""
    if channel not in CHANNELS:
        raise ValueError(channel)
    if phase_of(round_) != "voting":
        raise DomainError(N_("Voting is not open in this round."))
    ballot_id = secrets.token_hex(16)
    try:
        marked = (
            await session.execute(
                update(RollEntry)
                .where(
                    RollEntry.id == roll_id,
                    RollEntry.round_id == round_.id,
                    RollEntry.voted_via.is_(None),
                )
                .values(voted_via=channel)
                .returning(RollEntry.area_id)
            )
        ).first()
        if marked is None:
            voted = await session.execute(
                select(RollEntry.voted_via).where(
                    RollEntry.id == roll_id, RollEntry.round_id == round_.id
                )
            )
            if voted.first() is None:
                raise DomainError(N_("You are not on the voter roll of this round."))
            raise AlreadyVotedError(
                N_("You have already voted in this round. A vote cannot be changed.")
            )
        await session.execute(
            insert(Ballot).values(
                id=ballot_id,
                round_id=round_.id,
                area_id=marked.area_id,
                choices={str(k): v for k, v in sorted(choices.items())},
                channel=channel,
            )
        )
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return ballot_id
