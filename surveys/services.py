"""The feedback questionnaire: templates, per-event forms, answering, and the counts behind comparison."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import Any

from cachetools import LRUCache, TTLCache
from sqlalchemy import Date, Integer, Select, String, bindparam, delete, func, select, true
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.areas.models import Area
from app.audit import record_action
from app.database import utcnow
from app.errors import DomainError, NotFoundError
from app.events.models import Event
from app.i18n import LANGUAGES, N_, content_languages, localized
from app.signing import form_token, form_token_is_genuine
from app.slugs import new_slug
from surveys.definitions import (
    TEXT_LIMITS,
    DefinitionError,
    Option,
    Question,
    complete_languages,
    parse_question,
    parse_questions,
    question_to_data,
    tally_rows,
)
from surveys.instruments import Instrument, instrument_to_data, load_instrument, parse_instrument

__all__ = ["parse_instrument"]
from surveys.models import (
    FeedbackPending,
    FeedbackResponse,
    FeedbackTally,
    InstrumentRecord,
    Questionnaire,
    QuestionnaireTemplate,
    TemplateVersion,
)
from surveys.storing import Executor, RowWithPairs, insert_for, is_postgresql

STANDARD_TEMPLATE = "standard_feedback"
MAX_EXTRA_QUESTIONS = 10
# Fold pending counts into the tally now and then while answering, so the pending table stays small.
FOLD_CHANCE = 1 / 500
logger = logging.getLogger("tori.surveys")


def canonical_hash(data: Any) -> str:
    return hashlib.sha256(
        json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    ).hexdigest()


# --- templates and instruments ---------------------------------------------------------------


def standard_definition() -> dict[str, Any]:
    return json.loads(
        resources.files("surveys").joinpath("data/standard_feedback.json").read_text("utf-8")
    )


async def import_template(
    session: AsyncSession, data: dict[str, Any]
) -> tuple[TemplateVersion, bool]:
    """Store a template version from its definition; the same content again changes nothing.

    A changed wording needs a higher version number: existing versions are never edited.
    """
    if not isinstance(data, dict) or not isinstance(data.get("key"), str):
        raise DefinitionError("the definition needs a key")
    questions = parse_questions(data.get("questions"))
    stored = [question_to_data(q) for q in questions]
    intro = data.get("intro") or {}
    content_hash = canonical_hash({"intro": intro, "questions": stored})
    template = await session.scalar(
        select(QuestionnaireTemplate).where(QuestionnaireTemplate.key == data["key"])
    )
    if template is None:
        template = QuestionnaireTemplate(
            key=data["key"], name=data.get("name") or {"en": data["key"]}, versions=[]
        )
        session.add(template)
        await session.flush()
    for existing in template.versions:
        if existing.content_hash == content_hash:
            return existing, False
    number = data.get("version") or (template.versions[-1].version + 1 if template.versions else 1)
    if any(v.version == number for v in template.versions):
        raise DefinitionError(
            f"version {number} of {data['key']} exists with other wording: give a higher version"
        )
    version = TemplateVersion(
        template_id=template.id,
        version=number,
        intro=intro,
        questions=stored,
        content_hash=content_hash,
    )
    session.add(version)
    await record_action(
        session,
        None,
        "template.import",
        f"template {data['key']} version {number}",
        None,
        {"content_hash": content_hash, "questions": len(stored)},
    )
    await session.commit()
    await session.refresh(template)
    return version, True


async def standard_version(session: AsyncSession) -> TemplateVersion:
    """The newest version of the standard feedback questionnaire, imported on first use and
    again when the shipped file has a higher version (new translations come as a new version:
    stored versions never change, and answers pool across versions by question key)."""
    template = await session.scalar(
        select(QuestionnaireTemplate).where(QuestionnaireTemplate.key == STANDARD_TEMPLATE)
    )
    shipped = standard_definition()
    # Once staff have published a version in the browser, the wording is theirs: a newer
    # shipped file would silently undo their changes, so it is imported only on purpose
    # (`tori questionnaire-import`), never on the way.
    if (
        template is None
        or not template.versions
        or (
            template.latest.source != "editor"
            and template.latest.version < int(shipped.get("version") or 1)
        )
    ):
        version, _ = await import_template(session, shipped)
        return version
    return template.latest


async def import_instrument(session: AsyncSession, raw: bytes) -> tuple[InstrumentRecord, bool]:
    instrument = load_instrument(raw)
    definition = instrument_to_data(instrument)
    content_hash = canonical_hash(definition)
    existing = await session.scalar(
        select(InstrumentRecord).where(
            InstrumentRecord.key == instrument.key, InstrumentRecord.version == instrument.version
        )
    )
    if existing is not None:
        if existing.content_hash == content_hash:
            return existing, False
        raise DefinitionError(
            f"version {instrument.version} of {instrument.key} was imported with other wording; "
            "an imported wording is locked: give the new wording a higher version"
        )
    record = InstrumentRecord(
        key=instrument.key,
        version=instrument.version,
        definition=definition,
        content_hash=content_hash,
    )
    session.add(record)
    await record_action(
        session,
        None,
        "instrument.import",
        f"instrument {instrument.key} version {instrument.version}",
        None,
        {"content_hash": content_hash},
    )
    await session.commit()
    return record, True


async def list_instruments(session: AsyncSession) -> list[InstrumentRecord]:
    return list(
        await session.scalars(
            select(InstrumentRecord).order_by(InstrumentRecord.key, InstrumentRecord.version)
        )
    )


def instrument_of(form: Questionnaire | AnsweringForm) -> Instrument | None:
    if isinstance(form, AnsweringForm):
        return form.instrument
    return _instrument(form.instrument.id, form.instrument.definition) if form.instrument else None


# Versions and instruments never change once stored, so each process keeps them parsed.
_parsed_versions: LRUCache[int, tuple[Question, ...]] = LRUCache(maxsize=256)
_parsed_instruments: LRUCache[int, Instrument] = LRUCache(maxsize=64)


def forget_parsed_definitions() -> None:
    """For tests, whose database starts its ids at 1 again: an id then names another version."""
    _parsed_versions.clear()
    _parsed_instruments.clear()


def _version_questions(version_id: int, questions: list[dict]) -> tuple[Question, ...]:
    parsed = _parsed_versions.get(version_id)
    if parsed is None:
        parsed = _parsed_versions[version_id] = tuple(
            parse_question(data, "question") for data in questions
        )
    return parsed


def _instrument(instrument_id: int, definition: dict) -> Instrument:
    parsed = _parsed_instruments.get(instrument_id)
    if parsed is None:
        parsed = _parsed_instruments[instrument_id] = parse_instrument(definition)
    return parsed


@dataclass(frozen=True)
class AnsweringForm:
    """What answering needs of a questionnaire, read with one light query on the busy path."""

    id: int
    slug: str
    event_id: int
    opens_at: dt.datetime
    closes_at: dt.datetime
    version_questions: tuple[Question, ...]
    extra_questions: tuple[Question, ...]
    instrument: Instrument | None


def answering_form_of(questionnaire: Questionnaire) -> AnsweringForm:
    return AnsweringForm(
        id=questionnaire.id,
        slug=questionnaire.slug,
        event_id=questionnaire.event_id,
        opens_at=questionnaire.opens_at,
        closes_at=questionnaire.closes_at,
        version_questions=_version_questions(
            questionnaire.version_id, questionnaire.version.questions
        ),
        extra_questions=tuple(
            parse_question(data, "extra question") for data in questionnaire.extra_questions
        ),
        instrument=instrument_of(questionnaire),
    )


_ANSWERING_FORM = (
    select(
        Questionnaire.id,
        Questionnaire.slug,
        Questionnaire.event_id,
        Questionnaire.opens_at,
        Questionnaire.closes_at,
        Questionnaire.version_id,
        Questionnaire.extra_questions,
        Questionnaire.instrument_id,
    )
    .join(Event, Event.id == Questionnaire.event_id)
    .where(Questionnaire.slug == bindparam("slug"), Event.is_public.is_(True))
)


async def load_answering_form(session: Executor, slug: str) -> AnsweringForm:
    """The questionnaire behind a public link, without loading ORM objects (the answering hot path)."""
    if len(slug) > 16:
        raise NotFoundError(N_("No such questionnaire."))
    row = (await session.execute(_ANSWERING_FORM, {"slug": slug.lower()})).first()
    if row is None:
        raise NotFoundError(N_("No such questionnaire."))
    version_questions = _parsed_versions.get(row.version_id)
    if version_questions is None:
        questions = await session.scalar(
            select(TemplateVersion.questions).where(TemplateVersion.id == row.version_id)
        )
        version_questions = _version_questions(row.version_id, questions)
    instrument = None
    if row.instrument_id is not None:
        instrument = _parsed_instruments.get(row.instrument_id)
        if instrument is None:
            definition = await session.scalar(
                select(InstrumentRecord.definition).where(InstrumentRecord.id == row.instrument_id)
            )
            instrument = _instrument(row.instrument_id, definition)
    return AnsweringForm(
        id=row.id,
        slug=row.slug,
        event_id=row.event_id,
        opens_at=row.opens_at,
        closes_at=row.closes_at,
        version_questions=version_questions,
        extra_questions=tuple(
            parse_question(data, "extra question") for data in row.extra_questions
        ),
        instrument=instrument,
    )


_AREA_OPTIONS = select(Area.slug, Area.name)


# Areas change a few times a year; each process reads them again at most every AREA_CACHE_SECONDS.
AREA_CACHE_SECONDS = 30.0
_area_cache: TTLCache[str, list[Option]] = TTLCache(maxsize=1, ttl=AREA_CACHE_SECONDS)


def forget_cached_areas() -> None:
    _area_cache.clear()


def counted_answers(
    form: AnsweringForm, questions: tuple[Question, ...], answers: dict[str, Any]
) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """The (key, value) counts a response adds, and its answers with the instrument score added."""
    rows = tally_rows(questions, answers)
    if form.instrument and (score := form.instrument.score(answers)) is not None:
        rows.append((form.instrument.score_key, str(score)))
        answers = {**answers, form.instrument.score_key: score}
    return rows, answers


async def current_area_options(session: Executor) -> list[Option]:
    """The areas as answer options, read again at most every AREA_CACHE_SECONDS."""
    options = _area_cache.get("areas")
    if options is None:
        rows = await session.execute(_AREA_OPTIONS)
        options = _area_cache["areas"] = area_options([(row.slug, row.name) for row in rows])
    return options


# --- per-event questionnaires ----------------------------------------------------------------


@dataclass(frozen=True)
class QuestionnaireSettings:
    opens_at: dt.datetime
    closes_at: dt.datetime
    instrument_id: int | None = None

    def check(self) -> None:
        if self.closes_at <= self.opens_at:
            raise DomainError(N_("The questionnaire must close after it opens."))


async def questionnaire_for_event(session: AsyncSession, event_id: int) -> Questionnaire | None:
    return await session.scalar(select(Questionnaire).where(Questionnaire.event_id == event_id))


async def create_questionnaire(
    session: AsyncSession, event: Event, settings: QuestionnaireSettings
) -> Questionnaire:
    settings.check()
    if await questionnaire_for_event(session, event.id) is not None:
        raise DomainError(N_("This event already has a feedback questionnaire."))
    if (
        settings.instrument_id is not None
        and await session.get(InstrumentRecord, settings.instrument_id) is None
    ):
        raise NotFoundError(N_("No such instrument."))
    version = await standard_version(session)
    questionnaire = Questionnaire(
        event_id=event.id,
        version_id=version.id,
        instrument_id=settings.instrument_id,
        slug=await new_slug(session, Questionnaire),
        extra_questions=[],
        opens_at=settings.opens_at,
        closes_at=settings.closes_at,
    )
    session.add(questionnaire)
    await session.flush()
    await record_action(
        session,
        None,
        "questionnaire.create",
        f"questionnaire {questionnaire.id} (event {event.id})",
        None,
        questionnaire_snapshot(questionnaire),
    )
    await session.commit()
    return await get_questionnaire(session, questionnaire.id)


def questionnaire_snapshot(questionnaire: Questionnaire) -> dict:
    """What the staff audit log keeps of a questionnaire, before and after a change."""
    return {
        "event": questionnaire.event_id,
        "version": questionnaire.version_id,
        "instrument": questionnaire.instrument_id,
        "opens_at": questionnaire.opens_at.isoformat(),
        "closes_at": questionnaire.closes_at.isoformat(),
        "extra_questions": [q["key"] for q in questionnaire.extra_questions],
    }


async def _record_questionnaire(session, action: str, questionnaire, before: dict) -> None:
    after = questionnaire_snapshot(questionnaire)
    target = f"questionnaire {questionnaire.id} (event {questionnaire.event_id})"
    await record_action(session, None, f"questionnaire.{action}", target, before, after)


async def update_questionnaire(
    session: AsyncSession, questionnaire: Questionnaire, settings: QuestionnaireSettings
) -> None:
    settings.check()
    before = questionnaire_snapshot(questionnaire)
    questionnaire.opens_at = settings.opens_at
    questionnaire.closes_at = settings.closes_at
    if settings.instrument_id != questionnaire.instrument_id:
        if await response_count(session, questionnaire.id):
            raise DomainError(N_("The instrument cannot be changed after the first answers."))
        if (
            settings.instrument_id is not None
            and await session.get(InstrumentRecord, settings.instrument_id) is None
        ):
            raise NotFoundError(N_("No such instrument."))
        questionnaire.instrument_id = settings.instrument_id
    await _record_questionnaire(session, "edit", questionnaire, before)
    await session.commit()


async def add_extra_question(
    session: AsyncSession, questionnaire: Questionnaire, data: dict[str, Any]
) -> None:
    """An event's own question. Its key is the event's own, so it is never pooled with other events."""
    if len(questionnaire.extra_questions) >= MAX_EXTRA_QUESTIONS:
        raise DomainError(N_("An event can have at most 10 extra questions."))
    if await response_count(session, questionnaire.id):
        raise DomainError(N_("Questions cannot be added after the first answers."))
    data = {**data, "key": f"x{questionnaire.event_id}_{len(questionnaire.extra_questions) + 1}"}
    question = parse_question(data, "extra question")
    before = questionnaire_snapshot(questionnaire)
    questionnaire.extra_questions = [*questionnaire.extra_questions, question_to_data(question)]
    await _record_questionnaire(session, "add_question", questionnaire, before)
    await session.commit()


async def remove_extra_question(
    session: AsyncSession, questionnaire: Questionnaire, key: str
) -> None:
    if await response_count(session, questionnaire.id):
        raise DomainError(N_("Questions cannot be removed after the first answers."))
    if key not in {q["key"] for q in questionnaire.extra_questions}:
        raise NotFoundError(N_("No such question."))
    before = questionnaire_snapshot(questionnaire)
    questionnaire.extra_questions = [q for q in questionnaire.extra_questions if q["key"] != key]
    await _record_questionnaire(session, "remove_question", questionnaire, before)
    await session.commit()


async def get_questionnaire(session: AsyncSession, questionnaire_id: int) -> Questionnaire:
    questionnaire = await session.get(Questionnaire, questionnaire_id, populate_existing=True)
    if questionnaire is None:
        raise NotFoundError(N_("No such questionnaire."))
    return questionnaire


async def questionnaire_by_slug(session: AsyncSession, slug: str) -> Questionnaire:
    if len(slug) > 16:
        raise NotFoundError(N_("No such questionnaire."))
    questionnaire = await session.scalar(
        select(Questionnaire).where(Questionnaire.slug == slug.lower())
    )
    if questionnaire is None or not questionnaire.event.is_public:
        raise NotFoundError(N_("No such questionnaire."))
    return questionnaire


def area_options(areas: Iterable[Area | tuple[str, dict]]) -> list[Option]:
    """The city's areas as answer options, in Finnish alphabetical order in every language."""
    pairs = [(area.slug, area.name) if isinstance(area, Area) else area for area in areas]
    pairs.sort(key=lambda pair: localized(pair[1], "fi").lower())
    return [Option(key=slug, label=name) for slug, name in pairs]


