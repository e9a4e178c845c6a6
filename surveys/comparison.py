"""Comparing feedback across events: counts aggregated in SQL, summaries computed from them.

One query returns, per group, question key and answer value, how many
respondents gave that value (the tally plus counts not yet folded into it);
a second returns the monitoring figures of the events per group. No response
row is loaded: everything else is arithmetic on those counts.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, cast, distinct, func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import aliased

from app.areas.models import Area
from app.database import utcnow
from app.disclosure import too_few_to_show
from app.events.models import Event, EventOrganiser, EventType, Organiser
from app.events.services import hours_expression, json_list_contains
from app.i18n import DEFAULT_LANGUAGE, LANGUAGES, N_, content_languages
from surveys.definitions import (
    NUMERIC_TYPES,
    RESPONDENTS_VALUE,
    RESPONSES_KEY,
    Question,
    parse_question,
)
from surveys.instruments import parse_instrument
from surveys.models import (
    FeedbackPending,
    FeedbackTally,
    InstrumentRecord,
    Questionnaire,
    QuestionnaireTemplate,
    TemplateVersion,
)
from surveys.statistics import (
    NumericSummary,
    Proportion,
    proportion,
    summarise_numeric,
)

GROUPINGS = {
    "type": N_("Event type"),
    "area": N_("Area"),
    "language": N_("Answering language"),
    "event": N_("Event"),
    "month": N_("Month"),
    "year": N_("Year"),
    "version": N_("Questionnaire version"),
    "none": N_("All together"),
}
MAX_EVENT_GROUPS = 60
WHOLE_CITY = "city"


@dataclass(frozen=True)
class ComparisonFilter:
    start: dt.date | None = None
    end: dt.date | None = None
    event_types: tuple[str, ...] = ()
    area_ids: tuple[int, ...] = ()
    languages: tuple[str, ...] = ()
    organiser_kinds: tuple[str, ...] = ()
    organiser_name: str = ""
    # One organiser of the register, by its id: its events, under whatever name they show.
    organiser_id: int | None = None
    event_ids: tuple[int, ...] = ()
    # Public figures (open data) count public events only: a staff-only event is not published.
    public_only: bool = False
    # Public figures count an event only once its feedback questionnaire has closed: figures
    # that move with each answer give that answer away to anyone who reads them before and
    # after it (the difference of two means).
    closed_only: bool = False

    def event_conditions(self, zone: str) -> list:
        conditions = []
        if self.public_only:
            conditions.append(Event.is_public.is_(True))
        if self.closed_only:
            still_open = select(Questionnaire.id).where(
                Questionnaire.event_id == Event.id, Questionnaire.closes_at > utcnow()
            )
            conditions.append(~still_open.exists())
        if self.start:
            conditions.append(
                Event.starts_at >= dt.datetime.combine(self.start, dt.time(), tzinfo=_zone(zone))
            )
        if self.end:
            conditions.append(
                Event.starts_at
                < dt.datetime.combine(
                    self.end + dt.timedelta(days=1), dt.time(), tzinfo=_zone(zone)
                )
            )
        if self.event_types:
            conditions.append(Event.event_type.in_(self.event_types))
        if self.area_ids:
            conditions.append(Event.area_id.in_(self.area_ids))
        if self.event_ids:
            conditions.append(Event.id.in_(self.event_ids))
        if self.organiser_kinds or self.organiser_name or self.organiser_id is not None:
            organiser = (
                select(EventOrganiser.id)
                .join(Organiser, Organiser.id == EventOrganiser.organiser_id)
                .where(EventOrganiser.event_id == Event.id)
            )
            if self.organiser_kinds:
                organiser = organiser.where(Organiser.kind.in_(self.organiser_kinds))
            if self.organiser_id is not None:
                organiser = organiser.where(EventOrganiser.organiser_id == self.organiser_id)
            if self.organiser_name:
                pattern = (
                    "%"
                    + self.organiser_name.lower()
                    .replace("\\", "\\\\")
                    .replace("%", "\\%")
                    .replace("_", "\\_")
                    + "%"
                )
                # The name in any language: staff search in the one they remember.
                organiser = organiser.where(
                    or_(
                        *(
                            func.lower(Organiser.name[language].as_string()).like(
                                pattern, escape="\\"
                            )
                            for language in LANGUAGES
                        )
                    )
                )
            conditions.append(organiser.exists())
        return conditions


def _zone(name: str):
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    return ZoneInfo(name)


def _group_expression(grouping: str):
    """The group of an event, as a plain column where possible so the database can plan well.

    For "language" the answering language is used instead, per counted row.
    """
    expressions = {
        "type": lambda: Event.event_type,
        "area": lambda: func.coalesce(cast(Event.area_id, String), literal(WHOLE_CITY)),
        "event": lambda: cast(Event.id, String),
        "month": lambda: Event.local_month,
        "year": lambda: cast(Event.local_year, String),
        # The version of the standard questionnaire the event's form uses (answers pool by
        # question key across versions; this tells them apart).
        "version": lambda: func.coalesce(
            select(cast(TemplateVersion.version, String))
            .join(Questionnaire, Questionnaire.version_id == TemplateVersion.id)
            .where(Questionnaire.event_id == Event.id)
            .scalar_subquery(),
            literal(""),
        ),
    }
    return expressions.get(grouping, lambda: literal("all" if grouping == "none" else ""))()


@dataclass
class Group:
    key: str
    events: int = 0
    hours: float = 0.0
    participants: int = 0
    visitors: int = 0
    organisers: int = 0
    responses: int = 0
    population: int | None = None
    counts: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    _numeric: dict[str, NumericSummary | None] = field(default_factory=dict, repr=False)

    @property
    def suppressed(self) -> bool:
        return too_few_to_show(self.responses)

    @property
    def response_rate(self) -> float | None:
        return self.responses / self.participants if self.participants else None

    def per_thousand(self, figure: float) -> float | None:
        """`figure` per 1,000 residents of the group's areas (Kuopio's monitoring measure)."""
        return figure / self.population * 1000 if self.population else None

    @property
    def participants_per_thousand(self) -> float | None:
        return self.per_thousand(self.participants)

    @property
    def hours_per_thousand(self) -> float | None:
        return self.per_thousand(self.hours)

    @property
    def visitors_per_thousand(self) -> float | None:
        return self.per_thousand(self.visitors)

    @property
    def organisers_per_thousand(self) -> float | None:
        return self.per_thousand(self.organisers)

    def numeric(self, key: str) -> NumericSummary | None:
        if self.suppressed:
            return None
        if key not in self._numeric:
            values = self.counts.get(key, {})
            self._numeric[key] = summarise_numeric(
                {int(v): c for v, c in values.items() if v.lstrip("-").isdecimal()}
            )
        return self._numeric[key]

    def shares(
        self, key: str, option_keys: tuple[str, ...], multiple: bool
    ) -> list[tuple[str, Proportion]] | None:
        if self.suppressed:
            return None
        values = self.counts.get(key, {})
        n = (
            values.get(RESPONDENTS_VALUE, 0)
            if multiple
            else sum(c for v, c in values.items() if v != RESPONDENTS_VALUE)
        )
        if n == 0:
            return []
        return [(option, proportion(values.get(option, 0), n)) for option in option_keys]


@dataclass
class Comparison:
    grouping: str
    groups: list[Group]
    questions: list[Question]
    truncated: bool = False

    @property
    def total_responses(self) -> int:
        return sum(group.responses for group in self.groups)


async def question_catalogue(session: AsyncSession, areas: list[Area]) -> dict[str, Question]:
    """Every question key ever asked in the standard template (newest wording wins), and instrument scores."""
    from surveys.services import STANDARD_TEMPLATE, area_options  # noqa: PLC0415

    catalogue: dict[str, Question] = {}
    template = await session.scalar(
        select(QuestionnaireTemplate).where(QuestionnaireTemplate.key == STANDARD_TEMPLATE)
    )
    for version in template.versions if template else []:
        for data in version.questions:
            question = parse_question(data, "question")
            if question.options_from == "areas":
                question = question.with_options(area_options(areas))
            catalogue[question.key] = question
    for record in await session.scalars(
        select(InstrumentRecord).order_by(InstrumentRecord.version)
    ):
        instrument = parse_instrument(record.definition)
        catalogue[instrument.score_key] = Question(
            key=instrument.score_key, type="score100", text=instrument.name, locked=True
        )
    return catalogue


async def compare(
    session: AsyncSession,
    filters: ComparisonFilter,
    grouping: str,
    *,
    zone: str,
    areas: list[Area],
    extra_questions: list[Question] | None = None,
) -> Comparison:
    if grouping not in GROUPINGS:
        raise ValueError(grouping)
    dialect = session.bind.dialect.name
    conditions = filters.event_conditions(zone)
    truncated = False
    if grouping == "event" and not filters.event_ids:
        chosen = (
            select(Event.id)
            .where(*conditions)
            .order_by(Event.starts_at.desc())
            .limit(MAX_EVENT_GROUPS + 1)
        )
        ids = list(await session.scalars(chosen))
        truncated = len(ids) > MAX_EVENT_GROUPS
        conditions.append(Event.id.in_(ids[:MAX_EVENT_GROUPS]))

    # The group of each chosen event is worked out once per event, not once per counted row.
    chosen = (
        select(
            Event.id.label("event_id"),
            _group_expression(grouping).label("group_key"),
        )
        .where(*conditions)
        .subquery("chosen")
    )
    groups: dict[str, Group] = {}
    queries = []
    for table, count in ((FeedbackTally, FeedbackTally.count), (FeedbackPending, literal(1))):
        group_key = table.language if grouping == "language" else chosen.c.group_key
        query = (
            select(group_key, table.question_key, table.value, func.sum(count))
            .select_from(table)
            .join(chosen, chosen.c.event_id == table.event_id)
            .group_by(group_key, table.question_key, table.value)
        )
        if filters.languages:
            query = query.where(table.language.in_(filters.languages))
        queries.append(query)
    for key, question_key, value, total in await counts_in_one_snapshot(session, queries):
        group = groups.setdefault(str(key), Group(str(key)))
        if question_key == RESPONSES_KEY:
            group.responses += int(total)
        else:
            group.counts[question_key][value] = group.counts[question_key].get(value, 0) + int(
                total
            )

    await _add_monitoring_figures(
        session, groups, grouping, conditions, filters=filters, dialect=dialect
    )
    chosen_events = (
        await _chosen_events(session, conditions)
        if grouping == "event" or filters.event_ids
        else {}
    )
    _add_populations(
        groups, grouping, filters, areas, {key: area for key, (area, _) in chosen_events.items()}
    )
    catalogue = await question_catalogue(session, areas)
    seen = {key for group in groups.values() for key in group.counts}
    questions = [q for key, q in catalogue.items() if key in seen or not q.key.endswith(".score")]
    questions += [q for q in (extra_questions or []) if q.key in seen]
    if grouping == "event":
        # Newest first, by when the event was held (ids say only when it was entered).
        starts = {key: starts_at.timestamp() for key, (_, starts_at) in chosen_events.items()}
        ordered = sorted(groups.values(), key=lambda g: -starts.get(g.key, float("-inf")))
    else:
        ordered = sorted(groups.values(), key=lambda g: _sort_key(grouping, g.key))
    return Comparison(grouping, ordered, questions, truncated)


async def counts_in_one_snapshot(session: AsyncSession, queries: list) -> list:
    """The rows of the folded tally's query and of the counts not yet folded, read in one
    snapshot: a fold that moves counts from one table to the other meanwhile (on PostgreSQL a
    background one, services.fold_off_the_request) neither drops nor doubles them. They are
    separate statements so that PostgreSQL scans and adds up the large tally in parallel (in
    one UNION ALL it adds it up in one process); on PostgreSQL a connection of their own in a
    REPEATABLE READ transaction gives them the one snapshot. SQLite folds in the request and
    its transactions are serializable: the session's own (as a session bound to one connection,
    in tests)."""
    if session.bind.dialect.name != "postgresql" or not isinstance(session.bind, AsyncEngine):
        return [row for query in queries for row in await session.execute(query)]
    async with session.bind.connect() as connection:
        snapshot = await connection.execution_options(isolation_level="REPEATABLE READ")
        return [row for query in queries for row in await snapshot.execute(query)]


async def _add_monitoring_figures(
    session, groups, grouping, conditions, *, filters, dialect
) -> None:
    figures = [
        func.count(Event.id),
        func.sum(hours_expression(dialect)),
        func.sum(func.coalesce(Event.participant_count, 0)),
        func.sum(func.coalesce(Event.visitor_count, 0)),
    ]
    # An alias: the organiser filter's own EXISTS over event_organiser must not correlate to it.
    member = aliased(EventOrganiser)
    # One organiser however many events it runs: its id in the register of organisers. Counted
    # once per group, the same library unit at twelve events is one organiser, not twelve.
    organisers = [func.count(distinct(member.organiser_id))]
    languages = filters.languages or content_languages()

    def grouped(columns, *, with_organisers: bool):
        def base(key_column, *where):
            statement = select(key_column, *columns)
            if with_organisers:
                statement = statement.select_from(Event).join(member, member.event_id == Event.id)
            return statement.where(*where)

        if grouping == "language":
            return union_all(
                *[
                    base(
                        literal(language).label("group_key"),
                        *conditions,
                        json_list_contains(Event.languages, language, dialect),
                    )
                    for language in languages
                ]
            )
        event_conditions = list(conditions)
        if filters.languages:
            event_conditions.append(
                or_(
                    *[
                        json_list_contains(Event.languages, language, dialect)
                        for language in filters.languages
                    ]
                )
            )
        key = _group_expression(grouping).label("group_key")
        return base(key, *event_conditions).group_by(key)

    query = grouped(figures, with_organisers=False)
    organiser_counts = {
        str(key): int(count or 0)
        for key, count in await session.execute(grouped(organisers, with_organisers=True))
    }
    for key, events, hours, participants, visitors in await session.execute(query):
        if not events:
            continue
        group = groups.setdefault(str(key), Group(str(key)))
        group.events = int(events)
        group.hours = float(hours or 0)
        group.participants = int(participants or 0)
        group.visitors = int(visitors or 0)
        group.organisers = organiser_counts.get(str(key), 0)


async def _chosen_events(
    session: AsyncSession, conditions: list
) -> dict[str, tuple[int | None, dt.datetime]]:
    """The area (None for a city-wide event) and start of each chosen event, by id as text."""
    rows = await session.execute(
        select(Event.id, Event.area_id, Event.starts_at).where(*conditions)
    )
    return {str(event_id): (area_id, starts_at) for event_id, area_id, starts_at in rows}


def _add_populations(
    groups: dict[str, Group],
    grouping: str,
    filters: ComparisonFilter,
    areas: list[Area],
    event_areas: dict[str, int | None],
) -> None:
    """Residents behind each group, in the year of the period: the residents of the areas its
    events are held in. A group of one area has that area's residents; an event, or a set of
    chosen events, those of its own areas (a city-wide event: the whole city's); otherwise the
    chosen areas', or the whole city's when no area is chosen."""
    year = (filters.end or dt.datetime.now(dt.UTC).date()).year

    def residents(of: list[Area], in_year: int) -> int | None:
        figures = [row.population for area in of if (row := area.population_in(in_year))]
        return sum(figures) if figures else None

    def areas_of(event_ids) -> list[Area]:
        held_in = {event_areas.get(event_id) for event_id in event_ids}
        return areas if None in held_in else [area for area in areas if area.id in held_in]

    if filters.event_ids:
        chosen = areas_of(event_areas)
    else:
        chosen = [area for area in areas if not filters.area_ids or area.id in filters.area_ids]

    for group in groups.values():
        if grouping == "area":
            group.population = (
                None
                if group.key == WHOLE_CITY
                else residents([a for a in areas if str(a.id) == group.key], year)
            )
        elif grouping == "event":
            group.population = (
                residents(areas_of([group.key]), year) if group.key in event_areas else None
            )
        elif grouping == "year" and group.key.isdecimal():
            group.population = residents(chosen, int(group.key))
        elif grouping == "month" and group.key[:4].isdecimal():
            group.population = residents(chosen, int(group.key[:4]))
        else:
            group.population = residents(chosen, year)


def _sort_key(grouping: str, key: str) -> Any:
    if grouping == "version":
        return (0, int(key)) if key.isdecimal() else (1, 0)
    if grouping == "type":
        order = [t.value for t in EventType]
        return order.index(key) if key in order else len(order)
    if grouping == "language":
        order = content_languages()
        return (order.index(key), key) if key in order else (len(order), key)
    return key


# The fewest answers in a language, and in the others together, for the check below to judge.
MIN_ANSWERS_FOR_DRIFT = 30


@dataclass(frozen=True)
class LanguageDrift:
    """A language version whose mean on a question lies apart from the other languages': its
    95 % interval overlaps the intervals of fewer than half of the other languages. A sign to
    have the translation checked (a scale end worded more strongly, a question read
    differently), not proof: those who answer in a language may also have had another
    experience. `others` is the other languages' answers together, for comparison."""

    language: str
    question: Question
    mean: NumericSummary
    others: NumericSummary


def _apart(one: NumericSummary, other: NumericSummary) -> bool:
    assert one.ci is not None
    assert other.ci is not None
    return one.ci.high < other.ci.low or one.ci.low > other.ci.high


def language_drifts(comparison: Comparison) -> list[LanguageDrift]:
    """Per numeric question, each answering language with enough answers (and not suppressed)
    compared with every other such language. Each is compared one by one rather than with the
    others pooled: one stray version would pull the pool away from the faithful ones and make
    them look stray too. With two languages only, the one that is not Finnish (the wording the
    translations are made from) is the one flagged."""
    if comparison.grouping != "language":
        return []
    drifts = []
    for question in comparison.questions:
        if question.type in NUMERIC_TYPES:
            drifts += _drifts_of(question, comparison.groups)
    return drifts


def _drifts_of(question: Question, groups: list[Group]) -> list[LanguageDrift]:
    judged: dict[str, tuple[Group, NumericSummary]] = {}
    for group in groups:
        summary = group.numeric(question.key)
        if summary is not None and summary.ci and summary.n >= MIN_ANSWERS_FOR_DRIFT:
            judged[group.key] = (group, summary)
    drifts = []
    for language, (_group, mine) in judged.items():
        others = [(group, summary) for key, (group, summary) in judged.items() if key != language]
        apart = sum(_apart(mine, summary) for _, summary in others)
        if not others or apart * 2 <= len(others):
            continue
        if len(others) == 1 and language == DEFAULT_LANGUAGE:
            continue
        pooled: dict[int, int] = defaultdict(int)
        for group, _summary in others:
            for value, count in group.counts.get(question.key, {}).items():
                if value.lstrip("-").isdecimal():
                    pooled[int(value)] += count
        together = summarise_numeric(pooled)
        if together is not None:
            drifts.append(LanguageDrift(language, question, mine, together))
    return drifts


def mean_satisfaction(group: Group) -> NumericSummary | None:
    return group.numeric("satisfaction")


def is_numeric(question: Question) -> bool:
    return question.type in (*NUMERIC_TYPES, "score100")
