"""Reading and writing pabulib `.pb` files (META, PROJECTS, VOTES; `;`-separated).

Supported vote types: approval, choose-1, cumulative and ordinal. Any problem is
reported with the line it is on; nothing is returned from a file with an error.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from fractions import Fraction

VOTE_TYPES = ("approval", "choose-1", "cumulative", "ordinal")


class PabulibError(ValueError):
    """A `.pb` file that cannot be read; the message names the line."""


@dataclass
class Election:
    """One budget: its projects (id -> cost), the budget limit and the ballots.

    A ballot maps project ids to points: 1 for approval and choose-1 ballots, the points
    given for cumulative ballots, and for ordinal ballots the rank counted from the end
    (so that every ranked project counts as approved).
    """

    budget: Fraction
    costs: dict[str, Fraction]
    ballots: list[dict[str, Fraction]]
    vote_type: str = "approval"
    meta: dict[str, str] = field(default_factory=dict)
    project_meta: dict[str, dict[str, str]] = field(default_factory=dict)
    ballot_meta: list[dict[str, str]] = field(default_factory=list)
    # Ordinal ballots keep their order here (ids, most preferred first).
    rankings: list[list[str]] = field(default_factory=list)


def _number(text: str, line: int, what: str) -> Fraction:
    try:
        value = Fraction(text.strip().replace(",", "."))
    except (ValueError, ZeroDivisionError) as error:
        raise PabulibError(f"line {line}: {what} is not a number: {text!r}") from error
    if value < 0:
        raise PabulibError(f"line {line}: {what} cannot be negative: {text!r}")
    return value


def parse_pabulib(text: str) -> Election:  # noqa: PLR0912, PLR0915 - one pass over three sections
    sections: dict[str, list[tuple[int, list[str]]]] = {"meta": [], "projects": [], "votes": []}
    headers: dict[str, list[str]] = {}
    section = None
    reader = csv.reader(io.StringIO(text), delimiter=";")
    expecting_header = False
    for row in reader:
        line = reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        name = row[0].strip().lower()
        if (name in sections and len(row) == 1) or (name in sections and not any(row[1:])):
            if headers.get(name) is not None or sections[name]:
                raise PabulibError(f"line {line}: the section {name.upper()} appears twice")
            section, expecting_header = name, True
            continue
        if section is None:
            raise PabulibError(f"line {line}: expected META, PROJECTS or VOTES first")
        if expecting_header:
            headers[section] = [cell.strip() for cell in row]
            expecting_header = False
            continue
        sections[section].append((line, row))
    for required in ("meta", "projects", "votes"):
        if required not in headers:
            raise PabulibError(f"the file has no {required.upper()} section")
    meta = {}
    for line, row in sections["meta"]:
        if len(row) < 2:
            raise PabulibError(f"line {line}: a META row needs a key and a value")
        meta[row[0].strip()] = row[1].strip()
    if "budget" not in meta:
        raise PabulibError("META has no budget")
    budget = _number(meta["budget"], 0, "the budget")
    vote_type = meta.get("vote_type", "")
    if vote_type not in VOTE_TYPES:
        raise PabulibError(f"META vote_type must be one of {', '.join(VOTE_TYPES)}: {vote_type!r}")
    project_header = headers["projects"]
    if not project_header or project_header[0] != "project_id" or "cost" not in project_header:
        raise PabulibError("the PROJECTS header needs project_id first and a cost column")
    cost_column = project_header.index("cost")
    costs: dict[str, Fraction] = {}
    project_meta: dict[str, dict[str, str]] = {}
    for line, row in sections["projects"]:
        if len(row) != len(project_header):
            raise PabulibError(
                f"line {line}: {len(row)} fields, the PROJECTS header has {len(project_header)}"
            )
        project_id = row[0].strip()
        if not project_id or project_id in costs:
            raise PabulibError(f"line {line}: missing or repeated project id {project_id!r}")
        costs[project_id] = _number(row[cost_column], line, "the cost")
        project_meta[project_id] = {
            key: value.strip() for key, value in zip(project_header, row, strict=True)
        }
    vote_header = headers["votes"]
    if "vote" not in vote_header:
        raise PabulibError("the VOTES header has no vote column")
    vote_column = vote_header.index("vote")
    points_column = vote_header.index("points") if "points" in vote_header else None
    if vote_type == "cumulative" and points_column is None:
        raise PabulibError("cumulative votes need a points column")
    ballots: list[dict[str, Fraction]] = []
    ballot_meta: list[dict[str, str]] = []
    rankings: list[list[str]] = []
    for line, row in sections["votes"]:
        if len(row) != len(vote_header):
            raise PabulibError(
                f"line {line}: {len(row)} fields, the VOTES header has {len(vote_header)}"
            )
        chosen = [item.strip() for item in row[vote_column].split(",") if item.strip()]
        unknown = [item for item in chosen if item not in costs]
        if unknown:
            raise PabulibError(f"line {line}: unknown project {unknown[0]!r}")
        if len(set(chosen)) != len(chosen):
            raise PabulibError(f"line {line}: a project is chosen twice")
        if vote_type == "choose-1" and len(chosen) > 1:
            raise PabulibError(f"line {line}: a choose-1 ballot names more than one project")
        if vote_type == "cumulative":
            points = [item.strip() for item in row[points_column].split(",") if item.strip()]
            if len(points) != len(chosen):
                raise PabulibError(f"line {line}: {len(chosen)} projects but {len(points)} points")
            ballot = {p: _number(v, line, "points") for p, v in zip(chosen, points, strict=True)}
        elif vote_type == "ordinal":
            ballot = {p: Fraction(len(chosen) - rank) for rank, p in enumerate(chosen)}
            rankings.append(chosen)
        else:
            ballot = dict.fromkeys(chosen, Fraction(1))
        ballots.append(ballot)
        ballot_meta.append(
            {key: value.strip() for key, value in zip(vote_header, row, strict=True)}
        )
    return Election(
        budget=budget,
        costs=costs,
        ballots=ballots,
        vote_type=vote_type,
        meta=meta,
        project_meta=project_meta,
        ballot_meta=ballot_meta,
        rankings=rankings,
    )


def _plain(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else str(float(value))


# The column and key orders pabulib.org/format gives (and pabulib-checker expects).
META_ORDER = [
    "description",
    "country",
    "unit",
    "district",
    "subunit",
    "instance",
    "num_projects",
    "num_votes",
    "budget",
    "vote_type",
    "rule",
    "date_begin",
    "date_end",
    "min_length",
    "max_length",
    "min_sum_cost",
    "max_sum_cost",
    "min_points",
    "max_points",
    "min_sum_points",
    "max_sum_points",
    "default_score",
    "min_project_cost",
    "max_project_cost",
    "min_project_score_threshold",
    "neighborhoods",
    "subdistricts",
    "categories",
    "edition",
    "language",
    "currency",
    "fully_funded",
    "experimental",
    "comment",
    "acknowledgments",
    "leftover_budget",
]
PROJECT_ORDER = [
    "project_id",
    "cost",
    "votes",
    "score",
    "name",
    "category",
    "beneficiaries",
    "selected",
    "neighborhood",
    "subunit",
    "district",
    "description",
    "proposer",
    "public_id",
    "latitude",
    "longitude",
]


def _ordered(keys, order: list[str]) -> list[str]:
    known = [key for key in order if key in keys]
    return known + sorted(key for key in keys if key not in order)


def write_pabulib(election: Election, selected: set[str] | None = None) -> str:
    """The election as a `.pb` file; with `selected`, the projects carry votes and selected."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    meta = {
        **election.meta,
        "num_projects": str(len(election.costs)),
        "num_votes": str(len(election.ballots)),
        "budget": _plain(election.budget),
        "vote_type": election.vote_type,
    }
    writer.writerow(["META"])
    writer.writerow(["key", "value"])
    for key in _ordered(meta, META_ORDER):
        writer.writerow([key, meta[key]])
    votes = dict.fromkeys(election.costs, 0)
    for ballot in election.ballots:
        for project in ballot:
            votes[project] += 1
    rows = {}
    for project_id, cost in election.costs.items():
        row = {**election.project_meta.get(project_id, {}), "project_id": project_id}
        row["cost"] = _plain(cost)
        if selected is not None:
            row["votes"] = str(votes[project_id])
            row["selected"] = "1" if project_id in selected else "0"
        rows[project_id] = row
    columns = _ordered({key for row in rows.values() for key in row}, PROJECT_ORDER)
    writer.writerow(["PROJECTS"])
    writer.writerow(columns)
    for row in rows.values():
        writer.writerow([row.get(column, "") for column in columns])
    writer.writerow(["VOTES"])
    cumulative = election.vote_type == "cumulative"
    writer.writerow(["voter_id", "vote", *(["points"] if cumulative else [])])
    for number, ballot in enumerate(election.ballots, start=1):
        if election.vote_type == "ordinal":
            order = (
                election.rankings[number - 1]
                if election.rankings
                else sorted(ballot, key=lambda p: -ballot[p])
            )
        else:
            order = list(ballot)
        row = [str(number), ",".join(order)]
        if cumulative:
            row.append(",".join(_plain(ballot[p]) for p in order))
        writer.writerow(row)
    return buffer.getvalue()