def answering_languages(form: Questionnaire | AnsweringForm) -> tuple[str, ...]:
    """The languages a questionnaire is offered in: the interface languages, and every content
    language (TORI_CONTENT_LANGUAGES) in which its version is wholly written. The event's own
    questions, written by staff, fall back to another language (marked with `lang`)."""
    if isinstance(form, Questionnaire):
        form = answering_form_of(form)
    complete = complete_languages(form.version_questions, content_languages())
    return tuple(code for code in content_languages() if code in LANGUAGES or code in complete)


def questions_for(
    form: Questionnaire | AnsweringForm, language: str, areas: list[Area] | list[Option]
) -> tuple[Question, ...]:
    """The questions in the order asked: standard, the event's own, then the instrument when its wording exists in this language."""
    if isinstance(form, Questionnaire):
        form = answering_form_of(form)
    options = list(areas) if areas and isinstance(areas[0], Option) else area_options(areas)
    questions = [
        q.with_options(options) if q.options_from == "areas" else q for q in form.version_questions
    ]
    questions += list(form.extra_questions)
    if form.instrument and language in form.instrument.languages:
        questions += list(form.instrument.questions())
    return tuple(questions)


class QuestionnaireStatus(StrEnum):
    NOT_OPEN = "not_open"
    OPEN = "open"
    CLOSED = "closed"


