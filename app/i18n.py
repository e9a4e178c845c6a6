"""Languages: gettext catalogs, locale negotiation, per-language content and formatting.

Finnish is the default; Swedish is the second official language; English serves
newcomers. Catalogs are read straight from the `.po` files at start-up, so no
compile step stands between an edit and a running server.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

# The interface languages: those with a catalog of their own (locale/<code>).
LANGUAGES: tuple[str, ...] = ("fi", "sv", "en")
DEFAULT_LANGUAGE = "fi"
LANGUAGE_COOKIE = "tori_lang"
# Plain-language Finnish (selkosuomi). The IANA registry has no subtag for plain language, so
# it is a private-use tag: its primary subtag stays "fi", so screen readers speak it with a
# Finnish voice, hyphenation and spelling treat it as Finnish, validators accept it, and it
# takes the Finnish catalog for the interface.
PLAIN_FINNISH = "fi-x-selko"
# The languages questionnaires and polls can be answered in (TORI_CONTENT_LANGUAGES); the
# interface languages are always among them. `configure_languages` sets them at start-up.
DEFAULT_CONTENT_LANGUAGES: tuple[str, ...] = (
    "fi",
    "sv",
    "en",
    PLAIN_FINNISH,
    "ru",
    "et",
    "ar",
    "so",
    "uk",
    "fa",
    "zh",
)
CONTENT_LANGUAGES: tuple[str, ...] = DEFAULT_CONTENT_LANGUAGES
# The interface of a content language with no catalog (TORI_INTERFACE_FALLBACK): English by
# default, as the language newcomers most often share with the city.
INTERFACE_FALLBACK = "en"
# Each language's own name as its speakers write it, shown in the switchers whatever the
# reader's language is (capitalised as a menu item, as those languages do at the start of a
# line). A language not listed here takes its name in itself from CLDR.
OWN_NAMES: dict[str, str] = {
    "fi": "Suomi",
    "sv": "Svenska",
    "en": "English",
    PLAIN_FINNISH: "Selkosuomi",
    "ru": "Русский",
    "et": "Eesti",
    "ar": "العربية",
    "so": "Soomaali",
    "uk": "Українська",
    "fa": "فارسی",
    "zh": "中文",
}
LANGUAGE_NAMES: dict[str, str] = {}
# Written right to left; any other language CLDR knows as such is added by `configure_languages`.
RTL_LANGUAGES: set[str] = {"ar", "fa", "he", "ur", "ps", "ckb"}

_current_language: ContextVar[str] = ContextVar("tori_language", default=DEFAULT_LANGUAGE)
_content_language: ContextVar[str] = ContextVar("tori_content_language", default=DEFAULT_LANGUAGE)
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


def _own_name(code: str) -> str:
    if code in OWN_NAMES:
        return OWN_NAMES[code]
    try:
        name = Locale.parse(code.replace("-", "_")).get_display_name() or code
    except (ValueError, TypeError, LookupError):
        return code
    return name[:1].upper() + name[1:]


def _direction(code: str) -> str:
    if code.split("-", maxsplit=1)[0] in RTL_LANGUAGES:
        return "rtl"
    try:
        return Locale.parse(code.split("-", maxsplit=1)[0]).text_direction
    except (ValueError, TypeError, LookupError):
        return "ltr"


def configure_languages(content_languages: tuple[str, ...], interface_fallback: str) -> None:
    """Set the content languages and the fallback interface (from the settings, at start-up)."""
    global CONTENT_LANGUAGES, INTERFACE_FALLBACK  # noqa: PLW0603 - set once, before serving
    CONTENT_LANGUAGES = tuple(content_languages)
    INTERFACE_FALLBACK = interface_fallback if interface_fallback in LANGUAGES else "en"
    LANGUAGE_NAMES.clear()
    LANGUAGE_NAMES.update({code: _own_name(code) for code in CONTENT_LANGUAGES})
    RTL_LANGUAGES.update(
        code.split("-")[0] for code in CONTENT_LANGUAGES if _direction(code) == "rtl"
    )


configure_languages(DEFAULT_CONTENT_LANGUAGES, INTERFACE_FALLBACK)


def content_languages() -> tuple[str, ...]:
    """The content languages as configured at start-up (read through this function: the tuple
    is replaced by `configure_languages`)."""
    return CONTENT_LANGUAGES


def interface_language(language: str) -> str:
    """The catalog that serves `language`: its own, that of its primary subtag (fi-x-selko:
    Finnish), or the fallback interface (English unless TORI_INTERFACE_FALLBACK says fi)."""
    if language in LANGUAGES:
        return language
    primary = language.split("-", maxsplit=1)[0]
    return primary if primary in LANGUAGES else INTERFACE_FALLBACK


def text_direction(language: str) -> str:
    """ "rtl" for Arabic, Persian and the other languages written right to left, else "ltr"."""
    return "rtl" if language.split("-", maxsplit=1)[0] in RTL_LANGUAGES else "ltr"


def set_language(language: str) -> None:
    """The reader's language: a content language; the interface takes the catalog serving it."""
    content = language if language in CONTENT_LANGUAGES else DEFAULT_LANGUAGE
    _content_language.set(content)
    _current_language.set(interface_language(content))


