from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
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
from app.events import registers, report, services
from app.events.forms import (
    ORGANISER_FIELDS,
    event_form,
    read_calendar_query,
    read_event,
    read_recurrence,
    read_staff_list_query,
    read_staff_search,
    read_year_query,
)
from app.events.ical import FeedEntry, render_calendar
from app.events.models import Event, HeadCount, Organiser, OrganiserKind
from app.events.year import gaps as year_gaps
from app.events.year import year_view
from app.features import Milestone, event_activities
from app.features import highlights as feature_highlights
from app.features import milestones as feature_milestones
from app.forms import Form, read_form
from app.i18n import LANGUAGES, N_, current_language, gettext, localized, month_names_short
from app.page_cache import SHARED_PAGE
from app.qr import qr_image
from app.requests import is_htmx, site_url
from app.security import EMBEDDABLE

PAGE_SIZE = 30
# Events in the embeddable calendar.
EMBED_SIZE = 8


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
# The feed carries the dated steps from 30 days back to this far ahead.
FEED_MILESTONE_WINDOW = dt.timedelta(days=30 + 400)


class CalendarController(Controller):
    """The public calendar of upcoming events, as a list or a month, and its iCalendar feed."""

    @get(["/", "/calendar"], name="calendar", opt=SHARED_PAGE)
    async def calendar(
        self, request: HTMXRequest, db_session: DbSession, settings: AppSettings
    ) -> Template:
        zone = ZoneInfo(settings.timezone)
        areas = await list_areas(db_session)
        types = await registers.event_type_options(db_session, retired=True)
        query = read_calendar_query(request, areas, zone, [option.key for option in types])
        context: dict[str, object] = {
            "areas": areas,
            # Retired types only when chosen: they have no events coming.
            "event_types": [t for t in types if not t.retired or t.key == query.filters.event_type],
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

    @get("/embed/calendar", name="calendar_embed", opt={**SHARED_PAGE, **EMBEDDABLE})
    async def calendar_embed(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Template:
        """The next events, small enough for a frame on the city's own pages (same filters as
        the calendar: area, type, language)."""
        areas = await list_areas(db_session)
        query = read_calendar_query(
            request, areas, ZoneInfo(settings.timezone), await _type_keys(db_session)
        )
        events, has_more = await services.upcoming_events(
            db_session, query.filters, limit=EMBED_SIZE
        )
        return Template(
            template_name="embed/calendar.html",
            context={"events": events, "has_more": has_more, "query": query, "embedded": True},
            status_code=400 if query.problems else 200,
        )

    @get("/calendar/year", name="year_view", opt=SHARED_PAGE)
    async def year(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Template:
        """The year at a glance (vuosikello): planned and held events per month and area or
        type, with polls and participatory budgeting phases."""
        return await _year_page(request, db_session, settings, staff=False)

    @get("/calendar.ics", name="calendar_feed")
    async def calendar_feed(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Response:
        zone = ZoneInfo(settings.timezone)
        areas = await list_areas(db_session)
        query = read_calendar_query(request, areas, zone, await _type_keys(db_session))
        since = utcnow() - dt.timedelta(days=30)
        events, _ = await services.upcoming_events(
            db_session, query.filters, since=since, limit=2000
        )
        steps = await feature_milestones(
            db_session, since.astimezone(zone), since.astimezone(zone) + FEED_MILESTONE_WINDOW
        )
        return ical_response(
            request,
            events,
            gettext("Tori – resident events"),
            "tori-calendar.ics",
            [milestone_entry(request, step) for step in steps if in_feed(step, query.filters)],
        )

    @get("/events/{event_id:int}", name="event", opt=SHARED_PAGE)
    async def event_page(self, db_session: DbSession, event_id: FromPath[int]) -> Template:
        event = await services.get_event(db_session, event_id, public_only=True)
        return Template(
            template_name="events/event.html",
            context={
                "event": event,
                "take_part": await event_activities(db_session, event.id),
                "held": report.held(event),
            },
        )

    @get("/events/{event_id:int}/report", name="event_report", opt=SHARED_PAGE)
    async def report(
        self, db_session: DbSession, settings: AppSettings, event_id: FromPath[int]
    ) -> Template:
        """The event's card after it was held ("you said – we did"): its figures, the feedback
        summary, the ideas gathered there and the staff's reply. Before the event: a note."""
        event = await services.get_event(db_session, event_id, public_only=True)
        held = report.held(event)
        reply = await report.reply_of(db_session, event.id)
        return Template(
            template_name="events/report.html",
            context={
                "event": event,
                "held": held,
                "sections": await report.report_sections(db_session, event, settings)
                if held
                else [],
                "reply": reply if reply is not None and reply.published else None,
            },
        )

    @get("/events/{event_id:int}/report/qr.svg", media_type="image/svg+xml")
    async def report_qr(
        self, request: Request, db_session: DbSession, event_id: FromPath[int]
    ) -> Response:
        """For the next event's poster: residents scan it to see what came of this one."""
        event = await services.get_event(db_session, event_id, public_only=True)
        return qr_image(site_url(request, f"/events/{event.id}/report"))

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
        categories=(event.type_label,),
    )


async def _type_keys(db_session) -> list[str]:
    """Every event type's key, retired ones too: a link to a filtered calendar keeps working."""
    return [option.key for option in await registers.event_type_options(db_session, retired=True)]


def in_feed(step: Milestone, filters: services.CalendarFilter) -> bool:
    """Dated steps are no events of a type; with an area chosen, only the steps in it."""
    if filters.event_type is not None:
        return False
    return filters.area_id is None or step.area_id == filters.area_id


def milestone_entry(request: Request, step: Milestone) -> FeedEntry:
    """A dated step (e.g. voting opens, a milestone of a winning proposal) as a feed entry."""
    title = localized(step.title)
    # A step without an id of its own (a poll opening) is named by what, where and when.
    uid = (
        step.uid
        or "step-"
        + hashlib.sha256(f"{step.kind}|{step.url}|{step.at.isoformat()}".encode()).hexdigest()[:24]
    )
    return FeedEntry(
        uid=f"{uid}@{request.url.hostname or 'tori'}",
        starts_at=step.at,
        ends_at=None,
        summary=f"{gettext(step.kind)}: {title}",
        description=localized(step.description) if step.description else "",
        location="",
        url=site_url(request, step.url),
        updated_at=step.updated_at or step.at,
        day=step.day,
    )


def ical_response(
    request: Request,
    events: list[Event],
    name: str,
    filename: str,
    extra: Sequence[FeedEntry] = (),
) -> Response:
    entries = [*(feed_entry(request, event) for event in events), *extra]
    body = render_calendar(name, entries, now=utcnow())
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


async def _year_page(request: Request, db_session, settings, *, staff: bool) -> Template:
    zone = ZoneInfo(settings.timezone)
    areas = await list_areas(db_session)
    query = read_year_query(request, zone)
    types = await registers.event_type_options(db_session, retired=True)
    view = await year_view(
        db_session,
        query.year,
        query.grouping,
        zone=zone,
        areas=areas,
        public_only=not staff,
        type_keys=[option.key for option in types if not option.retired],
    )
    context = {
        "query": query,
        "view": view,
        "areas": {str(area.id): area for area in areas},
        "event_types": {option.key: option.label for option in types},
        "months": [dt.date(query.year, month, 1) for month in range(1, 13)],
        "month_names": month_names_short(),
        "staff": staff,
    }
    if staff:
        context["gaps"] = await year_gaps(db_session, zone=zone, areas=areas, languages=LANGUAGES)
    return Template(
        template_name="events/year.html",
        context=context,
        status_code=400 if query.problems else 200,
    )


def _reply_page(form: Form, event: Event, status: int = 200) -> Template:
    return Template(
        template_name="events/reply_form.html",
        context={"form": form, "event": event, "max_length": report.MAX_REPLY_LENGTH},
        status_code=status,
    )


@dataclass(frozen=True)
class EventFormChoices:
    """What the event form offers: the areas, the types and the register's organisers (retired
    ones only where the event already has them)."""

    areas: list[Area]
    types: list[registers.EventTypeOption]
    organisers: list[Organiser]

    @property
    def type_keys(self) -> list[str]:
        return [option.key for option in self.types]


async def _form_choices(db_session, event: Event | None) -> EventFormChoices:
    current = {link.organiser_id for link in event.organisers} if event else set()
    organisers = [
        organiser
        for organiser in await registers.list_organisers(db_session)
        if not organiser.retired or organiser.id in current
    ]
    types = await registers.event_type_options(db_session, keep=event.event_type if event else None)
    return EventFormChoices(await list_areas(db_session), types, organisers)


def _form_page(
    form: Form, event: Event | None, choices: EventFormChoices, status: int = 200
) -> Template:
    by_kind = {
        kind: [o for o in choices.organisers if o.kind == kind.value] for kind in OrganiserKind
    }
    return Template(
        template_name="events/form.html",
        context={
            "form": form,
            "event": event,
            "areas": choices.areas,
            "event_types": choices.types,
            "organisers_by_kind": by_kind,
            "organiser_fields": ORGANISER_FIELDS,
            "recurrences": services.RECURRENCES,
        },
        status_code=status,
    )


def error_field(error: DomainError) -> str:
    """The field an event service's refusal is shown at: the times, unless it is about the
    organisers or the type."""
    if error.message in registers.ORGANISER_MESSAGES:
        return "organisers_city_unit_fi"
    if error.message == services.TYPE_MESSAGE:
        return "event_type"
    return "ends_time"


class StaffEventsController(Controller):
    path = "/staff/events"
    guards = [signed_in_staff]

    @get("/")
    async def list_events(self, request: Request, db_session: DbSession) -> Template:
        past, page = read_staff_list_query(request)
        search, query = read_staff_search(request)
        events, total = await services.staff_events(
            db_session, past=past, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, query=query
        )
        return Template(
            template_name="events/staff_list.html",
            context={
                "events": events,
                "past": past,
                "page": page,
                "pages": max(1, -(-total // PAGE_SIZE)),
                "total": total,
                "search": search,
            },
            status_code=400 if search.errors else 200,
        )

    @get("/year")
    async def year(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Template:
        """The year view with staff-only events counted too, and the gaps to fill."""
        return await _year_page(request, db_session, settings, staff=True)

    @get("/new", opt={"roles": EDITORS})
    async def new_event_page(self, db_session: DbSession, settings: AppSettings) -> Template:
        return _form_page(
            event_form(None, ZoneInfo(settings.timezone)),
            None,
            await _form_choices(db_session, None),
        )

    @post("/new", opt={"roles": EDITORS}, status_code=303)
    async def create_event(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Template | Redirect:
        zone = ZoneInfo(settings.timezone)
        choices = await _form_choices(db_session, None)
        form = Form(await read_form(request))
        data = read_event(form, choices.areas, zone, choices.type_keys, choices.organisers)
        recurrence, count = read_recurrence(form)
        if data is not None and form.is_valid:
            try:
                events = await services.create_events(
                    db_session, data, recurrence=recurrence, count=count, zone=zone
                )
            except DomainError as error:
                form.add_error(error_field(error), error.translated())
            else:
                return Redirect(
                    path=f"/staff/events/{events[0].id}",
                    query_params={"done": "created"},
                    status_code=303,
                )
        return _form_page(form, None, choices, 400)

    @get("/{event_id:int}")
    async def edit_event_page(
        self, db_session: DbSession, settings: AppSettings, event_id: FromPath[int]
    ) -> Template:
        event = await services.get_event(db_session, event_id)
        return _form_page(
            event_form(event, ZoneInfo(settings.timezone)),
            event,
            await _form_choices(db_session, event),
        )

    @get("/{event_id:int}/reply")
    async def reply_page(self, db_session: DbSession, event_id: FromPath[int]) -> Template:
        event = await services.get_event(db_session, event_id)
        reply = await report.reply_of(db_session, event.id)
        values = {f"text_{code}": text for code, text in (reply.text if reply else {}).items()}
        form = Form.prefilled({**values, "publish": bool(reply and reply.published)})
        return _reply_page(form, event)

    @post("/{event_id:int}/reply", opt={"roles": EDITORS}, status_code=303)
    async def save_reply(
        self, request: Request, db_session: DbSession, event_id: FromPath[int]
    ) -> Template | Redirect:
        event = await services.get_event(db_session, event_id)
        form = Form(await read_form(request))
        text = form.translated_text("text", max_length=report.MAX_REPLY_LENGTH, multiline=True)
        publish = form.raw("publish") == "on"
        if form.is_valid:
            try:
                await report.save_reply(db_session, event, text, publish=publish)
            except DomainError as error:
                missing = report.missing_for_publication(text)
                form.add_error(f"text_{missing[0]}" if missing else "text_fi", error.translated())
            else:
                return Redirect(
                    path=f"/staff/events/{event.id}/reply",
                    query_params={"done": "published" if publish else "saved"},
                    status_code=303,
                )
        return _reply_page(form, event, 400)

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
        choices = await _form_choices(db_session, event)
        form = Form(await read_form(request))
        data = read_event(form, choices.areas, zone, choices.type_keys, choices.organisers)
        if data is not None and form.is_valid:
            try:
                await services.update_event(db_session, event, data, zone=zone)
            except DomainError as error:
                form.add_error(error_field(error), error.translated())
            else:
                return Redirect(
                    path=f"/staff/events/{event.id}",
                    query_params={"done": "saved"},
                    status_code=303,
                )
        return _form_page(form, event, choices, 400)

    @post("/{event_id:int}/delete", opt={"roles": EDITORS}, status_code=303)
    async def delete_event(
        self, request: Request, db_session: DbSession, event_id: FromPath[int]
    ) -> Redirect:
        event = await services.get_event(db_session, event_id)
        form = Form(await read_form(request))
        await services.delete_event(db_session, event, whole_series=form.boolean("whole_series"))
        return Redirect(path="/staff/events", query_params={"done": "deleted"}, status_code=303)


class HeadCounterController(Controller):
    """Staff count heads at an event with one tap each; the event's participants and visitors
    figures grow as they tap. A plain form post answers with a 303 to the counter; htmx gets the
    figures alone. Each tap carries its own token (app.events.services.count_head)."""

    path = "/staff/events/{event_id:int}/count"
    guards = [signed_in_staff]

    def _page(self, event: Event, *, error: str | None = None, status: int = 200) -> Template:
        return Template(
            template_name="events/count.html",
            context={
                "event": event,
                "error": error,
                "tokens": {kind: services.new_tap_token() for kind in HeadCount},
            },
            status_code=status,
        )

    @get("/", name="head_counter")
    async def show(self, db_session: DbSession, event_id: FromPath[int]) -> Template:
        return self._page(await services.get_event(db_session, event_id))

    @post("/", opt={"roles": EDITORS}, status_code=303)
    async def tap(
        self, request: Request, db_session: DbSession, event_id: FromPath[int]
    ) -> Template | Redirect:
        event = await services.get_event(db_session, event_id)
        form = Form(await read_form(request))
        kind = form.raw("kind")
        try:
            if kind not in set(HeadCount):
                raise DomainError(N_("The tap was not recognised. Reload the page and tap again."))
            await services.count_head(db_session, event, HeadCount(kind), form.raw("tap"))
        except DomainError as error:
            if is_htmx(request):
                return Template(
                    template_name="events/_count_figures.html",
                    context={"event": event, "error": error.translated()},
                    status_code=400,
                )
            return self._page(event, error=error.translated(), status=400)
        if is_htmx(request):
            return Template(
                template_name="events/_count_figures.html",
                context={"event": event, "error": None},
                status_code=200,
            )
        return Redirect(path=f"/staff/events/{event.id}/count", status_code=303)
