"""The open datasets and their two public formats.

A dataset is a fixed list of columns (stable English names, a type and a description that the
codebook shows in the reader's language) and a function that reads its rows. The core gives the
events per month and area; features add theirs through `Feature.open_data` (the feedback
figures, the poll results, the participatory budgeting results). Every row is an aggregate:
nothing here is about one person, and figures about people's answers follow `app.disclosure`.

The formats are public and versioned (`FORMAT`):
- CSV: UTF-8, comma-separated, a header row of the column names, RFC 4180 quoting, `\\r\\n` line
  ends, an empty field for a missing value, `.` as the decimal mark (for machines; the staff
  exports have the spreadsheet variants);
- JSON: `{"format", "dataset", "title", "licence", "licence_url", "publisher", "generated_at",
  "columns": [{"name", "type", "description"}], "rows": [{column: value}]}`, with `null` for a
  missing value.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.areas.models import Area
from app.events.models import Event
from app.events.registers import event_type_labels
from app.events.services import hours_expression
from app.i18n import LANGUAGES, N_, gettext_in, in_language
from app.spreadsheets import safe_cell

FORMAT = "tori-open-data/1"
LICENCE = "CC-BY-4.0"
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
COLUMN_TYPES = ("string", "integer", "number", "date", "boolean")
# How the codebook names each type for people.
COLUMN_TYPE_NAMES = {
    "string": N_("Text"),
    "integer": N_("Whole number"),
    "number": N_("Number"),
    "date": N_("Date (YYYY-MM-DD)"),
    "boolean": N_("true or false"),
}
# A dataset's name is part of its URL (`/open-data/<name>.csv`): lower-case words and hyphens.
NAME_PATTERN = r"[a-z][a-z0-9-]{1,39}"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str  # a msgid

    def __post_init__(self) -> None:
        if self.type not in COLUMN_TYPES:
            raise ValueError(f"unknown column type {self.type!r}")


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str  # a msgid
    description: str  # a msgid
    columns: tuple[Column, ...]
    # (session, settings) -> rows, each a tuple in the order of `columns`.
    rows: Callable[[AsyncSession, Any], Awaitable[list[tuple]]]

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    # A resident's proposal title such as "=HYPERLINK(...)" would run as a formula in the
    # spreadsheet that opens the file: prefixed with an apostrophe, as in the staff exports.
    return safe_cell(_cell(value))


def csv_text(dataset: Dataset, rows: Sequence[tuple]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(dataset.column_names)
    for row in rows:
        writer.writerow([_csv_cell(value) for value in row])
    return out.getvalue()


def described(msgid: str) -> dict[str, str]:
    """A codebook text in every interface language."""
    return {language: gettext_in(language, msgid) for language in LANGUAGES}


def json_document(
    dataset: Dataset, rows: Sequence[tuple], *, publisher: str, generated_at: dt.datetime
) -> dict:
    return {
        "format": FORMAT,
        "dataset": dataset.name,
        "title": described(dataset.title),
        "licence": LICENCE,
        "licence_url": LICENCE_URL,
        "publisher": publisher,
        "generated_at": generated_at.isoformat(timespec="seconds"),
        "columns": [
            {"name": column.name, "type": column.type, "description": described(column.description)}
            for column in dataset.columns
        ],
        "rows": [
            {name: _cell(value) for name, value in zip(dataset.column_names, row, strict=True)}
            for row in rows
        ],
    }


def json_text(document: dict) -> str:
    return json.dumps(document, ensure_ascii=False, indent=1, sort_keys=False) + "\n"


# --- The core's dataset: events per month and area --------------------------------------------

AREA_COLUMNS = (
    Column("area_id", "integer", N_("The area's number in Tori; empty for the whole city.")),
    Column("area", "string", N_("The area's name in Finnish; empty for the whole city.")),
)

EVENTS = Dataset(
    name="events",
    title=N_("Resident events per month and area"),
    description=N_(
        "Public resident events by the month they started in and their area: how many, their "
        "hours of activity, and the participants and visitors staff counted."
    ),
    columns=(
        Column(
            "month", "string", N_("The month the events started in, as YYYY-MM (Finnish time).")
        ),
        *AREA_COLUMNS,
        Column("event_type", "string", N_("The type of event (a stable key).")),
        Column(
            "event_type_name",
            "string",
            N_("The type's name in Finnish (also for the types the city added itself)."),
        ),
        Column("events", "integer", N_("Number of public events.")),
        Column("hours", "number", N_("Hours of activity: the events' lengths added up.")),
        Column(
            "events_counted",
            "integer",
            N_("Events whose participants staff have entered; the two sums below cover these."),
        ),
        Column("participants", "integer", N_("Participants counted at the events.")),
        Column("visitors", "integer", N_("Visitors counted at the events (e.g. at a pop-up).")),
    ),
    rows=lambda session, settings: event_rows(session),
)


async def event_rows(session: AsyncSession) -> list[tuple]:
    """Past and planned public events per (month, area, type), the oldest month first."""
    hours = hours_expression(session.bind.dialect.name)
    query = (
        select(
            Event.local_month,
            Event.area_id,
            Area.name,
            Event.event_type,
            func.count(),
            func.sum(hours),
            func.count(Event.participant_count),
            func.sum(Event.participant_count).cast(Integer),
            func.sum(Event.visitor_count).cast(Integer),
        )
        .outerjoin(Area, Area.id == Event.area_id)
        .where(Event.is_public.is_(True))
        .group_by(Event.local_month, Event.area_id, Area.name, Event.event_type)
        .order_by(Event.local_month, Event.area_id.nulls_first(), Event.event_type)
    )
    with in_language("fi"):
        type_names = await event_type_labels(session)
    rows = []
    for (
        month,
        area_id,
        name,
        event_type,
        events,
        hours_sum,
        counted,
        people,
        visitors,
    ) in await session.execute(query):
        rows.append(
            (
                month,
                area_id,
                (name or {}).get("fi") if area_id is not None else None,
                event_type,
                type_names.get(event_type, event_type),
                events,
                round(float(hours_sum or 0), 2),
                counted,
                people,
                visitors,
            )
        )
    return rows


def all_datasets() -> list[Dataset]:
    """The core's datasets, then each feature's, in a stable order."""
    from app.features import load_features  # noqa: PLC0415 - the registry imports this module

    found = [EVENTS]
    for feature in load_features():
        found.extend(feature.open_data)
    return found


def dataset_named(name: str) -> Dataset | None:
    return next((dataset for dataset in all_datasets() if dataset.name == name), None)


def local_now(settings) -> dt.datetime:
    return dt.datetime.now(ZoneInfo(settings.timezone))
