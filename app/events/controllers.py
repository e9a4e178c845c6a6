from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar_htmx import HTMXRequest

from app.accounts.guards import EDITORS, signed_in_staff
from app.areas.models import Area
from app.areas.services import list_areas
from app.database import utcnow
from app.dependencies import AppSettings, DbSession
from app.errors import DomainError
from app.events import services
from app.events.ical import FeedEntry, render_calendar
from app.events.models import Event, EventType, OrganiserKind
from app.features import event_activities
from app.features import highlights as feature_highlights
from app.features import milestones as feature_milestones
from app.forms import Form, local_datetime, read_form
from app.i18n import LANGUAGES, current_language, gettext, localized
from app.page_cache import SHARED_PAGE
from app.requests import ascii_int, site_url

PAGE_SIZE = 30
ORGANISER_FIELDS = {kind: f"organisers_{kind.value}" for kind in OrganiserKind}


@dataclass(frozen=True)
class CalendarQuery:
    """The calendar's query string, read leniently: a value not understood is named, not fatal."""

    filters: services.CalendarFilter
    view: str
    month: dt.date
    page: int
    problems: tuple[str, ...]


def read_calendar_query(request: Request, areas: list[Area], zone: ZoneInfo) -> CalendarQuery:
    params = request.query_params
    problems: list[str] = []
    area_id = event_type = language = None
    area_value = params.get("area", "")
    if area_value:
        if ascii_int(area_value) in {area.id for area in areas}:
            area_id = ascii_int(area_value)
        else:
            problems.append(
                gettext("The chosen area was not found, so events of all areas are shown.")
            )
    type_value = params.get("type", "")
    if type_value:
        try:
            event_type = EventType(type_value)
        except ValueError:
            problems.append(gettext("The chosen event type was not found, so all types are shown."))
    language_value = params.get("language", "")
    if language_value:
        if language_value in LANGUAGES:
            language = language_value
        else:
            problems.append(
                gettext("The chosen language was not found, so events in all languages are shown.")
            )
    view = params.get("view", "list")
    if view not in {"list", "month"}:
        view = "list"
    today = utcnow().astimezone(zone).date()
    month = today.replace(day=1)
    month_value = params.get("month", "")
    if month_value:
        try:
            month = dt.date.fromisoformat(month_value + "-01")
            if not 2000 <= month.year <= 2100:
                raise ValueError(month_value)
        except ValueError:
            problems.append(gettext("The month was not understood, so the current month is shown."))
            month = today.replace(day=1)
    page_value = params.get("page", "1")
    page = ascii_int(page_value, minimum=1, maximum=1000) or 1
    return CalendarQuery(
        services.CalendarFilter(area_id, event_type, language), view, month, page, tuple(problems)
    )


def month_grid(
    month: dt.date, events: list[Event], zone: ZoneInfo
) -> list[list[tuple[dt.date, list[Event]]]]:
    """Weeks from Monday to Sunday covering the month, each day with the events starting on it."""
    by_day: dict[dt.date, list[Event]] = {}
    for event in events:
        by_day.setdefault(event.starts_at.astimezone(zone).date(), []).append(event)
    first = month - dt.timedelta(days=month.weekday())
    last_of_month = add_months(month, 1) - dt.timedelta(days=1)
    last = last_of_month + dt.timedelta(days=6 - last_of_month.weekday())
    weeks = []
    day = first
    while day <= last:
        week = [day + dt.timedelta(days=offset) for offset in range(7)]
        weeks.append([(each, by_day.get(each, [])) for each in week])
        day += dt.timedelta(days=7)
    return weeks


def add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


# The list view shows the dated steps (e.g. of participatory budgeting) this far ahead.
MILESTONE_DAYS = 120


