"""The year view (vuosikello): what is planned and what was held, month by month, per area or
per type of event, with the features' dated steps (polls, participatory budgeting phases); and,
for staff, the gaps – areas, months and languages with nothing planned.

Counts only: the year view shows no personal data, and an event that is not public is not
counted on the public page (staff see it counted in the gaps).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.areas.models import Area
from app.database import utcnow
from app.events.models import Event, EventType
from app.features import Milestone, milestones

GROUPINGS = ("area", "type")
# The staff's gaps look this many months ahead (from the current month).
GAP_MONTHS = 6
WHOLE_CITY = "city"
STEPS = "steps"


@dataclass
class Cell:
    month: int
    events: int = 0
    held: int = 0
    steps: list[Milestone] = field(default_factory=list)


@dataclass
class Row:
    key: str  # an area id, "city", an event type, or "steps"
    cells: list[Cell]

    @property
    def events(self) -> int:
        return sum(cell.events for cell in self.cells)


@dataclass
class YearView:
    year: int
    grouping: str
    rows: list[Row]

    def month_totals(self) -> list[int]:
        return [sum(row.cells[m].events for row in self.rows) for m in range(12)]


def _empty_row(key: str) -> Row:
    return Row(key, [Cell(month) for month in range(1, 13)])


async def year_view(
    session: AsyncSession,
    year: int,
    grouping: str,
    *,
    zone: ZoneInfo,
    areas: list[Area],
    public_only: bool = True,
    type_keys: list[str] | None = None,
) -> YearView:
    """Every area (or event type) of the year with its events per month, the whole city's row
    and the dated steps, in a fixed order so that empty rows show as gaps too."""
    if grouping not in GROUPINGS:
        raise ValueError(grouping)
    if grouping == "area":
        keys = [str(area.id) for area in areas] + [WHOLE_CITY]
        group = Event.area_id
    else:
        # The built-in types, then those staff added (`type_keys`: the types offered now).
        keys = list(type_keys) if type_keys else [event_type.value for event_type in EventType]
        group = Event.event_type
    rows = {key: _empty_row(key) for key in keys}
    now = utcnow()
    conditions = [Event.local_year == year]
    if public_only:
        conditions.append(Event.is_public.is_(True))
    query = (
        select(
            group,
            Event.local_month,
            func.count(),
            func.count(case((Event.ends_at < now, 1))),
        )
        .where(*conditions)
        .group_by(group, Event.local_month)
    )
    for group_key, month, events, held in await session.execute(query):
        key = WHOLE_CITY if group_key is None else str(group_key)
        if key not in rows:  # an event type no longer offered: a row of its own
            rows[key] = _empty_row(key)
            keys.append(key)
        cell = rows[key].cells[int(month[5:7]) - 1]
        cell.events, cell.held = int(events), int(held)

    start = dt.datetime(year, 1, 1, tzinfo=zone)
    end = dt.datetime(year + 1, 1, 1, tzinfo=zone)
    steps = await milestones(session, start, end)
    if steps:
        for step in steps:
            area_key = str(step.area_id) if step.area_id is not None else WHOLE_CITY
            key = area_key if grouping == "area" and area_key in rows else STEPS
            if key not in rows:
                rows[key] = _empty_row(key)
                keys.append(key)
            rows[key].cells[step.at.astimezone(zone).month - 1].steps.append(step)
    return YearView(year, grouping, [rows[key] for key in keys])


@dataclass(frozen=True)
class Gaps:
    """What staff should look at: nothing planned in an area in a coming month, a coming month
    with nothing planned anywhere, a language no event of the year is held in."""

    empty_area_months: list[tuple[Area, list[dt.date]]]
    empty_months: list[dt.date]
    languages_without_events: list[str]
    events_per_language: dict[str, int]


async def gaps(
    session: AsyncSession, *, zone: ZoneInfo, areas: list[Area], languages: tuple[str, ...]
) -> Gaps:
    today = utcnow().astimezone(zone).date()
    months = []
    month = today.replace(day=1)
    for _ in range(GAP_MONTHS):
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    labels = [m.strftime("%Y-%m") for m in months]
    counts: dict[tuple[int | None, str], int] = defaultdict(int)
    for area_id, local_month, events in await session.execute(
        select(Event.area_id, Event.local_month, func.count())
        .where(Event.local_month.in_(labels))
        .group_by(Event.area_id, Event.local_month)
    ):
        counts[area_id, local_month] += int(events)
    empty_area_months = []
    for area in areas:
        # A city-wide event is open to every area, but it is not held there: still a gap.
        empty = [m for m, label in zip(months, labels, strict=True) if not counts[area.id, label]]
        if empty:
            empty_area_months.append((area, empty))
    per_month = defaultdict(int)
    for (_area, label), events in counts.items():
        per_month[label] += events
    empty_months = [m for m, label in zip(months, labels, strict=True) if not per_month[label]]

    per_language: dict[str, int] = dict.fromkeys(languages, 0)
    for (event_languages,) in await session.execute(
        select(Event.languages).where(Event.local_year == today.year)
    ):
        for language in event_languages or []:
            per_language[language] = per_language.get(language, 0) + 1
    return Gaps(
        empty_area_months=empty_area_months,
        empty_months=empty_months,
        languages_without_events=[code for code, n in per_language.items() if n == 0],
        events_per_language=per_language,
    )
