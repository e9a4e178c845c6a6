"""What a publication stores, and the pages that read it.

Publication keeps, in one immutable `pb_publication` row written in the transaction that
freezes the round: the signed bulletin board's exact bytes, the outcome of every rule for every
budget (votes, voters, each rule's selection and money used, the official rule's reasons) and
each budget's pabulib file. The public results page, the board file, the `.pb` exports and the
receipt page read that row only: nothing counts inside a public request, and a later change to
the ballots, the log, the costs or the rule in the database does not change what is served.

The count itself (`count_round`) is plain Python over plain data, run in a worker thread so
that a 60,000-ballot round does not block the event loop.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from fractions import Fraction

import anyio
from cachetools import LRUCache
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.i18n import localized
from app.off_loop import in_worker_process
from voting.models import LogEntry, PaperEntry, Proposal, Publication, RollEntry, Round
from voting.tally import Election, write_pabulib
from voting.tally.board import recount
from voting.tally.borda import ranking_of
from voting.tally.count import (
    POINTS_RULES,
    RULE_COLUMNS,
    ballot_groups,
    budget_elections,
    count_budget,
    counted_selections,
)
from voting.tally.rules import votes_per_project

RESULTS_FORMAT = "tori-results/1"


def budget_key(area_id: int | None) -> str:
    return "city" if area_id is None else str(area_id)


def key_id(public_key: str) -> str:
    """The board format's key id: the first 16 hex digits of SHA-256 of the raw public key."""
    return hashlib.sha256(base64.b64decode(public_key)).hexdigest()[:16]


# --- what is counted: a snapshot of the round and its log as plain data ------------------------


async def snapshot(session: AsyncSession, round_: Round) -> dict:
    """The round as it is counted: its definition (with every language of the titles and area
    names, for the pages) and the ballots of its log, in log order."""
    data, log = await snapshot_log(session, round_)
    return {**data, "ballots": ballots_of(log)}


async def snapshot_log(session: AsyncSession, round_: Round) -> tuple[dict, str]:
    """`snapshot` without its ballots, and the log's entries as they are stored, one a line (a
    canonical entry has no newline): what a count in a process of its own is sent. One text
    crosses to the process at once; the ballots as Python objects took a tenth of a second of
    pickling for 75,000 ballots, all of it holding the interpreter lock the event loop needs."""
    proposals = await session.scalars(
        select(Proposal)
        .where(Proposal.round_id == round_.id, Proposal.status == "accepted")
        .order_by(Proposal.id)
    )
    texts = []
    rows = await session.stream(
        select(LogEntry.entry)
        .where(LogEntry.round_id == round_.id)
        .order_by(LogEntry.seq)
        .execution_options(yield_per=5000)
    )
    async for (text,) in rows:
        texts.append(text)
    data = {
        "round": round_.slug,
        "title": dict(round_.title),
        "ballot_rule": round_.ballot_rule,
        "official_rule": round_.official_rule,
        "max_choices": round_.max_choices,
        "points_total": round_.points_total,
        "points_per_proposal": round_.points_per_proposal,
        "voting_open_at": round_.voting_open_at.isoformat(),
        "voting_close_at": round_.voting_close_at.isoformat(),
        "budgets": [
            {
                "area": b.area_id,
                "area_name": dict(b.area.name) if b.area else None,
                "amount": b.amount,
                "min_choices": b.min_choices,
                "max_choices": b.max_choices,
            }
            for b in sorted(round_.budgets, key=lambda b: (b.area_id is None, b.id))
        ],
        "projects": [
            {"id": p.id, "area": p.area_id, "cost": p.cost, "title": dict(p.title)}
            for p in proposals
        ],
    }
    return data, "\n".join(texts)


def ballots_of(log: str) -> list[tuple[int | None, dict]]:
    """The (area, selections) of each entry of a log given as `snapshot_log` gives it."""
    return [
        (entry["area"], entry["selections"])
        for entry in map(json.loads, log.split("\n") if log else [])
    ]


def count_round(data: dict) -> tuple[dict, dict[str, str]]:
    """Every rule's outcome for every budget, and each budget's pabulib file. Pure: no database,
    no request; call it through `app.off_loop.in_worker_process`."""
    points = data["ballot_rule"] in POINTS_RULES
    official = data["official_rule"]
    budgets, exports = [], {}
    counted = counted_selections(data["ballot_rule"], data["max_choices"], data["ballots"])
    for budget, own, election in budget_elections(
        data["budgets"], data["projects"], counted, points
    ):
        groups = ballot_groups(election, points)
        outcomes = count_budget(election, points, groups)
        votes = votes_per_project(election, groups)
        chosen = outcomes[official]
        rows = [
            {
                "id": p["id"],
                "title": p["title"],
                "cost": p["cost"],
                "votes": int(votes[str(p["id"])]),
                "chosen": {rule: str(p["id"]) in outcomes[rule].selected for rule in RULE_COLUMNS},
                "reason": chosen.reasons.get(str(p["id"]), "no_support"),
                "remaining": int(chosen.remaining[str(p["id"])])
                if str(p["id"]) in chosen.remaining
                else None,
            }
            for p in own
        ]
        rows.sort(key=lambda r: (-r["votes"], r["id"]))
        budgets.append(
            {
                "area": budget["area"],
                "area_name": budget["area_name"],
                "amount": budget["amount"],
                "voters": len(election.ballots),
                "rows": rows,
                "spent": {
                    rule: int(sum((election.costs[p] for p in outcomes[rule].selected), Fraction()))
                    for rule in RULE_COLUMNS
                },
                "selected": {
                    rule: sorted(int(p) for p in outcomes[rule].selected) for rule in RULE_COLUMNS
                },
            }
        )
        exports[budget_key(budget["area"])] = _pabulib(
            data, budget, own, election, chosen, rankings(data, budget["area"], own)
        )
    results = {
        "format": RESULTS_FORMAT,
        "round": data["round"],
        "title": data["title"],
        "ballot_rule": data["ballot_rule"],
        "official_rule": official,
        "rules": list(RULE_COLUMNS),
        "ballots": len(data["ballots"]),
        "budgets": budgets,
    }
    return results, exports