class CalendarController(Controller):
    """The public calendar of upcoming events, as a list or a month, and its iCalendar feed."""

    @get(["/", "/calendar"], name="calendar", opt=SHARED_PAGE)
    async def calendar(
        self, request: HTMXRequest, db_session: DbSession, settings: AppSettings
    ) -> Template:
        zone = ZoneInfo(settings.timezone)
        areas = await list_areas(db_session)
        query = read_calendar_query(request, areas, zone)
        context: dict[str, object] = {
            "areas": areas,
            "event_types": list(EventType),
            "query": query,
            "has_more": False,
            "events": [],
            "weeks": [],
        }
        if query.view == "month":
            start = dt.datetime.combine(query.month, dt.time(), tzinfo=zone)
            end = dt.datetime.combine(add_months(query.month, 1), dt.time(), tzinfo=zone)
            events = await services.events_between(db_session, query.filters, start, end)
            context.update(
                events=events,
                weeks=month_grid(query.month, events, zone),
                previous_month=add_months(query.month, -1),
                next_month=add_months(query.month, 1),
            )
        else:
            events, has_more = await services.upcoming_events(
                db_session, query.filters, limit=PAGE_SIZE * query.page
            )
            context.update(events=events, has_more=has_more)
        template = (
            "events/_calendar_results.html"
            if request.htmx and request.htmx.target == "calendar-results"
            else "events/calendar.html"
        )
        if template == "events/calendar.html":
            context["highlights"] = await feature_highlights(db_session)
            if query.view == "month":
                window = (start, end)
            else:
                now = dt.datetime.now(zone)
                window = (now, now + dt.timedelta(days=MILESTONE_DAYS))
            context["milestones"] = await feature_milestones(db_session, *window)
        return Template(
            template_name=template, context=context, status_code=400 if query.problems else 200
        )

    @get("/calendar.ics", name="calendar_feed")
    async def calendar_feed(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Response:
        zone = ZoneInfo(settings.timezone)
        areas = await list_areas(db_session)
        query = read_calendar_query(request, areas, zone)
        events, _ = await services.upcoming_events(
            db_session, query.filters, since=utcnow() - dt.timedelta(days=30), limit=2000
        )
        return ical_response(
            request, events, gettext("Tori – resident events"), "tori-calendar.ics"
        )

    @get("/events/{event_id:int}", name="event", opt=SHARED_PAGE)
    async def event_page(self, db_session: DbSession, event_id: FromPath[int]) -> Template:
        event = await services.get_event(db_session, event_id, public_only=True)
        return Template(
            template_name="events/event.html",
            context={"event": event, "take_part": await event_activities(db_session, event.id)},
        )

    @get("/events/{event_id:int}/calendar.ics")
    async def event_feed(
        self, request: Request, db_session: DbSession, event_id: FromPath[int]
    ) -> Response:
        event = await services.get_event(db_session, event_id, public_only=True)
        return ical_response(request, [event], localized(event.title), f"tori-event-{event.id}.ics")


def feed_entry(request: Request, event: Event) -> FeedEntry:
    location = ", ".join(
        part
        for part in (localized(event.venue), localized(event.area.name) if event.area else "")
        if part
    )
    return FeedEntry(
        uid=f"event-{event.id}@{request.url.hostname or 'tori'}",
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        summary=localized(event.title),
        description=localized(event.description),
        location=location,
        url=site_url(request, f"/events/{event.id}"),
        updated_at=event.updated_at,
        categories=(gettext(event.type_enum.label),),
    )


def ical_response(request: Request, events: list[Event], name: str, filename: str) -> Response:
    body = render_calendar(name, (feed_entry(request, event) for event in events), now=utcnow())
    return Response(
        content=body,
        media_type="text/calendar",
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "Cache-Control": "public, max-age=300",
            "Content-Language": current_language(),
        },
    )


# --- staff -------------------------------------------------------------------------------------


