"""Retention for questionnaires: free-text answers are removed after TORI_KEEP_COMMENTS_MONTHS.

The rated answers stay: they name no one and are what makes years comparable. Polls store
nothing personal (no address, no browser details, a random form token)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.retention import Removed, months_before
from app.settings import Settings
from surveys.models import FeedbackResponse, Questionnaire
from surveys.services import text_question_keys


async def remove_old_comments(
    session: AsyncSession, settings: Settings, now: dt.datetime, dry_run: bool
) -> list[Removed]:
    cutoff = months_before(now.date(), settings.keep_comments_months)
    old = select(FeedbackResponse.questionnaire_id).where(FeedbackResponse.submitted_on < cutoff)
    questionnaires = await session.scalars(select(Questionnaire).where(Questionnaire.id.in_(old)))
    count = 0
    for questionnaire in questionnaires.unique().all():
        keys = set(text_question_keys(questionnaire))
        if not keys:
            continue
        rows = await session.execute(
            select(FeedbackResponse.id, FeedbackResponse.answers).where(
                FeedbackResponse.questionnaire_id == questionnaire.id,
                FeedbackResponse.submitted_on < cutoff,
            )
        )
        for response_id, answers in rows.all():
            if keys.isdisjoint(answers):
                continue
            count += 1
            if not dry_run:
                kept = {key: value for key, value in answers.items() if key not in keys}
                await session.execute(
                    update(FeedbackResponse)
                    .where(FeedbackResponse.id == response_id)
                    .values(answers=kept)
                )
    months = settings.keep_comments_months
    return [Removed(f"answers with free text older than {months} months (text removed)", count)]
