"""Demo feedback: a questionnaire and anonymous answers for the demo's past public events."""

from __future__ import annotations

import datetime as dt
import random
import secrets

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.areas.services import list_areas
from app.database import utcnow
from app.events.models import Event
from surveys import services
from surveys.definitions import tally_rows
from surveys.models import FeedbackPending, FeedbackResponse, Questionnaire


def demo_answers(rng: random.Random, event_bias: float, areas: list[str]) -> dict:
    def scale(centre: float, low: int = 1, high: int = 5) -> int:
        return max(low, min(high, round(rng.gauss(centre, 0.9))))

    satisfaction = scale(3.9 + event_bias)
    answers: dict = {
        "satisfaction": satisfaction,
        "heard": scale(3.4 + event_bias),
        "learned_met": scale(3.6 + event_bias),
        "wellbeing": scale(3.5 + event_bias / 2),
        "again": "yes" if rng.random() < 0.45 + satisfaction / 10 else "no",
        "recommend": scale(6.5 + 2 * event_bias, 0, 10),
        "heard_from": sorted(
            rng.sample(
                ["city_website", "social_media", "poster", "friend", "association", "passing_by"],
                rng.randint(1, 3),
            )
        ),
        "age_group": rng.choice(
            [
                "age_18_29",
                "age_30_44",
                "age_45_64",
                "age_45_64",
                "age_65_74",
                "age_75_plus",
                "no_answer",
            ]
        ),
        "home_area": rng.choice([*areas, "elsewhere"]),
        "preferred_language": rng.choice(["fi", "fi", "fi", "sv", "en", "other"]),
    }
    if rng.random() < 0.3:
        answers["comment"] = rng.choice(
            [
                "Hyvä tilaisuus, kiitos!",
                "Toivoisin enemmän aikaa keskustelulle.",
                "Tack, bra diskussion.",
                "Great to meet the neighbours.",
                "Kahvi loppui kesken :)",
                "Enemmän tällaisia iltoja!",
            ]
        )
    return answers


async def seed_feedback(session: AsyncSession, settings) -> str:
    if await session.scalar(select(func.count()).select_from(Questionnaire)):
        return "Feedback: demo questionnaires exist already."
    rng = random.Random(306)  # noqa: S311 - demo data
    areas = await list_areas(session)
    now = utcnow()
    events = list(
        await session.scalars(
            select(Event).where(
                Event.is_public.is_(True), Event.starts_at < now + dt.timedelta(days=14)
            )
        )
    )
    responses = 0
    for event in events:
        questionnaire = await services.create_questionnaire(
            session,
            event,
            services.QuestionnaireSettings(
                opens_at=event.starts_at - dt.timedelta(hours=1),
                closes_at=event.ends_at + dt.timedelta(days=14),
            ),
        )
        if event.ends_at > now:
            continue
        questions = services.questions_for(questionnaire, "fi", areas)
        bias = rng.uniform(-0.7, 0.5)
        count = min(event.participant_count or 10, rng.randint(3, 30))
        pending = []
        for _ in range(count):
            language = rng.choice(list(event.languages) or ["fi"])
            answers = demo_answers(rng, bias, [area.slug for area in areas])
            session.add(
                FeedbackResponse(
                    questionnaire_id=questionnaire.id,
                    event_id=event.id,
                    language=language,
                    submitted_on=event.ends_at.date(),
                    submission_token=secrets.token_hex(16),
                    answers=answers,
                )
            )
            pending += [
                {"event_id": event.id, "language": language, "question_key": k, "value": v}
                for k, v in tally_rows(questions, answers)
            ]
        if pending:
            await session.execute(insert(FeedbackPending), pending)
        responses += count
        await session.commit()
    await services.fold_pending_counts(session)
    return f"Feedback: {len(events)} questionnaires, {responses} demo responses."
