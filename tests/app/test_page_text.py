"""What people read on every page, in every language (every routed page, tests/app/pages.py):

- dates, times and numbers the way Finland writes them: no US dates ("1/9/27, 5:45 AM"), no
  Sweden's or ISO dates ("2026-12-20 05:45", "2026-06"), no "12,345". Only text is checked, not
  attributes (a date field's value is ISO by the HTML standard) and not `<code>` (hashes, keys);
- words and sentences kept apart: a template block that swallows a newline runs them together
  ("may vote.You sign in", "aulaPeru kioski", "Suur-TapiolaTapiolan kirjasto"). That is checked in
  the text as a browser joins it, with inline elements (links, buttons, inline forms) joined
  without a space."""

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


INLINE = "a|span|strong|em|b|i|code|abbr|time|button|small|label|form|input|kbd|q|cite|mark|data"
RUN_TOGETHER = re.compile(r"[a-zäöå][.!?:;,][A-ZÄÖÅ][a-zäöå]|[a-zäöå]{2,}[A-ZÄÖÅ][a-zäöå]{2,}")
# Words that are written with a capital inside them.
CAPITAL_INSIDE = re.compile(r"JavaScript|PostgreSQL|OpenID")


def joined_text(page: str) -> str:
    """The text as a browser joins it: inline elements give no space, blocks do; text hidden
    from assistive technology (aria-hidden) is left out, since a visible twin stands beside it."""
    page = re.sub(r"<(script|style)\b[^>]*>.*?</\1>", " ", page, flags=re.DOTALL)
    page = re.sub(r"<(\w+)[^>]*aria-hidden=\"true\"[^>]*>.*?</\1>", " ", page, flags=re.DOTALL)
    page = re.sub(rf"</?(?:{INLINE})\b[^>]*>", "", page)
    page = re.sub(r"<[^>]+>", " ", page)
    return CAPITAL_INSIDE.sub(" ", html.unescape(page))


def run_together(text: str) -> list[str]:
    return [
        repr(" ".join(text[max(0, m.start() - 30) : m.end() + 20].split()))
        for m in RUN_TOGETHER.finditer(text)
    ]


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


def test_the_check_finds_the_words_the_issue_found_run_together():
    for page in (
        "<p>12-vuotias.Kirjaudut kirjeessä saamallasi koodilla</p>",
        "<p>at least 12 years old on the day they vote may vote.You sign in</p>",
        '<li>aula<form class="inline-form"><button>Peru kioski aula</button></form></li>',
        "<p><span>Suur-Tapiola</span><span>Tapiolan kirjasto</span></p>",
    ):
        assert run_together(joined_text(page)), page
    assert run_together(joined_text("<p>ilman JavaScriptiä.</p><p>Sivuja voi</p>")) == []


async def test_no_page_has_a_foreign_date_format_or_words_run_together(client, db):
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
    joined: list[str] = []
    texts: dict[str, str] = {}
    async for label, response in every_page(client, db, extra_paths=extra):
        if is_document(response):
            texts[label] = readable_text(response.text)
            found += [f"{label}: {problem}" for problem in foreign_formats(texts[label])]
            joined += [f"{label}: {words}" for words in run_together(joined_text(response.text))]
    assert len(texts) > 100
    assert found == [], "\n".join(sorted(set(found))[:60])
    assert joined == [], "\n".join(sorted(set(joined))[:60])
    # The languages of the event in the reader's language, lower case, as running text has them.
    assert "finska, svenska, engelska" in texts[f"sv /events/{event.id}"]
    assert "suomi, ruotsi, englanti" in texts[f"fi /events/{event.id}"]
    # The participant count and the population are grouped with a no-break space.
    assert (
        "1\xa0234" in texts[f"en /staff/events/{event.id}"]
        or "1\xa0234" in texts["en /staff/events?when=past"]
    )
