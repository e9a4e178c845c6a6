"""Participants per 1,000 residents of the event's own area, a chart whose interval is not hidden
by its bar, and a dashboard that starts from the events already held, newest first."""

import datetime as dt
import re

import pytest

from app.accounts.models import Role
from app.areas.services import list_areas
from surveys.comparison import MAX_EVENT_GROUPS, ComparisonFilter, compare
from tests.factories import make_area, make_event, signed_in_as
from tests.surveys.factories import answer, open_questionnaire

ZONE = "Europe/Helsinki"


async def two_areas_and_an_event(db, *, area_of_event: str = "leppavaara"):
    leppavaara = await make_area(db, "Suur-Leppävaara", population=70_000)
    await make_area(db, "Suur-Espoonlahti", population=230_000)
    event = await make_event(
        db,
        area=leppavaara if area_of_event == "leppavaara" else None,
        starts_in=-dt.timedelta(days=2),
    )
    event.participant_count = 42
    await db.commit()
    return event


@pytest.mark.parametrize(("lang", "shown"), [("fi", "0,6"), ("sv", "0,6"), ("en", "0,6")])
async def test_the_event_page_relates_participants_to_its_own_areas_residents(
    client, db, lang, shown
):
    event = await two_areas_and_an_event(db)
    questionnaire = await open_questionnaire(db, event)
    await answer(db, questionnaire, {"satisfaction": 4})
    await signed_in_as(client, db, Role.STAFF)
    page = await client.get(f"/staff/events/{event.id}/feedback?lang={lang}")
    assert page.status_code == 200
    cells = re.findall(r'<td class="number">([^<]*)</td>', page.text)
    # 42 participants in an area of 70,000 residents: 0.6 per 1,000, not 0.14 of the whole city.
    assert shown in cells
    assert "0,1" not in cells  # Finland's decimal comma in every language


async def test_per_event_groups_use_the_area_rule_of_the_dashboard(db):
    event = await two_areas_and_an_event(db)
    city_wide = await make_event(db, area=None, starts_in=-dt.timedelta(days=3))
    city_wide.participant_count = 300
    await db.commit()
    areas = await list_areas(db)
    by_event = await compare(db, ComparisonFilter(), "event", zone=ZONE, areas=areas)
    groups = {group.key: group for group in by_event.groups}
    assert groups[str(event.id)].participants_per_thousand == pytest.approx(42 / 70_000 * 1000)
    # A city-wide event is related to the whole city.
    assert groups[str(city_wide.id)].participants_per_thousand == pytest.approx(
        300 / 300_000 * 1000
    )
    by_area = await compare(db, ComparisonFilter(), "area", zone=ZONE, areas=areas)
    area_group = next(g for g in by_area.groups if g.key == str(event.area_id))
    assert area_group.participants_per_thousand == groups[str(event.id)].participants_per_thousand
    one_event = await compare(
        db, ComparisonFilter(event_ids=(event.id,)), "none", zone=ZONE, areas=areas
    )
    assert one_event.groups[0].population == 70_000


async def test_the_confidence_interval_is_drawn_over_the_bar_not_under_it(client, db):
    event = await two_areas_and_an_event(db)
    questionnaire = await open_questionnaire(db, event)
    for score in (5, 4, 4, 3, 5, 2, 4):
        await answer(db, questionnaire, {"satisfaction": score})
    await signed_in_as(client, db, Role.STAFF)
    page = await client.get("/staff/feedback?group=type")
    assert page.status_code == 200
    chart = page.text[page.text.index('class="means-chart"') :]
    chart = chart[: chart.index("</svg>")]
    # SVG paints in document order: the interval must come after the bar of its row.
    bar, interval = chart.index('class="bar"'), chart.index('class="ci"')
    assert bar < interval


async def test_the_dashboard_starts_with_events_already_held_newest_first(client, db):
    area = await make_area(db, "Suur-Leppävaara", population=70_000)
    held = []
    for days_ago in (30, 2, 10):
        event = await make_event(
            db, area=area, starts_in=-dt.timedelta(days=days_ago), title={"en": f"Held {days_ago}"}
        )
        event.participant_count = 10
        held.append(event)
    for days_ahead in range(1, MAX_EVENT_GROUPS + 3):
        await make_event(
            db,
            area=area,
            starts_in=dt.timedelta(days=days_ahead),
            title={"en": f"Future {days_ahead}"},
        )
    await db.commit()
    await signed_in_as(client, db, Role.STAFF)
    page = await client.get("/staff/feedback?lang=en")
    assert page.status_code == 200
    today = dt.datetime.now(dt.UTC).date()
    assert re.search(r'name="end" value="(\d{4}-\d\d-\d\d)"', page.text)[1] in {
        (today + dt.timedelta(days=shift)).isoformat() for shift in (-1, 0, 1)
    }
    # Three events held, 30 hours of them (and none of the events still to come).
    monitoring = re.findall(r'<td class="number">([^<]*)</td>', page.text)
    assert monitoring[:3] == ["3", "6,0", "30"]
    by_event = await client.get("/staff/feedback?lang=en&group=event")
    titles = re.findall(r'<th scope="row">(Held \d+|Future \d+)', by_event.text)
    assert titles == ["Held 2", "Held 10", "Held 30"]
    # An emptied "until" field asks for every event, those to come too.
    everything = await client.get("/staff/feedback?lang=en&group=event&end=")
    listed = re.findall(r'<th scope="row">(Held \d+|Future \d+)', everything.text)
    assert len(listed) == MAX_EVENT_GROUPS
    assert listed[0] == f"Future {MAX_EVENT_GROUPS + 2}"
