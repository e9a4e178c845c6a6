"""Questionnaire definitions and the checking of answers; pure standard-library code.

A definition is data (JSON): questions with stable keys that survive rewording
and translation, options with stable keys, and an optional condition on another
question. Answers are checked here against the definition; anything tampered,
out of range or oversized is refused with a message id for the controller to
translate, and nothing of it is stored.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

QUESTION_TYPES = ("scale5", "scale10", "single", "multiple", "yes_no", "short_text", "long_text")
NUMERIC_TYPES = ("scale5", "scale10")
CHOICE_TYPES = ("single", "multiple", "yes_no")
TEXT_LIMITS = {"short_text": 200, "long_text": 2000}
SCALE_RANGES = {"scale5": range(1, 6), "scale10": range(11)}
YES_NO = ("yes", "no")
KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}(\.[a-z0-9_]{1,40})?$")
FIELD_PREFIX = "q_"
# The characters app.forms refuses (this module is pure, so it keeps its own copy of the set):
# controls and the bidirectional embeddings and overrides.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029\u202a-\u202e\ufffe\uffff]")
# Special tally keys: one row per response, and one per respondent of a multiple-choice question.
RESPONSES_KEY = "__responses__"
RESPONDENTS_VALUE = "__n__"


def N_(message: str) -> str:  # noqa: N802 - the usual gettext marker name, found by extraction
    """Marks a message for the catalogs; it is translated where it is shown."""
    return message


class DefinitionError(ValueError):
    """A questionnaire or instrument file is not valid; the message says where."""


@dataclass(frozen=True)
class Option:
    key: str
    label: Mapping[str, str]


MAX_CONDITION_VALUES = 20


@dataclass(frozen=True)
class Condition:
    """Show a question only when the earlier question `key` was given one of `values`."""

    key: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Question:
    key: str
    type: str
    text: Mapping[str, str]
    required: bool = False
    help: Mapping[str, str] = field(default_factory=dict)
    low: Mapping[str, str] = field(default_factory=dict)
    high: Mapping[str, str] = field(default_factory=dict)
    options: tuple[Option, ...] = ()
    options_from: str | None = None
    max_choices: int | None = None
    show_if: Condition | None = None
    locked: bool = False
    # A label for every point of the scale, by language (validated instruments have them).
    labels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def field_name(self) -> str:
        return FIELD_PREFIX + self.key

    @property
    def option_keys(self) -> tuple[str, ...]:
        if self.type == "yes_no":
            return YES_NO
        return tuple(option.key for option in self.options)

    @property
    def scale(self) -> range | None:
        return SCALE_RANGES.get(self.type)

    def with_options(self, options: Sequence[Option]) -> Question:
        """The question with options that come from elsewhere (the city's areas) put first."""
        from dataclasses import replace  # noqa: PLC0415

        return replace(self, options=(*options, *self.options))


def _texts(value: Any, where: str, *, required: bool = True) -> dict[str, str]:
    if value is None and not required:
        return {}
    if (
        not isinstance(value, dict)
        or not value
        or not all(
            isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in value.items()
        )
    ):
        raise DefinitionError(f'{where}: expected texts by language, such as {{"fi": "…"}}')
    return dict(value)


def _parse_condition(condition: Any, where: str) -> Condition | None:
    """`{"key": "again", "equals": "no"}`, or `{"key": "age", "in": ["a", "b"]}` for any of several."""
    if condition is None:
        return None
    if isinstance(condition, dict) and isinstance(condition.get("equals"), str):
        values = [condition["equals"]]
    elif isinstance(condition, dict) and isinstance(condition.get("in"), list):
        values = condition["in"]
    else:
        values = []
    if (
        not isinstance(condition.get("key") if isinstance(condition, dict) else None, str)
        or not values
        or len(values) > MAX_CONDITION_VALUES
        or not all(isinstance(v, str) and v for v in values)
        or len(set(values)) != len(values)
    ):
        raise DefinitionError(f"{where}: show_if needs a key and the value or values it equals")
    return Condition(condition["key"], tuple(values))


def parse_question(data: Any, where: str) -> Question:
    if not isinstance(data, dict):
        raise DefinitionError(f"{where}: a question must be an object")
    key = data.get("key")
    if not isinstance(key, str) or not KEY.match(key):
        raise DefinitionError(
            f"{where}: key must be lower-case letters, digits and _, such as 'satisfaction'"
        )
    kind = data.get("type")
    if kind not in QUESTION_TYPES:
        raise DefinitionError(f"{where} ({key}): type must be one of {', '.join(QUESTION_TYPES)}")
    options = []
    for index, option in enumerate(data.get("options") or []):
        if (
            not isinstance(option, dict)
            or not isinstance(option.get("key"), str)
            or not KEY.match(option["key"])
        ):
            raise DefinitionError(f"{where} ({key}): option {index + 1} needs a key")
        options.append(
            Option(
                option["key"],
                _texts(option.get("label"), f"{where} ({key}) option {option['key']}"),
            )
        )
    if len({o.key for o in options}) != len(options):
        raise DefinitionError(f"{where} ({key}): option keys must differ")
    options_from = data.get("options_from")
    if options_from not in (None, "areas"):
        raise DefinitionError(f"{where} ({key}): options_from can only be 'areas'")
    if kind in ("single", "multiple") and not options and not options_from:
        raise DefinitionError(f"{where} ({key}): a choice question needs options")
    max_choices = data.get("max_choices")
    if max_choices is not None and (
        not isinstance(max_choices, int) or max_choices < 1 or kind != "multiple"
    ):
        raise DefinitionError(
            f"{where} ({key}): max_choices is a positive number, for multiple choice only"
        )
    show_if = _parse_condition(data.get("show_if"), f"{where} ({key})")
    return Question(
        key=key,
        type=kind,
        text=_texts(data.get("text"), f"{where} ({key}) text"),
        required=bool(data.get("required", False)),
        help=_texts(data.get("help"), f"{where} ({key}) help", required=False),
        low=_texts(data.get("low"), f"{where} ({key}) low", required=False),
        high=_texts(data.get("high"), f"{where} ({key}) high", required=False),
        options=tuple(options),
        options_from=options_from,
        max_choices=max_choices,
        show_if=show_if,
        locked=bool(data.get("locked", False)),
    )


def parse_questions(items: Any, where: str = "questions") -> tuple[Question, ...]:
    if not isinstance(items, list) or not items:
        raise DefinitionError(f"{where}: expected a non-empty list of questions")
    questions = tuple(
        parse_question(item, f"{where}[{index + 1}]") for index, item in enumerate(items)
    )
    keys = [q.key for q in questions]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise DefinitionError(f"{where}: question keys are used twice: {', '.join(duplicates)}")
    for question in questions:
        if question.show_if and question.show_if.key not in keys[: keys.index(question.key)]:
            raise DefinitionError(
                f"{where} ({question.key}): show_if must refer to an earlier question"
            )
    return questions


def complete_languages(questions: Sequence[Question], candidates: Sequence[str]) -> tuple[str, ...]:
    """The candidate languages in which every text of the questions is written: the wording,
    help, scale ends and option labels. Only these are offered for answering, so an answer in
    a language means the whole questionnaire was read in it."""

    def has(texts: Mapping[str, str], language: str) -> bool:
        return not texts or bool(texts.get(language))

    return tuple(
        language
        for language in candidates
        if all(
            has(q.text, language)
            and has(q.help, language)
            and has(q.low, language)
            and has(q.high, language)
            and all(has(option.label, language) for option in q.options)
            for q in questions
        )
    )


def question_to_data(question: Question) -> dict[str, Any]:
    data: dict[str, Any] = {"key": question.key, "type": question.type, "text": dict(question.text)}
    if question.required:
        data["required"] = True
    for name in ("help", "low", "high"):
        if getattr(question, name):
            data[name] = dict(getattr(question, name))
    if question.options:
        data["options"] = [{"key": o.key, "label": dict(o.label)} for o in question.options]
    if question.options_from:
        data["options_from"] = question.options_from
    if question.max_choices:
        data["max_choices"] = question.max_choices
    if question.show_if:
        data["show_if"] = condition_to_data(question.show_if)
    if question.locked:
        data["locked"] = True
    return data


def condition_to_data(condition: Condition) -> dict[str, Any]:
    # One value keeps the original spelling, so stored versions keep their content hash.
    if len(condition.values) == 1:
        return {"key": condition.key, "equals": condition.values[0]}
    return {"key": condition.key, "in": list(condition.values)}


@dataclass(frozen=True)
class AnswerError:
    """A message id with its parameters; translated where it is shown."""

    message: str
    params: Mapping[str, Any] = field(default_factory=dict)


AnswerValue = int | str | list[str]


def clean_text(value: str, *, multiline: bool) -> str | None:
    value = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    if _CONTROL.search(value) or (not multiline and "\n" in value):
        return None
    return value.strip()


def is_shown(question: Question, answers: Mapping[str, AnswerValue]) -> bool:
    if question.show_if is None:
        return True
    given = answers.get(question.show_if.key)
    if isinstance(given, list):
        return any(value in given for value in question.show_if.values)
    return given is not None and str(given) in question.show_if.values


def read_answers(
    questions: Sequence[Question], submitted: Mapping[str, list[str]]
) -> tuple[dict[str, AnswerValue], dict[str, AnswerError]]:
    """The checked answers by question key, and the errors by question key ("" for the whole form)."""
    answers: dict[str, AnswerValue] = {}
    errors: dict[str, AnswerError] = {}
    known = {q.field_name for q in questions}
    if any(name.startswith(FIELD_PREFIX) and name not in known for name in submitted):
        errors[""] = AnswerError(
            N_(
                "The form had answers to questions that are not in this questionnaire. Reload the page and answer again."
            )
        )
        return {}, errors
    for question in questions:
        values = [v for v in submitted.get(question.field_name, []) if v.strip() != ""]
        if not is_shown(question, answers):
            continue
        if not values:
            if question.required:
                errors[question.key] = AnswerError(N_("Please answer this question."))
            continue
        value, error = _read_one(question, values)
        if error:
            errors[question.key] = error
        elif value is not None:
            answers[question.key] = value
    return answers, errors


def _read_one(  # noqa: PLR0911 - one early answer per kind of mistake reads best
    question: Question, values: list[str]
) -> tuple[AnswerValue | None, AnswerError | None]:
    if question.type == "multiple":
        if len(set(values)) != len(values) or any(v not in question.option_keys for v in values):
            return None, AnswerError(N_("Choose from the options shown."))
        if question.max_choices and len(values) > question.max_choices:
            return None, AnswerError(
                N_("Choose at most %(num)d options."), {"num": question.max_choices}
            )
        return [key for key in question.option_keys if key in values], None
    if len(values) > 1:
        return None, AnswerError(N_("Choose only one option."))
    value = values[0]
    if question.scale is not None:
        if not re.fullmatch(r"[0-9]{1,2}", value.strip()) or int(value) not in question.scale:
            return None, AnswerError(
                N_("Choose a value from %(low)d to %(high)d."),
                {"low": question.scale.start, "high": question.scale.stop - 1},
            )
        return int(value), None
    if question.type in ("single", "yes_no"):
        if value not in question.option_keys:
            return None, AnswerError(N_("Choose from the options shown."))
        return value, None
    limit = TEXT_LIMITS[question.type]
    text = clean_text(value, multiline=question.type == "long_text")
    if text is None:
        return None, AnswerError(N_("Remove the special control characters from your answer."))
    if len(text) > limit:
        return None, AnswerError(N_("Use at most %(num)d characters."), {"num": limit})
    return (text or None), None


def tally_rows(
    questions: Sequence[Question], answers: Mapping[str, AnswerValue]
) -> list[tuple[str, str]]:
    """(question key, value) pairs that one response adds to the aggregate counts."""
    rows = [(RESPONSES_KEY, "")]
    for question in questions:
        value = answers.get(question.key)
        if value is None or question.type in TEXT_LIMITS:
            continue
        if isinstance(value, list):
            rows += [(question.key, option) for option in value]
            rows.append((question.key, RESPONDENTS_VALUE))
        else:
            rows.append((question.key, str(value)))
    return rows
