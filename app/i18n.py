"""Languages: gettext catalogs, locale negotiation, per-language content and formatting.

Finnish is the default; Swedish is the second official language; English serves
newcomers. Catalogs are read straight from the `.po` files at start-up, so no
compile step stands between an edit and a running server.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES: tuple[str, ...] = ("fi", "sv", "en")
DEFAULT_LANGUAGE = "fi"
LANGUAGE_COOKIE = "tori_lang"
# Each language's own name, shown in the switcher whatever the current language is.
LANGUAGE_NAMES: dict[str, str] = {"fi": "Suomi", "sv": "Svenska", "en": "English"}

_current_language: ContextVar[str] = ContextVar("tori_language", default=DEFAULT_LANGUAGE)
_catalogs: dict[str, Translations] = {}


def gettext_noop(message: str) -> str:
    """Mark a string for extraction; it is translated later, where it is shown."""
    return message


N_ = gettext_noop


def load_catalogs(locale_dir: Path) -> None:
    for language in LANGUAGES:
        po_path = locale_dir / language / "LC_MESSAGES" / "messages.po"
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=language)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        _catalogs[language] = Translations(fp=buffer, domain="messages")


def set_language(language: str) -> None:
    _current_language.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)


def current_language() -> str:
    return _current_language.get()


def _translations() -> Translations | None:
    return _catalogs.get(_current_language.get())


def gettext(message: str) -> str:
    translations = _translations()
    return translations.gettext(message) if translations else message


def ngettext(singular: str, plural: str, n: int) -> str:
    translations = _translations()
    if translations:
        return translations.ngettext(singular, plural, n)
    return singular if n == 1 else plural


def pgettext(context: str, message: str) -> str:
    translations = _translations()
    return translations.pgettext(context, message) if translations else message


_ = gettext


def gettext_in(language: str, message: str) -> str:
    """A message in a given language, whatever the reader's: for posters in several languages."""
    translations = _catalogs.get(language)
    return translations.gettext(message) if translations else message


def parse_accept_language(header: str | None) -> list[str]:
    """Supported languages from an Accept-Language header, best first."""
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:20]):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        quality = 1.0
        for parameter in pieces[1:]:
            name, _sep, value = parameter.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.split("-")[0]
        # Norwegian and Danish readers understand Swedish better than Finnish or English.
        if primary in {"nb", "nn", "no", "da"}:
            primary = "sv"
        if primary in LANGUAGES and quality > 0:
            weighted.append((-quality, position, primary))
    result: list[str] = []
    for _q, _p, language in sorted(weighted):
        if language not in result:
            result.append(language)
    return result


def negotiate_language(
    explicit: str | None, cookie: str | None, accept_language: str | None
) -> str:
    """Explicit choice, then the remembered cookie, then the browser's wish, then Finnish."""
    for candidate in (explicit, cookie):
        if candidate in LANGUAGES:
            return candidate
    preferred = parse_accept_language(accept_language)
    return preferred[0] if preferred else DEFAULT_LANGUAGE


def fallback_order(language: str) -> tuple[str, ...]:
    rest = tuple(code for code in LANGUAGES if code != language)
    return (language, *rest)


