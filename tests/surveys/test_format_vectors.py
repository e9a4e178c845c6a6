"""Known answers for the machine CSV exports of polls and feedback: fixed votes and responses,
and the exact bytes of each export in tests/data/vectors/. A change to a format - the columns,
their order, the quoting, the line ends, the rounding, the guard against spreadsheet formulas -
fails here."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import update

from app.accounts.models import Role
from app.events.models import EventType
from surveys.models import FeedbackResponse
from tests.factories import make_area, make_event, signed_in_as
from tests.surveys.factories import answer, open_questionnaire
from tests.surveys.polls_factories import FRUIT, make_poll
from tests.surveys.test_polls import vote

VECTORS = Path(__file__).resolve().parents[1] / "data" / "vectors"
# An option whose label a spreadsheet would run as a formula: written with an apostrophe.
OTHER = {
    "key": "q2",
    "type": "multiple",
    "required": True,
    "max_choices": 2,
    "text": {"fi": "Mitä muuta?", "sv": "Vad mer?", "en": "What else?"},
    "options": [
        {"key": "m1", "label": {"fi": "=1+1", "sv": "=1+1", "en": "=1+1"}},
        {"key": "m2", "label": {"fi": "Kahvi, tee", "sv": "Kaffe, te", "en": 'Coffee, "tea"'}},
    ],
}


async def test_the_poll_results_csv_is_the_known_file(client, db):
    tapiola = await make_area(db, "Tapiola, itä")
    poll = await make_poll(db, questions=(FRUIT, OTHER))
    for answers, extra in (
        ({"q_q1": "o1", "q_q2": ["m1", "m2"]}, {"area": str(tapiola.id)}),
        ({"q_q1": "o2", "q_q2": "m2"}, {"channel": "link"}),
        ({"q_q1": "o1", "q_q2": "m1"}, {"area": str(tapiola.id), "channel": "link"}),
    ):
        client.cookies.delete("tori_voted")
        response = await vote(client, poll.slug, answers, extra=extra)
        assert response.status_code == 303, response.text
    await signed_in_as(client, db, Role.STAFF)
    for language in ("en", "fi"):
        exported = await client.get(f"/staff/polls/{poll.id}/results.csv?lang={language}")
        assert exported.status_code == 200
        assert exported.headers["content-type"] == "text/csv; charset=utf-8"
        expected = (VECTORS / f"poll-results-{language}.csv").read_bytes()
        assert exported.content == expected, exported.text


async def held_on(db, event, day: dt.date, hours: int) -> None:
    """Move an event (and its derived month and year) to a fixed day in the past."""
    starts = dt.datetime.combine(day, dt.time(15, 0), tzinfo=dt.UTC)
    event.starts_at, event.ends_at = starts, starts + dt.timedelta(hours=hours)
    event.local_month, event.local_year = day.strftime("%Y-%m"), day.year
    await db.commit()


async def test_the_feedback_exports_for_machines_are_the_known_files(client, db):
    """Two events of March 2026 in one area, eleven responses (one with a comment that a
    spreadsheet would run as a formula); the monitoring figures, the answer summaries and the
    responses as CSV for machines, grouped by event type."""
    area = await make_area(db, "Vanha-Espoo", population=39908)
    panel = await make_event(db, area=area, event_type=EventType.THEME_PANEL)
    popup = await make_event(db, area=area, event_type=EventType.POP_UP)
    panel.participant_count, popup.participant_count = 30, 50
    await db.commit()
    for event, scores in ((panel, [5, 4, 4, 5, 3]), (popup, [2, 3, 3, 4, 2, 3])):
        questionnaire = await open_questionnaire(db, event)
        for number, score in enumerate(scores):
            await answer(
                db,
                questionnaire,
                {
                    "satisfaction": score,
                    "again": "yes" if score > 2 else "no",
                    **({"comment": "=cmd|' /C calc'!A0"} if number == 0 else {}),
                },
                language="sv" if number == 1 else "fi",
            )
    await held_on(db, panel, dt.date(2026, 3, 10), 2)
    await held_on(db, popup, dt.date(2026, 3, 12), 3)
    await db.execute(update(FeedbackResponse).values(submitted_on=dt.date(2026, 3, 13)))
    await db.commit()
    await signed_in_as(client, db, Role.STAFF)
    period = "group=type&start=2026-03-01&end=2026-03-31"
    for kind in ("monitoring", "answers", "responses"):
        exported = await client.get(f"/staff/feedback/export/{kind}.csv?{period}")
        assert exported.status_code == 200
        assert exported.headers["content-type"] == "text/csv; charset=utf-8"
        expected = (VECTORS / f"feedback-{kind}.csv").read_bytes()
        assert exported.content == expected, exported.text
