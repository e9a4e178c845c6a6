"""Files out of and into a round: the mailing file of voting codes, and pabulib `.pb` files
(a round's ballots out, a published instance in as a round)."""

from __future__ import annotations

import datetime as dt

from litestar import Response
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.areas.models import Area
from app.database import utcnow
from app.errors import NotFoundError
from app.i18n import N_, gettext, localized
from app.spreadsheets import csv_text
from voting import rounds
from voting.ballots import canonical_choices
from voting.models import Ballot, Budget, LogEntry, LogHead, Proposal, Round
from voting.publication import publish
from voting.results import count, election_of
from voting.roll import IssuedCode
from voting.tally import Election, write_pabulib
from voting.tally.board import chain_hash, entry_body, entry_text

BALLOT_RULE_OF_VOTE_TYPE = {
    "approval": "approval",
    "choose-1": "k_approval",
    "cumulative": "points",
    "ordinal": "approval",
}


def codes_csv(issued: list[IssuedCode], areas: dict[int, Area]) -> str:
    rows: list[list] = [[gettext("Reference"), gettext("Area"), gettext("Voting code")]]
    for code in issued:
        area = areas.get(code.area_id) if code.area_id else None
        rows.append([code.reference or "", localized(area.name) if area else "", code.code])
    return csv_text(rows)


async def round_pabulib(session: AsyncSession, round_: Round, budget: Budget) -> str:
    """The ballots of one budget as pabulib: projects with their votes and whether the
    official rule selected them; each non-empty ballot in a random order of ids."""
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
    ballots = list(
        await session.execute(
            select(Ballot.area_id, Ballot.choices)
            .where(Ballot.round_id == round_.id)
            .order_by(Ballot.id)
        )
    )
    points = round_.ballot_rule == "points"
    election = election_of(budget, proposals, [tuple(row) for row in ballots], points)
    outcome = count(election, points)[round_.official_rule]
    election.meta = {
        "description": localized(round_.title),
        "country": "Finland",
        "unit": "Tori",
        "instance": str(round_.voting_open_at.year),
        "rule": "greedy" if round_.official_rule == "greedy" else "equalshares",
        "date_begin": round_.voting_open_at.strftime("%d.%m.%Y"),
        "date_end": round_.voting_close_at.strftime("%d.%m.%Y"),
        "language": "fi",
        "currency": "EUR",
    }
    if budget.area is not None:
        election.meta["district"] = localized(budget.area.name)
    if round_.ballot_rule == "k_approval" and round_.max_choices:
        election.meta["max_length"] = str(round_.max_choices)
    if points:
        election.meta["max_sum_points"] = str(round_.points_total)
        election.meta["max_points"] = str(round_.points_per_proposal)
    election.project_meta = {str(p.id): {"name": localized(p.title)} for p in proposals}
    return write_pabulib(election, selected=set(outcome.selected))


async def import_pabulib(
    session: AsyncSession,
    election: Election,
    title: str,
    seed: bytes,
    area_id: int | None = None,
) -> Round:
    """A published instance as a closed round: its projects accepted at their costs, its
    ballots stored (with no roll, as they come from elsewhere), the results phase reached."""
    if (
        any(cost.denominator != 1 for cost in election.costs.values())
        or election.budget.denominator != 1
    ):
        raise ValueError("costs and the budget must be whole numbers to import as a round")
    now = utcnow()
    moment = now - dt.timedelta(days=1)
    ballot_rule = BALLOT_RULE_OF_VOTE_TYPE.get(election.vote_type, "approval")
    points = ballot_rule == "points"
    draft = rounds.RoundDraft(
        title={"fi": title, "sv": title, "en": title},
        description={},
        ideas_open_at=moment,
        review_at=moment,
        voting_open_at=moment,
        voting_close_at=now - dt.timedelta(seconds=1),
        results_at=now - dt.timedelta(seconds=1),
        min_age=0,
        ballot_rule=ballot_rule,
        official_rule="greedy" if election.meta.get("rule", "greedy") == "greedy" else "mes_cost",
        budgets={area_id: int(election.budget)},
        max_choices=int(election.meta.get("max_length") or 1)
        if ballot_rule == "k_approval"
        else None,
        points_total=int(max((sum(b.values()) for b in election.ballots), default=1))
        if points
        else None,
        points_per_proposal=int(
            max((max(b.values(), default=1) for b in election.ballots), default=1)
        )
        if points
        else None,
    )
    round_ = await rounds.create_round(session, draft, source="pabulib")
    ids: dict[str, int] = {}
    for project_id, cost in election.costs.items():
        name = election.project_meta.get(project_id, {}).get("name") or project_id
        proposal = Proposal(
            round_id=round_.id,
            area_id=area_id,
            title={"fi": name[:120]},
            description={},
            estimated_cost=int(cost),
            final_cost=int(cost),
            status="accepted",
            reason={},
            implementation_note={},
            external_id=project_id[:40],
        )
        session.add(proposal)
        await session.flush()
        ids[project_id] = proposal.id
    # The imported ballots enter the round's log in the file's order, as paper ballots would.
    head = await session.get(LogHead, round_.id)
    previous, rows, entries = head.head_hash, [], []
    for number, ballot in enumerate(election.ballots, start=1):
        ballot_id = f"{number:032x}"
        choices = {ids[p]: int(v) for p, v in ballot.items()}
        text = entry_text(entry_body(round_.slug, area_id, ballot_id, choices), number)
        previous = chain_hash(previous, text)
        rows.append(
            {
                "id": ballot_id,
                "round_id": round_.id,
                "area_id": area_id,
                "choices": canonical_choices(choices),
                "channel": "paper",
            }
        )
        entries.append({"round_id": round_.id, "seq": number, "entry": text, "hash": previous})
    for start in range(0, len(rows), 5000):
        await session.execute(insert(Ballot), rows[start : start + 5000])
        await session.execute(insert(LogEntry), entries[start : start + 5000])
    head.count, head.prev_hash, head.head_hash = len(rows), head.head_hash, previous
    await session.commit()
    # Published data: the imported round is published (counted, signed, frozen) at once.
    await publish(session, round_, seed, None)
    return round_


async def pabulib_response(request, session: AsyncSession, round_: Round):
    """The ballots of one budget as a pabulib file (`?budget=city` or an area id)."""
    wanted = request.query_params.get("budget", "city")
    area = (
        None
        if wanted == "city"
        else (int(wanted) if wanted.isdecimal() and len(wanted) < 10 else -1)
    )
    budget = rounds.budget_of(round_, area)
    if budget is None:
        raise NotFoundError(N_("This round has no budget for that area."))
    text = await round_pabulib(session, round_, budget)
    return Response(
        text,
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="tori-{round_.slug}-{wanted}.pb"'},
    )
