import datetime as dt
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.areas.models import Area, AreaPopulation
from app.events.models import Event, EventType
from app.events.services import occurrences
from tests.conftest import csrf_token
from tests.factories import make_area, make_event, signed_in_as
from tests.surveys.factories import open_questionnaire

HELSINKI = ZoneInfo("Europe/Helsinki")


def event_fields(**changes):
    start = (dt.datetime.now(HELSINKI) + dt.timedelta(days=10)).date().isoformat()
    fields = {
        "title_fi": "Asukasilta Kivenlahdessa",
        "title_en": "Resident evening in Kivenlahti",
        "event_type": "resident_evening",
        "area_id": "",
        "venue_fi": "Lippulaivan kirjasto",
        "venue_sv": "Lippulaivas bibliotek",
        "languages": ["fi", "en"],
        "starts_date": start,
        "starts_time": "17:00",
        "ends_time": "19:30",
        "organisers_city_unit_fi": "Asukasosallisuus\nKirjastopalvelut",
        "organisers_association_fi": "Kivenlahti-Seura",
        "is_public": "on",
    }
    fields.update(changes)
    return {key: value for key, value in fields.items() if value is not None}


async def post_event(client, **changes):
    token = await csrf_token(client, "/staff/events/new")
    return await client.post(
        "/staff/events/new", data={**event_fields(**changes), "_csrf_token": token}
    )


async def count(db, model):
    return await db.scalar(select(func.count()).select_from(model))


async def test_staff_adds_an_event_that_appears_in_the_public_calendar(client, db):
    await signed_in_as(client, db, Role.STAFF)
    area = await make_area(db, "Suur-Espoonlahti")
    response = await post_event(client, area_id=str(area.id))
    assert response.status_code == 303
    event = await db.scalar(select(Event))
    assert event.title == {"fi": "Asukasilta Kivenlahdessa", "en": "Resident evening in Kivenlahti"}
    assert event.hours == 2.5
    assert [o.name for o in event.organisers] == [
        {"fi": "Asukasosallisuus"},
        {"fi": "Kirjastopalvelut"},
        {"fi": "Kivenlahti-Seura"},
    ]
    assert event.starts_at.astimezone(HELSINKI).hour == 17
    public = await client.get("/?lang=en")
    assert "Resident evening in Kivenlahti" in public.text
    detail = await client.get(f"/events/{event.id}?lang=sv")
    # No Swedish title: the Finnish one is shown and marked as Finnish for screen readers.
    assert '<h1 lang="fi">Asukasilta Kivenlahdessa</h1>' in detail.text


async def test_weekly_series_creates_each_occurrence_at_the_same_local_time(client, db):
    await signed_in_as(client, db, Role.STAFF)
    response = await post_event(client, recurrence="weekly", occurrences="5")
    assert response.status_code == 303
    events = list(await db.scalars(select(Event).order_by(Event.starts_at)))
    assert len(events) == 5
    assert len({e.series_id for e in events}) == 1
    assert all(e.starts_at.astimezone(HELSINKI).strftime("%H:%M") == "17:00" for e in events)


def test_occurrences_keep_wall_clock_time_across_daylight_saving_and_month_ends():
    start = dt.datetime(2026, 10, 20, 17, 0, tzinfo=HELSINKI)
    weekly = occurrences(start, start + dt.timedelta(hours=2), "weekly", 2, HELSINKI)
    assert [s.astimezone(HELSINKI).hour for s, _ in weekly] == [17, 17]
    assert weekly[1][0] - weekly[0][0] == dt.timedelta(
        days=7, hours=1
    )  # clocks went back on 25 October
    month_end = dt.datetime(2027, 1, 31, 18, 0, tzinfo=HELSINKI)
    monthly = occurrences(month_end, month_end + dt.timedelta(hours=1), "monthly", 3, HELSINKI)
    assert [s.astimezone(HELSINKI).date().isoformat() for s, _ in monthly] == [
        "2027-01-31",
        "2027-02-28",
        "2027-03-31",
    ]


