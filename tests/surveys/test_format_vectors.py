"""Known answers for the poll results CSV: a fixed poll and fixed votes, and the exact bytes
of the export in tests/data/vectors/ (in English and in Finnish). A change to the format - the
columns, their order, the quoting, the line ends, the guard against spreadsheet formulas -
fails here."""

from __future__ import annotations

from pathlib import Path

from app.accounts.models import Role
from tests.factories import make_area, signed_in_as
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
