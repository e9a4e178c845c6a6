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
from enum import StrEnum
from fractions import Fraction
from math import gcd

from voting.tally.pabulib import Election


class Reason(StrEnum):
    """Why a project was or was not funded under a rule (the results pages word each one)."""

    SELECTED = "selected"
    COMPLETED = "completed"
    DID_NOT_FIT = "did_not_fit"
    NOT_ENOUGH_SUPPORT = "not_enough_support"
    NO_SUPPORT = "no_support"


SATISFACTIONS = ("cost", "cardinality", "points")
# Distinct approval ballots (project ids in order) with how many voters cast each.
Groups = list[tuple[tuple[str, ...], int]]
RULES = ("greedy", "mes", "mes-add1")


def _check_satisfaction(sat: str) -> None:
    if sat not in SATISFACTIONS:
        raise ValueError(f"satisfaction must be one of {', '.join(SATISFACTIONS)}")


def _point_groups(election: Election) -> list[tuple[dict[str, Fraction], int]]:
    """Distinct ballots as (project -> points given, how many voters cast it)."""
    counted = Counter(
        tuple(sorted((p, v) for p, v in ballot.items() if v.numerator > 0))
        for ballot in election.ballots
    )
    return [(dict(key), count) for key, count in counted.items()]


@dataclass
class Outcome:
    """The selected project ids (in the order chosen) and, per project, why."""

    selected: list[str]
    reasons: dict[str, str] = field(default_factory=dict)
    # Greedy: the remaining budget when a project did not fit.
    remaining: dict[str, Fraction] = field(default_factory=dict)


def greedy(
    election: Election,
    sat: str = "cost",
    budget: Fraction | None = None,
    *,
    supported_only: bool = False,
    groups: Groups | None = None,
) -> Outcome:
    """pabutools' greedy; with `supported_only` (as Tori counts its own rounds) a project no
    voter chose is never funded, even when it would fit. `groups`: the election's
    `approval_groups`, when the caller has them already."""
    limit = election.budget if budget is None else budget
    totals = _total_satisfaction(election, sat, groups)
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
        if supported_only and totals[project] == 0:
            outcome.reasons[project] = Reason.NO_SUPPORT
        elif cost <= remaining:
            outcome.selected.append(project)
            remaining -= cost
            outcome.reasons[project] = Reason.SELECTED
        else:
            outcome.reasons[project] = Reason.DID_NOT_FIT
            outcome.remaining[project] = remaining
    return outcome


def _total_satisfaction(
    election: Election, sat: str, groups: Groups | None = None
) -> dict[str, Fraction]:
    """Each project's satisfaction summed over the voters (counted once per voter and project)."""
    _check_satisfaction(sat)
    unit = election.costs if sat == "cost" else dict.fromkeys(election.costs, Fraction(1))
    if groups is not None and sat != "points":
        counted: Counter[str] = Counter()
        for ballot, count in groups:
            for project in ballot:
                counted[project] += count
        return {project: unit[project] * counted[project] for project in election.costs}
    if sat == "points":
        points: dict[str, Fraction] = dict.fromkeys(election.costs, Fraction(0))
        for ballot in election.ballots:
            for project, value in ballot.items():
                points[project] += value
        return points
    # One Counter over all choices: much faster than one update() per ballot on large rounds.
    approvals = Counter(
        project
        for ballot in election.ballots
        for project, value in ballot.items()
        if value.numerator > 0  # as `value > 0`, without Fraction's slow comparison
    )
    return {project: unit[project] * approvals[project] for project in election.costs}


@dataclass
class _Project:
    id: str
    cost: Fraction
    supporters: list[int]
    total: Fraction
    affordability: Fraction


def method_of_equal_shares(
    election: Election,
    sat: str = "cost",
    budget: Fraction | None = None,
    groups: Groups | None = None,
) -> Outcome:
    _check_satisfaction(sat)
    if sat == "points":
        return _equal_shares_points(election, budget)
    return _equal_shares_approval(election, sat, budget, groups)


