"""A round's definition as the bulletin board publishes it, and the rules every ballot must
keep: standard library only, so the standalone verifier, `tori audit` and the tests check
ballots with one piece of code.

`Definition.parse(record)` checks the board's "round" line field by field and raises
`DefinitionError` naming the field; `Definition.ballot_problem(area, selections)` says what is
wrong with one ballot (or returns None). See docs/board-format.md for the rules.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import NamedTuple

BALLOT_RULES = ("approval", "k_approval", "points", "ranking")
# Rules whose `max_choices` is required: the most proposals chosen (k-approval) or ranked
# (ranking) in each budget.
COUNTED_RULES = ("k_approval", "ranking")
CHANGE_KINDS = ("close_early", "extend")
CHANGE_KEYS = frozenset({"at", "kind", "from", "to", "reason"})
BUDGET_KEYS = frozenset({"area", "name", "amount"})
# A budget may also carry the city's limits on the number of its proposals one ballot chooses
# (ranks, or gives points to): written only when set, so boards without limits keep their bytes.
BUDGET_LIMIT_KEYS = frozenset({"min_choices", "max_choices"})
PROJECT_KEYS = frozenset({"id", "area", "cost", "title"})
# Every number on a board is a whole number from 0 up to 2^53 - 1 (exact in any JSON reader).
MAX_NUMBER = 2**53 - 1


class DefinitionError(ValueError):
    """The definition is malformed: the message names the field."""


def is_whole(value: object) -> bool:
    """A JSON integer (true and false are not numbers here) within 0 … 2^53 - 1."""
    return type(value) is int and 0 <= value <= MAX_NUMBER


def is_area(value: object) -> bool:
    """An area id (a whole number) or None (city-wide / no district)."""
    return value is None or is_whole(value)


def area_name(area: int | None) -> str:
    return "city-wide" if area is None else f"area {area}"


def _timestamp(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise DefinitionError(f"{field} is not an ISO-8601 time")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as error:
        raise DefinitionError(f"{field} is not an ISO-8601 time") from error
    if moment.tzinfo is None:
        raise DefinitionError(f"{field} has no time zone")
    return value


def _keys(
    value: object, keys: frozenset[str], where: str, optional: frozenset[str] = frozenset()
) -> dict:
    if not isinstance(value, dict):
        raise DefinitionError(f"{where} is not an object")
    missing, unknown = keys - set(value), set(value) - keys - optional
    if missing:
        raise DefinitionError(f"{where}: missing field {sorted(missing)[0]!r}")
    if unknown:
        raise DefinitionError(f"{where}: unknown field {sorted(unknown)[0]!r}")
    return value


def _limit(record: dict, name: str, needed: bool) -> int | None:
    value = record[name]
    if value is None and not needed:
        return None
    if not is_whole(value) or value < 1:
        raise DefinitionError(f"{name} must be a whole number of at least 1, not {value!r:.40}")
    return value


def _check_period(record: dict) -> None:
    opens = _timestamp(record["voting_open_at"], "voting_open_at")
    closes = _timestamp(record["voting_close_at"], "voting_close_at")
    if dt.datetime.fromisoformat(opens) >= dt.datetime.fromisoformat(closes):
        raise DefinitionError("voting_close_at is not after voting_open_at")
    changes = record["changes"]
    if not isinstance(changes, list):
        raise DefinitionError("changes is not a list")
    for number, change in enumerate(changes, start=1):
        where = f"change {number}"
        _keys(change, CHANGE_KEYS, where)
        if change["kind"] not in CHANGE_KINDS:
            raise DefinitionError(f"{where}: unknown kind {change['kind']!r:.40}")
        for name in ("at", "from", "to"):
            _timestamp(change[name], f"{where}: {name}")
        # The public reason in each language it was given in, like the round's title.
        reason = change["reason"]
        if (
            not isinstance(reason, dict)
            or not reason
            or not all(isinstance(text, str) and text for text in reason.values())
        ):
            raise DefinitionError(f"{where}: the reason must be an object of texts per language")


def _budget_limits(budget: dict, where: str) -> tuple[int, int | None] | None:
    """(least, most) choices of the budget (most None: no upper limit), or None without limits."""
    if not BUDGET_LIMIT_KEYS & set(budget):
        return None
    least, most = budget.get("min_choices"), budget.get("max_choices")
    for name, value in (("min_choices", least), ("max_choices", most)):
        if name in budget and not (is_whole(value) and value >= 1):
            raise DefinitionError(f"{where}: {name} must be a whole number of at least 1")
    if least is not None and most is not None and least > most:
        raise DefinitionError(f"{where}: min_choices is more than max_choices")
    return (least or 0, most)


def _amounts(budgets: object) -> tuple[dict, dict]:
    """Budget area -> amount, and budget area -> (least, most) choices for budgets with limits."""
    if not isinstance(budgets, list) or not budgets:
        raise DefinitionError("budgets must be a non-empty list")
    amounts: dict = {}
    limits: dict = {}
    for number, budget in enumerate(budgets, start=1):
        where = f"budget {number}"
        _keys(budget, BUDGET_KEYS, where, BUDGET_LIMIT_KEYS)
        if not is_area(budget["area"]):
            raise DefinitionError(f"{where}: the area is not an area id or null")
        if budget["area"] in amounts:
            raise DefinitionError(f"{where}: a second budget for {area_name(budget['area'])}")
        if not is_whole(budget["amount"]):
            raise DefinitionError(f"{where}: the amount is not a whole number")
        if budget["name"] is not None and not isinstance(budget["name"], str):
            raise DefinitionError(f"{where}: the name is not a text")
        amounts[budget["area"]] = budget["amount"]
        limit = _budget_limits(budget, where)
        if limit is not None:
            limits[budget["area"]] = limit
    return amounts, limits


def _projects(projects: object, amounts: dict) -> dict:
    """Project id (as ballots write it) -> Project."""
    if not isinstance(projects, list):
        raise DefinitionError("projects is not a list")
    found: dict = {}
    for number, project in enumerate(projects, start=1):
        where = f"project {number}"
        _keys(project, PROJECT_KEYS, where)
        if not is_whole(project["id"]) or project["id"] < 1:
            raise DefinitionError(f"{where}: the id is not a whole number of at least 1")
        key = str(project["id"])
        if key in found:
            raise DefinitionError(f"{where}: id {key} appears twice")
        if not is_area(project["area"]) or project["area"] not in amounts:
            raise DefinitionError(f"project {key}: its area {project['area']!r:.40} has no budget")
        if not is_whole(project["cost"]):
            raise DefinitionError(f"project {key}: the cost is not a whole number")
        if not isinstance(project["title"], dict):
            raise DefinitionError(f"project {key}: the title is not an object")
        found[key] = Project(project["area"], project["cost"])
    return found


class Project(NamedTuple):
    area: int | None
    cost: int


@dataclass(frozen=True)
class Definition:
    """The parts of the round line that the checks need, in a form that is quick to consult."""

    record: dict
    ballot_rule: str
    max_choices: int | None
    points_total: int | None
    points_per_proposal: int | None
    # Budget area -> amount (None: the city-wide budget).
    amounts: dict
    # Project id as the ballots write it (a decimal string) -> Project.
    projects: dict
    # Budget area -> (least, most) choices, for the budgets that set limits (most None: none).
    limits: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, record: dict) -> Definition:
        """Check every field of the round line except its keys and format (the board checks
        those): raises DefinitionError naming the first bad field."""
        if not isinstance(record["round"], str) or not record["round"]:
            raise DefinitionError("round must be a non-empty string")
        title = record["title"]
        if not isinstance(title, dict) or not all(isinstance(v, str) for v in title.values()):
            raise DefinitionError("title must be an object of texts per language")
        rule = record["ballot_rule"]
        if rule not in BALLOT_RULES:
            raise DefinitionError(f"unknown ballot rule {rule!r:.40}")
        max_choices = _limit(record, "max_choices", rule in COUNTED_RULES)
        points_total = _limit(record, "points_total", rule == "points")
        per_proposal = _limit(record, "points_per_proposal", rule == "points")
        _check_period(record)
        amounts, limits = _amounts(record["budgets"])
        projects = _projects(record["projects"], amounts)
        return cls(record, rule, max_choices, points_total, per_proposal, amounts, projects, limits)

    def ballot_problem(self, area: object, selections: object) -> str | None:  # noqa: PLR0911, PLR0912 - one return per rule
        """What makes this ballot invalid under the round's rules, or None. `area` is the
        ballot's district (None: a voter with no district), `selections` maps project ids (as
        strings) to points (1 on approval ballots; on ranking ballots the rank, 1 for the
        first). (Called once per entry of a board of maybe a million: written for speed.)"""
        if area is not None and not is_whole(area):
            return f"the area {area!r:.40} is not an area id or null"
        if type(selections) is not dict:
            return "the selections are not an object of project ids and points"
        rule = self.ballot_rule
        points, ranking = rule == "points", rule == "ranking"
        projects, most = self.projects, self.points_per_proposal
        # [cost, choices, points, largest rank] in the voter's district and city-wide.
        district, city = [0, 0, 0, 0], [0, 0, 0, 0]
        ranks: dict = {}
        for key, value in selections.items():
            project = projects.get(key)
            if project is None:
                return f"project {key!r:.40} is not on the ballot of this round"
            project_area, cost = project
            if project_area is None:
                used = city
            elif project_area == area:
                used = district
            else:
                return (
                    f"project {key} belongs to {area_name(project_area)},"
                    f" not to the ballot's {area_name(area)}"
                )
            if type(value) is not int:
                return f"project {key}: {value!r:.40} is not a whole number"
            if points:
                if not 1 <= value <= most:
                    return f"project {key}: {value} points, allowed 1 to {most}"
            elif ranking:
                if not 1 <= value <= self.max_choices:
                    return f"project {key}: rank {value}, allowed 1 to {self.max_choices}"
                seen = ranks.setdefault(project_area, set())
                if value in seen:
                    return f"{area_name(project_area)}: rank {value} is given twice"
                seen.add(value)
                used[3] = max(used[3], value)
            elif value != 1:
                return f"project {key}: {value} on an approval ballot, where a choice is 1"
            used[0] += cost
            used[1] += 1
            used[2] += value
        limits = self.limits
        for budget_area, (cost, count, given, last) in ((area, district), (None, city)):
            if not count:
                # A budget left empty is allowed whatever its limits: the voter abstains there.
                continue
            where = area_name(budget_area)
            amount = self.amounts[budget_area]
            if rule == "approval" and cost > amount:
                return f"{where}: the choices cost {cost}, the budget is {amount}"
            if rule in COUNTED_RULES and count > self.max_choices:
                return f"{where}: {count} choices, at most {self.max_choices} allowed"
            if points and given > self.points_total:
                return f"{where}: {given} points given, at most {self.points_total} allowed"
            if ranking and last != count:
                return f"{where}: the ranks are not 1 to {count} without gaps"
            limit = limits.get(budget_area)
            if limit is not None:
                least, top = limit
                if count < least:
                    return f"{where}: {count} choices, at least {least} required"
                if top is not None and count > top:
                    return f"{where}: {count} choices, at most {top} allowed in this budget"
        return None
