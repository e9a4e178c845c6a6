"""The next version of the standard questionnaire, written by staff in the browser.

A draft starts as a copy of the newest version. Staff reword questions and their options in
each content language, make questions required or optional, reorder them, add questions under
new keys, retire questions and set conditions (show a question only after given answers to an
earlier one). Publishing stores the draft as the next version; stored versions never change.

Keys are what pools answers across versions (surveys/comparison.py counts by question key),
so a question keeps its key through every rewording, and a key once used is never given to a
question of another meaning: a new question's key must not have been used in any version.
Every change is recorded in the staff audit log in its own transaction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import record_action
from app.database import utcnow
from app.errors import DomainError, NotFoundError
from app.i18n import N_, content_languages
from surveys.definitions import (
    CHOICE_TYPES,
    NUMERIC_TYPES,
    QUESTION_TYPES,
    SCALE_RANGES,
    YES_NO,
    Condition,
    DefinitionError,
    Option,
    Question,
    complete_languages,
    parse_question,
    parse_questions,
    question_to_data,
)
from surveys.models import QuestionnaireTemplate, TemplateDraft, TemplateVersion
from surveys.services import STANDARD_TEMPLATE, canonical_hash, standard_version

# Every question is written at least in the city's two official languages.
REQUIRED_LANGUAGES = ("fi", "sv")
MAX_QUESTIONS = 40
MAX_OPTIONS = 20
TEXT_LENGTHS = {"text": 300, "help": 500, "low": 100, "high": 100, "option": 150}
# A new question's key: lower-case letters, digits and _, no dot (instrument items have one).
NEW_KEY = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
# An event's own questions are keyed x<event>_<n>: a standard key must never look like one.
EVENT_KEY = re.compile(r"^x[0-9]+_[0-9]+$")
# Staff write plain text; anything that looks like markup is refused rather than stored.
MARKUP = re.compile(r"<\s*[a-zA-Z/!?]|&[a-zA-Z#][a-zA-Z0-9]*;|javascript:", re.IGNORECASE)


class DraftError(DomainError):
    """A change to the draft that breaks a rule; `field` names the form field it is about."""

    def __init__(self, message: str, field: str = "", **params: object) -> None:
        super().__init__(message, **params)
        self.field = field


@dataclass(frozen=True)
class Wording:
    """Everything of one question that staff may reword or set, by language."""

    text: Mapping[str, str]
    required: bool = False
    help: Mapping[str, str] = field(default_factory=dict)
    low: Mapping[str, str] = field(default_factory=dict)
    high: Mapping[str, str] = field(default_factory=dict)
    # Option key -> label by language, in the order shown.
    options: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    show_if: Condition | None = None


@dataclass(frozen=True)
class VersionChanges:
    """How a version differs from the one before it, by key."""

    added: tuple[str, ...]
    retired: tuple[str, ...]
    reworded: tuple[str, ...]


# --- reading -----------------------------------------------------------------------------------


async def standard_template(session: AsyncSession) -> QuestionnaireTemplate:
    """The standard template, imported from the shipped file on first use."""
    await standard_version(session)
    template = await session.scalar(
        select(QuestionnaireTemplate).where(QuestionnaireTemplate.key == STANDARD_TEMPLATE)
    )
    await session.refresh(template, ["versions"])
    return template


async def current_draft(session: AsyncSession, *, lock: bool = False) -> TemplateDraft | None:
    template = await standard_template(session)
    query = select(TemplateDraft).where(TemplateDraft.template_id == template.id)
    if lock:
        query = query.with_for_update(of=TemplateDraft)
    return await session.scalar(query.execution_options(populate_existing=True))


async def require_draft(session: AsyncSession, *, lock: bool = False) -> TemplateDraft:
    draft = await current_draft(session, lock=lock)
    if draft is None:
        raise NotFoundError(N_("There is no draft. Start a new version first."))
    return draft


def draft_questions(draft: TemplateDraft) -> tuple[Question, ...]:
    return tuple(parse_question(data, "question") for data in draft.questions)


def question_of(draft: TemplateDraft, key: str) -> Question:
    for question in draft_questions(draft):
        if question.key == key:
            return question
    raise NotFoundError(N_("No such question."))


def used_keys(template: QuestionnaireTemplate) -> set[str]:
    """Every question key of every stored version: none of them may name a new question."""
    return {data["key"] for version in template.versions for data in version.questions}


def condition_answers(question: Question) -> tuple[str, ...]:
    """The answers a condition on this question can name: its points or its own options."""
    if question.type in NUMERIC_TYPES:
        return tuple(str(point) for point in SCALE_RANGES[question.type])
    if question.type in CHOICE_TYPES:
        return question.option_keys
    return ()


def condition_sources(questions: Sequence[Question], key: str | None) -> list[Question]:
    """The questions before `key` (all, for a new question) that a condition can refer to."""
    sources = []
    for question in questions:
        if question.key == key:
            break
        if condition_answers(question):
            sources.append(question)
    return sources


def offered_languages(questions: Sequence[Question]) -> tuple[str, ...]:
    """The content languages in which every text of these questions is written."""
    return complete_languages(questions, content_languages())


def version_changes(older: TemplateVersion | None, newer: TemplateVersion) -> VersionChanges:
    before = {data["key"]: data for data in older.questions} if older else {}
    after = {data["key"]: data for data in newer.questions}
    return VersionChanges(
        added=tuple(key for key in after if key not in before),
        retired=tuple(key for key in before if key not in after),
        reworded=tuple(key for key in after if key in before and before[key] != after[key]),
    )


# --- checking ----------------------------------------------------------------------------------


def _check_texts(texts: Mapping[str, str], name: str, *, required: bool) -> dict[str, str]:
    limit = TEXT_LENGTHS["option" if name.startswith("option") else name]
    known = content_languages()
    cleaned = {}
    for language, written in texts.items():
        if language not in known:
            raise DraftError(N_("A language was not recognised."), f"{name}_{language}")
        value = written.strip()
        if not value:
            continue
        if len(value) > limit:
            raise DraftError(N_("Use at most %(num)d characters."), f"{name}_{language}", num=limit)
        if MARKUP.search(value):
            raise DraftError(
                N_("Write plain text without HTML tags or character codes."),
                f"{name}_{language}",
            )
        cleaned[language] = value
    if required:
        for language in REQUIRED_LANGUAGES:
            if not cleaned.get(language):
                raise DraftError(N_("Write this in Finnish and in Swedish."), f"{name}_{language}")
    elif cleaned and any(not cleaned.get(language) for language in REQUIRED_LANGUAGES):
        missing = next(lang for lang in REQUIRED_LANGUAGES if not cleaned.get(lang))
        raise DraftError(
            N_("Write this in Finnish and in Swedish, or leave it empty in every language."),
            f"{name}_{missing}",
        )
    return cleaned


def _checked_data(
    base: Mapping[str, Any], wording: Wording, earlier: Sequence[Question]
) -> dict[str, Any]:
    """The question's data with the new wording, every rule checked."""
    kind = base["type"]
    data: dict[str, Any] = {"key": base["key"], "type": kind}
    data["text"] = _check_texts(wording.text, "text", required=True)
    data["required"] = wording.required
    for name in ("help", "low", "high"):
        texts = getattr(wording, name)
        if name != "help" and kind not in NUMERIC_TYPES:
            texts = {}
        checked = _check_texts(texts, name, required=False)
        if checked:
            data[name] = checked
    keys = list(wording.options)
    if kind in ("single", "multiple") or (kind == "yes_no" and keys):
        if kind == "yes_no" and tuple(keys) != YES_NO:
            raise DraftError(N_("Choose from the options shown."), "options")
        if not keys and not base.get("options_from"):
            raise DraftError(N_("A choice question needs at least one option."), "options")
        if len(keys) > MAX_OPTIONS:
            raise DraftError(N_("Give at most %(num)d options."), "options", num=MAX_OPTIONS)
        data["options"] = [
            {
                "key": key,
                "label": _check_texts(wording.options[key], f"option_{key}", required=True),
            }
            for key in keys
        ]
    for name in ("options_from", "max_choices"):
        if base.get(name):
            data[name] = base[name]
    if wording.show_if is not None:
        data["show_if"] = _checked_condition(wording.show_if, earlier)
    try:
        question = parse_question(data, "question")
    except DefinitionError as error:
        raise DraftError(N_("The question could not be saved.")) from error
    return question_to_data(question)