def _equal_shares_approval(
    election: Election, sat: str, budget: Fraction | None, groups: Groups | None
) -> Outcome:
    """Equal shares when every supporter of a project gets the same satisfaction from it.

    The same rounds as `_equal_shares_points`, with less work per round: identical ballots are
    one group, and voters who hold the same amount are interchangeable when a project's price is
    worked out, so a price is found from how many of the project's supporters hold each amount,
    counted afresh for the few projects priced in a round (paying only moves the payers).
    Amounts are integers in units of 1/D, D growing as prices need it, so that the inner loops
    compare and add integers. Gives exactly pabutools' outcome (see the tests).
    """
    outcome = Outcome(selected=[])
    if not election.ballots:
        return outcome
    groups = approval_groups(election) if groups is None else groups
    return _ApprovalShares(election, sat, budget, outcome, groups).run()


class _ApprovalShares:
    def __init__(
        self,
        election: Election,
        sat: str,
        budget: Fraction | None,
        outcome: Outcome,
        groups: Groups,
    ):
        self.outcome = outcome
        share = (election.budget if budget is None else budget) / len(election.ballots)
        # Projects are numbered here (integer keys are cheaper than ids); ties still go by id.
        self.ids = list(election.costs)
        self.counts = [count for _ballot, count in groups]
        # Each project's supporting groups: those of one voter, and the others with their count.
        self.single: list[list[int]] = [[] for _ in self.ids]
        self.multiple: list[list[tuple[int, int]]] = [[] for _ in self.ids]
        number = {project: index for index, project in enumerate(self.ids)}
        for g, (ballot, count) in enumerate(groups):
            if count == 1:
                for project in ballot:
                    self.single[number[project]].append(g)
            else:
                for project in ballot:
                    self.multiple[number[project]].append((g, count))
        self.supporters = [
            single + [g for g, _count in multiple]
            for single, multiple in zip(self.single, self.multiple, strict=True)
        ]
        denominator = share.denominator
        for cost in election.costs.values():
            denominator = denominator * cost.denominator // gcd(denominator, cost.denominator)
        self.scale = denominator  # money is held in units of 1/scale
        # Voters who hold the same amount form a class; a class that pays becomes another one.
        self.amounts: list[int] = [int(share * denominator)]
        self.holder = [0] * len(groups)
        # class -> how many groups hold it; only these amounts are read (and rescaled)
        self.live = {0: len(groups)}
        self.classes = {self.amounts[0]: 0}  # amount -> its class, for the classes held
        self.costs: dict[int, int] = {}
        self.unit: dict[int, Fraction] = {}
        self.affordability: dict[int, Fraction] = {}
        for project, cost in enumerate(election.costs.values()):
            count = len(self.single[project]) + sum(c for _g, c in self.multiple[project])
            if count == 0:
                outcome.reasons[self.ids[project]] = "no_support"
            elif cost == 0:
                outcome.selected.append(self.ids[project])
                outcome.reasons[self.ids[project]] = "selected"
            else:
                self.costs[project] = int(cost * denominator)
                self.unit[project] = cost if sat == "cost" else Fraction(1)
                self.affordability[project] = cost / (self.unit[project] * count)

    def run(self) -> Outcome:
        while True:
            best: Fraction | None = None
            tied: dict[int, tuple[int, int]] = {}
            for project in sorted(self.affordability, key=self.affordability.__getitem__):
                price = self._price(project, self._holdings(project))
                if price is None:
                    del self.affordability[project]
                    self.outcome.reasons[self.ids[project]] = "not_enough_support"
                    continue
                if best is not None and self.affordability[project] > best:
                    break  # affordabilities only grow: no later project can beat the best
                owed, payers = price
                factor = Fraction(owed, payers * self.scale) / self.unit[project]
                self.affordability[project] = factor
                if best is None or factor < best:
                    best, tied = factor, {project: (owed, payers)}
                elif factor == best:
                    tied[project] = (owed, payers)
            if not tied:
                return self.outcome
            chosen = min(tied, key=self.ids.__getitem__)
            self.outcome.selected.append(self.ids[chosen])
            self.outcome.reasons[self.ids[chosen]] = "selected"
            del self.affordability[chosen]
            owed, payers = tied[chosen]
            self._pay(chosen, owed, payers)

    def _holdings(self, project: int) -> dict[int, int]:
        """How many of the project's supporters hold each amount (by class), read afresh: only
        the few projects priced in a round need it, so paying updates no project's figures.
        Ballots cast by one voter alone are counted by Counter in C; the others one by one."""
        holder = self.holder
        held = Counter(map(holder.__getitem__, self.single[project]))
        for g, count in self.multiple[project]:
            held[holder[g]] += count
        return held

    def _price(self, project: int, held: dict[int, int]) -> tuple[int, int] | None:
        """What is left to pay once the poorest supporters have paid all they hold, and by how many
        voters it is shared: each of them pays owed / payers (the price times the satisfaction).
        None when all the supporters' money together does not cover the cost."""
        owed, payers = self.costs[project], sum(held.values())
        for cls in sorted(held, key=self.amounts.__getitem__):
            amount, count = self.amounts[cls], held[cls]
            if owed <= amount * payers:
                return owed, payers
            owed -= amount * count
            payers -= count
        return None  # everything they hold is less than the cost

    def _rescale(self, factor: int) -> None:
        self.scale *= factor
        amounts = self.amounts
        for cls in self.live:
            amounts[cls] *= factor
        self.classes = {amounts[cls]: cls for cls in self.live}
        self.costs = {project: cost * factor for project, cost in self.costs.items()}

    def _pay(self, chosen: int, owed: int, payers: int) -> None:
        """Each supporter pays owed / payers or all it holds, and so moves to the class of what
        it has left."""
        factor = payers // gcd(owed, payers)
        if factor > 1:
            self._rescale(factor)
            owed *= factor
        price = owed // payers
        holder, amounts, live = self.holder, self.amounts, self.live
        supporters = self.supporters[chosen]
        moved: dict[int, int] = {}
        classes = self.classes
        for before, groups in Counter(map(holder.__getitem__, supporters)).items():
            left = amounts[before] - min(amounts[before], price)
            after = classes.get(left)
            if after is None:
                after = classes[left] = len(amounts)
                amounts.append(left)
                live[after] = 0
            moved[before] = after
            live[after] += groups
            live[before] -= groups
            if not live[before]:
                del live[before]
                if classes.get(amounts[before]) == before:
                    del classes[amounts[before]]
        for g in supporters:
            holder[g] = moved[holder[g]]