def count_for_publication(
    data: dict, definition: dict, log: str
) -> tuple[dict, dict[str, str], list[dict]]:
    """`count_round` and the board's tally, the verifier's own recount (every rule) of the same
    log (`snapshot_log`): the work of a publication that takes seconds on a large round, run in
    a process of its own (`app.off_loop.in_worker_process`)."""
    ballots = ballots_of(log)
    results, exports = count_round({**data, "ballots": ballots})
    return results, exports, recount(definition, ballots)


def count_log(data: dict, log: str) -> tuple[dict, dict[str, str]]:
    """`count_round` of a round given as `snapshot_log` gives it (in a process of its own)."""
    return count_round({**data, "ballots": ballots_of(log)})


def board_tally(results: dict) -> list[dict]:
    """The board's tally line from the stored results (what `voting.tally.board.recount` gives
    for the same log): per budget the voters, each project's votes, the official selection.
    The board's "rules" (every rule's selection) are `results["budgets"][n]["selected"]`."""
    official = results["official_rule"]
    return [
        {
            "area": budget["area"],
            "amount": budget["amount"],
            "voters": budget["voters"],
            "votes": {
                str(row["id"]): row["votes"]
                for row in sorted(budget["rows"], key=lambda r: r["id"])
            },
            "selected": [str(p) for p in budget["selected"][official]],
        }
        for budget in results["budgets"]
    ]


def rankings(data: dict, area: int | None, own: list[dict]) -> list[list[str]] | None:
    """On ranking ballots, each budget's rankings (project ids, the first first) of the ballots
    that ranked something there, in log order (the order of the budget's election); None on
    other ballots."""
    if data["ballot_rule"] != "ranking":
        return None
    projects = {str(p["id"]) for p in own}
    ranked = (
        ranking_of(selections, projects)
        for ballot_area, selections in data["ballots"]
        if area is None or ballot_area == area
    )
    return [ranking for ranking in ranked if ranking]


def _pabulib(
    data: dict,
    budget: dict,
    own: list[dict],
    election: Election,
    chosen,
    ranked: list[list[str]] | None = None,
) -> str:
    """One budget as a pabulib file: the ballots that chose something there, in log order.
    Ranking ballots are written as pabulib's ordinal votes: the project ids in rank order."""
    opened, closed = data["voting_open_at"], data["voting_close_at"]
    election.meta = {
        "description": localized(data["title"], "fi"),
        "country": "Finland",
        "unit": "Tori",
        "instance": opened[:4],
        "rule": "greedy" if data["official_rule"] == "greedy" else "equalshares",
        "date_begin": f"{opened[8:10]}.{opened[5:7]}.{opened[:4]}",
        "date_end": f"{closed[8:10]}.{closed[5:7]}.{closed[:4]}",
        "language": "fi",
        "currency": "EUR",
    }
    if budget["area_name"] is not None:
        election.meta["district"] = localized(budget["area_name"], "fi")
    if data["ballot_rule"] == "k_approval" and data["max_choices"]:
        election.meta["max_length"] = str(data["max_choices"])
    if data["ballot_rule"] == "points":
        election.meta["max_sum_points"] = str(data["points_total"])
        election.meta["max_points"] = str(data["points_per_proposal"])
    if ranked is not None:
        election.vote_type, election.rankings = "ordinal", ranked
        election.meta["max_length"] = str(data["max_choices"])
    least, most = budget.get("min_choices"), budget.get("max_choices")
    if least:
        election.meta["min_length"] = str(least)
    if most and ("max_length" not in election.meta or most < int(election.meta["max_length"])):
        election.meta["max_length"] = str(most)
    election.project_meta = {str(p["id"]): {"name": localized(p["title"], "fi")} for p in own}
    return write_pabulib(election, selected=set(chosen.selected))


async def provisional(session: AsyncSession, round_: Round) -> tuple[dict, dict[str, str]]:
    """The count of the log as it stands (the auditor's provisional view before publication),
    counted in a process of its own, not on the event loop."""
    data, log = await snapshot_log(session, round_)
    return await in_worker_process(count_log, data, log)