def _checked_condition(condition: Condition, earlier: Sequence[Question]) -> dict[str, Any]:
    sources = {q.key: q for q in earlier if condition_answers(q)}
    source = sources.get(condition.key)
    if source is None:
        raise DraftError(
            N_("A condition can refer only to an earlier question with fixed answers."),
            "show_if_key",
        )
    if not condition.values or any(
        value not in condition_answers(source) for value in condition.values
    ):
        raise DraftError(N_("Choose at least one answer of that question."), "show_if_values")
    return {"key": source.key, "in": list(condition.values)}


def _check_whole(questions: list[dict[str, Any]]) -> tuple[Question, ...]:
    """The draft's questions taken together: distinct keys, conditions on earlier questions."""
    if len(questions) > MAX_QUESTIONS:
        raise DraftError(
            N_("A questionnaire can have at most %(num)d questions."), num=MAX_QUESTIONS
        )
    try:
        return parse_questions(questions)
    except DefinitionError as error:
        if "show_if" in str(error):
            raise DraftError(
                N_("A question with a condition must come after the question it depends on.")
            ) from error
        raise DraftError(N_("The questionnaire could not be saved.")) from error


async def _store(
    session: AsyncSession,
    draft: TemplateDraft,
    questions: list[dict[str, Any]],
    action: str,
    target: str,
    before: Any,
    after: Any,
) -> None:
    _check_whole(questions)
    draft.questions = questions
    draft.updated_at = utcnow()
    await record_action(session, None, f"template.draft.{action}", target, before, after)
    await session.commit()


