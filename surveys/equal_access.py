"""Whom the city reaches: those who answer the feedback questionnaire (its age-group, home-area
and language questions) and those who vote in participatory budgeting, set against the
residents by age band, language and urban/rural class (the area statistics, app/areas).

For each group: the residents' share, the respondents' share with its 95 % interval (Wilson),
and the representation ratio, the respondents' share divided by the residents' share: 1 means
the group answers as often as it lives in the area, 0.5 half as often. The groups reached least
are those with the lowest ratio.

Small groups never show: a group with fewer than five respondents is withheld, and so is
another one wherever a total would give it back (app.disclosure.withheld_cells): the age bands
of an area, the same band in every area and in the whole city, the home areas of a class and
the classes of the city are each one such line.

The participatory budgeting part comes through the features' `turnouts` hook (the figures
published with each round's results); this package does not import `voting`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import String, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.areas.models import (
    AGE_BAND_LABELS,
    AGE_BANDS,
    SETTLEMENT_CLASSES,
    SETTLEMENT_LABELS,
    Area,
    AreaStatistics,
)
from app.disclosure import withheld_cells
from app.events.models import Event
from app.features import Turnout, turnouts
from app.i18n import N_, gettext, localized
from surveys.comparison import counts_in_one_snapshot
from surveys.models import FeedbackPending, FeedbackTally
from surveys.statistics import Interval, Proportion, proportion

AGE_KEY, HOME_KEY, LANGUAGE_KEY = "age_group", "home_area", "preferred_language"
# The questionnaire asks which language one prefers to take part in; the statistics give the
# mother tongue. Both come down to three groups (docs/area-statistics.md says why).
LANGUAGES = ("fi", "sv", "other")
ANSWER_LANGUAGE = {"fi": "fi", "sv": "sv", "en": "other", "other": "other"}
MOTHER_TONGUE = {"fi": "fi", "sv": "sv", "sami": "other", "other": "other"}
LANGUAGE_LABELS = {
    "fi": N_("Finnish"),
    "sv": N_("Swedish"),
    "other": N_("Other languages"),
}
BREAKDOWN_TITLES = {
    "age": N_("Age band"),
    "language": N_("Language"),
    "home_area": N_("Home area"),
    "class": N_("Urban or rural"),
}
CITY = "city"  # the scope of the whole city
CITY_WIDE_EVENTS = "-"  # events held for the whole city (no area): a row of the table only
LEAST_REACHED = 10


@dataclass(frozen=True)
class Representation:
    """One group of one breakdown. `respondents`, `share` and `ratio` are None when withheld."""

    key: str
    label: str
    residents: int
    resident_share: float
    respondents: int | None
    share: Proportion | None
    ratio: float | None
    ratio_interval: Interval | None

    @property
    def withheld(self) -> bool:
        return self.respondents is None


@dataclass(frozen=True)
class Breakdown:
    key: str
    title: str
    # Respondents who answered in one of the groups (withheld ones too: a total is safe to show
    # when at least two of its groups are withheld).
    respondents: int
    rows: tuple[Representation, ...]


@dataclass(frozen=True)
class TurnoutRow:
    key: str
    label: str
    eligible: int | None
    voted: int | None
    # Voters per 1,000 eligible, and the group's turnout divided by the round's.
    per_1000: float | None
    ratio: float | None
    # A class whose figures leave out an area withheld in the published figures.
    partial: bool = False


@dataclass(frozen=True)
class RoundTurnout:
    title: str
    published_at: dt.datetime
    eligible: int
    voted: int
    per_1000: float
    ages: tuple[TurnoutRow, ...]
    classes: tuple[TurnoutRow, ...]


@dataclass(frozen=True)
class EqualAccess:
    year: int
    # The year of the statistics used (the newest not after `year`), and their sources.
    statistics_year: int | None
    sources: tuple[str, ...]
    scope: str
    breakdowns: tuple[Breakdown, ...]
    least_reached: tuple[tuple[str, Representation], ...]
    withheld: tuple[tuple[str, str], ...]
    turnouts: tuple[RoundTurnout, ...]


# --- pure arithmetic ------------------------------------------------------------------------


def representation(
    key: str, label: str, residents: int, all_residents: int, count: int, n: int, hidden: bool
) -> Representation:
    resident_share = residents / all_residents if all_residents else 0.0
    if hidden or n == 0:
        return Representation(key, label, residents, resident_share, None, None, None, None)
    share = proportion(count, n)
    if not resident_share:
        return Representation(key, label, residents, resident_share, count, share, None, None)
    return Representation(
        key,
        label,
        residents,
        resident_share,
        count,
        share,
        share.share / resident_share,
        Interval(share.ci.low / resident_share, share.ci.high / resident_share),
    )


def breakdown(
    key: str,
    groups: dict[str, str],
    residents: dict[str, int],
    counts: dict[str, int],
    hidden: set[str],
) -> Breakdown:
    """A breakdown of the groups in `groups` (key → label); `hidden` the withheld ones."""
    n = sum(counts.get(group, 0) for group in groups)
    all_residents = sum(residents.get(group, 0) for group in groups)
    rows = tuple(
        representation(
            group,
            label,
            residents.get(group, 0),
            all_residents,
            counts.get(group, 0),
            n,
            group in hidden,
        )
        for group, label in groups.items()
    )
    return Breakdown(key, gettext(BREAKDOWN_TITLES[key]), n, rows)


def table_withheld(
    counts: dict[str, dict[str, int]], groups: tuple[str, ...]
) -> dict[str, set[str]]:
    """Per scope (each area's events, the city-wide events, and CITY for them all), the groups
    withheld. The lines: each scope's groups (its total is shown), and each group across the
    scopes together with the city's figure of that group (the city's equals their sum)."""
    scopes = [*(scope for scope in counts if scope != CITY), CITY]
    cells = {
        (scope, group): counts.get(scope, {}).get(group, 0) for scope in scopes for group in groups
    }
    lines = [[(scope, group) for group in groups] for scope in scopes]
    lines += [[(scope, group) for scope in scopes] for group in groups]
    hidden = withheld_cells(cells, lines)
    return {scope: {group for group in groups if (scope, group) in hidden} for scope in scopes}


def least_reached(
    breakdowns: tuple[Breakdown, ...], limit: int = LEAST_REACHED
) -> tuple[tuple[str, Representation], ...]:
    """The shown groups whose respondents' share falls short of their residents' share (a
    ratio under 1), the lowest ratio first."""
    found = [
        (item.title, row)
        for item in breakdowns
        for row in item.rows
        if row.ratio is not None and row.ratio < 1
    ]
    found.sort(key=lambda pair: (pair[1].ratio, pair[0], pair[1].label))
    return tuple(found[:limit])


def per_thousand(voted: int, eligible: int) -> float | None:
    return voted * 1000 / eligible if eligible else None


def round_turnout(turnout: Turnout, areas: dict[str, Area]) -> RoundTurnout:
    """A round's turnout by age band and by the urban/rural class of the voters' areas. A class
    sums the areas whose figures were published; one withheld there is left out (marked)."""
    overall = per_thousand(turnout.voted, turnout.eligible)

    def row(key: str, label: str, eligible: int | None, voted: int | None, partial=False):
        if eligible is None or voted is None:
            return TurnoutRow(key, label, None, None, None, None, partial)
        rate = per_thousand(voted, eligible)
        ratio = rate / overall if rate is not None and overall else None
        return TurnoutRow(key, label, eligible, voted, rate, ratio, partial)

    ages = []
    for group in turnout.ages:
        label = gettext(AGE_BAND_LABELS[group.key]) if group.key in AGE_BAND_LABELS else group.key
        if group.key == AGE_BANDS[0] and turnout.min_age > 0:
            label = f"{turnout.min_age}–17"
        ages.append(row(group.key, label, group.eligible, group.voted))
    sums: dict[str, list[int]] = {}
    partial: set[str] = set()
    for group in turnout.areas:
        area = areas.get(group.key)
        settlement = area.settlement_class if area else None
        if settlement is None:
            continue
        if group.eligible is None or group.voted is None:
            partial.add(settlement)
            continue
        figures = sums.setdefault(settlement, [0, 0])
        figures[0] += group.eligible
        figures[1] += group.voted
    classes = [
        row(
            settlement,
            gettext(SETTLEMENT_LABELS[settlement]),
            *sums[settlement],
            partial=settlement in partial,
        )
        if settlement in sums
        else row(settlement, gettext(SETTLEMENT_LABELS[settlement]), None, None, partial=True)
        for settlement in SETTLEMENT_CLASSES
        if settlement in sums or settlement in partial
    ]
    return RoundTurnout(
        title=localized(turnout.title),
        published_at=turnout.published_at,
        eligible=turnout.eligible,
        voted=turnout.voted,
        per_1000=overall or 0.0,
        ages=tuple(ages),
        classes=tuple(classes),
    )


# --- from the database ----------------------------------------------------------------------


async def respondent_counts(
    session: AsyncSession, year: int
) -> dict[str, dict[str, dict[str, int]]]:
    """{question key: {scope: {answer: respondents}}} for the events held in `year` (local
    time), the scope being the event's area id as text, or CITY_WIDE_EVENTS."""
    scope = func.coalesce(cast(Event.area_id, String), literal(CITY_WIDE_EVENTS))
    found: dict[str, dict[str, dict[str, int]]] = {}
    queries = [
        select(scope, table.question_key, table.value, func.sum(count))
        .select_from(table)
        .join(Event, Event.id == table.event_id)
        .where(
            Event.local_year == year,
            table.question_key.in_((AGE_KEY, HOME_KEY, LANGUAGE_KEY)),
        )
        .group_by(scope, table.question_key, table.value)
        for table, count in ((FeedbackTally, FeedbackTally.count), (FeedbackPending, literal(1)))
    ]
    # One snapshot for both tables: a fold moving counts between them meanwhile (in the
    # background after the dashboard's request) neither drops nor doubles them.
    for where, key, value, total in await counts_in_one_snapshot(session, queries):
        answers = found.setdefault(key, {}).setdefault(str(where), {})
        answers[value] = answers.get(value, 0) + int(total)
    return found


