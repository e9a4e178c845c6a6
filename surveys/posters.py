"""Printable posters of a questionnaire or a poll: the QR code large, and the title and the call
to act in every language of the event or poll."""

from __future__ import annotations

from litestar import Request
from litestar.response import Template

from app.events.models import Event
from app.i18n import LANGUAGES, gettext_in
from app.qr import qr_svg


def poster_titles(title: dict[str, str], languages: list[str]) -> list[tuple[str, str]]:
    """The title in each of the poster's languages that has one of its own, each text once."""
    shown: list[tuple[str, str]] = []
    for code in languages:
        text = (title or {}).get(code, "").strip()
        if text and text not in (seen for _code, seen in shown):
            shown.append((code, text))
    if not shown:
        text = next((value for value in (title or {}).values() if value), "")
        code = next((key for key, value in (title or {}).items() if value), languages[0])
        shown.append((code, text))
    return shown


def poster(
    *,
    title: dict[str, str],
    languages: list[str],
    url: str,
    qr_url: str,
    qr_label: str,
    call: str,
    help_text: str,
    size: str | None,
) -> Template:
    return Template(
        template_name="surveys/poster.html",
        context={
            "titles": poster_titles(title, languages),
            "qr_label": qr_label,
            "poster_languages": languages,
            "url": url,
            "qr": qr_svg(qr_url, title=None),
            "size": "a5" if size == "a5" else "a4",
            "poster_texts": {
                code: (gettext_in(code, call), gettext_in(code, help_text)) for code in languages
            },
        },
    )


def event_poster(
    request: Request, event: Event, url: str, *, qr_label: str, call: str, help_text: str
) -> Template:
    """A poster of something of one event (its questionnaire, its pop-up kit): the event's title
    in the event's languages, the QR code of `url`, the size asked for (`?size=a5`)."""
    return poster(
        title=event.title,
        languages=[code for code in LANGUAGES if code in event.languages] or ["fi"],
        url=url,
        qr_url=url,
        qr_label=qr_label,
        call=call,
        help_text=help_text,
        size=request.query_params.get("size"),
    )
