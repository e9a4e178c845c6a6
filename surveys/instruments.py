"""Validated instruments: published scales whose wording may not be changed.

Tori ships no such wording. A city imports the official wording it has obtained
from the owner, as a JSON file in the format below; the items are then locked (no
code path edits them), offered only in the languages whose full wording was
imported, and scored 0–100 in the comparison dashboard.

    {
      "key": "inclusion", "version": 1,
      "name": {"fi": "…", "sv": "…"},
      "owner": "Who owns the wording", "terms": "On what terms it may be used",
      "scale": {"points": 5, "labels": {"fi": ["…", "…", "…", "…", "…"]}},
      "items": [{"key": "i1", "text": {"fi": "…"}, "reverse": false}, …]
    }

A respondent's score is the mean of their item values (reversed items counted
from the other end) mapped linearly from 1…points to 0…100, given only when
every item was answered.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from surveys.definitions import KEY, DefinitionError, Question

SUPPORTED_POINTS = (5,)
MAX_FILE_BYTES = 512 * 1024


@dataclass(frozen=True)
class InstrumentItem:
    key: str
    text: Mapping[str, str]
    reverse: bool = False


@dataclass(frozen=True)
class Instrument:
    key: str
    version: int
    name: Mapping[str, str]
    owner: str
    terms: str
    points: int
    labels: Mapping[str, tuple[str, ...]]
    items: tuple[InstrumentItem, ...]

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages with the complete official wording: only these are offered."""
        return tuple(
            language
            for language in ("fi", "sv", "en")
            if language in self.labels and all(item.text.get(language) for item in self.items)
        )

    @property
    def score_key(self) -> str:
        return f"{self.key}.score"

    def questions(self) -> tuple[Question, ...]:
        return tuple(
            Question(
                key=f"{self.key}.{item.key}",
                type="scale5",
                text=item.text,
                required=False,
                labels=self.labels,
                locked=True,
            )
            for item in self.items
        )

    def score(self, answers: Mapping[str, Any]) -> int | None:
        values = []
        for item in self.items:
            value = answers.get(f"{self.key}.{item.key}")
            if not isinstance(value, int):
                return None
            values.append(self.points + 1 - value if item.reverse else value)
        mean = sum(values) / len(values)
        return round((mean - 1) / (self.points - 1) * 100)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise DefinitionError(message)


def parse_instrument(data: Any) -> Instrument:
    _require(isinstance(data, dict), "the file must hold one JSON object")
    key = data.get("key")
    _require(
        isinstance(key, str) and "." not in key and bool(KEY.match(key)),
        "key: lower-case letters, digits and _",
    )
    version = data.get("version")
    _require(isinstance(version, int) and version >= 1, "version: a whole number from 1")
    name = data.get("name")
    _require(
        isinstance(name, dict)
        and bool(name)
        and all(isinstance(v, str) and v for v in name.values()),
        "name: texts by language",
    )
    for field_name in ("owner", "terms"):
        _require(
            isinstance(data.get(field_name), str) and bool(data[field_name].strip()),
            f"{field_name}: who owns the wording and its terms must be given",
        )
    scale = data.get("scale")
    _require(isinstance(scale, dict), "scale: an object with points and labels")
    points = scale.get("points")
    _require(points in SUPPORTED_POINTS, f"scale.points: supported are {SUPPORTED_POINTS}")
    labels = scale.get("labels")
    _require(
        isinstance(labels, dict) and bool(labels), "scale.labels: a list of labels per language"
    )
    for language, texts in labels.items():
        _require(language in ("fi", "sv", "en"), f"scale.labels: unknown language {language!r}")
        _require(
            isinstance(texts, list)
            and len(texts) == points
            and all(isinstance(t, str) and t for t in texts),
            f"scale.labels.{language}: exactly {points} labels",
        )
    items = data.get("items")
    _require(isinstance(items, list) and 1 <= len(items) <= 50, "items: a list of 1 to 50 items")
    parsed = []
    for index, item in enumerate(items):
        where = f"items[{index + 1}]"
        _require(isinstance(item, dict), f"{where}: an object")
        _require(
            isinstance(item.get("key"), str)
            and bool(KEY.match(item["key"]))
            and "." not in item["key"],
            f"{where}.key: lower-case letters, digits and _",
        )
        text = item.get("text")
        _require(
            isinstance(text, dict)
            and bool(text)
            and all(isinstance(v, str) and v for v in text.values()),
            f"{where}.text: texts by language",
        )
        _require(isinstance(item.get("reverse", False), bool), f"{where}.reverse: true or false")
        parsed.append(InstrumentItem(item["key"], dict(text), bool(item.get("reverse", False))))
    _require(len({i.key for i in parsed}) == len(parsed), "items: keys must differ")
    unknown = set(data) - {"key", "version", "name", "owner", "terms", "scale", "items"}
    _require(not unknown, f"unknown fields: {', '.join(sorted(unknown))}")
    instrument = Instrument(
        key=key,
        version=version,
        name=dict(name),
        owner=data["owner"].strip(),
        terms=data["terms"].strip(),
        points=points,
        labels={k: tuple(v) for k, v in labels.items()},
        items=tuple(parsed),
    )
    _require(
        bool(instrument.languages), "no language has the complete wording of every item and label"
    )
    return instrument


def load_instrument(raw: bytes) -> Instrument:
    if len(raw) > MAX_FILE_BYTES:
        raise DefinitionError(f"the file is larger than {MAX_FILE_BYTES // 1024} KiB")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise DefinitionError("the file is not UTF-8 text") from error
    except json.JSONDecodeError as error:
        raise DefinitionError(
            f"not valid JSON: line {error.lineno}, column {error.colno}: {error.msg}"
        ) from error
    return parse_instrument(data)


def instrument_to_data(instrument: Instrument) -> dict[str, Any]:
    return {
        "key": instrument.key,
        "version": instrument.version,
        "name": dict(instrument.name),
        "owner": instrument.owner,
        "terms": instrument.terms,
        "scale": {
            "points": instrument.points,
            "labels": {k: list(v) for k, v in instrument.labels.items()},
        },
        "items": [
            {"key": i.key, "text": dict(i.text), "reverse": i.reverse} for i in instrument.items
        ],
    }