# --- reading what was published ----------------------------------------------------------------


async def current(session: AsyncSession, round_id: int) -> Publication | None:
    """The round's publication in force: the latest version (a correction supersedes)."""
    return await session.scalar(
        select(Publication)
        .where(Publication.round_id == round_id)
        .order_by(Publication.version.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class Published:
    """Which publication is in force for a round: enough to find and cache what it stores."""

    id: int
    digest: str
    published_at: object


async def in_force(session: AsyncSession, round_id: int) -> Published | None:
    """The publication in force (the latest version), without loading what it stores."""
    row = (
        await session.execute(
            select(Publication.id, Publication.digest, Publication.published_at)
            .where(Publication.round_id == round_id)
            .order_by(Publication.version.desc())
            .limit(1)
        )
    ).first()
    return Published(*row) if row else None


# Stored results, per process: a publication never changes, so it is decoded once (the digest is
# in the key: ids can be reused by a database rebuilt from scratch).
_RESULTS: LRUCache[tuple[int, str], dict] = LRUCache(maxsize=64)


async def results_of(session: AsyncSession, publication: Published) -> dict:
    key = (publication.id, publication.digest)
    results = _RESULTS.get(key)
    if results is None:
        results = await session.scalar(
            select(Publication.results).where(Publication.id == publication.id)
        )
        _RESULTS[key] = results
    return results


async def board_bytes(session: AsyncSession, publication_id: int) -> bytes:
    return await session.scalar(select(Publication.board).where(Publication.id == publication_id))


async def exports_of(session: AsyncSession, publication_id: int) -> dict[str, str]:
    return await session.scalar(select(Publication.exports).where(Publication.id == publication_id))


@dataclass
class PublishedReceipt:
    """The receipt page after publication, from the stored board: found, the entry's number and
    the ballot's choices as (project, points), the project as published (id, title)."""

    found: bool
    seq: int | None = None
    choices: list[tuple[dict | None, int]] | None = None
    # After publication nothing is pending: the final mix ran before the count.
    pending: bool = False


def find_receipt(board: bytes, results: dict, receipt: str) -> PublishedReceipt:
    """The entry a receipt names in a board: the entry line whose hash is the receipt, or whose
    entry carries it as its tracker."""
    projects = {str(r["id"]): r for b in results["budgets"] for r in b["rows"]}
    needle = receipt.encode()
    start = board.find(needle)
    while start != -1:
        begin = board.rfind(b"\n", 0, start) + 1
        end = board.find(b"\n", start)
        end = len(board) if end == -1 else end
        line = json.loads(board[begin:end])
        if line.get("type") == "entry":
            entry = json.loads(line["entry"])
            if receipt in (line.get("hash"), entry.get("tracker")):
                return PublishedReceipt(
                    True,
                    line["seq"],
                    [(projects.get(pid), points) for pid, points in entry["selections"].items()],
                )
        start = board.find(needle, end)
    return PublishedReceipt(False)


async def published_receipt(
    session: AsyncSession, publication: Published, receipt: str
) -> PublishedReceipt:
    board = await board_bytes(session, publication.id)
    results = await results_of(session, publication)
    return await anyio.to_thread.run_sync(find_receipt, board, results, receipt)


# --- before publication: what the confirmation page shows -------------------------------------


@dataclass
class Readiness:
    """What publishing now would publish, and what stands in the way."""

    entries: int
    marks: dict[str, int]
    unmixed: int
    flagged: list[str]
    typed_once: list[str]
    closed: bool
    published: bool

    @property
    def marked(self) -> int:
        return sum(self.marks.values())

    @property
    def blockers(self) -> list[str]:
        return [
            name
            for name, blocked in (
                ("published", self.published),
                ("open", not self.closed),
                ("flagged", bool(self.flagged)),
            )
            if blocked
        ]


async def readiness(session: AsyncSession, round_: Round, now) -> Readiness:
    from voting.publication import head_of  # noqa: PLC0415

    head = await head_of(session, round_.id)
    marks = {"online": 0, "assisted": 0, "paper": 0}
    for channel, number in await session.execute(
        select(RollEntry.voted_via, func.count())
        .where(RollEntry.round_id == round_.id, RollEntry.voted_via.is_not(None))
        .group_by(RollEntry.voted_via)
    ):
        marks[channel] = number
    slips: dict[str, list[str]] = {"flagged": [], "pending": []}
    for slip, status in await session.execute(
        select(PaperEntry.slip, PaperEntry.status)
        .where(PaperEntry.round_id == round_.id, PaperEntry.status.in_(("flagged", "pending")))
        .distinct()
        .order_by(PaperEntry.slip)
    ):
        slips[status].append(slip)
    return Readiness(
        entries=head.count,
        marks=marks,
        # Ballots whose voter is marked on the roll but that are not in the log yet (waiting
        # for the mixer's next batch): the final mix at publication adds them.
        unmixed=max(sum(marks.values()) - head.count, 0),
        flagged=slips["flagged"],
        typed_once=slips["pending"],
        closed=now >= round_.voting_close_at,
        published=round_.published_at is not None,
    )
