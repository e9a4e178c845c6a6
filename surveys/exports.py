"""Open-data exports: the aggregates, the monitoring figures and the anonymous responses.

Column names are stable: question keys, option keys and fixed English field
names, the same in every language of the interface. The exports for people (the spreadsheet
CSV and the Excel workbook) also carry labels in the staff member's language: `labelled` puts
them in the header and names the groups.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from app.areas.models import Area
from app.disclosure import too_few_to_show
from app.events.models import Event
from app.i18n import N_, gettext, localized
from surveys.comparison import Comparison, ComparisonFilter, is_numeric
from surveys.definitions import Question
from surveys.instruments import parse_instrument
from surveys.models import FeedbackResponse, InstrumentRecord

MONITORING_COLUMNS = [
    "group",
    "events",
    "hours",
    "participants",
    "visitors",
    "organisers",
    "responses",
    "response_rate",
    "residents",
    "participants_per_1000_residents",
    "satisfaction_mean",
    "suppressed",
    "hours_per_1000_residents",
    "visitors_per_1000_residents",
    "organisers_per_1000_residents",
]
ANSWER_COLUMNS = [
    "group",
    "question_key",
    "option_key",
    "n",
    "mean",
    "median",
    "sd",
    "ci95_low",
    "ci95_high",
    "count",
    "share",
    "share_ci95_low",
    "share_ci95_high",
]
COLUMN_LABELS = {
    "group": N_("Group"),
    "events": N_("Events"),
    "hours": N_("Hours of activity"),
    "participants": N_("Participants"),
    "visitors": N_("Visitors"),
    "organisers": N_("Organisers"),
    "responses": N_("Responses"),
    "response_rate": N_("Responses per participant"),
    "residents": N_("Residents"),
    "participants_per_1000_residents": N_("Participants per 1,000 residents"),
    "hours_per_1000_residents": N_("Hours per 1,000 residents"),
    "visitors_per_1000_residents": N_("Visitors per 1,000 residents"),
    "organisers_per_1000_residents": N_("Organisers per 1,000 residents"),
    "satisfaction_mean": N_("Mean satisfaction (1–5)"),
    "suppressed": N_("Fewer than 5 responses (1 = yes)"),
    "question_key": N_("Question"),
    "option_key": N_("Option"),
    "n": N_("Number of answers"),
    "mean": N_("Mean"),
    "median": N_("Median"),
    "sd": N_("Standard deviation"),
    "ci95_low": N_("Confidence interval, lower limit"),
    "ci95_high": N_("Confidence interval, upper limit"),
    "count": N_("Count"),
    "share": N_("Share"),
    "share_ci95_low": N_("Confidence interval of the share, lower limit"),
    "share_ci95_high": N_("Confidence interval of the share, upper limit"),
    "response_id": N_("Response"),
    "event_id": N_("Event"),
    "event_type": N_("Event type"),
    "area": N_("Area"),
    "event_date": N_("Date of the event"),
    "language": N_("Language of the answer"),
    "submitted_on": N_("Answered on"),
}


def column_labels(keys: Sequence[str], questions: Sequence[Question] = ()) -> list[str]:
    """The header for people: each column's label in the reader's language (a question's own
    text for a question key), the key itself where there is none."""
    texts = {q.key: q.text for q in questions}
    labels = []
    for key in keys:
        if key in COLUMN_LABELS:
            labels.append(gettext(COLUMN_LABELS[key]))
        elif key in texts:
            labels.append(localized(texts[key]) or key)
        else:
            labels.append(key)
    return labels


def labelled(rows: list[list], group_names: dict[str, str], *, keys_row: bool) -> list[list]:
    """Rows for people: the labels first (and the stable keys in a second row when `keys_row`,
    so that a workbook shows both), and each group by its name."""
    header, *data = rows
    named = [[group_names.get(str(row[0]), row[0]), *row[1:]] for row in data]
    return [column_labels(header), *([header] if keys_row else []), *named]


RESPONSE_FIXED_COLUMNS = [
    "response_id",
    "event_id",
    "event_type",
    "area",
    "event_date",
    "language",
    "submitted_on",
]


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def monitoring_rows(comparison: Comparison) -> list[list]:
    rows: list[list] = [MONITORING_COLUMNS]
    for group in comparison.groups:
        satisfaction = group.numeric("satisfaction")
        rows.append(
            [
                group.key,
                group.events,
                _round(group.hours, 2),
                group.participants,
                group.visitors,
                group.organisers,
                group.responses,
                _round(group.response_rate),
                group.population,
                _round(group.participants_per_thousand),
                _round(satisfaction.mean) if satisfaction else None,
                int(group.suppressed),
                _round(group.hours_per_thousand),
                _round(group.visitors_per_thousand),
                _round(group.organisers_per_thousand),
            ]
        )
    return rows


def answer_rows(comparison: Comparison) -> list[list]:
    rows: list[list] = [ANSWER_COLUMNS]
    for question in comparison.questions:
        for group in comparison.groups:
            if group.suppressed:
                continue
            if is_numeric(question):
                summary = group.numeric(question.key)
                if summary:
                    rows.append(
                        [
                            group.key,
                            question.key,
                            "",
                            summary.n,
                            _round(summary.mean),
                            summary.median,
                            _round(summary.sd),
                            _round(summary.ci.low) if summary.ci else None,
                            _round(summary.ci.high) if summary.ci else None,
                            None,
                            None,
                            None,
                            None,
                        ]
                    )
            elif question.type in ("single", "multiple", "yes_no"):
                for option, share in (
                    group.shares(question.key, question.option_keys, question.type == "multiple")
                    or []
                ):
                    rows.append(
                        [
                            group.key,
                            question.key,
                            option,
                            share.n,
                            None,
                            None,
                            None,
                            None,
                            None,
                            share.count,
                            _round(share.share),
                            _round(share.ci.low),
                            _round(share.ci.high),
                        ]
                    )
    return rows


async def response_columns(
    sessionmaker: async_sessionmaker, questions: Sequence[Question]
) -> list[str]:
    keys = [q.key for q in questions if not q.key.endswith(".score")]
    async with sessionmaker() as session:
        for record in await session.scalars(
            select(InstrumentRecord).order_by(InstrumentRecord.key, InstrumentRecord.version)
        ):
            instrument = parse_instrument(record.definition)
            keys += [q.key for q in instrument.questions() if q.key not in keys]
            keys.append(instrument.score_key)
    return list(dict.fromkeys(keys))


async def response_rows(
    sessionmaker: async_sessionmaker,
    filters: ComparisonFilter,
    columns: list[str],
    *,
    zone: str,
    batch: int = 2000,
) -> AsyncIterator[list]:
    """Every matching response, streamed in batches from its own session (the request's has ended)."""
    yield RESPONSE_FIXED_COLUMNS + columns
    async with sessionmaker() as session:
        areas = {area.id: area.slug for area in await session.scalars(select(Area))}
        conditions = list(filters.event_conditions(zone))
        if filters.languages:
            conditions.append(FeedbackResponse.language.in_(filters.languages))
        # The same small-group suppression as the statistics pages: an event with fewer
        # responses (among those chosen) than a group may show is left out whole, or its rows
        # (age group, home area, language) would single people out.
        counts = await session.execute(
            select(FeedbackResponse.event_id, func.count())
            .join(Event, Event.id == FeedbackResponse.event_id)
            .where(*conditions)
            .group_by(FeedbackResponse.event_id)
        )
        shown = [event_id for event_id, count in counts if not too_few_to_show(count)]
        query = (
            select(FeedbackResponse, Event.event_type, Event.area_id, Event.starts_at)
            .join(Event, Event.id == FeedbackResponse.event_id)
            .where(*conditions, FeedbackResponse.event_id.in_(shown))
            .order_by(FeedbackResponse.id)
            .execution_options(yield_per=batch)
        )
        result = await session.stream(query)
        async for response, event_type, area_id, starts_at in result:
            answers = response.answers
            yield [
                response.id,
                response.event_id,
                event_type,
                areas.get(area_id, "city"),
                starts_at.date().isoformat(),
                response.language,
                response.submitted_on.isoformat(),
                *[";".join(v) if isinstance(v := answers.get(key), list) else v for key in columns],
            ]