async def statistics_for(
    session: AsyncSession, year: int
) -> tuple[int | None, list[AreaStatistics]]:
    """The newest statistics year not after `year` (else the oldest there is) and its rows."""
    years = list(await session.scalars(select(AreaStatistics.year).distinct()))
    if not years:
        return None, []
    earlier = [item for item in years if item <= year]
    chosen = max(earlier) if earlier else min(years)
    rows = await session.scalars(select(AreaStatistics).where(AreaStatistics.year == chosen))
    return chosen, list(rows)


def _mapped(answers: dict[str, int], mapping: dict[str, str]) -> dict[str, int]:
    grouped: dict[str, int] = {}
    for value, count in answers.items():
        if value in mapping:
            grouped[mapping[value]] = grouped.get(mapping[value], 0) + count
    return grouped


def _with_city(per_scope: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    city: dict[str, int] = {}
    for answers in per_scope.values():
        for group, count in answers.items():
            city[group] = city.get(group, 0) + count
    return {**per_scope, CITY: city}


async def equal_access(
    session: AsyncSession, *, year: int, scope: str, areas: list[Area]
) -> EqualAccess:
    """The equal-access view of the events held in `year`: for the whole city (scope CITY) or
    the events of one area (its id as text)."""
    statistics_year, statistics = await statistics_for(session, year)
    by_area = {str(row.area_id): row for row in statistics}
    chosen = [row for key, row in by_area.items() if scope in (CITY, key)]
    answers = await respondent_counts(session, year)
    ages = _with_city(
        {
            where: _mapped(a, {b: b for b in AGE_BANDS})
            for where, a in answers.get(AGE_KEY, {}).items()
        }
    )
    languages = _with_city(
        {where: _mapped(a, ANSWER_LANGUAGE) for where, a in answers.get(LANGUAGE_KEY, {}).items()}
    )
    age_hidden = table_withheld(ages, AGE_BANDS)
    language_hidden = table_withheld(languages, LANGUAGES)

    def residents(of: str, mapping: dict[str, str] | None = None) -> dict[str, int]:
        found: dict[str, int] = {}
        for row in chosen:
            figures = row.by_age if of == "age" else row.by_tongue
            for key, count in figures.items():
                group = mapping.get(key, key) if mapping else key
                found[group] = found.get(group, 0) + count
        return found

    breakdowns = [
        breakdown(
            "age",
            {band: gettext(AGE_BAND_LABELS[band]) for band in AGE_BANDS},
            residents("age"),
            ages.get(scope, {}),
            age_hidden.get(scope, set(AGE_BANDS)),
        ),
        breakdown(
            "language",
            {code: gettext(LANGUAGE_LABELS[code]) for code in LANGUAGES},
            residents("language", MOTHER_TONGUE),
            languages.get(scope, {}),
            language_hidden.get(scope, set(LANGUAGES)),
        ),
    ]
    if scope == CITY:
        breakdowns += _home_breakdowns(answers.get(HOME_KEY, {}), areas, by_area)
    shown = tuple(breakdowns)
    withheld = tuple((item.title, row.label) for item in shown for row in item.rows if row.withheld)
    area_by_id = {str(area.id): area for area in areas}
    return EqualAccess(
        year=year,
        statistics_year=statistics_year,
        sources=tuple(sorted({row.source for row in chosen})),
        scope=scope,
        breakdowns=shown,
        least_reached=least_reached(shown),
        withheld=withheld,
        turnouts=tuple(round_turnout(item, area_by_id) for item in await turnouts(session)),
    )


def _home_breakdowns(
    per_scope: dict[str, dict[str, int]], areas: list[Area], by_area: dict[str, AreaStatistics]
) -> list[Breakdown]:
    """Respondents by home area and by the urban/rural class of their home area, against the
    residents of the areas with statistics (answers naming another area, or none, left out)."""
    counted = [area for area in areas if str(area.id) in by_area]
    slugs = {area.slug: str(area.id) for area in counted}
    homes: dict[str, int] = {}
    for answers in per_scope.values():
        for value, count in answers.items():
            if value in slugs:
                homes[slugs[value]] = homes.get(slugs[value], 0) + count
    classes: dict[str, list[str]] = {}
    for area in counted:
        if area.settlement_class:  # areas of no known class count among the home areas only
            classes.setdefault(area.settlement_class, []).append(str(area.id))
    class_counts = {
        settlement: sum(homes.get(member, 0) for member in members)
        for settlement, members in classes.items()
    }
    cells = {("area", key): homes.get(key, 0) for key in by_area if key in slugs.values()}
    cells |= {("class", settlement): count for settlement, count in class_counts.items()}
    lines = [
        [("area", key) for key in slugs.values()],
        [("class", settlement) for settlement in classes],
    ]
    lines += [
        [*(("area", member) for member in members), ("class", settlement)]
        for settlement, members in classes.items()
    ]
    hidden = withheld_cells(cells, lines)
    area_residents = {str(area.id): by_area[str(area.id)].total for area in counted}
    home = breakdown(
        "home_area",
        {str(area.id): localized(area.name) for area in counted},
        area_residents,
        homes,
        {key for kind, key in hidden if kind == "area"},
    )
    class_groups = {
        settlement: gettext(SETTLEMENT_LABELS[settlement])
        for settlement in SETTLEMENT_CLASSES
        if settlement in classes
    }
    class_residents = {
        settlement: sum(area_residents[member] for member in classes[settlement])
        for settlement in class_groups
    }
    by_class = breakdown(
        "class",
        class_groups,
        class_residents,
        class_counts,
        {key for kind, key in hidden if kind == "class"},
    )
    return [home, by_class]
