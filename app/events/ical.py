"""iCalendar (RFC 5545) output for the calendar feed; plain text, standard library only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

MAX_LINE_OCTETS = 75


@dataclass(frozen=True)
class FeedEntry:
    """One VEVENT. A whole-day entry (`day`) is written with DATE values, from the day to the
    next (RFC 5545 3.6.1), so calendars show it on that day in any time zone; an entry with no
    end is a moment (DTSTART only)."""

    uid: str
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    summary: str
    description: str
    location: str
    url: str
    updated_at: dt.datetime
    categories: tuple[str, ...] = ()
    day: dt.date | None = None


def escape_text(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """Split a content line into 75-octet pieces, never inside a UTF-8 character."""
    encoded = line.encode("utf-8")
    if len(encoded) <= MAX_LINE_OCTETS:
        return line
    pieces, current, limit = [], b"", MAX_LINE_OCTETS
    for char in line:
        octets = char.encode("utf-8")
        if len(current) + len(octets) > limit:
            pieces.append(current.decode("utf-8"))
            current, limit = b"", MAX_LINE_OCTETS - 1
        current += octets
    pieces.append(current.decode("utf-8"))
    return "\r\n ".join(pieces)


def _utc(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def render_calendar(name: str, entries: Iterable[FeedEntry], *, now: dt.datetime) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Tori//Resident participation//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
    ]
    for entry in entries:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{entry.uid}",
            f"DTSTAMP:{_utc(now)}",
            f"LAST-MODIFIED:{_utc(entry.updated_at)}",
        ]
        if entry.day is not None:
            lines += [
                f"DTSTART;VALUE=DATE:{entry.day:%Y%m%d}",
                f"DTEND;VALUE=DATE:{entry.day + dt.timedelta(days=1):%Y%m%d}",
            ]
        else:
            lines.append(f"DTSTART:{_utc(entry.starts_at)}")
            if entry.ends_at is not None:
                lines.append(f"DTEND:{_utc(entry.ends_at)}")
        lines.append(f"SUMMARY:{escape_text(entry.summary)}")
        if entry.description:
            lines.append(f"DESCRIPTION:{escape_text(entry.description)}")
        if entry.location:
            lines.append(f"LOCATION:{escape_text(entry.location)}")
        if entry.categories:
            lines.append("CATEGORIES:" + ",".join(escape_text(c) for c in entry.categories))
        lines += [f"URL:{entry.url}", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