@contextlib.contextmanager
def in_language(language: str) -> Iterator[None]:
    """Translate in `language` within the block (an e-mail in its recipient's language), then
    return to the language before."""
    content = language if language in CONTENT_LANGUAGES else DEFAULT_LANGUAGE
    token = _current_language.set(interface_language(content))
    content_token = _content_language.set(content)
    try:
        yield
    finally:
        _current_language.reset(token)
        _content_language.reset(content_token)


def current_language() -> str:
    """The interface language (one with a catalog): gettext, dates and numbers follow it."""
    return _current_language.get()


def content_language() -> str:
    """The language the reader chose for content: questions, polls, staff-entered texts."""
    return _content_language.get()


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


def month_names_short(language: str | None = None) -> list[str]:
    """January to December, abbreviated as the language writes them standing alone (tammi,
    jan., Jan): column headings of the year view."""
    from babel.dates import get_month_names  # noqa: PLC0415

    names = get_month_names(
        "abbreviated", context="stand-alone", locale=language or current_language()
    )
    return [names[month] for month in range(1, 13)]


def gettext_in(language: str, message: str) -> str:
    """A message in a given language, whatever the reader's: for posters in several languages."""
    translations = _catalogs.get(language)
    return translations.gettext(message) if translations else message


def parse_accept_language(header: str | None) -> list[str]:
    """Content languages from an Accept-Language header, best first."""
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
        # A whole tag the city offers (fi-x-selko), else its primary language.
        chosen = tag if tag in CONTENT_LANGUAGES else primary
        if chosen in CONTENT_LANGUAGES and quality > 0:
            weighted.append((-quality, position, chosen))
    result: list[str] = []
    for _q, _p, language in sorted(weighted):
        if language not in result:
            result.append(language)
    return result


def negotiate_language(
    explicit: str | None, cookie: str | None, accept_language: str | None
) -> str:
    """Explicit choice, then the remembered cookie, then the browser's wish, then Finnish.
    Anything not among the content languages (a typo, a hostile value) is passed over."""
    for candidate in (explicit, cookie):
        if candidate in CONTENT_LANGUAGES:
            return candidate
    preferred = parse_accept_language(accept_language)
    return preferred[0] if preferred else DEFAULT_LANGUAGE


def fallback_order(language: str) -> tuple[str, ...]:
    """The language, then its interface's (Arabic: English; selkosuomi: Finnish), then the rest
    of the interface languages."""
    interface = interface_language(language)
    rest = tuple(code for code in LANGUAGES if code not in (language, interface))
    return (language, interface, *rest) if interface != language else (language, *rest)


def _order(language: str | None, original: str | None) -> tuple[str, ...]:
    """The wanted language, then the text's own (where it is known), then the others."""
    order = fallback_order(language or content_language())
    if original in order and original != order[0]:
        order = (order[0], original, *(code for code in order[1:] if code != original))
    return order


