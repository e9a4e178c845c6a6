"""Every change staff make to a questionnaire leaves exactly one record in the staff audit log,
written by the service in the change's own transaction; a refused change leaves none."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.audit import AuditRecord, check_audit_chain
from app.database import utcnow
from app.errors import DomainError, NotFoundError
from app.events.services import get_event
from surveys import services
from tests.factories import make_event
from tests.surveys.factories import answer, open_questionnaire

QUESTION = {"type": "yes_no", "text": {"fi": "Tuletko uudestaan?"}, "required": False}


async def records(db) -> list[str]:
    return list(await db.scalars(select(AuditRecord.action).order_by(AuditRecord.seq)))


async def count(db) -> int:
    return await db.scalar(select(func.count()).select_from(AuditRecord))


def settings(**changes) -> services.QuestionnaireSettings:
    now = utcnow()
    values = {"opens_at": now - dt.timedelta(hours=1), "closes_at": now + dt.timedelta(days=3)}
    return services.QuestionnaireSettings(**{**values, **changes})


async def test_each_change_leaves_exactly_one_record(db):
    await services.standard_version(db)  # the standard template, imported once beforehand
    event = await make_event(db)
    before = await count(db)
    questionnaire = await services.create_questionnaire(db, event, settings())
    await services.update_questionnaire(
        db, questionnaire, settings(closes_at=utcnow() + dt.timedelta(days=9))
    )
    await services.add_extra_question(db, questionnaire, QUESTION)
    [extra] = questionnaire.extra_questions
    await services.remove_extra_question(db, questionnaire, extra["key"])
    actions = (await records(db))[before:]
    assert actions == [
        "questionnaire.create",
        "questionnaire.edit",
        "questionnaire.add_question",
        "questionnaire.remove_question",
    ]
    edit = await db.scalar(select(AuditRecord).where(AuditRecord.action == "questionnaire.edit"))
    assert edit.before["closes_at"] != edit.after["closes_at"]
    assert await check_audit_chain(db) == (before + 4, None)


async def test_refused_changes_leave_no_record_and_change_nothing(db):
    event = await make_event(db, starts_in=-dt.timedelta(hours=2))
    event_id = event.id
    questionnaire = await open_questionnaire(db, event)
    await services.add_extra_question(db, questionnaire, QUESTION)
    assert await answer(db, questionnaire, {"satisfaction": 4})
    before, closes, questionnaire_id = await count(db), questionnaire.closes_at, questionnaire.id

    async def close_before_opening(current):
        late = settings(closes_at=utcnow() - dt.timedelta(days=1))
        await services.update_questionnaire(db, current, late)

    async def add_after_answers(current):
        await services.add_extra_question(db, current, QUESTION)

    async def remove_after_answers(current):
        await services.remove_extra_question(db, current, current.extra_questions[0]["key"])

    async def a_second_one(current):
        await services.create_questionnaire(db, await get_event(db, event_id), settings())

    for refused in (close_before_opening, add_after_answers, remove_after_answers, a_second_one):
        current = await services.get_questionnaire(db, questionnaire_id)
        with pytest.raises(DomainError):
            await refused(current)
        await db.rollback()
    assert await count(db) == before
    fresh = await services.get_questionnaire(db, questionnaire_id)
    assert fresh.closes_at == closes
    assert len(fresh.extra_questions) == 1


async def test_removing_a_question_that_is_not_there_is_refused_without_a_record(db):
    questionnaire = await open_questionnaire(db, await make_event(db))
    before = await count(db)
    current = await services.get_questionnaire(db, questionnaire.id)
    with pytest.raises(NotFoundError):
        await services.remove_extra_question(db, current, "x999_1")
    await db.rollback()
    assert await count(db) == before