def questionnaire_status(
    questionnaire: Questionnaire | AnsweringForm, now: dt.datetime | None = None
) -> QuestionnaireStatus:
    now = now or utcnow()
    if now < questionnaire.opens_at:
        return QuestionnaireStatus.NOT_OPEN
    if now >= questionnaire.closes_at:
        return QuestionnaireStatus.CLOSED
    return QuestionnaireStatus.OPEN


# --- answering -------------------------------------------------------------------------------


def new_submission_token(secret: str, slug: str) -> str:
    return form_token(secret, "feedback-token", slug)


def token_is_genuine(secret: str, slug: str, token: str) -> bool:
    return form_token_is_genuine(secret, "feedback-token", slug, token)


async def submit_response(
    session: Executor,
    questionnaire: AnsweringForm | Questionnaire,
    *,
    questions: tuple[Question, ...],
    answers: dict[str, Any],
    language: str,
    token: str,
    now: dt.datetime | None = None,
) -> bool:
    """Store one response and its counts (surveys/storing.py: one statement on PostgreSQL, one
    transaction on SQLite) and commit; False when this token was already used (the first
    sending counts, nothing is added)."""
    now = now or utcnow()
    if questionnaire_status(questionnaire, now) != QuestionnaireStatus.OPEN:
        raise DomainError(N_("This questionnaire is not open for answers."))
    if isinstance(questionnaire, Questionnaire):
        questionnaire = answering_form_of(questionnaire)
    rows, answers = counted_answers(questionnaire, questions, answers)
    parameters = {
        "questionnaire_id": questionnaire.id,
        "event_id": questionnaire.event_id,
        "language": language,
        "submitted_on": now.date(),
        "token": token,
        "answers": answers,
    }
    return await _STORE_RESPONSE.store(session, parameters, rows)