def localized(
    value: Mapping[str, str] | str | None,
    language: str | None = None,
    original: str | None = None,
) -> str:
    """Staff-entered text in the wanted language, falling back to the language it was written
    in (`original`, where known) and then to the others in order."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    for code in _order(language, original):
        text = value.get(code)
        if text:
            return text
    return ""


def localized_language(
    value: Mapping[str, str] | None, language: str | None = None, original: str | None = None
) -> str:
    """Which language `localized` picked, so the page can mark it with `lang`."""
    if not value:
        return language or content_language()
    for code in _order(language, original):
        if value.get(code):
            return code
    return language or content_language()


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
    return FORMAT_LOCALES[interface_language(language or current_language())]


def language_name(code: str, language: str | None = None) -> str:
    """A language's name in the reader's language, as running text writes it: "suomi, ruotsi",
    "finska, svenska", "Finnish, Swedish". The language switcher alone uses LANGUAGE_NAMES."""
    language = language or current_language()
    if code == PLAIN_FINNISH:
        return gettext_in(language, PLAIN_FINNISH_NAME)
    return _names_of_languages(language).get(code, code)


PLAIN_FINNISH_NAME = N_("plain-language Finnish")


@cache
def _names_of_languages(language: str) -> dict[str, str]:
    return dict(Locale.parse(language).languages)


class LanguageFormats:
    """What formatting in one language needs, parsed once: the CLDR locale and every pattern.
    Babel's `format_*` functions parse the locale and the pattern on every call (30-120 us each,
    dozens of times on a page); these apply ready patterns (a few us)."""

    def __init__(self, language: str) -> None:
        self.locale = Locale.parse(format_locale(language))
        self.date = dates.parse_pattern(
            DATE_PATTERNS.get(language, DATE_PATTERNS[DEFAULT_LANGUAGE])
        )
        self.weekday_date = self.locale.date_formats["full"]
        self.time = dates.parse_pattern(TIME_PATTERN)
        skeletons = self.locale.datetime_skeletons
        self.month = skeletons[dates.match_skeleton("yMMMM", skeletons) or "yMMMM"]
        self.datetime_join = DATETIME_JOINS.get(language, DATETIME_JOINS[DEFAULT_LANGUAGE])
        self.euros = numbers.parse_pattern("#,##0\u00a0¤")
        self.percent = numbers.parse_pattern(self.locale.percent_formats[None])
        self.weekday_names = [
            self.locale.days["stand-alone"]["abbreviated"][index] for index in range(7)
        ]
        self._numbers: dict[int, numbers.NumberPattern] = {}

    def number(self, digits: int) -> numbers.NumberPattern:
        pattern = self._numbers.get(digits)
        if pattern is None:
            text = "#,##0" + ("." + "0" * digits if digits else "")
            pattern = self._numbers[digits] = numbers.parse_pattern(text)
        return pattern


_formats: dict[str, LanguageFormats] = {}


# Babel's number patterns work through Decimal (20-60 us a number); pages repeat the same
# amounts and counts, so the written form of recent ones is kept.
@lru_cache(maxsize=4096, typed=True)
def _number(language: str, digits: int, value: float) -> str:
    formats = language_formats(language)
    return formats.number(digits).apply(value, formats.locale)


@lru_cache(maxsize=4096, typed=True)
def _euros(language: str, amount: int) -> str:
    formats = language_formats(language)
    return formats.euros.apply(amount, formats.locale, currency="EUR", currency_digits=False)


def language_formats(language: str | None = None) -> LanguageFormats:
    """The formats of `language` (default: the reader's), built on first use; a content
    language without a catalog is written as its interface language writes it."""
    language = interface_language(language or current_language())
    formats = _formats.get(language)
    if formats is None:
        formats = _formats[language] = LanguageFormats(language)
    return formats


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

    def _day(self, value: dt.date | dt.datetime | str) -> dt.date:
        """A day; also from an ISO date string as stored in JSON ("2026-12-20")."""
        if isinstance(value, str):
            return dt.date.fromisoformat(value)
        return self.local(value).date() if isinstance(value, dt.datetime) else value

    def date(
        self,
        value: dt.date | dt.datetime | str,
        style: str | None = None,
        language: str | None = None,
    ) -> str:
        """20.12.2026 (fi, sv), 20 Dec 2026 (en)."""
        formats = language_formats(language)
        return formats.date.apply(self._day(value), formats.locale)

    def weekday_date(self, value: dt.date | dt.datetime, language: str | None = None) -> str:
        """sunnuntai 20. joulukuuta 2026, söndag 20 december 2026, Sunday, 20 December 2026."""
        formats = language_formats(language)
        return formats.weekday_date.apply(self._day(value), formats.locale)

    def time(self, value: dt.datetime, language: str | None = None) -> str:
        """5.45 and 17.30 in all three languages."""
        formats = language_formats(language)
        return formats.time.apply(self.local(value), formats.locale)

    def datetime(
        self, value: dt.datetime, style: str | None = None, language: str | None = None
    ) -> str:
        """20.12.2026 klo 5.45, 20.12.2026 kl. 5.45, 20 Dec 2026 at 5.45."""
        formats = language_formats(language)
        moment = self.local(value)
        return formats.datetime_join.format(
            date=formats.date.apply(moment.date(), formats.locale),
            time=formats.time.apply(moment, formats.locale),
        )

    def month(self, value: dt.date | str, language: str | None = None) -> str:
        """joulukuu 2026, december 2026, December 2026; also from a "2026-12" key."""
        if isinstance(value, str):
            value = dt.date.fromisoformat(value[:7] + "-01")
        formats = language_formats(language)
        return formats.month.apply(value, formats.locale)

    def number(
        self, value: float | int | None, digits: int = 0, language: str | None = None
    ) -> str:
        """12 345 and 0,6: a no-break space between thousands and a decimal comma."""
        if value is None:
            return "–"
        language = language or current_language()
        if value == 0:  # 0 and -0.0 are one key of the cache but are written "0" and "-0"
            formats = language_formats(language)
            return formats.number(digits).apply(value, formats.locale)
        return _number(language, digits, value)

    def euros(self, amount: int | None, language: str | None = None) -> str:
        """Whole euros: "12 000 €", with no-break spaces, in every language."""
        if amount is None:
            return "–"
        return _euros(language or current_language(), amount)

    def percent(self, share: float, language: str | None = None) -> str:
        """12 % (a no-break space before the sign, as Finland writes it)."""
        formats = language_formats(language)
        return formats.percent.apply(share, formats.locale)

    def weekday_names(self, language: str | None = None) -> list[str]:
        return list(language_formats(language).weekday_names)

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
