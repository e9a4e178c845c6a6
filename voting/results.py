"""A round's count from its stored ballots, by the pure code in voting/tally, per budget."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.areas.models import Area
from app.i18n import N_
from voting.models import Ballot, Budget, Proposal, Round
from voting.tally import Election, Outcome, votes_per_project
from voting.tally.rounds import RULE_COLUMNS, budget_election, count_budget

REASONS = {
    "selected": N_("Selected"),
    "completed": N_("Selected with the money equal shares left, by votes"),
    "did_not_fit": N_("Did not fit the remaining budget of %(remaining)s"),
    "not_enough_support": N_("Not enough support under equal shares"),
    "no_support": N_("No votes"),
}


@dataclass
class ProposalResult:
    proposal: Proposal
    votes: int
    selected: dict[str, bool]
    reason: str
    remaining: int | None


@dataclass
class PartResult:
    budget: Budget
    voters: int
    rows: list[ProposalResult]
    spent: dict[str, int]

    @property
    def area(self) -> Area | None:
        return self.budget.area


def election_of(
    budget: Budget,
    proposals: list[Proposal],
    ballots: list[tuple[int | None, dict[str, int]]],
    points: bool,
) -> Election:
    """The budget's election (see `voting.tally.rounds.budget_election`)."""
    costs = {str(p.id): p.cost for p in proposals}
    return budget_election(budget.area_id, budget.amount, costs, ballots, points)


def count(election: Election, points: bool) -> dict[str, Outcome]:
    return count_budget(election, points)


async def round_results(session: AsyncSession, round_: Round) -> list[PartResult]:
    proposals = list(
        await session.scalars(
            select(Proposal)
            .where(Proposal.round_id == round_.id, Proposal.status == "accepted")
            .order_by(Proposal.id)
        )
    )
    ballots = [
        (area_id, choices)
        for area_id, choices in await session.execute(
            select(Ballot.area_id, Ballot.choices).where(Ballot.round_id == round_.id)
        )
    ]
    points = round_.ballot_rule == "points"
    parts = []
    for budget in sorted(round_.budgets, key=lambda b: (b.area_id is None, b.id)):
        own = [p for p in proposals if p.area_id == budget.area_id]
        election = election_of(budget, own, ballots, points)
        outcomes = count(election, points)
        votes = votes_per_project(election)
        official = outcomes[round_.official_rule]
        rows = [
            ProposalResult(
                proposal=p,
                votes=int(votes[str(p.id)]),
                selected={rule: str(p.id) in outcomes[rule].selected for rule in RULE_COLUMNS},
                reason=official.reasons.get(str(p.id), "no_support"),
                remaining=int(official.remaining[str(p.id)])
                if str(p.id) in official.remaining
                else None,
            )
            for p in own
        ]
        rows.sort(key=lambda r: (-r.votes, r.proposal.id))
        spent = {
            rule: int(sum((election.costs[p] for p in outcomes[rule].selected), Fraction(0)))
            for rule in RULE_COLUMNS
        }
        parts.append(PartResult(budget, len(election.ballots), rows, spent))
    return parts