_STORE_RESPONSE = RowWithPairs.build(
    FeedbackResponse.__table__,
    ["questionnaire_id", "event_id", "language", "submitted_on", "submission_token", "answers"],
    select(
        bindparam("questionnaire_id", type_=Integer),
        bindparam("event_id", type_=Integer),
        bindparam("language", type_=String),
        bindparam("submitted_on", type_=Date),
        bindparam("token", type_=String),
        bindparam("answers", type_=FeedbackResponse.answers.type),
    ).where(true()),  # SQLite reads `INSERT … SELECT … ON CONFLICT` only after a WHERE
    "submission_token",
    FeedbackPending.__table__,
    copied={},
    fixed={
        "event_id": bindparam("event_id", type_=Integer),
        "language": bindparam("language", type_=String),
    },
)


async def fold_now_and_then(engine: AsyncEngine) -> None:
    """Fold the pending counts now and then while answering (FOLD_CHANCE), so that the pending
    table stays small; in a transaction of its own."""
    if random.random() < FOLD_CHANCE:  # noqa: S311 - spreading housekeeping, not security
        async with engine.connect() as connection:
            await fold_pending_counts(connection)


# The one background fold of this process, if any (a reference keeps the task alive).
_background_fold: asyncio.Task | None = None


async def fold_off_the_request(session: AsyncSession, engine: AsyncEngine) -> None:
    """Keep the tally folded for the staff pages without making them wait: the pages read the
    tally and the counts not yet folded in one statement (surveys.comparison.compare), so on
    PostgreSQL the fold runs after the request that asks, off its path, and the next page reads
    a folded tally. One fold at a time per process; a fold that fails (the server stopping)
    leaves the counts pending for the next. SQLite (one writer, the small zero-setup
    installation) folds in the request, in its session, as before."""
    global _background_fold  # noqa: PLW0603 - one task per process
    if not is_postgresql(session):
        await fold_pending_counts(session)
        return
    loop = asyncio.get_running_loop()
    running = _background_fold
    if running is not None and not running.done() and running.get_loop() is loop:
        return  # (a task of a loop that has ended, as between tests, is not waited for)

    async def fold() -> None:
        try:
            async with engine.connect() as connection:
                await fold_pending_counts(connection)
        except Exception:  # housekeeping: the counts stay pending for the next fold, not lost
            logger.warning("folding the pending feedback counts failed", exc_info=True)

    _background_fold = loop.create_task(fold(), name="tori-feedback-fold")


