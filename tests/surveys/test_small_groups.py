"""Small-group suppression holds in the row-by-row export as on the statistics pages: an event
with too few responses to show comes out of no export, not even to staff."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl

from app.accounts.models import Role
from app.disclosure import MIN_GROUP_SIZE, too_few_to_show
from app.events.models import EventType
from tests.factories import make_area, make_event, signed_in_as
from tests.surveys.factories import answer, open_questionnaire


def csv_rows(response) -> list[dict]:
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))


async def test_an_event_with_three_answers_exports_no_rows(client, db):
    area = await make_area(db, "Kauklahti")
    small = await make_event(
        db, area=area, event_type=EventType.POP_UP, starts_in=-dt.timedelta(days=2)
    )
    large = await make_event(
        db, area=area, event_type=EventType.THEME_PANEL, starts_in=-dt.timedelta(days=3)
    )
    for event, count in ((small, 3), (large, MIN_GROUP_SIZE)):
        questionnaire = await open_questionnaire(db, event)
        for score in range(count):
            await answer(db, questionnaire, {"satisfaction": 1 + score % 5, "again": "yes"})
    for _ in range(2):  # two more for the large event, in Swedish
        await answer(db, questionnaire, {"satisfaction": 3, "again": "no"}, language="sv")
    await signed_in_as(client, db, Role.ADMIN)
    assert too_few_to_show(3)
    assert not too_few_to_show(MIN_GROUP_SIZE)

    everything = csv_rows(await client.get("/staff/feedback/export/responses.csv"))
    assert len(everything) == MIN_GROUP_SIZE + 2
    assert {row["event_id"] for row in everything} == {str(large.id)}
    # Chosen alone, by its type or through its own page: still nothing.
    assert csv_rows(await client.get("/staff/feedback/export/responses.csv?type=pop_up")) == []
    own = await client.get(f"/staff/events/{small.id}/feedback/export/responses.csv")
    assert csv_rows(own) == []
    sheet = await client.get(f"/staff/events/{small.id}/feedback/export/responses.sheet.csv")
    assert len(sheet.text.lstrip("\ufeff").strip().splitlines()) == 1  # the header only
    book = openpyxl.load_workbook(
        io.BytesIO(
            (await client.get(f"/staff/events/{small.id}/feedback/export/responses.xlsx")).content
        )
    )
    assert book["responses"].max_row == 2  # labels and keys, no response
    # A filter that leaves a large event with few responses (its two in Swedish) withholds it.
    assert csv_rows(await client.get("/staff/feedback/export/responses.csv?language=sv")) == []
    assert len(csv_rows(await client.get("/staff/feedback/export/responses.csv?language=fi"))) == 5
