"""Polls made through the same service the staff pages use."""

from __future__ import annotations

import datetime as dt

from app.database import utcnow
from surveys.polls import services

FRUIT = {
    "key": "q1",
    "type": "single",
    "required": True,
    "text": {"fi": "Mikä hedelmä?", "sv": "Vilken frukt?", "en": "Which fruit?"},
    "options": [
        {"key": "o1", "label": {"fi": "Omena", "sv": "Äpple", "en": "Apple"}},
        {"key": "o2", "label": {"fi": "Päärynä", "sv": "Päron", "en": "Pear"}},
    ],
}
SPORTS = {
    "key": "q2",
    "type": "multiple",
    "required": True,
    "max_choices": 2,
    "text": {"fi": "Mitkä lajit?", "sv": "Vilka grenar?", "en": "Which sports?"},
    "options": [
        {"key": "o1", "label": {"fi": "Hiihto", "sv": "Skidåkning", "en": "Skiing"}},
        {"key": "o2", "label": {"fi": "Uinti", "sv": "Simning", "en": "Swimming"}},
        {"key": "o3", "label": {"fi": "Pyöräily", "sv": "Cykling", "en": "Cycling"}},
    ],
}
TITLE = {"fi": "Kysely", "sv": "Enkät", "en": "Poll"}


async def make_poll(
    db,
    *,
    questions=(FRUIT,),
    opens_in: dt.timedelta = -dt.timedelta(hours=1),
    lasts: dt.timedelta = dt.timedelta(days=1),
    visibility: str = "immediate",
    area_id: int | None = None,
    event_id: int | None = None,
):
    opens = utcnow() + opens_in
    return await services.create_poll(
        db,
        services.PollDraft(
            title=dict(TITLE),
            questions=[dict(question) for question in questions],
            opens_at=opens,
            closes_at=opens + lasts,
            visibility=visibility,
            area_id=area_id,
            event_id=event_id,
        ),
    )
