"""Reading the outbox for staff: counts by state and the latest messages."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.mail.messages import RenderedMessage, render
from app.mail.models import OutboxMessage
from app.settings import Settings

SHOWN = 100


@dataclass(frozen=True)
class OutboxOverview:
    counts: dict[str, int]
    messages: list[tuple[OutboxMessage, RenderedMessage | None]]
    # Whole messages are shown only while no SMTP server is configured (development).
    show_bodies: bool


async def outbox_overview(session: AsyncSession, settings: Settings) -> OutboxOverview:
    counts = dict(
        (
            await session.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            )
        ).all()
    )
    show_bodies = not settings.smtp_url and not settings.is_production
    rows = list(
        await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(SHOWN))
    )
    messages = []
    for row in rows:
        try:
            rendered = render(settings, row.template, row.language, row.context)
        except Exception:  # shown as "cannot be rendered" rather than failing the page
            rendered = None
        messages.append((row, rendered))
    return OutboxOverview(counts=counts, messages=messages, show_bodies=show_bodies)
