"""Files out of and into a round: the mailing file of voting codes, and pabulib `.pb` files
(a round's ballots out, a published instance in as a round)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable

from litestar import Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.areas.models import Area
from app.database import utcnow
from app.errors import NotFoundError
from app.i18n import N_, gettext, localized
from app.requests import ascii_int
from app.spreadsheets import csv_text
from voting import rounds
from voting.ballots import canonical_choices
from voting.mixing import BallotLog, LogBallot
from voting.models import Proposal, Round
from voting.publication import publish
from voting.roll import IssuedCode
from voting.tally import Election

# An imported instance's ballots were cast elsewhere, under that city's rules, which a .pb file
# does not fully state (many allowed approval ballots over the budget): an approval file is
# published as a k-approval round of up to its longest ballot (`_most_choices`), so that the
# board states the one limit the ballots are known to keep and passes tori-verify's check.
BALLOT_RULE_OF_VOTE_TYPE = {
    "approval": "k_approval",
    "choose-1": "k_approval",
    "cumulative": "points",
    "ordinal": "ranking",
}


def codes_csv(
    issued: list[IssuedCode], areas: dict[int, Area], qr_address: Callable[[str], str] | None = None
) -> str:
    """The mailing file for a print house: a row per letter. With `qr_address` (the code → the
    address its letter's QR code opens, voting/letters.py `letter_url`) a last column gives that
    address, so that a print house can draw the QR codes; it holds the code's public part only."""
    header = [gettext("Reference"), gettext("Area"), gettext("Voting code")]
    rows: list[list] = [[*header, gettext("QR code address")] if qr_address else header]
    for code in issued:
        area = areas.get(code.area_id) if code.area_id else None
        row = [code.reference or "", localized(area.name) if area else "", code.code]
        rows.append([*row, qr_address(code.code)] if qr_address else row)
    return csv_text(rows)


def _most_choices(election: Election) -> int:
    """The most projects a ballot may choose (or rank): the file's max_length, and never fewer
    than its longest ballot."""
    longest = max((len(ballot) for ballot in election.ballots), default=1)
    return max(int(election.meta.get("max_length") or 1), longest, 1)


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
        max_choices=_most_choices(election) if ballot_rule in ("k_approval", "ranking") else None,
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
    # The imported ballots enter the round's log in the file's order through the one log
    # writer, each with a new random id (ids of two imports never collide).
    await BallotLog.append(
        session,
        round_,
        [
            LogBallot(
                secrets.token_hex(16),
                area_id,
                canonical_choices(
                    {ids[p]: rank for rank, p in enumerate(ranking, start=1)}
                    if ballot_rule == "ranking"
                    else {ids[p]: int(v) for p, v in ballot.items()}
                ),
            )
            for ballot, ranking in zip(
                election.ballots,
                election.rankings if ballot_rule == "ranking" else election.ballots,
                strict=True,
            )
        ],
    )
    await session.commit()
    # Published data: the imported round is published (counted, signed, frozen) at once.
    await publish(session, round_, seed, None)
    return round_


async def pabulib_response(request, round_: Round, exports: dict[str, str]) -> Response:
    """One budget's pabulib file (`?budget=city` or an area id), from the files made when the
    round was counted (stored at publication)."""
    wanted = request.query_params.get("budget", "city")
    area = None if wanted == "city" else ascii_int(wanted, maximum=10**9)
    if area is None and wanted != "city":
        raise NotFoundError(N_("This round has no budget for that area."))
    name = "city" if area is None else str(area)
    text = exports.get(name)
    if rounds.budget_of(round_, area) is None or text is None:
        raise NotFoundError(N_("This round has no budget for that area."))
    return Response(
        text,
        media_type="text/plain",
        headers={"Content-Disposition": f'attachment; filename="tori-{round_.slug}-{name}.pb"'},
    )


def participation_csv(round_: Round, figures: dict) -> Response:
    """The published participation figures for machines: one row per group, a withheld group
    with empty figures and `withheld` 1 (see voting.participation)."""
    rows: list[list] = [
        ["dimension", "group", "label", "eligible", "voted", "per_1000", "share", "withheld"]
    ]
    rows.append(
        ["all", "all", "", figures["eligible"], figures["voted"], figures["per_1000"], "", 0]
    )
    for dimension, name in (("areas", "area"), ("ages", "age"), ("channels", "channel")):
        for row in figures[dimension]:
            label = row["label"]
            if dimension == "areas":
                label = localized(label) if label else gettext("No home area")
            elif dimension == "channels":
                label = gettext(label)
            rows.append(
                [
                    name,
                    "none" if row["key"] is None else row["key"],
                    label,
                    row.get("eligible", ""),
                    row.get("voted", ""),
                    row.get("per_1000", ""),
                    row.get("share", ""),
                    int(row["withheld"]),
                ]
            )
    return Response(
        csv_text(rows),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="tori-{round_.slug}-participation.csv"'
        },
    )