# --- changing the draft ------------------------------------------------------------------------


async def start_draft(session: AsyncSession) -> TemplateDraft:
    """A draft of the next version, copied from the newest one; the existing draft if there is one."""
    template = await standard_template(session)
    existing = await current_draft(session)
    if existing is not None:
        return existing
    latest = template.latest
    draft = TemplateDraft(
        template_id=template.id,
        based_on_id=latest.id,
        intro=dict(latest.intro),
        questions=[dict(data) for data in latest.questions],
    )
    session.add(draft)
    await session.flush()
    await record_action(
        session,
        None,
        "template.draft.start",
        f"template {template.key} draft",
        None,
        {"based_on_version": latest.version},
    )
    await session.commit()
    return await require_draft(session)


async def reword_question(session: AsyncSession, key: str, wording: Wording) -> None:
    """New wording, options' labels, required or not, and a condition for one question; its
    key, type and option keys stay, so its answers keep pooling with earlier versions'."""
    draft = await require_draft(session, lock=True)
    questions = list(draft.questions)
    index = next((i for i, data in enumerate(questions) if data["key"] == key), None)
    if index is None:
        raise NotFoundError(N_("No such question."))
    before = questions[index]
    if before.get("locked"):
        raise DraftError(N_("This question's wording is locked."))
    if set(wording.options) != {o["key"] for o in before.get("options", [])}:
        raise DraftError(N_("Choose from the options shown."), "options")
    # Option order stays as it was: the keys are what the answers refer to.
    ordered = replace(
        wording,
        options={o["key"]: wording.options[o["key"]] for o in before.get("options", [])},
    )
    earlier = draft_questions(draft)[:index]
    after = _checked_data(before, ordered, earlier)
    questions[index] = after
    await _store(session, draft, questions, "reword", f"question {key}", before, after)


async def add_question(session: AsyncSession, key: str, kind: str, wording: Wording) -> None:
    """A new question at the end, under a key never used before in this questionnaire."""
    draft = await require_draft(session, lock=True)
    template = await standard_template(session)
    if not NEW_KEY.match(key) or EVENT_KEY.match(key):
        raise DraftError(
            N_("Write the key with lower-case letters a–z, digits and _, such as new_question."),
            "key",
        )
    if key in {data["key"] for data in draft.questions}:
        raise DraftError(N_("Another question already has this key."), "key")
    if key in used_keys(template):
        raise DraftError(
            N_("This key was used by a question of an earlier version. Choose another key."),
            "key",
        )
    if kind not in QUESTION_TYPES:
        raise DraftError(N_("Choose from the options shown."), "type")
    for option_key in wording.options:
        if not NEW_KEY.match(option_key):
            raise DraftError(
                N_(
                    "Write the key with lower-case letters a–z, digits and _, such as new_question."
                ),
                "options",
            )
    data = _checked_data({"key": key, "type": kind}, wording, draft_questions(draft))
    questions = [*draft.questions, data]
    await _store(session, draft, questions, "add", f"question {key}", None, data)


