"""The count of a whole round from plain data: each budget's election and its outcome under
every rule. Used by the results pages, the bulletin board and the standalone verifier, so all
three count with the same code."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from fractions import Fraction

from voting.tally.pabulib import Election
from voting.tally.rules import Outcome, equal_shares_completed, greedy


class Rule(StrEnum):
    """The counting rules Tori offers, each shown beside the others on the results pages."""

    GREEDY = "greedy"
    MES_COST = "mes_cost"
    MES_CARDINALITY = "mes_cardinality"


RULE_COLUMNS = tuple(Rule)


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


def count_rule(election: Election, rule: str, points: bool) -> Outcome:
    if rule == Rule.GREEDY:
        return greedy(election, "points" if points else "cost", supported_only=True)
    if rule in (Rule.MES_COST, Rule.MES_CARDINALITY):
        return equal_shares_completed(election, rule.removeprefix("mes_"))
    raise ValueError(f"unknown rule {rule!r}")


def count_budget(election: Election, points: bool) -> dict[str, Outcome]:
    """The outcome under each rule Tori offers: greedy by votes (by points for points ballots;
    unsupported projects are never funded), and equal shares with cost or cardinality
    satisfaction completed greedily by votes."""
    return {rule: count_rule(election, rule, points) for rule in RULE_COLUMNS}
