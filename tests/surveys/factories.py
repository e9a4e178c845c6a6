from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from app.areas.services import list_areas
from app.database import utcnow
from app.events.models import Event
from surveys import services
from surveys.models import Questionnaire


async def open_questionnaire(
    db: AsyncSession, event: Event, *, instrument_id: int | None = None
) -> Questionnaire:
    now = utcnow()
    return await services.create_questionnaire(
        db,
        event,
        services.QuestionnaireSettings(
            opens_at=now - dt.timedelta(hours=1),
            closes_at=now + dt.timedelta(days=14),
            instrument_id=instrument_id,
        ),
    )


async def answer(
    db: AsyncSession, questionnaire: Questionnaire, answers: dict, language: str = "fi"
) -> bool:
    questions = services.questions_for(questionnaire, language, await list_areas(db))
    token = services.new_submission_token("test", questionnaire.slug)
    return await services.submit_response(
        db, questionnaire, questions=questions, answers=answers, language=language, token=token
    )
