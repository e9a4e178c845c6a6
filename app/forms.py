"""Reading and checking submitted forms, with error messages in the reader's language.

Every value is checked for presence, length, type and range, and text is
normalised (Unicode NFC, control characters refused) before a service sees it.
A form with any error stores nothing: the controller shows it again with the
errors beside the fields.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from litestar import Request
from litestar.exceptions import ClientException

from app.i18n import LANGUAGES, gettext, ngettext
from app.search import MAX_QUERY_LENGTH, search_words

# Control characters, and the bidirectional embeddings and overrides (U+202A–U+202E) that turn
# the rest of a line around on the page ("Trojan source"); the marks (U+200E/F) and isolates
# (U+2066–U+2069) that right-to-left writers use are kept.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029\u202a-\u202e\ufffe\uffff]")


def has_control_characters(text: str, *, multiline: bool = False) -> bool:
    """Whether text holds what no field takes: control characters and bidirectional overrides,
    and, unless it may have several lines, a line break or a tab."""
    return bool(_CONTROL.search(text)) or (
        not multiline and any(character in text for character in "\n\r\t")
    )


_EMAIL = re.compile(
    r"^[^@\s<>\"']{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$"
)
MAX_FIELD_VALUES = 200
# Spaces people and Tori's own number formatting put between digits: the ordinary space, the
# no-break space U+00A0, the narrow no-break space U+202F, the thin space U+2009 and the like.
_SPACES = re.compile(r"[ \u00a0\u2000-\u200a\u202f\u205f\u3000]")
# A euro sign or code before or after an amount.
_CURRENCY = re.compile(r"^(?:€|EUR)|(?:€|EUR)$", re.IGNORECASE)
# "30 000,00" or "30,000.00": zero cents are whole euros.
_NO_CENTS = re.compile(r"(?<=[0-9])[.,]00$")
# Thousands grouped by one kind of separator: "30,000", "1.500.000", "30'000".
_GROUPED = re.compile(r"[+-]?[0-9]{1,3}([.,'])[0-9]{3}(?:\1[0-9]{3})*")


class UntranslatedMessage(Protocol):
    """A message id with its parameters, translated where it is shown (e.g. surveys' AnswerError)."""

    @property
    def message(self) -> str: ...

    @property
    def params(self) -> Mapping[str, Any]: ...


def translate_errors(errors: Mapping[str, UntranslatedMessage]) -> dict[str, str]:
    """Each field's error in the reader's language."""
    return {
        key: gettext(error.message) % dict(error.params) if error.params else gettext(error.message)
        for key, error in errors.items()
    }


class FormReadError(ClientException):
    """The body was not a readable form (wrong encoding, too many fields)."""


async def read_form(request: Request) -> dict[str, list[str]]:
    """The submitted fields as lists of strings, refusing anything that is not valid UTF-8.

    URL-encoded bodies are decoded strictly here: the framework's own parser would
    quietly turn bad bytes into replacement characters and store them.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        return parse_urlencoded(await request.body())
    form = await request.form()
    pairs = [(key, value) for key, value in form.multi_items() if isinstance(value, str)]
    if len(pairs) > MAX_FIELD_VALUES:
        raise FormReadError(detail="too many form fields")
    return _collect(pairs)


def parse_urlencoded(body: bytes) -> dict[str, list[str]]:
    """An URL-encoded body as lists of strings; FormReadError unless it is valid UTF-8."""
    try:
        pairs = parse_qsl(
            body.decode("ascii"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FIELD_VALUES,
        )
    except (UnicodeDecodeError, ValueError) as error:
        raise FormReadError(detail="form body is not valid UTF-8 or has too many fields") from error
    return _collect(pairs)


def _collect(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for key, value in pairs:
        fields.setdefault(key, []).append(value)
    return fields


class Form:
    """One submitted form: typed accessors that collect errors instead of raising."""

    def __init__(self, data: Mapping[str, list[str]] | None = None) -> None:
        self.data: dict[str, list[str]] = dict(data or {})
        self.errors: dict[str, str] = {}

    @property
    def is_valid(self) -> bool:
        return not self.errors

    @classmethod
    def prefilled(cls, values: Mapping[str, Any]) -> Form:
        """A form showing existing values, e.g. when editing a saved record."""
        data: dict[str, list[str]] = {}
        for key, value in values.items():
            if value is None:
                continue
            if isinstance(value, list | tuple):
                data[key] = [str(item) for item in value]
            elif isinstance(value, bool):
                data[key] = ["on"] if value else []
            else:
                data[key] = [str(value)]
        return cls(data)

    def raw(self, name: str) -> str:
        values = self.data.get(name) or [""]
        return values[0]

    def values(self, name: str) -> list[str]:
        return list(self.data.get(name) or [])

    def add_error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def add_errors(self, errors: Mapping[str, str]) -> None:
        """Several fields' errors at once (a refusal's `DomainError.form_errors()`)."""
        for name, message in errors.items():
            self.add_error(name, message)

    def _missing(self, name: str, *, required: bool, message: str | None = None) -> None:
        """An empty field: an error when the field is required; nothing otherwise."""
        if required:
            self.add_error(name, message or gettext("This field is required."))

    def _clean(self, name: str, value: str, *, multiline: bool) -> str | None:
        value = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
        if has_control_characters(value, multiline=multiline):
            self.add_error(name, gettext("Remove the special control characters from this field."))
            return None
        return value.strip()

    def text(
        self, name: str, *, required: bool = False, max_length: int = 200, multiline: bool = False
    ) -> str:
        value = self._clean(name, self.raw(name), multiline=multiline)
        if value is None:
            return ""
        if not value:
            self._missing(name, required=required)
        elif len(value) > max_length:
            self.add_error(
                name,
                ngettext(
                    "Use at most %(num)d character.", "Use at most %(num)d characters.", max_length
                )
                % {"num": max_length},
            )
        return value

    def lines(self, name: str, *, max_lines: int = 20, max_length: int = 200) -> list[str]:
        value = self.text(name, max_length=max_lines * (max_length + 1), multiline=True)
        lines = [line.strip() for line in value.split("\n") if line.strip()]
        if len(lines) > max_lines:
            self.add_error(name, gettext("Give at most %(num)d lines.") % {"num": max_lines})
        elif any(len(line) > max_length for line in lines):
            self.add_error(
                name, gettext("Each line can be at most %(num)d characters.") % {"num": max_length}
            )
        return lines

    def translated_text(
        self,
        prefix: str,
        *,
        required: bool = False,
        max_length: int = 200,
        multiline: bool = False,
        languages: Sequence[str] = LANGUAGES,
    ) -> dict[str, str]:
        """Fields `<prefix>_fi`, `_sv`, `_en` (or of the `languages` given: a poll may be written
        in every content language); when required, at least one language is needed, and text in
        the other content languages needs one of the interface languages beside it."""
        values = {
            language: self.text(f"{prefix}_{language}", max_length=max_length, multiline=multiline)
            for language in languages
        }
        values = {language: text for language, text in values.items() if text}
        if (
            required
            and not values
            and not any(f"{prefix}_{language}" in self.errors for language in languages)
        ):
            self.add_error(f"{prefix}_fi", gettext("Give this in at least one language."))
        elif values and not any(language in LANGUAGES for language in values):
            # Text in Somali alone would show nothing to a reader of Finnish, Swedish or English:
            # `localized` falls back only to the interface languages.
            self.add_error(
                f"{prefix}_fi",
                gettext(
                    "Write this in Finnish, Swedish or English too: readers of those languages "
                    "would otherwise see nothing."
                ),
            )
        return values

    def email(self, name: str, *, required: bool = True) -> str:
        value = self.text(name, required=required, max_length=254)
        if value and name not in self.errors and not _EMAIL.match(value):
            self.add_error(name, gettext("Enter an e-mail address, such as name@example.fi."))
        return value.lower()

    def integer(
        self,
        name: str,
        *,
        required: bool = False,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        value = _SPACES.sub("", self.raw(name).strip())
        if not value:
            return self._missing(name, required=required)
        if not re.fullmatch(r"[+-]?[0-9]{1,12}", value):
            self.add_error(name, gettext("Enter a whole number, such as 120."))
            return None
        return self._in_range(name, int(value), minimum, maximum)

    def euros(
        self,
        name: str,
        *,
        required: bool = False,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        """Whole euros as people write them, on every form that asks for money: "30000",
        "30 000" (any space, also the no-break spaces U+00A0 and U+202F that Tori itself shows),
        "30 000 €", "€30,000", "30.000 EUR", "30 000,00"."""
        value = _CURRENCY.sub("", _SPACES.sub("", self.raw(name).strip()))
        if not value:
            return self._missing(name, required=required)
        value = _NO_CENTS.sub("", value)
        if _GROUPED.fullmatch(value):
            value = re.sub(r"[.,']", "", value)
        if not re.fullmatch(r"[+-]?[0-9]{1,12}", value):
            self.add_error(name, gettext("Enter whole euros, such as 30 000."))
            return None
        return self._in_range(name, int(value), minimum, maximum)

    def _in_range(
        self, name: str, number: int, minimum: int | None, maximum: int | None
    ) -> int | None:
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            self.add_error(
                name,
                gettext("Enter a number from %(minimum)s to %(maximum)s.")
                % {
                    "minimum": minimum if minimum is not None else "",
                    "maximum": maximum if maximum is not None else "",
                },
            )
            return None
        return number

    def choice(self, name: str, choices: Iterable[str], *, required: bool = True) -> str | None:
        value = self.raw(name).strip()
        if not value:
            return self._missing(
                name, required=required, message=gettext("Choose one of the options.")
            )
        if value not in set(choices):
            self.add_error(name, gettext("Choose one of the options."))
            return None
        return value

    def choices(self, name: str, choices: Iterable[str], *, at_least: int = 0) -> list[str]:
        allowed = list(choices)
        picked = self.values(name)
        if any(value not in allowed for value in picked):
            self.add_error(name, gettext("Choose from the options shown."))
            return []
        if len(picked) < at_least:
            self.add_error(name, gettext("Choose at least one."))
        return [value for value in allowed if value in picked]

    def boolean(self, name: str) -> bool:
        return self.raw(name) in {"on", "true", "1", "yes"}

    def date(
        self, name: str, *, required: bool = True, years: tuple[int, int] = (2000, 2100)
    ) -> dt.date | None:
        value = self.raw(name).strip()
        if not value:
            return self._missing(name, required=required)
        try:
            parsed = dt.date.fromisoformat(value)
        except ValueError:
            self.add_error(name, gettext("Enter a date as year-month-day, such as 2026-05-31."))
            return None
        if not years[0] <= parsed.year <= years[1]:
            self.add_error(
                name,
                gettext("Enter a date between the years %(first)d and %(last)d.")
                % {"first": years[0], "last": years[1]},
            )
            return None
        return parsed

    def time(self, name: str, *, required: bool = True) -> dt.time | None:
        value = self.raw(name).strip()
        if not value:
            return self._missing(name, required=required)
        if not re.fullmatch(r"[0-9]{1,2}[:.][0-9]{2}", value):
            self.add_error(name, gettext("Enter a time as hours and minutes, such as 17.30."))
            return None
        hours, minutes = (int(part) for part in re.split(r"[:.]", value))
        if hours > 23 or minutes > 59:
            self.add_error(name, gettext("Enter a time as hours and minutes, such as 17.30."))
            return None
        return dt.time(hours, minutes)


def local_datetime(day: dt.date, time: dt.time, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=zone).astimezone(dt.UTC)


def read_search(form: Form, name: str = "q") -> str:
    """A search box's text: at most the search's length, and with a letter or digit in it (the
    words searched for are its runs of letters and digits, see app/search.py). On an error the
    list is shown unfiltered, with the error beside the box."""
    query = form.text(name, max_length=MAX_QUERY_LENGTH)
    if name in form.errors:
        return ""
    if query and not search_words(query):
        form.add_error(name, gettext("Search with letters or digits."))
        return ""
    return query
