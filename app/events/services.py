"""Events: staff maintain them; the public calendar and the feed read them."""

from __future__ import annotations

import calendar
import datetime as dt
import secrets
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, delete, func, select, type_coerce, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import record_action
from app.database import utcnow
from app.errors import DomainError, NotFoundError
from app.events import registers
from app.events.models import (
    EVENT_TYPE_KEYS,
    AddedEventType,
    Event,
    EventHeadTap,
    EventOrganiser,
    EventSeries,
    EventType,
    HeadCount,
    Organiser,
    OrganiserKind,
)
from app.i18n import N_
from app.search import EVENTS, matches

TYPE_MESSAGE = N_("Choose the type of event.")
MAX_DURATION = dt.timedelta(days=14)
MAX_OCCURRENCES = 52
RECURRENCES = ("weekly", "biweekly", "monthly")


@dataclass(frozen=True)
class EventInput:
    title: dict[str, str]
    # A built-in type or the key of one staff added (app.events.registers).
    event_type: EventType | str
    starts_at: dt.datetime
    ends_at: dt.datetime
    languages: list[str]
    description: dict[str, str] = field(default_factory=dict)
    theme: dict[str, str] = field(default_factory=dict)
    area_id: int | None = None
    venue: dict[str, str] = field(default_factory=dict)
    # Organisers chosen from the register, by id, in order.
    organiser_ids: list[int] = field(default_factory=list)
    # Organisers typed in, each name per language like the place: (kind, {"fi": …, "sv": …});
    # one already in the register is that one, another joins the register.
    organisers: list[tuple[OrganiserKind, dict[str, str]]] = field(default_factory=list)
    participant_count: int | None = None
    visitor_count: int | None = None
    is_public: bool = True

    def check(self) -> None:
        if self.ends_at <= self.starts_at:
            raise DomainError(N_("The event must end after it starts."))
        if self.ends_at - self.starts_at > MAX_DURATION:
            raise DomainError(N_("An event can last at most 14 days."))


@dataclass(frozen=True)
class CalendarFilter:
    area_id: int | None = None
    event_type: str | None = None
    language: str | None = None

    def conditions(self, dialect: str) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = [Event.is_public.is_(True)]
        if self.area_id is not None:
            conditions.append(Event.area_id == self.area_id)
        if self.event_type is not None:
            conditions.append(Event.event_type == str(self.event_type))
        if self.language is not None:
            conditions.append(json_list_contains(Event.languages, self.language, dialect))
        return conditions


def hours_expression(dialect: str) -> ColumnElement[float]:
    """An event's hours of activity (end minus start) in SQL, for sums over many events: the
    monitoring figure `Event.hours` gives for one."""
    if dialect == "postgresql":
        return func.extract("epoch", Event.ends_at - Event.starts_at) / 3600.0
    return (func.julianday(Event.ends_at) - func.julianday(Event.starts_at)) * 24.0


def json_list_contains(column, value: str, dialect: str) -> ColumnElement[bool]:
    """`value in column` for a JSON list column, as each backend can index or scan it."""
    if dialect == "postgresql":
        return type_coerce(column, JSONB).contains([value])
    members = func.json_each(column).table_valued("value").alias("members")
    return select(members.c.value).where(members.c.value == value).exists()


