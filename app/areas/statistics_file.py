"""Reading a statistics file of the areas' residents: per area and year, the residents by age
band and by mother tongue, the area's urban/rural class and the source of the figures.

The format is documented in docs/area-statistics.md (an example: docs/area-statistics.csv).
Every line is checked before anything is stored: a file with one bad line stores nothing, and
each bad line is reported with its number in the reader's language. No database here: the
caller hands over the areas, and runs this in a worker thread for a large file.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from app.areas.models import AGE_BANDS, MOTHER_TONGUES, SETTLEMENT_CLASSES, SETTLEMENT_CODES, Area
from app.i18n import gettext

MAX_STATISTICS_BYTES = 2 * 1024 * 1024
MAX_STATISTICS_LINES = 20_000
MAX_ERRORS = 50
MAX_RESIDENTS = 10_000_000
MAX_SOURCE_LENGTH = 200
COLUMNS = ("area", "year", "class", *AGE_BANDS, *MOTHER_TONGUES, "source")
# Spaces as thousands separators ("12 345", also the no-break and narrow no-break spaces).
_SPACES = re.compile(r"[ \u00a0\u202f]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class StatisticsRow:
    line: int
    area_id: int
    year: int
    # One of SETTLEMENT_CLASSES, or None when the line leaves the class as it is.
    settlement_class: str | None
    source: str
    by_age: dict[str, int]
    by_tongue: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_age.values())


@dataclass
class StatisticsFile:
    rows: list[StatisticsRow] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)


def area_lookup(areas: list[Area]) -> dict[str, int]:
    """An area by its number, its short code or its name in any language (any case)."""
    lookup: dict[str, int] = {}
    for area in areas:
        for name in area.name.values():
            lookup[name.strip().lower()] = area.id
        lookup[area.slug.lower()] = area.id
        lookup[str(area.id)] = area.id
    return lookup


def settlement_class(text: str) -> str | None:
    """urban, semi_urban or rural; also a code of the seven-class classification (K1–M7)."""
    value = text.strip()
    if value.upper() in SETTLEMENT_CODES:
        return SETTLEMENT_CODES[value.upper()]
    value = value.lower().replace("-", "_")
    return value if value in SETTLEMENT_CLASSES else None


def read_statistics(data: bytes, areas: list[Area]) -> StatisticsFile:
    """The rows of a statistics file, or its errors (then no rows at all)."""
    text, problem = _text_of(data)
    if problem:
        return StatisticsFile(errors=[(0, problem)])
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    found = StatisticsFile()
    positions: dict[str, int] = {}
    seen: dict[tuple[int, int], int] = {}
    classes: dict[int, tuple[str, int]] = {}
    lookup = area_lookup(areas)
    try:
        for record in reader:
            line = reader.line_num
            if len(found.errors) >= MAX_ERRORS:
                break
            if line > MAX_STATISTICS_LINES:
                too_many = gettext("The file has too many lines: at most %(count)s.")
                found.errors.append((line, too_many % {"count": "20\u00a0000"}))
                break
            if not record or all(not cell.strip() for cell in record):
                continue
            if not positions:
                problem = _read_header(record, positions)
                if problem:
                    return StatisticsFile(errors=[(line, problem)])
                continue
            problem, row = _read_row(line, record, positions, lookup)
            problem = problem or _repeated(row, seen, classes)
            if problem:
                found.errors.append((line, problem))
                continue
            found.rows.append(row)
    except csv.Error as error:
        found.errors.append(
            (reader.line_num, gettext("The line is not valid CSV: %(error)s") % {"error": error})
        )
    if not found.rows and not found.errors:
        found.errors.append((0, gettext("The file has no rows.")))
    if found.errors:
        found.rows = []
    return found


def _text_of(data: bytes) -> tuple[str, str | None]:
    if len(data) > MAX_STATISTICS_BYTES:
        return "", gettext("The file is too large.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "", gettext("The file is not UTF-8 text. Save it as CSV UTF-8.")
    if "\x00" in text:
        return "", gettext("The file is not a CSV text file.")
    return text, None


def _repeated(
    row: StatisticsRow | None, seen: dict[tuple[int, int], int], classes: dict[int, tuple[str, int]]
) -> str | None:
    """An area given twice for a year, or with two classes in one file."""
    assert row is not None
    key = (row.area_id, row.year)
    if key in seen:
        return gettext("The same area and year are already on line %(line)d.") % {"line": seen[key]}
    seen[key] = row.line
    if row.settlement_class:
        earlier = classes.setdefault(row.area_id, (row.settlement_class, row.line))
        if earlier[0] != row.settlement_class:
            return gettext(
                "The area's urban/rural class differs from the one on line %(line)d."
            ) % {"line": earlier[1]}
    return None


def _read_header(record: list[str], positions: dict[str, int]) -> str | None:
    names = [cell.strip().lower() for cell in record]
    missing = [name for name in COLUMNS if name not in names]
    if missing:
        return gettext(
            "The first line must name the columns. Missing: %(columns)s. See the format "
            "described on this page."
        ) % {"columns": ", ".join(missing)}
    for name in COLUMNS:
        if names.count(name) > 1:
            return gettext("The column %(column)s is named twice.") % {"column": name}
        positions[name] = names.index(name)
    positions["__width__"] = len(names)
    return None


def _count(text: str) -> int | None:
    value = _SPACES.sub("", text.strip())
    if not value.isascii() or not value.isdecimal() or len(value) > 9:
        return None
    number = int(value)
    return number if number <= MAX_RESIDENTS else None


def _read_row(  # noqa: PLR0911 - one return per kind of bad line
    line: int, record: list[str], positions: dict[str, int], lookup: dict[str, int]
) -> tuple[str | None, StatisticsRow | None]:
    if len(record) != positions["__width__"]:
        return gettext("The line has %(found)d columns; the first line names %(expected)d.") % {
            "found": len(record),
            "expected": positions["__width__"],
        }, None

    def cell(name: str) -> str:
        return record[positions[name]].strip()

    area_id = lookup.get(cell("area").lower())
    if area_id is None:
        return gettext("Unknown area: %(area)s") % {"area": _shown(cell("area"))}, None
    year_text = cell("year")
    year = int(year_text) if year_text.isascii() and year_text.isdecimal() else 0
    if not 1900 <= year <= 2100:
        return gettext("The year must be a year such as 2025."), None
    class_text = cell("class")
    settlement = settlement_class(class_text) if class_text else None
    if class_text and settlement is None:
        return gettext(
            "Unknown urban/rural class: %(value)s. Use urban, semi_urban or rural (or a "
            "code K1–M7)."
        ) % {"value": _shown(class_text)}, None
    counts: dict[str, int] = {}
    for name in (*AGE_BANDS, *MOTHER_TONGUES):
        number = _count(cell(name))
        if number is None:
            return gettext(
                "The column %(column)s must be a whole number of residents from 0 to %(most)s."
            ) % {"column": name, "most": "10\u00a0000\u00a0000"}, None
        counts[name] = number
    by_age = {band: counts[band] for band in AGE_BANDS}
    by_tongue = {tongue: counts[tongue] for tongue in MOTHER_TONGUES}
    if sum(by_age.values()) != sum(by_tongue.values()):
        return gettext(
            "The age bands add up to %(ages)d residents but the mother tongues to %(tongues)d."
        ) % {"ages": sum(by_age.values()), "tongues": sum(by_tongue.values())}, None
    source = cell("source")
    if not source:
        return gettext(
            "Give the source of the figures, such as “Tilastokeskus, Väestörakenne 2025”."
        ), None
    if len(source) > MAX_SOURCE_LENGTH or _CONTROL.search(source):
        return gettext("The source can be at most 200 characters of plain text."), None
    return None, StatisticsRow(line, area_id, year, settlement, source, by_age, by_tongue)


def _shown(text: str) -> str:
    """A cell quoted in an error: at most 60 characters, without control characters."""
    return _CONTROL.sub("", text)[:60]