def localized(value: Mapping[str, str] | str | None, language: str | None = None) -> str:
    """Staff-entered text in the wanted language, falling back to the others in order."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    for code in fallback_order(language or current_language()):
        text = value.get(code)
        if text:
            return text
    return ""


def localized_language(value: Mapping[str, str] | None, language: str | None = None) -> str:
    """Which language `localized` picked, so the page can mark it with `lang`."""
    if not value:
        return language or current_language()
    for code in fallback_order(language or current_language()):
        if value.get(code):
            return code
    return language or current_language()


# Finland's conventions in each language: Finnish (fi_FI), Finland-Swedish (sv_FI) and the
# English written in Finland (en_FI): day first, 24-hour clock with a full stop, a no-break space
# between thousands, a decimal comma and "30 000 €". The date and time patterns are fixed here
# rather than taken from a CLDR style, so that every page and export writes a moment one way:
#   fi  20.12.2026 klo 5.45     sv  20.12.2026 kl. 5.45     en  20 Dec 2026 at 5.45
FORMAT_LOCALES: dict[str, str] = {"fi": "fi_FI", "sv": "sv_FI", "en": "en_FI"}
DATE_PATTERNS: dict[str, str] = {"fi": "d.M.yyyy", "sv": "d.M.yyyy", "en": "d MMM yyyy"}
TIME_PATTERN = "H.mm"
DATETIME_JOINS: dict[str, str] = {
    "fi": "{date} klo {time}",
    "sv": "{date} kl. {time}",
    "en": "{date} at {time}",
}
NO_BREAK_SPACE = "\u00a0"


def format_locale(language: str | None = None) -> str:
    """The CLDR locale that writes dates and numbers in `language` the way Finland does."""
    return FORMAT_LOCALES.get(language or current_language(), FORMAT_LOCALES[DEFAULT_LANGUAGE])


def language_name(code: str, language: str | None = None) -> str:
    """A language's name in the reader's language, as running text writes it: "suomi, ruotsi",
    "finska, svenska", "Finnish, Swedish". The language switcher alone uses LANGUAGE_NAMES."""
    names = Locale.parse(language or current_language()).languages
    return names.get(code, code)


class Formatter:
    """Dates, times, numbers and money the way Finland writes them in the reader's language.

    Every method takes an optional `language`, for text made in another language than the
    reader's (a poster, an export); it defaults to the request's language. A `style` argument
    is accepted for callers written before and has no effect: each language has one way.
    """

    def __init__(self, timezone: str) -> None:
        self.zone = ZoneInfo(timezone)

    def local(self, moment: dt.datetime) -> dt.datetime:
        return moment.astimezone(self.zone)

    def _day(self, value: dt.date | dt.datetime) -> dt.date:
        return self.local(value).date() if isinstance(value, dt.datetime) else value

    def date(
        self, value: dt.date | dt.datetime, style: str | None = None, language: str | None = None
    ) -> str:
        """20.12.2026 (fi, sv), 20 Dec 2026 (en)."""
        language = language or current_language()
        return dates.format_date(
            self._day(value),
            format=DATE_PATTERNS.get(language, DATE_PATTERNS[DEFAULT_LANGUAGE]),
            locale=format_locale(language),
        )

    def weekday_date(self, value: dt.date | dt.datetime, language: str | None = None) -> str:
        """sunnuntai 20. joulukuuta 2026, söndag 20 december 2026, Sunday, 20 December 2026."""
        return dates.format_date(self._day(value), format="full", locale=format_locale(language))

    def time(self, value: dt.datetime, language: str | None = None) -> str:
        """5.45 and 17.30 in all three languages."""
        return dates.format_time(
            self.local(value), format=TIME_PATTERN, locale=format_locale(language)
        )

    def datetime(
        self, value: dt.datetime, style: str | None = None, language: str | None = None
    ) -> str:
        """20.12.2026 klo 5.45, 20.12.2026 kl. 5.45, 20 Dec 2026 at 5.45."""
        language = language or current_language()
        join = DATETIME_JOINS.get(language, DATETIME_JOINS[DEFAULT_LANGUAGE])
        return join.format(
            date=self.date(value, language=language), time=self.time(value, language)
        )

    def month(self, value: dt.date | str, language: str | None = None) -> str:
        """joulukuu 2026, december 2026, December 2026; also from a "2026-12" key."""
        if isinstance(value, str):
            value = dt.date.fromisoformat(value[:7] + "-01")
        return dates.format_skeleton("yMMMM", value, locale=format_locale(language))

    def number(
        self, value: float | int | None, digits: int = 0, language: str | None = None
    ) -> str:
        """12 345 and 0,6: a no-break space between thousands and a decimal comma."""
        if value is None:
            return "–"
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return numbers.format_decimal(value, format=pattern, locale=format_locale(language))

    def euros(self, amount: int | None, language: str | None = None) -> str:
        """Whole euros: "12 000 €", with no-break spaces, in every language."""
        if amount is None:
            return "–"
        return numbers.format_currency(
            amount,
            "EUR",
            format="#,##0\u00a0¤",
            locale=format_locale(language),
            currency_digits=False,
        )

    def percent(self, share: float, language: str | None = None) -> str:
        """12 % (a no-break space before the sign, as Finland writes it)."""
        return numbers.format_percent(share, locale=format_locale(language))

    def weekday_names(self, language: str | None = None) -> list[str]:
        names = Locale.parse(format_locale(language)).days["stand-alone"]["abbreviated"]
        return [names[index] for index in range(7)]

    def template_globals(self) -> dict[str, Any]:
        return {
            "format_date": self.date,
            "format_weekday_date": self.weekday_date,
            "format_time": self.time,
            "format_datetime": self.datetime,
            "format_month": self.month,
            "format_number": self.number,
            "format_percent": self.percent,
            "format_euros": self.euros,
            "weekday_names": self.weekday_names,
            "language_name": language_name,
            "local_time": self.local,
        }