def _fold_on_postgresql() -> Select:
    """DELETE the pending rows, add them up by key and upsert the sums into the tally: one
    statement; it returns how many pending rows were folded."""
    keys = ("event_id", "language", "question_key", "value")
    moved = (
        delete(FeedbackPending)
        .returning(*(getattr(FeedbackPending, key) for key in keys))
        .cte("moved")
    )
    grouped = (
        select(*(moved.c[key] for key in keys), func.count().label("n"))
        .group_by(*(moved.c[key] for key in keys))
        .cte("grouped")
    )
    upsert = postgresql.insert(FeedbackTally).from_select(
        [*keys, "count"], select(*(grouped.c[key] for key in keys), grouped.c.n)
    )
    upsert = upsert.on_conflict_do_update(
        index_elements=list(keys), set_={"count": FeedbackTally.count + upsert.excluded.count}
    ).cte("folded")
    # A data-modifying WITH runs whether or not the query reads it (add_cte renders it).
    return select(func.coalesce(func.sum(grouped.c.n), 0)).add_cte(upsert)


_FOLD_ON_POSTGRESQL = _fold_on_postgresql()


async def fold_pending_counts(session: Executor) -> int:
    """Move pending counts into the tally, exactly once each, safely beside concurrent answering,
    and commit.

    One transaction deletes the pending rows it sees, returning them, and adds them up into
    the tally; rows committed meanwhile wait for the next fold, so nothing is counted twice or
    lost (a concurrent fold waits for the rows this one deleted and then finds them gone). On
    PostgreSQL that is one statement, and the rows never leave the database (a backlog of a
    million pending rows used to be counted in Python, on the event loop); on SQLite the rows
    are read and added up here.
    """
    if is_postgresql(session):
        folded = int((await session.execute(_FOLD_ON_POSTGRESQL)).scalar_one())
        await session.commit()
        return folded
    moved = Counter(
        tuple(row)
        for row in await session.execute(
            delete(FeedbackPending).returning(
                FeedbackPending.event_id,
                FeedbackPending.language,
                FeedbackPending.question_key,
                FeedbackPending.value,
            )
        )
    )
    if moved:
        upsert = insert_for(session, FeedbackTally)
        upsert = upsert.on_conflict_do_update(
            index_elements=["event_id", "language", "question_key", "value"],
            set_={"count": FeedbackTally.count + upsert.excluded.count},
        )
        await session.execute(
            upsert,
            [
                {"event_id": e, "language": lang, "question_key": k, "value": v, "count": n}
                for (e, lang, k, v), n in moved.items()
            ],
        )
    await session.commit()
    return moved.total()


