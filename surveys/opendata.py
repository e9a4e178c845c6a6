"""The feedback questionnaire's and the polls' open datasets (see app/opendata/datasets.py).

Feedback figures come from the same comparison staff see (`surveys.comparison.compare`), so
the public numbers and the staff numbers cannot drift apart; satisfaction is withheld for a
group with too few answers (`app.disclosure`). Poll results are published only for polls whose
results residents may already see on the poll page, as totals per option.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.areas.services import list_areas
from app.database import utcnow
from app.events.models import Event
from app.i18n import N_, localized
from app.opendata.datasets import AREA_COLUMNS, Column, Dataset
from surveys.comparison import WHOLE_CITY, ComparisonFilter, compare
from surveys.polls.models import Poll
from surveys.polls.services import poll_results, results_public


async def feedback_rows(session: AsyncSession, settings) -> list[tuple]:
    areas = await list_areas(session)
    names = {str(area.id): area.name.get("fi") for area in areas}
    years = sorted(await session.scalars(select(Event.local_year).distinct()))
    rows = []
    for year in years:
        comparison = await compare(
            session,
            ComparisonFilter(
                start=dt.date(year, 1, 1),
                end=dt.date(year, 12, 31),
                public_only=True,
                closed_only=True,
            ),
            "area",
            zone=settings.timezone,
            areas=areas,
        )
        for group in comparison.groups:
            satisfaction = group.numeric("satisfaction")
            city = group.key == WHOLE_CITY
            per_thousand = group.participants_per_thousand
            rows.append(
                (
                    year,
                    None if city else int(group.key),
                    None if city else names.get(group.key),
                    group.events,
                    round(group.hours, 2),
                    group.participants,
                    group.visitors,
                    group.organisers,
                    group.population,
                    None if per_thousand is None else round(per_thousand, 2),
                    group.responses,
                    None if satisfaction is None else round(satisfaction.mean, 2),
                    None
                    if satisfaction is None or satisfaction.ci is None
                    else round(satisfaction.ci.low, 2),
                    None
                    if satisfaction is None or satisfaction.ci is None
                    else round(satisfaction.ci.high, 2),
                    group.suppressed,
                )
            )
    return rows


FEEDBACK = Dataset(
    name="feedback",
    title=N_("Monitoring figures and satisfaction per year and area"),
    description=N_(
        "The monitoring figures of resident events per year and area, related to the area's "
        "population, with the mean satisfaction from the standard feedback questionnaire."
    ),
    columns=(
        Column("year", "integer", N_("The year the events were held in.")),
        *AREA_COLUMNS,
        Column("events", "integer", N_("Number of events.")),
        Column("hours", "number", N_("Hours of activity: the events' lengths added up.")),
        Column("participants", "integer", N_("Participants counted at the events.")),
        Column("visitors", "integer", N_("Visitors counted at the events (e.g. at a pop-up).")),
        Column("organisers", "integer", N_("Organisers of the events.")),
        Column("residents", "integer", N_("Residents of the area in that year; empty if unknown.")),
        Column(
            "participants_per_1000_residents",
            "number",
            N_("Participants per thousand residents of the area."),
        ),
        Column("responses", "integer", N_("Answers to the feedback questionnaire.")),
        Column(
            "satisfaction_mean",
            "number",
            N_("Mean satisfaction on a scale of 1 to 5; empty when fewer than 5 answered."),
        ),
        Column(
            "satisfaction_ci95_low",
            "number",
            N_("Lower limit of the mean satisfaction's 95 % confidence interval."),
        ),
        Column(
            "satisfaction_ci95_high",
            "number",
            N_("Upper limit of the mean satisfaction's 95 % confidence interval."),
        ),
        Column(
            "suppressed",
            "boolean",
            N_("True when fewer than 5 answered: then the answers' figures are withheld."),
        ),
    ),
    rows=feedback_rows,
)


async def poll_rows(session: AsyncSession, settings) -> list[tuple]:
    now = utcnow()
    polls = await session.scalars(
        select(Poll).where(Poll.opens_at <= now).order_by(Poll.opens_at, Poll.id)
    )
    rows = []
    for poll in polls:
        if not results_public(poll, now):
            continue
        results = await poll_results(session, poll)
        for question in results.questions:
            for option in question.options:
                rows.append(
                    (
                        poll.slug,
                        localized(poll.title, "fi"),
                        poll.opens_at.date(),
                        poll.closes_at.date(),
                        poll.closes_at <= now,
                        results.votes,
                        question.question.key,
                        option.key,
                        option.label.get("fi") or option.key,
                        option.count,
                    )
                )
    return rows


POLLS = Dataset(
    name="polls",
    title=N_("Quick poll results"),
    description=N_(
        "The results of quick polls whose results are public, as the number of choices of "
        "each option."
    ),
    columns=(
        Column("poll", "string", N_("The poll's short code, as in its address /p/<code>.")),
        Column("title", "string", N_("The poll's title in Finnish.")),
        Column("opens_on", "date", N_("The day the poll opened (UTC).")),
        Column("closes_on", "date", N_("The day the poll closes or closed (UTC).")),
        Column("closed", "boolean", N_("True when the poll has closed and its figures are final.")),
        Column("votes", "integer", N_("Number of people who answered the poll.")),
        Column("question", "string", N_("The question's key (stable).")),
        Column("option", "string", N_("The option's key (stable).")),
        Column("option_label", "string", N_("The option's text in Finnish.")),
        Column("count", "integer", N_("How many chose the option.")),
    ),
    rows=poll_rows,
)

DATASETS = (FEEDBACK, POLLS)
