"""The events' and areas' forms read on their own (app/events/forms.py, app/areas/forms.py): what
the services get from good input, and the errors bad input collects, with no request or database."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from app.areas.forms import MAX_POPULATION_ROWS, read_area, shown_rows
from app.events.forms import read_event, read_recurrence
from app.events.models import EventType, OrganiserKind
from app.forms import Form

ZONE = ZoneInfo("Europe/Helsinki")
AREAS = [SimpleNamespace(id=3), SimpleNamespace(id=7)]


def form(**fields: str | list[str]) -> Form:
    return Form({k: v if isinstance(v, list) else [v] for k, v in fields.items()})


def event_fields(**changes: str | list[str]) -> dict:
    return {
        "title_fi": "Asukasilta",
        "event_type": EventType.RESIDENT_EVENING.value,
        "area_id": "7",
        "languages": ["fi", "sv"],
        "starts_date": "2026-03-02",
        "starts_time": "17.00",
        "ends_time": "19.30",
        "organisers_city_unit_fi": "Kaupunki\nKirjasto",
        "organisers_city_unit_sv": "Staden\nBiblioteket",
        "participant_count": "40",
        "is_public": "on",
        **changes,
    }


def test_a_good_event_form_gives_the_service_its_input():
    read = form(**event_fields())
    data = read_event(read, AREAS, ZONE)
    assert read.errors == {}
    assert data.title["fi"] == "Asukasilta"
    assert data.area_id == 7
    assert data.languages == ["fi", "sv"]
    assert data.starts_at == dt.datetime(2026, 3, 2, 17, tzinfo=ZONE)
    assert data.ends_at == dt.datetime(2026, 3, 2, 19, 30, tzinfo=ZONE)
    assert data.organisers == [
        (OrganiserKind.CITY_UNIT, {"fi": "Kaupunki", "sv": "Staden"}),
        (OrganiserKind.CITY_UNIT, {"fi": "Kirjasto", "sv": "Biblioteket"}),
    ]
    assert (data.participant_count, data.visitor_count, data.is_public) == (40, None, True)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title_fi": ""}, "title"),
        ({"event_type": "party"}, "event_type"),
        ({"area_id": "99"}, "area_id"),
        ({"languages": []}, "languages"),
        ({"languages": ["fi", "de"]}, "languages"),
        ({"starts_date": "2026-02-30"}, "starts_date"),
        ({"starts_time": "25.00"}, "starts_time"),
        ({"participant_count": "-1"}, "participant_count"),
        ({"participant_count": "١٢"}, "participant_count"),
        ({"organisers_city_unit_sv": "Staden"}, "organisers_city_unit_sv"),
        ({"title_fi": "x" * 201}, "title"),
        ({"title_fi": "bad\x00byte"}, "title"),
    ],
)
def test_bad_event_input_is_named_and_gives_the_service_nothing(changes, field):
    read = form(**event_fields(**changes))
    assert read_event(read, AREAS, ZONE) is None
    assert any(name.startswith(field) for name in read.errors), read.errors


@pytest.mark.parametrize(
    ("fields", "expected", "error"),
    [
        ({}, (None, 1), None),
        ({"recurrence": "weekly", "occurrences": "5"}, ("weekly", 5), None),
        ({"recurrence": "weekly"}, ("weekly", 1), "occurrences"),
        ({"recurrence": "monthly", "occurrences": "53"}, ("monthly", 1), "occurrences"),
        ({"recurrence": "daily", "occurrences": "5"}, (None, 1), "recurrence"),
    ],
)
def test_how_an_event_repeats(fields, expected, error):
    read = form(**fields)
    assert read_recurrence(read) == expected
    assert list(read.errors) == ([error] if error else [])


def test_an_area_form_gives_names_and_populations_by_year():
    read = form(
        name_fi="Kallio",
        name_sv="Berghäll",
        rows="3",
        year_0="2024",
        population_0="30 000",
        year_2="2025",
        population_2="30500",
    )
    data = read_area(read)
    assert read.errors == {}
    assert data.name == {"fi": "Kallio", "sv": "Berghäll"}
    assert data.populations == {2024: 30_000, 2025: 30_500}


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"name_fi": ""}, "name"),
        ({"year_0": "2024"}, "population_0"),
        ({"population_0": "100"}, "year_0"),
        ({"year_0": "2024", "population_0": "1", "year_1": "2024", "population_1": "2"}, "year_1"),
        ({"year_0": "1800", "population_0": "1"}, "year_0"),
        ({"year_0": "2024", "population_0": "99999999"}, "population_0"),
    ],
)
def test_bad_area_input_is_named(fields, error):
    read = form(**{"name_fi": "Kallio", "rows": "2", **fields})
    read_area(read)
    assert any(name.startswith(error) for name in read.errors), read.errors


@pytest.mark.parametrize(
    ("sent", "shown"),
    [("3", 3), ("-4", 0), ("1" + "0" * 39, MAX_POPULATION_ROWS), ("x", 2), ("", 2)],
)
def test_the_number_of_population_rows_shown_stays_within_bounds(sent, shown):
    assert shown_rows(form(rows=sent)) == shown