@pytest.mark.parametrize(
    ("changes", "field_message"),
    [
        ({"title_fi": "", "title_en": ""}, "Give this in at least one language."),
        ({"title_fi": "T" * 201}, "Use at most 200 characters."),
        ({"event_type": "rave"}, "Choose one of the options."),
        ({"event_type": ""}, "Choose one of the options."),
        ({"languages": []}, "Choose at least one."),
        ({"languages": ["fi", "de"]}, "Choose from the options shown."),
        ({"area_id": "999999"}, "Choose one of the options."),
        ({"area_id": "1 OR 1=1"}, "Choose one of the options."),
        ({"starts_date": "31.12.2026"}, "Enter a date as year-month-day"),
        ({"starts_date": "2026-02-30"}, "Enter a date as year-month-day"),
        ({"starts_date": "1999-01-01"}, "between the years 2000 and 2100"),
        ({"starts_time": "25:00"}, "Enter a time as hours and minutes"),
        ({"ends_time": "16:00"}, "The event must end after it starts."),
        ({"participant_count": "-5"}, "Enter a number from 0 to 1000000."),
        ({"participant_count": "lots"}, "Enter a whole number"),
        ({"participant_count": "9" * 40}, "Enter a whole number"),
        ({"venue_sv": "Bibliotek\x00"}, "control characters"),
        ({"organisers_city_unit_fi": "\n".join(["Yksikkö"] * 21)}, "Give at most 20 lines."),
        ({"recurrence": "weekly", "occurrences": "99"}, "Enter a number from 2 to 52."),
        ({"recurrence": "daily"}, "Choose one of the options."),
    ],
)
async def test_bad_event_forms_say_what_is_wrong_and_store_nothing(
    client, db, changes, field_message
):
    await signed_in_as(client, db, Role.STAFF)
    response = await post_event(client, **changes)
    assert response.status_code == 400
    assert field_message in response.text
    assert await count(db, Event) == 0


async def test_hostile_text_is_stored_as_text_and_escaped_everywhere(client, db):
    await signed_in_as(client, db, Role.STAFF)
    hostile = "<script>alert('x')</script>'; DROP TABLE event; --"
    response = await post_event(client, title_fi=hostile, venue_fi='"><img src=x onerror=alert(1)>')
    assert response.status_code == 303
    event = await db.scalar(select(Event))
    assert event.title["fi"] == hostile
    for path in ("/?lang=fi", f"/events/{event.id}", f"/staff/events/{event.id}", "/?view=month"):
        page = await client.get(path)
        assert "<script>alert" not in page.text
        assert "<img src=x" not in page.text
    assert await count(db, Event) == 1


async def test_internal_events_stay_out_of_public_pages_and_feeds(client, db):
    internal = await make_event(db, title={"fi": "Sisäinen palaveri"}, is_public=False)
    assert "Sisäinen palaveri" not in (await client.get("/")).text
    assert (await client.get(f"/events/{internal.id}")).status_code == 404
    assert "Sisäinen palaveri" not in (await client.get("/calendar.ics")).text


async def test_calendar_filters_by_area_type_and_language(client, db):
    north = await make_area(db, "Pohjois-Espoo")
    south = await make_area(db, "Suur-Espoonlahti")
    await make_event(db, area=north, title={"fi": "Pohjoisen ilta"}, languages=["fi"])
    await make_event(
        db,
        area=south,
        title={"fi": "Etelän paneeli"},
        event_type=EventType.THEME_PANEL,
        languages=["sv", "fi"],
    )
    await make_event(
        db,
        title={"fi": "Englanninkielinen kokous"},
        event_type=EventType.TOWN_HALL,
        languages=["en"],
    )
    by_area = (await client.get(f"/?area={north.id}")).text
    assert "Pohjoisen ilta" in by_area
    assert "Etelän paneeli" not in by_area
    by_type = (await client.get("/?type=theme_panel")).text
    assert "Etelän paneeli" in by_type
    assert "Pohjoisen ilta" not in by_type
    by_language = (await client.get("/?language=sv")).text
    assert "Etelän paneeli" in by_language
    assert "Englanninkielinen kokous" not in by_language


@pytest.mark.parametrize(
    "query", ["area=abc", "type=rave", "language=de", "month=2026-13", "month=%3Cscript%3E"]
)
async def test_calendar_explains_a_filter_it_did_not_understand(client, db, query):
    await make_event(db, title={"fi": "Näkyvä ilta"})
    response = await client.get(f"/?{query}&lang=en")
    assert response.status_code == 400
    assert "was not understood" in response.text or "was not found" in response.text
    assert "<script>" not in response.text


async def test_month_view_places_events_on_their_local_day(client, db):
    event = await make_event(db, title={"fi": "Kuun ilta"}, starts_in=dt.timedelta(days=2))
    month = event.starts_at.astimezone(HELSINKI).strftime("%Y-%m")
    response = await client.get(f"/?view=month&month={month}&lang=en")
    assert response.status_code == 200
    assert "Kuun ilta" in response.text
    assert '<table class="month">' in response.text


async def test_icalendar_feed_parses_and_matches_the_filters(client, db):
    area = await make_area(db, "Vanha-Espoo")
    event = await make_event(
        db, area=area, title={"fi": "Syysilta, kahvia; teetä", "en": "Autumn evening"}
    )
    await make_event(db, title={"fi": "Muualla"})
    response = await client.get(f"/calendar.ics?area={area.id}&lang=fi")
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    events = calendar.walk("VEVENT")
    assert [str(e["SUMMARY"]) for e in events] == ["Syysilta, kahvia; teetä"]
    assert events[0]["DTSTART"].dt == event.starts_at
    assert "Vanha-Espoo" in str(events[0]["LOCATION"])
    single = icalendar.Calendar.from_ical(
        (await client.get(f"/events/{event.id}/calendar.ics?lang=en")).content
    )
    assert [str(e["SUMMARY"]) for e in single.walk("VEVENT")] == ["Autumn evening"]


