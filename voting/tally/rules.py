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
    totals = _total_satisfaction(election, sat)
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


def _total_satisfaction(election: Election, sat: str) -> dict[str, Fraction]:
    """Each project's satisfaction summed over the voters (counted once per voter and project)."""
    if sat not in SATISFACTIONS:
        raise ValueError(f"satisfaction must be one of {', '.join(SATISFACTIONS)}")
    if sat == "points":
        points: dict[str, Fraction] = dict.fromkeys(election.costs, Fraction(0))
        for ballot in election.ballots:
            for project, value in ballot.items():
                points[project] += value
        return points
    approvals: Counter = Counter()
    for ballot in election.ballots:
        approvals.update(project for project, value in ballot.items() if value > 0)
    unit = election.costs if sat == "cost" else dict.fromkeys(election.costs, Fraction(1))
    return {project: unit[project] * approvals[project] for project in election.costs}


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
    if sat in ("cost", "cardinality"):
        return _equal_shares_approval(election, sat, budget)
    return _equal_shares_general(election, sat, budget)


def _equal_shares_approval(election: Election, sat: str, budget: Fraction | None) -> Outcome:
    """Equal shares when every supporter of a project gets the same satisfaction from it.

    The same rounds as the general version, faster: voters with the same budget are
    interchangeable when a project's price is worked out, so each project keeps how many
    of its supporters hold each budget amount (and their total money), updated only for
    the voters who pay when a project is bought. Gives exactly the general outcome.
    """
    outcome = Outcome(selected=[])
    if not election.ballots:
        return outcome
    share = (election.budget if budget is None else budget) / len(election.ballots)
    groups, supporters = _approval_groups(election)
    # Voters who hold the same amount form a class; classes are numbered, because hashing
    # fractions is slow. A class paying for a project becomes a new class.
    amounts: list[Fraction] = [share]
    classes: dict[Fraction, int] = {share: 0}
    holder = [0] * len(groups)
    unit: dict[str, Fraction] = {}
    holdings: dict[str, dict[int, int]] = {}
    money: dict[str, Fraction] = {}
    affordability: dict[str, Fraction] = {}
    for project, cost in election.costs.items():
        count = sum(groups[g][1] for g in supporters[project])
        if count == 0:
            outcome.reasons[project] = "no_support"
            continue
        if cost == 0:
            outcome.selected.append(project)
            outcome.reasons[project] = "selected"
            continue
        unit[project] = cost if sat == "cost" else Fraction(1)
        holdings[project] = {0: count}
        money[project] = share * count
        affordability[project] = cost / (unit[project] * count)
    while True:
        best: Fraction | None = None
        tied: list[str] = []
        for project in sorted(affordability, key=affordability.__getitem__):
            cost = election.costs[project]
            if money[project] < cost:
                del affordability[project]
                del holdings[project]
                outcome.reasons[project] = "not_enough_support"
                continue
            if best is not None and affordability[project] > best:
                break  # affordabilities only grow: no later project can beat the best
            factor = _price(cost, unit[project], holdings[project], amounts)
            affordability[project] = factor
            if best is None or factor < best:
                best, tied = factor, [project]
            elif factor == best:
                tied.append(project)
        if not tied:
            return outcome
        chosen = min(tied)
        outcome.selected.append(chosen)
        outcome.reasons[chosen] = "selected"
        del affordability[chosen]
        del holdings[chosen]
        price = best * unit[chosen]
        _pay(price, supporters[chosen], groups, holder, amounts, classes, holdings, money)


def _approval_groups(election: Election):
    """Distinct approval ballots with how many cast each, and each project's supporting groups."""
    ballots = Counter(tuple(sorted(p for p, v in b.items() if v > 0)) for b in election.ballots)
    groups = list(ballots.items())
    supporters: dict[str, list[int]] = {p: [] for p in election.costs}
    for g, (ballot, _count) in enumerate(groups):
        for project in ballot:
            supporters[project].append(g)
    return groups, supporters


def _pay(price, payers, groups, holder, amounts, classes, holdings, money) -> None:
    """Each payer pays `price` or all it holds; holdings and money of the projects still in the
    running follow, one update per project and change of class (not per voter)."""
    moved: dict[int, int] = {}
    shifts: dict[str, dict[int, int]] = {}
    for g in payers:
        before = holder[g]
        after = moved.get(before)
        if after is None:
            left = amounts[before] - min(amounts[before], price)
            after = classes.get(left)
            if after is None:
                after = classes[left] = len(amounts)
                amounts.append(left)
            moved[before] = after
        if after == before:
            continue
        holder[g] = after
        ballot, count = groups[g]
        for project in ballot:
            if project in holdings:
                shift = shifts.setdefault(project, {})
                shift[before] = shift.get(before, 0) + count
    for project, shift in shifts.items():
        held = holdings[project]
        for before, count in shift.items():
            after = moved[before]
            held[before] -= count
            if not held[before]:
                del held[before]
            held[after] = held.get(after, 0) + count
            money[project] -= (amounts[before] - amounts[after]) * count


def _price(
    cost: Fraction, unit: Fraction, holdings: dict[int, int], amounts: list[Fraction]
) -> Fraction:
    """The smallest price per unit of satisfaction at which supporters holding these amounts can
    buy the project: those who hold less pay all they have, the others price × satisfaction."""
    paid, count = Fraction(0), sum(holdings.values())
    for held in sorted(holdings, key=amounts.__getitem__):
        amount = amounts[held]
        factor = (cost - paid) / (unit * count)
        if factor * unit <= amount:
            return factor
        paid += amount * holdings[held]
        count -= holdings[held]
    raise AssertionError("an affordable project always has a price")  # money >= cost was checked


def _equal_shares_general(election: Election, sat: str, budget: Fraction | None) -> Outcome:
    """Equal shares with any additive satisfaction (points), supporter by supporter."""
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
