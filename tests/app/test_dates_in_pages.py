"""Pages write dates, times and numbers the way Finland does, in every language: no US dates
("1/9/27, 5:45 AM"), no Swedish-of-Sweden or ISO dates ("2026-12-20 05:45", "2026-06"), no
"12,345". Every routed page is read (tests/app/pages.py) and only what a person reads is checked:
the text, not attributes (a date field's value is ISO by the HTML standard) and not `<code>`
(hashes, keys)."""

from __future__ import annotations

import datetime as dt
import html
import re

from tests.app.pages import every_page, is_document
from tests.factories import make_area, make_event

FOREIGN_FORMATS = {
    "ISO or Sweden's date": re.compile(r"\b\d{4}-\d{1,2}(?:-\d{1,2})?\b"),
    "US date": re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b"),
    "12-hour clock": re.compile(r"\b\d{1,2}(?:[:.]\d{2})?\s?(?:AM|PM|am|pm|a\.m\.|p\.m\.)(?!\w)"),
    "time with a colon": re.compile(r"\b\d{1,2}:\d{2}\b"),
    "comma between thousands": re.compile(r"\b\d{1,3}(?:,\d{3})+\b"),
}


def readable_text(page: str) -> str:
    """What a person reads: no scripts, styles, code or tags (so no attribute values)."""
    page = re.sub(r"<(script|style|code)\b[^>]*>.*?</\1>", " ", page, flags=re.DOTALL)
    page = re.sub(r"<[^>]+>", " ", page)
    return html.unescape(page)


def foreign_formats(text: str) -> list[str]:
    found = []
    for name, pattern in FOREIGN_FORMATS.items():
        for match in pattern.finditer(text):
            context = text[max(0, match.start() - 40) : match.end() + 20]
            found.append(f"{name}: {' '.join(context.split())!r}")
    return found


def test_the_check_finds_the_formats_the_issue_reported():
    for text in (
        "Open until 1/9/27, 5:45 AM",
        "Öppen till 2026-12-20 05:45",
        "Kuukausi 2026-06",
        "Budget €1,000,000",
    ):
        assert foreign_formats(text), text
    assert foreign_formats("20.12.2026 kl. 5.45 · 20 Dec 2026 at 5.45 · 1\xa0000\xa0000\xa0€") == []


async def test_no_page_writes_a_date_time_or_number_in_a_foreign_format(client, db):
    # A past event in three languages with a four-digit participant count, in an area of
    # 67 814 residents.
    area = await make_area(db, "Leppävaara", population=67_814)
    event = await make_event(
        db, area=area, languages=["fi", "sv", "en"], starts_in=-dt.timedelta(days=2)
    )
    event.participant_count = 1234
    await db.commit()
    extra = [f"/events/{event.id}", f"/staff/events/{event.id}", "/staff/events?when=past"]
    found: list[str] = []
    texts: dict[str, str] = {}
    async for label, response in every_page(client, db, extra_paths=extra):
        if is_document(response):
            texts[label] = readable_text(response.text)
            found += [f"{label}: {problem}" for problem in foreign_formats(texts[label])]
    assert len(texts) > 100
    assert found == [], "\n".join(sorted(set(found))[:60])
    # The languages of the event in the reader's language, lower case, as running text has them.
    assert "finska, svenska, engelska" in texts[f"sv /events/{event.id}"]
    assert "suomi, ruotsi, englanti" in texts[f"fi /events/{event.id}"]
    # The participant count and the population are grouped with a no-break space.
    assert (
        "1\xa0234" in texts[f"en /staff/events/{event.id}"]
        or "1\xa0234" in texts["en /staff/events?when=past"]
    )