async def test_staff_maintain_areas_with_populations_by_year(client, db):
    await signed_in_as(client, db, Role.STAFF)
    token = await csrf_token(client, "/staff/areas/new")
    response = await client.post(
        "/staff/areas/new",
        data={
            "name_fi": "Suur-Tapiola",
            "name_sv": "Stor-Hagalund",
            "rows": "2",
            "year_0": "2017",
            "population_0": "46 052",
            "year_1": "",
            "population_1": "",
            "_csrf_token": token,
        },
    )
    assert response.status_code == 303
    area = await db.scalar(select(Area))
    assert area.slug == "suur-tapiola"
    assert [(p.year, p.population) for p in area.populations] == [(2017, 46052)]
    listing = await client.get("/staff/areas")
    assert "46\xa0052" in listing.text


@pytest.mark.parametrize(
    "fields",
    [
        {"rows": "1", "year_0": "2017", "population_0": "1"},
        {"name_fi": "X" * 121, "rows": "0"},
        {"name_fi": "Alue", "rows": "1", "year_0": "2017", "population_0": ""},
        {
            "name_fi": "Alue",
            "rows": "2",
            "year_0": "2017",
            "population_0": "1",
            "year_1": "2017",
            "population_1": "2",
        },
        {"name_fi": "Alue", "rows": "1", "year_0": "17th", "population_0": "1"},
        {"name_fi": "Alue", "rows": "1", "year_0": "2017", "population_0": "-1"},
        {"name_fi": "Alue", "rows": "5000"},
        # Once rendered as that many blank rows: the worker ran out of memory.
        {"name_fi": "Alue", "rows": "9" * 40},
        {"name_fi": "Alue", "rows": "-5"},
    ],
)
async def test_bad_area_forms_store_nothing(client, db, fields):
    await signed_in_as(client, db, Role.STAFF)
    token = await csrf_token(client, "/staff/areas/new")
    response = await client.post("/staff/areas/new", data={**fields, "_csrf_token": token})
    assert response.status_code == 400
    assert response.text.count('name="year_') <= 40
    assert await count(db, Area) == 0
    assert await count(db, AreaPopulation) == 0


async def test_an_area_with_events_cannot_be_deleted(client, db):
    await signed_in_as(client, db, Role.STAFF)
    area = await make_area(db)
    await make_event(db, area=area)
    token = await csrf_token(client, f"/staff/areas/{area.id}")
    response = await client.post(f"/staff/areas/{area.id}/delete", data={"_csrf_token": token})
    assert response.status_code == 409
    assert "Move or delete them" in response.text
    assert await count(db, Area) == 1


async def test_an_event_with_feedback_cannot_be_deleted(client, db):
    """Found by the bad-input tests: this was a server error (a foreign key refusal)."""
    await signed_in_as(client, db, Role.STAFF)
    event = await make_event(db, area=await make_area(db))
    await open_questionnaire(db, event)
    token = await csrf_token(client, f"/staff/events/{event.id}")
    response = await client.post(f"/staff/events/{event.id}/delete", data={"_csrf_token": token})
    assert response.status_code == 400
    assert "feedback or other records are linked to it" in response.text
    assert await count(db, Event) == 1


async def test_staff_home_lists_past_events_missing_participant_counts(client, db):
    await make_event(
        db,
        title={"fi": "Unohtunut ilta", "en": "Forgotten evening"},
        starts_in=-dt.timedelta(days=3),
    )
    await signed_in_as(client, db, Role.STAFF)
    response = await client.get("/staff")
    assert "Forgotten evening" in response.text or "Unohtunut ilta" in response.text


async def test_the_place_is_shown_in_the_reader_language_and_falls_back_marked(client, db):
    """The place was one Finnish text shown on Swedish pages; now it is per language like the
    name, and a missing language falls back with its own lang attribute."""
    await signed_in_as(client, db, Role.STAFF)
    assert (await post_event(client)).status_code == 303
    event = await db.scalar(select(Event))
    assert event.venue == {"fi": "Lippulaivan kirjasto", "sv": "Lippulaivas bibliotek"}
    swedish = await client.get(f"/events/{event.id}?lang=sv")
    assert '<dd lang="sv">Lippulaivas bibliotek</dd>' in swedish.text
    assert "Lippulaivan kirjasto" not in swedish.text
    english = await client.get(f"/events/{event.id}?lang=en")
    assert '<dd lang="fi">Lippulaivan kirjasto</dd>' in english.text
    feed = await client.get(f"/events/{event.id}/calendar.ics?lang=sv")
    assert "LOCATION:Lippulaivas bibliotek" in feed.text
    edit = await client.get(f"/staff/events/{event.id}?lang=sv")
    assert 'value="Lippulaivas bibliotek"' in edit.text