async def move_question(session: AsyncSession, key: str, direction: str) -> None:
    draft = await require_draft(session, lock=True)
    questions = list(draft.questions)
    index = next((i for i, data in enumerate(questions) if data["key"] == key), None)
    if index is None:
        raise NotFoundError(N_("No such question."))
    other = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down") or not 0 <= other < len(questions):
        raise DraftError(N_("The question cannot be moved further."))
    before = [data["key"] for data in questions]
    questions[index], questions[other] = questions[other], questions[index]
    after = [data["key"] for data in questions]
    await _store(session, draft, questions, "move", f"question {key}", before, after)


async def retire_question(session: AsyncSession, key: str) -> None:
    """The question is left out of the next version; its key stays retired, its answers kept."""
    draft = await require_draft(session, lock=True)
    questions = list(draft.questions)
    removed = next((data for data in questions if data["key"] == key), None)
    if removed is None:
        raise NotFoundError(N_("No such question."))
    if any((data.get("show_if") or {}).get("key") == key for data in questions):
        raise DraftError(
            N_("Another question is shown depending on this one. Remove that condition first.")
        )
    if len(questions) == 1:
        raise DraftError(N_("A questionnaire needs at least one question."))
    questions = [data for data in questions if data["key"] != key]
    await _store(session, draft, questions, "retire", f"question {key}", removed, None)


async def discard_draft(session: AsyncSession) -> None:
    draft = await require_draft(session, lock=True)
    keys = [data["key"] for data in draft.questions]
    await session.delete(draft)
    await record_action(
        session, None, "template.draft.discard", f"template {STANDARD_TEMPLATE} draft", keys, None
    )
    await session.commit()


async def publish_draft(session: AsyncSession) -> TemplateVersion:
    """The draft becomes the next version, which new event questionnaires then use; the
    versions already stored, and the questionnaires on them, stay as they are."""
    draft = await require_draft(session, lock=True)
    template = await session.scalar(
        select(QuestionnaireTemplate)
        .where(QuestionnaireTemplate.id == draft.template_id)
        .with_for_update()
    )
    await session.refresh(template, ["versions"])
    latest = template.latest
    if draft.based_on_id != latest.id:
        raise DraftError(
            N_(
                "A newer version was published after this draft was started. Discard the draft and start again."
            )
        )
    questions = _check_whole(list(draft.questions))
    for question in questions:
        for language in REQUIRED_LANGUAGES:
            if not question.text.get(language):
                raise DraftError(N_("Every question must be written in Finnish and in Swedish."))
    stored = [question_to_data(q) for q in questions]
    content_hash = canonical_hash({"intro": draft.intro, "questions": stored})
    if content_hash == latest.content_hash:
        raise DraftError(
            N_("The draft is the same as the current version: change something first.")
        )
    version = TemplateVersion(
        template_id=template.id,
        version=latest.version + 1,
        intro=dict(draft.intro),
        questions=stored,
        content_hash=content_hash,
        source="editor",
    )
    session.add(version)
    await session.delete(draft)
    await session.flush()
    changes = version_changes(latest, version)
    await record_action(
        session,
        None,
        "template.publish",
        f"template {template.key} version {version.version}",
        {"version": latest.version, "content_hash": latest.content_hash},
        {
            "version": version.version,
            "content_hash": content_hash,
            "added": list(changes.added),
            "retired": list(changes.retired),
            "reworded": list(changes.reworded),
        },
    )
    await session.commit()
    # The template's list of versions is read again where the newest version is asked for.
    session.expire(template, ["versions"])
    return version


def preview_questions(draft: TemplateDraft, areas: Sequence[Option]) -> tuple[Question, ...]:
    """The draft's questions as residents would get them (the areas as options where asked)."""
    return tuple(
        q.with_options(list(areas)) if q.options_from == "areas" else q
        for q in draft_questions(draft)
    )