def event_form(event: Event | None, zone: ZoneInfo) -> Form:
    if event is None:
        return Form.prefilled(
            {"languages": ["fi"], "is_public": True, "starts_time": "17.00", "ends_time": "19.00"}
        )
    starts, ends = event.starts_at.astimezone(zone), event.ends_at.astimezone(zone)
    values: dict[str, object] = {
        "event_type": event.event_type,
        "area_id": event.area_id or "",
        "languages": event.languages,
        "starts_date": starts.date().isoformat(),
        "starts_time": starts.strftime("%H.%M"),
        "ends_date": ends.date().isoformat(),
        "ends_time": ends.strftime("%H.%M"),
        "participant_count": event.participant_count,
        "visitor_count": event.visitor_count,
        "is_public": event.is_public,
    }
    for language in LANGUAGES:
        values[f"title_{language}"] = event.title.get(language, "")
        values[f"description_{language}"] = event.description.get(language, "")
        values[f"theme_{language}"] = event.theme.get(language, "")
        values[f"venue_{language}"] = event.venue.get(language, "")
    for kind, prefix in ORGANISER_FIELDS.items():
        names = [o.name for o in event.organisers if o.kind == kind.value]
        for language in LANGUAGES:
            values[f"{prefix}_{language}"] = "\n".join(
                name[language] for name in names if name.get(language)
            )
    return Form.prefilled(values)


def read_organisers(form: Form) -> list[tuple[OrganiserKind, dict[str, str]]]:
    """Fields `organisers_<kind>_<language>`: one name a line, line n of each language naming the
    same organiser. A language left empty shows another language's names."""
    organisers: list[tuple[OrganiserKind, dict[str, str]]] = []
    for kind, prefix in ORGANISER_FIELDS.items():
        given = {
            language: lines
            for language in LANGUAGES
            if (lines := form.lines(f"{prefix}_{language}", max_lines=20, max_length=200))
        }
        count = max((len(lines) for lines in given.values()), default=0)
        uneven = [language for language, lines in given.items() if len(lines) != count]
        for language in uneven:
            form.add_error(
                f"{prefix}_{language}",
                gettext(
                    "Give the same organisers in the same order in each language, one per line, "
                    "or leave this language empty."
                ),
            )
        if not uneven:
            organisers += [
                (kind, {language: lines[index] for language, lines in given.items()})
                for index in range(count)
            ]
    return organisers


def read_event(form: Form, areas: list[Area], zone: ZoneInfo) -> services.EventInput | None:
    title = form.translated_text("title", required=True, max_length=200)
    description = form.translated_text("description", max_length=5000, multiline=True)
    theme = form.translated_text("theme", max_length=200)
    event_type = form.choice("event_type", [t.value for t in EventType])
    area_value = form.choice("area_id", [str(area.id) for area in areas], required=False)
    venue = form.translated_text("venue", max_length=200)
    languages = form.choices("languages", LANGUAGES, at_least=1)
    starts_date = form.date("starts_date")
    starts_time = form.time("starts_time")
    ends_date = form.date("ends_date", required=False) or starts_date
    ends_time = form.time("ends_time")
    organisers = read_organisers(form)
    participants = form.integer("participant_count", minimum=0, maximum=1_000_000)
    visitors = form.integer("visitor_count", minimum=0, maximum=1_000_000)
    if not form.is_valid or None in (starts_date, starts_time, ends_date, ends_time):
        return None
    starts_at = local_datetime(starts_date, starts_time, zone)
    ends_at = local_datetime(ends_date, ends_time, zone)
    return services.EventInput(
        title=title,
        description=description,
        theme=theme,
        event_type=EventType(event_type),
        area_id=int(area_value) if area_value else None,
        venue=venue,
        languages=languages,
        starts_at=starts_at,
        ends_at=ends_at,
        organisers=organisers,
        participant_count=participants,
        visitor_count=visitors,
        is_public=form.boolean("is_public"),
    )


