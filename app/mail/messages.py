"""What a message says: its templates, rendered in the recipient's language.

Each kind of message is a pair of templates, `mail/<name>.txt` and `mail/<name>.html`, in the
core's or a feature's template directory. The text template's `subject` block is the subject.
Both extend `mail/base.*`, which adds the city's contact details. Messages are rendered when
they are sent (and on /staff/mail), from the template name, language and context the outbox row
keeps, so every attempt sends the same words.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from dataclasses import dataclass
from email.message import EmailMessage
from functools import cache
from typing import Any

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    select_autoescape,
)

from app import PROJECT_ROOT
from app.features import template_directories
from app.i18n import LANGUAGES, Formatter, gettext, in_language, localized, ngettext, pgettext
from app.settings import Settings

MAIL_TEMPLATES = PROJECT_ROOT / "app" / "mail" / "templates"
_NAME = re.compile(r"[a-z][a-z0-9_]{0,59}")


class UnknownTemplateError(ValueError):
    """enqueue() was given a template that does not exist (a programming error)."""


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str
    # The address that turns such messages off (the context's `unsubscribe_url`), if any: shown
    # at the foot of the message and given in the List-Unsubscribe headers.
    unsubscribe: str | None = None


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader([str(MAIL_TEMPLATES), *map(str, template_directories())]),
        # HTML parts are escaped; the plain-text part is not HTML and is not escaped.
        autoescape=select_autoescape(["html"], default_for_string=False, default=False),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.install_gettext_callables(gettext, ngettext, newstyle=True, pgettext=pgettext)
    return environment


def check_template(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise UnknownTemplateError(name)
    try:
        _environment().get_template(f"mail/{name}.txt")
        _environment().get_template(f"mail/{name}.html")
    except TemplateNotFound:
        raise UnknownTemplateError(name) from None


def render(
    settings: Settings, template: str, language: str, context: dict[str, Any]
) -> RenderedMessage:
    check_template(template)
    formatter = Formatter(settings.timezone)
    values = {
        **context,
        "language": language if language in LANGUAGES else "fi",
        "contact_name": settings.contact_name,
        "contact_email": settings.contact_email,
        "contact_phone": settings.contact_phone,
        "unsubscribe_url": context.get("unsubscribe_url"),
        # Texts per language (titles, reasons) in the recipient's, else a fallback; moments kept
        # as ISO 8601 text in the recipient's way and time zone; sums in euros.
        "loc": localized,
        "format_moment": lambda text: formatter.datetime(dt.datetime.fromisoformat(text)),
        "format_euros": formatter.euros,
        # A day kept as ISO 8601 text ("2027-03-15"), and a share (0.4) as per cent.
        "format_date": formatter.date,
        "format_percent": formatter.percent,
    }
    environment = _environment()
    with in_language(language):
        text_template = environment.get_template(f"mail/{template}.txt")
        subject = "".join(
            text_template.blocks["subject"](text_template.new_context(values))
        ).strip()
        text = text_template.render(values)
        html = environment.get_template(f"mail/{template}.html").render(
            {**values, "subject": subject}
        )
    # A subject is one line: a newline there would start a header of the recipient's choosing.
    subject = " ".join(subject.split())
    return RenderedMessage(
        subject=subject, text=text, html=html, unsubscribe=values["unsubscribe_url"] or None
    )


def mail_domain(settings: Settings) -> str:
    address = email.utils.parseaddr(settings.mail_from)[1]
    return address.rpartition("@")[2] or "tori.invalid"


def build_email(
    settings: Settings, message_id: str, recipient: str, rendered: RenderedMessage
) -> EmailMessage:
    message = EmailMessage()
    message["Message-ID"] = message_id
    message["From"] = settings.mail_from
    message["To"] = recipient
    message["Subject"] = rendered.subject
    message["Date"] = email.utils.formatdate(localtime=False, usegmt=True)
    # Automatic messages: no out-of-office replies back to the sender address.
    message["Auto-Submitted"] = "auto-generated"
    if rendered.unsubscribe:
        # RFC 2369 and RFC 8058: mail clients offer "unsubscribe", and a POST of
        # "List-Unsubscribe=One-Click" to the address turns the messages off without a page.
        message["List-Unsubscribe"] = f"<{rendered.unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message