async def response_count(session: AsyncSession, questionnaire_id: int) -> int:
    return (
        await session.scalar(
            select(func.count())
            .select_from(FeedbackResponse)
            .where(FeedbackResponse.questionnaire_id == questionnaire_id)
        )
        or 0
    )


def text_question_keys(questionnaire: Questionnaire) -> list[str]:
    """The keys of the questions answered in the resident's own words (they may name someone)."""
    return [
        q["key"]
        for q in [*questionnaire.version.questions, *questionnaire.extra_questions]
        if q["type"] in TEXT_LIMITS
    ]


async def text_answers(
    session: AsyncSession, questionnaire: Questionnaire, *, search: str = "", limit: int = 500
) -> list[tuple[str, str, str]]:
    """(question key, language, text) of one event's free-text answers, newest first, optionally searched."""
    text_keys = text_question_keys(questionnaire)
    rows = await session.execute(
        select(FeedbackResponse.language, FeedbackResponse.answers)
        .where(FeedbackResponse.questionnaire_id == questionnaire.id)
        .order_by(FeedbackResponse.id.desc())
    )
    needle = search.casefold()
    found = []
    for language, answers in rows:
        for key in text_keys:
            text = answers.get(key)
            if isinstance(text, str) and (not needle or needle in text.casefold()):
                found.append((key, language, text))
                if len(found) >= limit:
                    return found
    return found


async def event_names(
    session: AsyncSession, event_ids: list[int]
) -> dict[int, tuple[dict[str, str], dt.datetime]]:
    """The title and start of each of these events, for labelling comparison groups."""
    rows = await session.execute(
        select(Event.id, Event.title, Event.starts_at).where(Event.id.in_(event_ids))
    )
    return {event_id: (title, starts_at) for event_id, title, starts_at in rows}
