"""The count of a whole round from plain data: each budget's election and its outcome under
every rule. Used by the results pages, the bulletin board and the standalone verifier, so all
three count with the same code."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from enum import StrEnum
from fractions import Fraction

from voting.tally.borda import as_borda_points
from voting.tally.pabulib import Election
from voting.tally.rules import Groups, Outcome, approval_groups, equal_shares_completed, greedy


class Rule(StrEnum):
    """The counting rules Tori offers, each shown beside the others on the results pages."""

    GREEDY = "greedy"
    MES_COST = "mes_cost"
    MES_CARDINALITY = "mes_cardinality"


RULE_COLUMNS = tuple(Rule)
# Ballot rules whose ballots are counted by their points: the points given, or the Borda points
# of the ranks (`voting.tally.borda`).
POINTS_RULES = ("points", "ranking")


def counted_selections(
    ballot_rule: str, max_choices: int | None, ballots: Iterable[tuple]
) -> list[tuple]:
    """The ballots (area, selections, ...) as the count reads them: a ranking ballot's ranks
    become their Borda points (N = `max_choices`); every other ballot is counted as cast."""
    if ballot_rule != "ranking":
        return list(ballots)
    ranks = int(max_choices or 0)
    return [
        (area, as_borda_points(selections, ranks), *rest) for area, selections, *rest in ballots
    ]


def budget_election(
    area: int | None,
    amount: int,
    costs: Mapping[str, int],
    ballots: Iterable[tuple[int | None, Mapping[str, int]]],
    points: bool,
) -> Election:
    """One budget's election: its projects and, from every ballot that could choose them (all
    ballots for the city-wide budget, area None), the choices among them. A ballot that chose
    nothing here is left out: that voter takes no share of this budget's money."""
    chosen = []
    for ballot_area, choices in ballots:
        if area is not None and ballot_area != area:
            continue
        # Whole points stay ints (exact, and much cheaper than Fractions); anything else is made
        # an exact Fraction.
        ballot = {
            p: v if isinstance(v, int) else Fraction(v) for p, v in choices.items() if p in costs
        }
        if ballot:
            chosen.append(ballot)
    return Election(
        budget=Fraction(amount),
        costs={p: Fraction(c) for p, c in costs.items()},
        ballots=chosen,
        vote_type="cumulative" if points else "approval",
    )


def budget_elections(
    budgets: Iterable[Mapping],
    projects: list[Mapping],
    ballots: list[tuple[int | None, Mapping[str, int]]],
    points: bool,
) -> Iterator[tuple[Mapping, list[Mapping], Election]]:
    """Each budget of a round with its own projects and its election. The ballots are split by
    district once (a district's election reads only its district's ballots)."""
    by_area: dict[int | None, list] = {}
    for ballot in ballots:
        by_area.setdefault(ballot[0], []).append(ballot)
    for budget in budgets:
        area = budget["area"]
        own = [p for p in projects if p["area"] == area]
        costs = {str(p["id"]): p["cost"] for p in own}
        voters = ballots if area is None else by_area.get(area, [])
        yield budget, own, budget_election(area, budget["amount"], costs, voters, points)


def grouped_budget_elections(
    budgets: Iterable[Mapping],
    projects: list[Mapping],
    ballots: Iterable[tuple[int | None, Mapping[str, int], int]],
    points: bool,
) -> Iterator[tuple[Mapping, list[Mapping], Election, Groups | None]]:
    """`budget_elections` of ballots given once per distinct ballot: (area, choices, how many
    voters cast it), in the order each was first cast. Each election also comes with its
    `ballot_groups`, counted from the distinct ballots: the same election and the same groups,
    in the same order, as `budget_elections` and `ballot_groups` give for the ballots one by one
    (an election's ballot list repeats one dict per voter; nothing changes a ballot)."""
    by_area: dict[int | None, list] = {}
    every = list(ballots)
    for ballot in every:
        by_area.setdefault(ballot[0], []).append(ballot)
    for budget in budgets:
        area = budget["area"]
        own = [p for p in projects if p["area"] == area]
        costs = {str(p["id"]): p["cost"] for p in own}
        chosen: list[dict] = []
        groups: dict[tuple[str, ...], int] = {}
        for _area, choices, voters in every if area is None else by_area.get(area, []):
            ballot = {
                p: v if isinstance(v, int) else Fraction(v)
                for p, v in choices.items()
                if p in costs
            }
            if not ballot:
                continue
            chosen += [ballot] * voters
            if not points:
                # as `approval_groups`: the projects approved, in id order
                key = tuple(sorted(p for p, v in ballot.items() if v.numerator > 0))
                groups[key] = groups.get(key, 0) + voters
        election = Election(
            budget=Fraction(budget["amount"]),
            costs={p: Fraction(c) for p, c in costs.items()},
            ballots=chosen,
            vote_type="cumulative" if points else "approval",
        )
        yield budget, own, election, None if points else list(groups.items())


def count_rule(
    election: Election, rule: str, points: bool, groups: Groups | None = None
) -> Outcome:
    if rule == Rule.GREEDY:
        sat = "points" if points else "cost"
        return greedy(election, sat, supported_only=True, groups=groups)
    if rule in (Rule.MES_COST, Rule.MES_CARDINALITY):
        return equal_shares_completed(election, rule.removeprefix("mes_"), groups)
    raise ValueError(f"unknown rule {rule!r}")


def ballot_groups(election: Election, points: bool) -> Groups | None:
    """The distinct approval ballots, grouped once for every rule of an approval round (each
    rule would otherwise go through every ballot again); None for points ballots."""
    return None if points else approval_groups(election)


def count_budget(
    election: Election, points: bool, groups: Groups | None = None
) -> dict[str, Outcome]:
    """The outcome under each rule Tori offers: greedy by votes (by points for points ballots;
    unsupported projects are never funded), and equal shares with cost or cardinality
    satisfaction completed greedily by votes."""
    if groups is None:
        groups = ballot_groups(election, points)
    return {rule: count_rule(election, rule, points, groups) for rule in RULE_COLUMNS}
