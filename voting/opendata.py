"""Participatory budgeting's open dataset (see app/opendata/datasets.py): the published results.

Only what a round's publication in force holds: the same figures as its results page and its
signed bulletin board, one row per proposal and budget. Nothing before publication, nothing
about voters but the number of ballots per budget.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.i18n import N_, localized
from app.opendata.datasets import Column, Dataset
from voting.models import Round
from voting.published import in_force, results_of


async def result_rows(session: AsyncSession, settings) -> list[tuple]:
    rows = []
    for round_ in await session.scalars(select(Round).order_by(Round.id)):
        publication = await in_force(session, round_.id)
        if publication is None:
            continue
        results = await results_of(session, publication)
        official = results["official_rule"]
        for budget in results["budgets"]:
            # The publication keeps the area's name in every language; the column is Finnish.
            area_name = localized(budget.get("area_name"), "fi")
            for row in budget["rows"]:
                title = row["title"]
                rows.append(
                    (
                        round_.slug,
                        localized(round_.title, "fi"),
                        publication.published_at.date(),
                        budget["area"],
                        area_name or None,
                        budget["amount"],
                        budget["voters"],
                        row["id"],
                        title.get("fi") if isinstance(title, dict) else title,
                        title.get("sv") if isinstance(title, dict) else None,
                        row["cost"],
                        row["votes"],
                        bool(row["chosen"][official]),
                        row["reason"],
                    )
                )
    return rows


PB_RESULTS = Dataset(
    name="pb-results",
    title=N_("Participatory budgeting results"),
    description=N_(
        "The published results of every participatory budgeting round: each proposal's cost, "
        "votes and whether it was selected, per budget. The signed bulletin board of each "
        "round lets anyone check the figures."
    ),
    columns=(
        Column("round", "string", N_("The round's short code, as in its address /pb/<code>.")),
        Column("round_title", "string", N_("The round's title in Finnish.")),
        Column("published_on", "date", N_("The day the results in force were published (UTC).")),
        Column(
            "budget_area_id", "integer", N_("The budget's area number; empty for the whole city.")
        ),
        Column("budget_area", "string", N_("The budget's area name; empty for the whole city.")),
        Column("budget_euros", "integer", N_("The budget in euros.")),
        Column("ballots", "integer", N_("Ballots counted for the budget.")),
        Column("proposal_id", "integer", N_("The proposal's number in Tori (stable).")),
        Column("proposal_fi", "string", N_("The proposal's title in Finnish.")),
        Column("proposal_sv", "string", N_("The proposal's title in Swedish.")),
        Column("cost_euros", "integer", N_("The proposal's estimated cost in euros.")),
        Column("votes", "integer", N_("Votes for the proposal.")),
        Column("selected", "boolean", N_("True when the official rule selected the proposal.")),
        Column("reason", "string", N_("Why it was or was not selected (a stable key).")),
    ),
    rows=result_rows,
)

DATASETS = (PB_RESULTS,)
