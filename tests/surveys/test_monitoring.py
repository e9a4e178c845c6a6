"""Monitoring as Kuopio measures it: hours, participants, visitors and organisers of the events,
each per 1,000 residents of the area; an organiser running many events is counted once."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.areas.services import AreaInput, create_area, list_areas
from app.events.models import EventOrganiser, EventType, Organiser
from surveys.comparison import ComparisonFilter, compare
from surveys.exports import MONITORING_COLUMNS, monitoring_rows
from tests.factories import make_area, make_event

ZONE = "Europe/Helsinki"


async def test_figures_per_thousand_residents_and_organisers_counted_once(db):
    area = await make_area(db, "Kallio", population=20_000)
    other = await make_area(db, "Vehmersalmi", population=2_000)
    first = await make_event(db, area=area, starts_in=-dt.timedelta(days=3), hours=3)
    second = await make_event(db, area=area, starts_in=-dt.timedelta(days=2), hours=2)
    rural = await make_event(
        db,
        area=other,
        starts_in=-dt.timedelta(days=1),
        event_type=EventType.FUNCTIONAL,
        hours=4,
    )
    first.participant_count, first.visitor_count = 30, 100
    second.participant_count, second.visitor_count = 10, 40
    rural.participant_count, rural.visitor_count = 12, 8
    # The factory gives every event the same city unit (typed in each time: the register finds
    # it); the second event and the rural one share an association from the register.
    association = Organiser(kind="association", name={"fi": "Kylä-Seura"}, retired=False)
    db.add(association)
    await db.flush()
    db.add(EventOrganiser(event_id=second.id, organiser_id=association.id, position=1))
    db.add(EventOrganiser(event_id=rural.id, organiser_id=association.id, position=1))
    await db.commit()
    assert len(set(await db.scalars(select(EventOrganiser.organiser_id)))) == 2

    result = await compare(db, ComparisonFilter(), "area", zone=ZONE, areas=await list_areas(db))
    groups = {group.key: group for group in result.groups}
    city = groups[str(area.id)]
    assert city.events == 2
    assert city.organisers == 2  # the city unit once (at both events), the association once
    assert city.hours_per_thousand == pytest.approx(5 / 20_000 * 1000)
    assert city.participants_per_thousand == pytest.approx(40 / 20_000 * 1000)
    assert city.visitors_per_thousand == pytest.approx(140 / 20_000 * 1000)
    assert city.organisers_per_thousand == pytest.approx(2 / 20_000 * 1000)
    village = groups[str(other.id)]
    assert village.organisers == 2
    assert village.hours_per_thousand == pytest.approx(4 / 2_000 * 1000)

    everything = await compare(
        db, ComparisonFilter(), "none", zone=ZONE, areas=await list_areas(db)
    )
    [whole] = everything.groups
    # Over all three events: the city unit and the association, each once.
    assert whole.organisers == 2
    assert whole.events == 3

    by_type = await compare(db, ComparisonFilter(), "type", zone=ZONE, areas=await list_areas(db))
    assert {group.key for group in by_type.groups} == {"resident_evening", "functional"}

    rows = monitoring_rows(result)
    assert rows[0] == MONITORING_COLUMNS
    row = dict(zip(rows[0], next(r for r in rows[1:] if r[0] == str(area.id)), strict=True))
    assert row["organisers"] == 2
    assert row["visitors_per_1000_residents"] == pytest.approx(7.0)
    assert row["organisers_per_1000_residents"] == pytest.approx(0.1)


async def test_an_area_without_residents_shows_no_per_thousand_figures(db):
    area = await create_area(db, AreaInput(name={"fi": "Uusi alue"}, populations={}))
    await make_event(db, area=area, starts_in=-dt.timedelta(days=1))
    result = await compare(db, ComparisonFilter(), "area", zone=ZONE, areas=await list_areas(db))
    [group] = [group for group in result.groups if group.key == str(area.id)]
    assert group.hours_per_thousand is None
    assert group.organisers_per_thousand is None
    assert group.organisers == 1


async def test_the_staff_monitoring_view_shows_the_figures_per_thousand(client, db):
    from app.accounts.models import Role
    from tests.factories import signed_in_as

    area = await make_area(db, "Kallio", population=20_000)
    event = await make_event(db, area=area, starts_in=-dt.timedelta(days=1))
    event.visitor_count = 50
    await db.commit()
    await signed_in_as(client, db, Role.STAFF)
    page = await client.get("/staff/feedback?group=area&lang=en")
    assert page.status_code == 200
    assert "Visitors per 1\u00a0000 residents" in page.text
    assert "Organisers per 1\u00a0000 residents" in page.text
    # 50 visitors per 20,000 residents, Finland's decimal comma in every language.
    assert '<td class="number">2,5</td>' in page.text
    assert await db.scalar(select(EventOrganiser.id)) is not None
