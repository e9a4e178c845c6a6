"""Demo polls: two open (one with votes from every channel), one closed, one still to come."""

from __future__ import annotations

import datetime as dt
import random
import secrets

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.areas.services import list_areas
from app.database import utcnow
from surveys.polls import services
from surveys.polls.models import Poll, PollChoice, PollVote

LIBRARY_POLL = {
    "title": {
        "fi": "Mitä kirjastoon lisää?",
        "sv": "Vad vill du ha mer av i biblioteket?",
        "en": "What should the library offer more of?",
    },
    "questions": [
        {
            "key": "q1",
            "type": "single",
            "required": True,
            "text": {
                "fi": "Mitä kirjastoon pitäisi tuoda lisää?",
                "sv": "Vad borde biblioteket erbjuda mer av?",
                "en": "What should the library offer more of?",
            },
            "options": [
                {"key": "o1", "label": {"fi": "Tapahtumia", "sv": "Evenemang", "en": "Events"}},
                {
                    "key": "o2",
                    "label": {"fi": "Hiljaisia tiloja", "sv": "Tysta rum", "en": "Quiet rooms"},
                },
                {"key": "o3", "label": {"fi": "Pelejä", "sv": "Spel", "en": "Games"}},
                {
                    "key": "o4",
                    "label": {"fi": "Aukioloaikaa", "sv": "Öppettider", "en": "Opening hours"},
                },
            ],
        },
    ],
}
SUMMER_POLL = {
    "title": {"fi": "Kesän tapahtumat", "sv": "Sommarens evenemang", "en": "Summer events"},
    "questions": [
        {
            "key": "q1",
            "type": "multiple",
            "required": True,
            "max_choices": 2,
            "text": {
                "fi": "Mitä tapahtumia toivot kesäksi? Valitse enintään kaksi.",
                "sv": "Vilka evenemang önskar du i sommar? Välj högst två.",
                "en": "Which events would you like this summer? Choose up to two.",
            },
            "options": [
                {"key": "o1", "label": {"fi": "Konsertit", "sv": "Konserter", "en": "Concerts"}},
                {"key": "o2", "label": {"fi": "Torit", "sv": "Torgdagar", "en": "Markets"}},
                {"key": "o3", "label": {"fi": "Liikunta", "sv": "Motion", "en": "Sports"}},
            ],
        },
        {
            "key": "q2",
            "type": "yes_no",
            "required": True,
            "text": {
                "fi": "Aiotko osallistua kesän tapahtumiin?",
                "sv": "Tänker du delta i sommarens evenemang?",
                "en": "Do you plan to take part in events this summer?",
            },
        },
    ],
}
PARK_POLL = {
    "title": {"fi": "Puistojen valaistus", "sv": "Parkernas belysning", "en": "Lighting in parks"},
    "questions": [
        {
            "key": "q1",
            "type": "scale5",
            "required": True,
            "text": {
                "fi": "Kuinka turvalliseksi koet puistot iltaisin?",
                "sv": "Hur trygga känns parkerna på kvällen?",
                "en": "How safe do the parks feel in the evening?",
            },
        }
    ],
}


async def seed_polls(session: AsyncSession, _settings) -> str:
    if await session.scalar(select(func.count()).select_from(Poll)):
        return "Polls: demo polls exist already."
    rng = random.Random(2017)  # noqa: S311 - demo data
    areas = await list_areas(session)
    now = utcnow().replace(second=0, microsecond=0)
    library = await services.create_poll(
        session,
        services.PollDraft(
            **LIBRARY_POLL,
            opens_at=now - dt.timedelta(days=3),
            closes_at=now + dt.timedelta(days=30),
            visibility="immediate",
            area_id=areas[0].id if areas else None,
        ),
    )
    await services.create_poll(
        session,
        services.PollDraft(
            **SUMMER_POLL,
            opens_at=now - dt.timedelta(days=1),
            closes_at=now + dt.timedelta(days=20),
            visibility="after_close",
        ),
    )
    park = await services.create_poll(
        session,
        services.PollDraft(
            **PARK_POLL,
            opens_at=now - dt.timedelta(days=40),
            closes_at=now - dt.timedelta(days=10),
            visibility="after_close",
        ),
    )
    await services.create_poll(
        session,
        services.PollDraft(
            title={"fi": "Tuleva kysely", "sv": "Kommande enkät", "en": "Upcoming poll"},
            questions=PARK_POLL["questions"],
            opens_at=now + dt.timedelta(days=10),
            closes_at=now + dt.timedelta(days=20),
            visibility="staff",
        ),
    )
    votes = 0
    for poll, count in ((library, 140), (park, 60)):
        questions = services.questions_of(poll)
        for _ in range(count):
            answers = {}
            for question in questions:
                if question.type == "scale5":
                    answers[question.key] = rng.choice([2, 3, 3, 4, 4, 5])
                elif question.type == "yes_no":
                    answers[question.key] = rng.choice(["yes", "yes", "no"])
                else:
                    answers[question.key] = rng.choice(question.option_keys)
            channel = rng.choice(["qr", "qr", "link", "kiosk"])
            area_id = rng.choice(areas).id if areas else None
            vote = PollVote(
                poll_id=poll.id,
                token=secrets.token_hex(16),
                channel=channel,
                area_id=area_id,
                language=rng.choice(["fi", "fi", "fi", "sv", "en"]),
                voted_on=(poll.opens_at + dt.timedelta(days=rng.randint(0, 2))).date(),
            )
            session.add(vote)
            await session.flush()
            for key, value in services.ballot_rows(questions, answers):
                session.add(
                    PollChoice(
                        vote_id=vote.id,
                        poll_id=poll.id,
                        question_key=key,
                        value=value,
                        channel=channel,
                        area_id=area_id,
                    )
                )
            votes += 1
    await session.commit()
    return f"Polls: 4 demo polls, {votes} votes."