def occurrences(
    start: dt.datetime, end: dt.datetime, recurrence: str, count: int, zone: ZoneInfo
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Start and end of each occurrence, keeping the local wall-clock time across DST changes."""
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    duration = local_end.replace(tzinfo=None) - local_start.replace(tzinfo=None)
    result = []
    for index in range(count):
        if recurrence == "monthly":
            month_index = local_start.month - 1 + index
            year, month = local_start.year + month_index // 12, month_index % 12 + 1
            day = min(local_start.day, calendar.monthrange(year, month)[1])
            naive = local_start.replace(tzinfo=None, year=year, month=month, day=day)
        else:
            step = dt.timedelta(weeks=2 if recurrence == "biweekly" else 1)
            naive = local_start.replace(tzinfo=None) + step * index
        begins = naive.replace(tzinfo=zone)
        result.append(
            (begins.astimezone(dt.UTC), (naive + duration).replace(tzinfo=zone).astimezone(dt.UTC))
        )
    return result


def event_snapshot(event: Event) -> dict:
    """What the staff audit log keeps of an event, before and after a change."""
    return {
        "title": event.title,
        "event_type": event.event_type,
        "starts_at": event.starts_at.isoformat(),
        "ends_at": event.ends_at.isoformat(),
        "area": event.area_id,
        "venue": event.venue,
        "languages": event.languages,
        "organisers": [[o.organiser.id, o.kind, o.name] for o in event.organisers],
        "participants": event.participant_count,
        "visitors": event.visitor_count,
        "public": event.is_public,
        "series": event.series_id,
    }


async def _check_type(session: AsyncSession, key: str, current: str | None = None) -> None:
    """A built-in type, or one staff added and have not retired (an event keeps a retired type
    it already has)."""
    if key in EVENT_TYPE_KEYS or key == current:
        return
    added = await session.scalar(select(AddedEventType).where(AddedEventType.key == key))
    if added is None or added.retired:
        raise DomainError(TYPE_MESSAGE)


async def _organisers(session: AsyncSession, data: EventInput, event: Event | None = None):
    current = frozenset(o.organiser_id for o in event.organisers) if event else frozenset()
    return await registers.organisers_for_event(
        session, data.organiser_ids, data.organisers, current_ids=current
    )


def _apply(event: Event, data: EventInput, organisers: list[Organiser], zone: ZoneInfo) -> None:
    event.title = data.title
    event.description = data.description
    event.theme = data.theme
    event.event_type = str(data.event_type)
    event.area_id = data.area_id
    event.venue = data.venue
    event.languages = data.languages
    event.starts_at = data.starts_at
    event.ends_at = data.ends_at
    event.participant_count = data.participant_count
    event.visitor_count = data.visitor_count
    event.is_public = data.is_public
    event.set_local_period(zone)
    # An organiser the event keeps keeps its row (a new row beside the old one for the same
    # organiser would break the one-link-per-organiser rule before the old one is deleted).
    kept = {link.organiser_id: link for link in event.organisers}
    links = []
    for position, organiser in enumerate(organisers):
        link = kept.get(organiser.id) or EventOrganiser(organiser=organiser)
        link.position = position
        links.append(link)
    event.organisers = links


async def create_events(
    session: AsyncSession,
    data: EventInput,
    *,
    recurrence: str | None = None,
    count: int = 1,
    zone: ZoneInfo,
) -> list[Event]:
    """One event, or a recurring series of `count` occurrences."""
    data.check()
    await _check_type(session, str(data.event_type))
    if recurrence is not None and recurrence not in RECURRENCES:
        raise DomainError(N_("Choose how the event repeats."))
    if recurrence is not None and not 2 <= count <= MAX_OCCURRENCES:
        raise DomainError(N_("A series has 2 to 52 occurrences."))
    series = None
    times = [(data.starts_at, data.ends_at)]
    if recurrence is not None:
        series = EventSeries(recurrence=recurrence)
        session.add(series)
        await session.flush()
        times = occurrences(data.starts_at, data.ends_at, recurrence, count, zone)
    organisers = await _organisers(session, data)
    events = []
    for starts_at, ends_at in times:
        event = Event(series_id=series.id if series else None, organisers=[])
        _apply(event, replace(data, starts_at=starts_at, ends_at=ends_at), organisers, zone)
        session.add(event)
        events.append(event)
    await session.flush()
    ids = [event.id for event in events]
    target = f"event {ids[0]}" if len(ids) == 1 else f"events {ids[0]}–{ids[-1]}"
    after = {**event_snapshot(events[0]), "occurrences": len(ids), "recurrence": recurrence}
    await record_action(session, None, "event.create", target, None, after)
    await session.commit()
    return events


async def update_event(
    session: AsyncSession, event: Event, data: EventInput, *, zone: ZoneInfo
) -> Event:
    data.check()
    await _check_type(session, str(data.event_type), event.event_type)
    before = event_snapshot(event)
    _apply(event, data, await _organisers(session, data, event), zone)
    await session.flush()
    after = event_snapshot(event)
    await record_action(session, None, "event.edit", f"event {event.id}", before, after)
    await session.commit()
    return event


async def delete_event(session: AsyncSession, event: Event, *, whole_series: bool = False) -> int:
    """Delete an event (or its whole series). An event that feedback, polls or other records
    refer to is refused: the feedback would be lost with it (found by the bad-input tests,
    where it was a server error)."""
    before = event_snapshot(event)
    try:
        if whole_series and event.series_id is not None:
            result = await session.execute(delete(Event).where(Event.series_id == event.series_id))
            target = f"series {event.series_id} ({result.rowcount} events)"
            await record_action(session, None, "event.delete", target, before, None)
            await session.commit()
            return result.rowcount or 0
        await session.delete(event)
        await session.flush()
        await record_action(session, None, "event.delete", f"event {event.id}", before, None)
        await session.commit()
    except IntegrityError as error:
        await session.rollback()
        raise DomainError(
            N_(
                "This event cannot be deleted: feedback or other records are linked to it. "
                "Edit the event instead, for example to say that it was cancelled."
            )
        ) from error
    return 1


async def get_event(session: AsyncSession, event_id: int, *, public_only: bool = False) -> Event:
    event = await session.get(Event, event_id)
    if event is None or (public_only and not event.is_public):
        raise NotFoundError(N_("No such event."))
    return event


async def upcoming_events(
    session: AsyncSession,
    filters: CalendarFilter,
    *,
    since: dt.datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Event], bool]:
    """Public events that have not ended yet, soonest first, and whether more follow."""
    dialect = session.bind.dialect.name
    query = (
        select(Event)
        .where(Event.ends_at >= (since or utcnow()), *filters.conditions(dialect))
        .order_by(Event.starts_at, Event.id)
        .offset(offset)
        .limit(limit + 1)
    )
    events = list(await session.scalars(query))
    return events[:limit], len(events) > limit


async def events_between(
    session: AsyncSession, filters: CalendarFilter, start: dt.datetime, end: dt.datetime
) -> list[Event]:
    dialect = session.bind.dialect.name
    query = (
        select(Event)
        .where(Event.starts_at < end, Event.ends_at > start, *filters.conditions(dialect))
        .order_by(Event.starts_at, Event.id)
    )
    return list(await session.scalars(query))


async def staff_events(
    session: AsyncSession, *, past: bool, limit: int = 50, offset: int = 0, query: str = ""
) -> tuple[list[Event], int]:
    """Upcoming or past events, a page of them; with a query, those whose title or description
    holds every word of it (app/search.py)."""
    now = utcnow()
    condition = Event.ends_at < now if past else Event.ends_at >= now
    if query:
        dialect = session.get_bind().dialect.name
        condition = and_(condition, matches(dialect, EVENTS, Event.id, query))
    order = (Event.starts_at.desc(),) if past else (Event.starts_at,)
    total = await session.scalar(select(func.count()).select_from(Event).where(condition)) or 0
    events = await session.scalars(
        select(Event).where(condition).order_by(*order, Event.id).offset(offset).limit(limit)
    )
    return list(events), total


async def events_missing_counts(session: AsyncSession, limit: int = 10) -> list[Event]:
    """Past events whose participant count has not been entered: the monitoring figures need it."""
    query = (
        select(Event)
        .where(Event.ends_at < utcnow(), Event.participant_count.is_(None))
        .order_by(Event.starts_at.desc())
        .limit(limit)
    )
    return list(await session.scalars(query))


# --- the head counter -------------------------------------------------------------------------

# A tap's token is made fresh for every tap (by the page, or by the page's script for each tap).
TAP_TOKEN_LENGTH = (16, 64)
_TAP_TOKEN_CHARACTERS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
)


def new_tap_token() -> str:
    return secrets.token_urlsafe(16)


def tap_token_is_wellformed(token: str) -> bool:
    low, high = TAP_TOKEN_LENGTH
    return low <= len(token) <= high and set(token) <= _TAP_TOKEN_CHARACTERS


async def count_head(session: AsyncSession, event: Event, kind: HeadCount, token: str) -> bool:
    """Add one to the event's participants or visitors, once per tap token: a request sent again
    (a retry after a lost answer) is not counted twice, two taps are. True when counted.

    The taps are not written in the audit log one by one (a busy pop-up taps hundreds of times);
    `event_head_tap` keeps each of them with its time, and the figure stays editable on the event
    form, whose edits are audited."""
    if not tap_token_is_wellformed(token):
        raise DomainError(N_("The tap was not recognised. Reload the page and tap again."))
    insert = (postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert)(
        EventHeadTap
    )
    stored = await session.execute(
        insert.values(event_id=event.id, token=token, kind=str(kind), tapped_at=utcnow())
        .on_conflict_do_nothing(index_elements=["token"])
        .returning(EventHeadTap.id)
    )
    counted = stored.scalar() is not None
    if counted:
        column = Event.participant_count if kind == HeadCount.PARTICIPANTS else Event.visitor_count
        await session.execute(
            update(Event)
            .where(Event.id == event.id)
            .values({column: func.coalesce(column, 0) + 1})
            .execution_options(synchronize_session=False)
        )
    await session.commit()
    await session.refresh(event)
    return counted
