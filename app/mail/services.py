"""Reading the outbox for staff: counts by state and the latest messages."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.mail.messages import RenderedMessage, render
from app.mail.models import FAILED, PENDING, SENDING, OutboxMessage
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


async def undelivered(
    session: AsyncSession, page: int = 1, per_page: int = 20
) -> tuple[list[OutboxMessage], int]:
    """Messages given up on, or still being retried after a failed attempt, oldest first:
    (one page, total). Staff follow these up by other means (a letter, a call)."""
    condition = or_(
        OutboxMessage.status == FAILED,
        and_(OutboxMessage.status.in_((PENDING, SENDING)), OutboxMessage.attempts > 0),
    )
    total = await session.scalar(select(func.count()).where(condition)) or 0
    rows = await session.scalars(
        select(OutboxMessage)
        .where(condition)
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
        .offset((max(page, 1) - 1) * per_page)
        .limit(per_page)
    )
    return list(rows), total