def approval_groups(election: Election) -> Groups:
    """Distinct approval ballots (the projects approved, in id order) with how many cast each:
    what the approval rules need, counted once per election by callers that run several."""
    # `v.numerator > 0`: as `v > 0` for a Fraction (its denominator is positive), without
    # Fraction's slow comparison
    ballots = Counter(
        tuple(sorted(p for p, v in b.items() if v.numerator > 0)) for b in election.ballots
    )
    return list(ballots.items())


def _equal_shares_points(election: Election, budget: Fraction | None) -> Outcome:
    """Equal shares with points as satisfaction, which differ by supporter: supporter by
    supporter, as pabutools does it."""
    groups = _point_groups(election)
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
            outcome.reasons[project] = Reason.NO_SUPPORT
            continue
        if cost == 0:
            outcome.selected.append(project)
            outcome.reasons[project] = Reason.SELECTED
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
                outcome.reasons[project.id] = Reason.NOT_ENOUGH_SUPPORT
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
        outcome.reasons[chosen.id] = Reason.SELECTED
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


def equal_shares_completed(
    election: Election, sat: str = "cost", groups: Groups | None = None
) -> Outcome:
    """The method of equal shares, then the money it leaves is spent greedily by votes (most
    voters first; for points ballots, most points), as cities that use equal shares do.

    Reasons: "selected" (by equal shares), "completed" (by the greedy completion),
    "did_not_fit" (with the remaining budget) or "no_support".
    """
    shares = method_of_equal_shares(election, sat, groups=groups)
    outcome = Outcome(selected=list(shares.selected))
    outcome.reasons = dict.fromkeys(shares.selected, Reason.SELECTED)
    remaining = election.budget - _cost(election, shares.selected)
    votes = _total_satisfaction(election, "points" if sat == "points" else "cardinality", groups)
    chosen = set(shares.selected)
    for project in sorted(election.costs, key=lambda p: (-votes[p], p)):
        if project in chosen:
            continue
        cost = election.costs[project]
        if votes[project] == 0:
            outcome.reasons[project] = Reason.NO_SUPPORT
        elif cost <= remaining:
            outcome.selected.append(project)
            outcome.reasons[project] = Reason.COMPLETED
            remaining -= cost
        else:
            outcome.reasons[project] = Reason.DID_NOT_FIT
            outcome.remaining[project] = remaining
    return outcome


def votes_per_project(election: Election, groups: Groups | None = None) -> dict[str, Fraction]:
    """How many voters chose each project (for points ballots: the points it got)."""
    sat = "points" if election.vote_type == "cumulative" else "cardinality"
    return _total_satisfaction(election, sat, groups)
