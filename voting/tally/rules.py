"""Selection rules: greedy by support, the method of equal shares, and its completion.

The meaning is exactly that of pabutools 1.2 (the reference implementation):

- `greedy` = `greedy_utilitarian_welfare`: projects in order of total satisfaction per
  unit of cost (with cost satisfaction: by votes), each taken if it still fits the budget;
- `mes` = `method_of_equal_shares` without completion: every voter starts with an equal
  share of the budget; in each round the project that its supporters can buy with the
  smallest maximum payment per unit of satisfaction is bought;
- `mes-add1` = `exhaustion_by_budget_increase(..., method_of_equal_shares,
  budget_step=<number of voters>, exhaustive_stop=False)`: the shares are raised by one
  unit per voter as long as the outcome still fits the real budget.

Satisfaction: `cost` (a voter gets the cost of each approved project), `cardinality`
(one per approved project) on the approval view of the ballots (any project given
points or a rank counts as approved), and `points` (the points given). Ties are broken
by the project id compared as a string. Arithmetic is exact.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction

from voting.tally.pabulib import Election

SATISFACTIONS = ("cost", "cardinality", "points")
RULES = ("greedy", "mes", "mes-add1")


def _satisfactions(election: Election, sat: str) -> list[tuple[dict[str, Fraction], int]]:
    """Distinct ballots as (project -> satisfaction, how many voters cast it)."""
    if sat not in SATISFACTIONS:
        raise ValueError(f"satisfaction must be one of {', '.join(SATISFACTIONS)}")
    counted: Counter = Counter()
    for ballot in election.ballots:
        if sat == "points":
            key = tuple(sorted((p, v) for p, v in ballot.items() if v > 0))
        else:
            key = tuple(sorted(p for p, v in ballot.items() if v > 0))
        counted[key] += 1
    groups = []
    for key, count in counted.items():
        if sat == "points":
            groups.append((dict(key), count))
        elif sat == "cost":
            groups.append(({p: election.costs[p] for p in key}, count))
        else:
            groups.append((dict.fromkeys(key, Fraction(1)), count))
    return groups


@dataclass
class Outcome:
    """The selected project ids (in the order chosen) and, per project, why."""

    selected: list[str]
    reasons: dict[str, str] = field(default_factory=dict)
    # Greedy: the remaining budget when a project did not fit.
    remaining: dict[str, Fraction] = field(default_factory=dict)


def greedy(election: Election, sat: str = "cost", budget: Fraction | None = None) -> Outcome:
    limit = election.budget if budget is None else budget
    totals: dict[str, Fraction] = dict.fromkeys(election.costs, Fraction(0))
    for satisfaction, count in _satisfactions(election, sat):
        for project, value in satisfaction.items():
            totals[project] += value * count
    infinity = Fraction(10) ** 60

    def density(project: str) -> Fraction:
        total, cost = totals[project], election.costs[project]
        if total > 0:
            return total / cost if cost > 0 else infinity
        return Fraction(0)

    order = sorted(election.costs, key=lambda p: (-density(p), p))
    remaining = limit
    outcome = Outcome(selected=[])
    for project in order:
        cost = election.costs[project]
        if cost <= remaining:
            outcome.selected.append(project)
            remaining -= cost
            outcome.reasons[project] = "selected"
        else:
            outcome.reasons[project] = "did_not_fit"
            outcome.remaining[project] = remaining
    return outcome


@dataclass
class _Project:
    id: str
    cost: Fraction
    supporters: list[int]
    total: Fraction
    affordability: Fraction


def method_of_equal_shares(
    election: Election, sat: str = "cost", budget: Fraction | None = None
) -> Outcome:
    groups = _satisfactions(election, sat)
    limit = election.budget if budget is None else budget
    voters = len(election.ballots)
    outcome = Outcome(selected=[])
    if voters == 0:
        return outcome
    share = limit / voters
    sats = [satisfaction for satisfaction, _count in groups]
    counts = [count for _satisfaction, count in groups]
    budgets = [share] * len(groups)
    projects: list[_Project] = []
    for project, cost in election.costs.items():
        supporters = [g for g, satisfaction in enumerate(sats) if project in satisfaction]
        total = sum((sats[g][project] * counts[g] for g in supporters), Fraction(0))
        if total <= 0:
            outcome.reasons[project] = "no_support"
            continue
        if cost == 0:
            outcome.selected.append(project)
            outcome.reasons[project] = "selected"
            continue
        projects.append(_Project(project, cost, supporters, total, cost / total))
    remaining = {p.id: p for p in projects}
    while True:
        best: Fraction | None = None
        tied: list[_Project] = []
        for project in sorted(remaining.values(), key=lambda p: p.affordability):
            money = sum((budgets[g] * counts[g] for g in project.supporters), Fraction(0))
            if money < project.cost:
                del remaining[project.id]
                outcome.reasons[project.id] = "not_enough_support"
                continue
            if best is not None and project.affordability > best:
                break  # affordabilities only grow: no later project can beat the best
            factor = _affordability(project, budgets, sats, counts)
            project.affordability = factor
            if best is None or factor < best:
                best, tied = factor, [project]
            elif factor == best:
                tied.append(project)
        if not tied:
            return outcome
        chosen = min(tied, key=lambda p: p.id)
        outcome.selected.append(chosen.id)
        outcome.reasons[chosen.id] = "selected"
        del remaining[chosen.id]
        for g in chosen.supporters:
            budgets[g] -= min(budgets[g], best * sats[g][chosen.id])


def _affordability(project: _Project, budgets, sats, counts) -> Fraction:
    """The smallest price per unit of satisfaction at which the supporters can buy the project:
    those who cannot pay that much pay all they have, the others pay price × satisfaction."""
    key = project.id
    project.supporters.sort(key=lambda g: budgets[g] / sats[g][key])
    paid, denominator = Fraction(0), project.total
    for g in project.supporters:
        factor = (project.cost - paid) / denominator
        if factor * sats[g][key] <= budgets[g]:
            return factor
        paid += budgets[g] * counts[g]
        denominator -= counts[g] * sats[g][key]
    raise AssertionError("an affordable project always has a price")  # money >= cost was checked


def _cost(election: Election, selected: list[str]) -> Fraction:
    return sum((election.costs[p] for p in selected), Fraction(0))


def mes_add1(election: Election, sat: str = "cost") -> Outcome:
    """Equal shares with the budget raised by one unit per voter while the outcome still fits."""
    voters = len(election.ballots)
    step = Fraction(voters) if voters else election.budget / 100
    bound = election.budget * (voters + 1)
    current = election.budget
    previous = Outcome(selected=[])
    while current <= bound:
        outcome = method_of_equal_shares(election, sat, budget=current)
        if _cost(election, outcome.selected) > election.budget:
            return previous
        current += step
        previous = outcome
    return previous


def tally(election: Election, rule: str, sat: str = "cost") -> Outcome:
    if rule == "greedy":
        return greedy(election, sat)
    if rule == "mes":
        return method_of_equal_shares(election, sat)
    if rule == "mes-add1":
        return mes_add1(election, sat)
    raise ValueError(f"rule must be one of {', '.join(RULES)}")
