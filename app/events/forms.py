"""Reading and checking the events' input: the public calendar's query string, and the staff
form of an event (with its organisers and how it repeats) and of the staff list."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from litestar import Request

from app.areas.models import Area
from app.database import utcnow
from app.events import services
from app.events.models import EVENT_TYPE_KEYS, Event, Organiser, OrganiserKind
from app.forms import Form, local_datetime, read_search
from app.i18n import LANGUAGES, gettext
from app.requests import ascii_int

ORGANISER_FIELDS = {kind: f"organisers_{kind.value}" for kind in OrganiserKind}


@dataclass(frozen=True)
class CalendarQuery:
    """The calendar's query string, read leniently: a value not understood is named, not fatal."""

    filters: services.CalendarFilter
    view: str
    month: dt.date
    page: int
    problems: tuple[str, ...]


@dataclass(frozen=True)
class YearQuery:
    year: int
    grouping: str
    problems: list[str]


def read_year_query(request: Request, zone: ZoneInfo) -> YearQuery:
    """?year=2027&by=area|type; anything else gives the current year by area, and says so."""
    params = request.query_params
    problems: list[str] = []
    year = utcnow().astimezone(zone).year
    year_value = params.get("year", "")
    if year_value:
        chosen = ascii_int(year_value)
        if chosen is not None and 2000 <= chosen <= 2100:
            year = chosen
        else:
            problems.append(gettext("The year was not understood, so this year is shown."))
    grouping = params.get("by", "area")
    if grouping not in {"area", "type"}:
        problems.append(gettext("The grouping was not understood, so areas are shown."))
        grouping = "area"
    return YearQuery(year, grouping, problems)


def read_calendar_query(  # noqa: PLR0912 - one branch per query parameter, read in turn
    request: Request, areas: list[Area], zone: ZoneInfo, type_keys: Iterable[str] = ()
) -> CalendarQuery:
    """`type_keys`: the types staff added (the built-in ones are always known)."""
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
        if type_value in EVENT_TYPE_KEYS or type_value in set(type_keys):
            event_type = type_value
        else:
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
    for kind in OrganiserKind:
        values[f"organiser_{kind.value}"] = [
            str(link.organiser_id) for link in event.organisers if link.kind == kind.value
        ]
    for language in LANGUAGES:
        values[f"title_{language}"] = event.title.get(language, "")
        values[f"description_{language}"] = event.description.get(language, "")
        values[f"theme_{language}"] = event.theme.get(language, "")
        values[f"venue_{language}"] = event.venue.get(language, "")
    return Form.prefilled(values)


def read_organisers(form: Form) -> list[tuple[OrganiserKind, dict[str, str]]]:
    """Organisers not yet in the register, fields `organisers_<kind>_<language>`: one name a line,
    line n of each language naming the same organiser. A language left empty shows another
    language's names."""
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


def read_event(
    form: Form,
    areas: list[Area],
    zone: ZoneInfo,
    type_keys: Iterable[str] = EVENT_TYPE_KEYS,
    organisers_offered: Iterable[Organiser] = (),
) -> services.EventInput | None:
    """`type_keys` and `organisers_offered`: the event types and the register's organisers the
    form offered (checkboxes `organiser_<kind>`)."""
    title = form.translated_text("title", required=True, max_length=200)
    description = form.translated_text("description", max_length=5000, multiline=True)
    theme = form.translated_text("theme", max_length=200)
    event_type = form.choice("event_type", list(type_keys))
    area_value = form.choice("area_id", [str(area.id) for area in areas], required=False)
    venue = form.translated_text("venue", max_length=200)
    languages = form.choices("languages", LANGUAGES, at_least=1)
    starts_date = form.date("starts_date")
    starts_time = form.time("starts_time")
    ends_date = form.date("ends_date", required=False) or starts_date
    ends_time = form.time("ends_time")
    offered = list(organisers_offered)
    chosen = [
        number
        for kind in OrganiserKind
        for number in form.choices(
            f"organiser_{kind.value}", [str(o.id) for o in offered if o.kind == kind.value]
        )
    ]
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
        event_type=event_type or "",
        area_id=int(area_value) if area_value else None,
        venue=venue,
        languages=languages,
        starts_at=starts_at,
        ends_at=ends_at,
        organiser_ids=[int(number) for number in chosen],
        organisers=organisers,
        participant_count=participants,
        visitor_count=visitors,
        is_public=form.boolean("is_public"),
    )


def read_recurrence(form: Form) -> tuple[str | None, int]:
    """How a new event repeats: (None, 1) for once, else the rule and the number of events."""
    recurrence = form.choice("recurrence", services.RECURRENCES, required=False)
    if not recurrence:
        return None, 1
    count = form.integer("occurrences", minimum=2, maximum=services.MAX_OCCURRENCES)
    if count is None and "occurrences" not in form.errors:
        form.add_error("occurrences", gettext("Give the number of occurrences, from 2 to 52."))
    return recurrence, count or 1


def read_staff_list_query(request: Request) -> tuple[bool, int]:
    """The staff list's query string: (past events?, page number)."""
    past = request.query_params.get("when") == "past"
    page = ascii_int(request.query_params.get("page", "1"), minimum=1, maximum=10_000) or 1
    return past, page


def read_staff_search(request: Request) -> tuple[Form, str]:
    """The staff list's search box: (the form, for its error; the text searched for, or "")."""
    search = Form({"q": request.query_params.getall("q", [])[:1]})
    return search, read_search(search)
