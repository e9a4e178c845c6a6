"""Keeping personal data no longer than the privacy notice says: `tori retention`.

Run it once a day (cron or a systemd timer; see the README). The core removes expired staff
sessions, rate-limit counters and old e-mail (sent, or given up, TORI_KEEP_SENT_MAIL_DAYS ago); each feature adds its own rules through `Feature.retention`.
The periods are settings (TORI_KEEP_*), shown on the privacy notice. A run that removes
something leaves a record in the staff audit log with the counts, never the data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import StaffSession
from app.audit import record_action
from app.features import load_features
from app.mail.models import FAILED, SENT, OutboxMessage
from app.ratelimit import RateLimitCounter
from app.settings import Settings


@dataclass(frozen=True)
class Removed:
    """One rule's result: what (in English, for the operator) and how many rows."""

    what: str
    count: int


async def delete_where(session: AsyncSession, model: Any, condition: Any, dry_run: bool) -> int:
    """Delete the rows matching `condition` and say how many (on a dry run, only count them)."""
    if dry_run:
        return await session.scalar(select(func.count()).select_from(model).where(condition)) or 0
    result = await session.execute(delete(model).where(condition))
    return result.rowcount or 0


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day `months` earlier (the month's last day when it is shorter)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    following = dt.date(year + (month == 12), month % 12 + 1, 1)
    return dt.date(year, month, min(day.day, (following - dt.timedelta(days=1)).day))


async def apply_retention(
    session: AsyncSession, settings: Settings, now: dt.datetime, *, dry_run: bool = False
) -> list[Removed]:
    """Apply every rule in one transaction; on a dry run nothing changes."""
    old_mail = now - dt.timedelta(days=settings.keep_sent_mail_days)
    removed = [
        Removed(
            f"e-mail sent over {settings.keep_sent_mail_days} days ago",
            await delete_where(
                session,
                OutboxMessage,
                (OutboxMessage.status == SENT) & (OutboxMessage.sent_at < old_mail),
                dry_run,
            ),
        ),
        Removed(
            f"undeliverable e-mail written over {settings.keep_sent_mail_days} days ago",
            await delete_where(
                session,
                OutboxMessage,
                (OutboxMessage.status == FAILED) & (OutboxMessage.created_at < old_mail),
                dry_run,
            ),
        ),
        Removed(
            "expired staff sessions",
            await delete_where(session, StaffSession, StaffSession.expires_at < now, dry_run),
        ),
        Removed(
            "expired rate-limit counters",
            await delete_where(
                session, RateLimitCounter, RateLimitCounter.expires_at < now, dry_run
            ),
        ),
    ]
    for feature in load_features():
        if feature.retention is not None:
            removed += await feature.retention(session, settings, now, dry_run)
    if dry_run:
        await session.rollback()
        return removed
    counts = {item.what: item.count for item in removed if item.count}
    if counts:
        await record_action(session, None, "retention.apply", "personal data", None, counts)
    await session.commit()
    return removed
