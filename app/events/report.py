"""The event's public card after it was held ("you said – we did"): its monitoring figures, what
the features add (the feedback summary, withheld under 5 answers; the ideas gathered there) and
the staff's reply. One service owns the reply's rules and its audit record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import record_action
from app.database import utcnow
from app.errors import DomainError
from app.events.models import Event, EventReply
from app.features import load_features
from app.i18n import LANGUAGES, N_

MAX_REPLY_LENGTH = 4000
REPLY_TOO_LONG = N_("The reply is too long: at most 4 000 characters in each language.")
REPLY_MISSING = N_("Write the reply in Finnish and in Swedish before you publish it.")


@dataclass(frozen=True)
class ReportSection:
    """A part of the card that a feature renders: its template and what it needs."""

    template: str
    context: dict[str, Any]


def held(event: Event) -> bool:
    return event.ends_at <= utcnow()


# Both official languages before a reply goes public.
REQUIRED_LANGUAGES = ("fi", "sv")


def missing_for_publication(text: dict[str, str]) -> list[str]:
    return [language for language in REQUIRED_LANGUAGES if not text.get(language)]


async def reply_of(session: AsyncSession, event_id: int) -> EventReply | None:
    return await session.get(EventReply, event_id)


async def save_reply(
    session: AsyncSession, event: Event, text: dict[str, str], *, publish: bool
) -> EventReply:
    """Store the staff's reply (and publish or unpublish it) with an audit record, in one
    transaction. Finnish and Swedish are required to publish: both are official languages."""
    text = {language: value.strip() for language, value in text.items() if language in LANGUAGES}
    text = {language: value for language, value in text.items() if value}
    if any(len(value) > MAX_REPLY_LENGTH for value in text.values()):
        raise DomainError(REPLY_TOO_LONG)
    if publish and missing_for_publication(text):
        raise DomainError(REPLY_MISSING)
    reply = await reply_of(session, event.id)
    before = None if reply is None else {"text": dict(reply.text), "published": reply.published}
    if reply is None:
        reply = EventReply(event_id=event.id)
        session.add(reply)
    reply.text, reply.published, reply.updated_at = text, publish, utcnow()
    await session.flush()
    await record_action(
        session,
        None,
        "event.reply",
        f"event {event.id}",
        before,
        {"text": text, "published": publish},
    )
    await session.commit()
    return reply


async def report_sections(session: AsyncSession, event: Event, settings) -> list[ReportSection]:
    """What each feature adds to the card, in the features' order."""
    sections = []
    for feature in load_features():
        if feature.event_report:
            sections.extend(await feature.event_report(session, event, settings))
    return sections