def _form_page(form: Form, event: Event | None, areas: list[Area], status: int = 200) -> Template:
    return Template(
        template_name="events/form.html",
        context={
            "form": form,
            "event": event,
            "areas": areas,
            "event_types": list(EventType),
            "organiser_fields": ORGANISER_FIELDS,
            "recurrences": services.RECURRENCES,
        },
        status_code=status,
    )


class StaffEventsController(Controller):
    path = "/staff/events"
    guards = [signed_in_staff]

    @get("/")
    async def list_events(self, request: Request, db_session: DbSession) -> Template:
        past = request.query_params.get("when") == "past"
        page_value = request.query_params.get("page", "1")
        page = ascii_int(page_value, minimum=1, maximum=10_000) or 1
        events, total = await services.staff_events(
            db_session, past=past, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        return Template(
            template_name="events/staff_list.html",
            context={
                "events": events,
                "past": past,
                "page": page,
                "pages": max(1, -(-total // PAGE_SIZE)),
                "total": total,
            },
        )

    @get("/new", opt={"roles": EDITORS})
    async def new_event_page(self, db_session: DbSession, settings: AppSettings) -> Template:
        return _form_page(
            event_form(None, ZoneInfo(settings.timezone)), None, await list_areas(db_session)
        )

    @post("/new", opt={"roles": EDITORS}, status_code=303)
    async def create_event(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Template | Redirect:
        zone = ZoneInfo(settings.timezone)
        areas = await list_areas(db_session)
        form = Form(await read_form(request))
        data = read_event(form, areas, zone)
        recurrence = form.choice("recurrence", services.RECURRENCES, required=False)
        count = (
            form.integer("occurrences", minimum=2, maximum=services.MAX_OCCURRENCES)
            if recurrence
            else 1
        )
        if recurrence and count is None and "occurrences" not in form.errors:
            form.add_error("occurrences", gettext("Give the number of occurrences, from 2 to 52."))
        if data is not None and form.is_valid:
            try:
                events = await services.create_events(
                    db_session, data, recurrence=recurrence, count=count or 1, zone=zone
                )
            except DomainError as error:
                form.add_error("ends_time", error.translated())
            else:
                return Redirect(
                    path=f"/staff/events/{events[0].id}",
                    query_params={"done": "created"},
                    status_code=303,
                )
        return _form_page(form, None, areas, 400)

    @get("/{event_id:int}")
    async def edit_event_page(
        self, db_session: DbSession, settings: AppSettings, event_id: FromPath[int]
    ) -> Template:
        event = await services.get_event(db_session, event_id)
        return _form_page(
            event_form(event, ZoneInfo(settings.timezone)), event, await list_areas(db_session)
        )

    @post("/{event_id:int}", opt={"roles": EDITORS}, status_code=303)
    async def update_event(
        self,
        request: Request,
        db_session: DbSession,
        settings: AppSettings,
        event_id: FromPath[int],
    ) -> Template | Redirect:
        zone = ZoneInfo(settings.timezone)
        event = await services.get_event(db_session, event_id)
        areas = await list_areas(db_session)
        form = Form(await read_form(request))
        data = read_event(form, areas, zone)
        if data is not None and form.is_valid:
            try:
                await services.update_event(db_session, event, data, zone=zone)
            except DomainError as error:
                form.add_error("ends_time", error.translated())
            else:
                return Redirect(
                    path=f"/staff/events/{event.id}",
                    query_params={"done": "saved"},
                    status_code=303,
                )
        return _form_page(form, event, areas, 400)

    @post("/{event_id:int}/delete", opt={"roles": EDITORS}, status_code=303)
    async def delete_event(
        self, request: Request, db_session: DbSession, event_id: FromPath[int]
    ) -> Redirect:
        event = await services.get_event(db_session, event_id)
        form = Form(await read_form(request))
        await services.delete_event(db_session, event, whole_series=form.boolean("whole_series"))
        return Redirect(path="/staff/events", query_params={"done": "deleted"}, status_code=303)
