"""Writing messages into the outbox, and the claims a sender takes on them.

`enqueue` only adds a row to the caller's session: the message exists exactly when the caller's
transaction commits (a registration that rolls back leaves no e-mail behind, and a committed one
always has its e-mail). The sender (app/mail/sender.py) claims due rows, sends them and marks
each one sent under the same claim.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.i18n import LANGUAGES
from app.mail.messages import check_template
from app.mail.models import FAILED, PENDING, SENDING, SENT, OutboxMessage

MAX_RECIPIENT_LENGTH = 254
# A claim lasts this long; a sender checks before each message that enough of it is left for
# one SMTP exchange, so a row is taken over only from a sender that stopped (crashed, killed).
LEASE = dt.timedelta(minutes=10)
# Attempts before a message is given up (failed): about six hours of back-off in all.
MAX_ATTEMPTS = 10
FIRST_RETRY = dt.timedelta(minutes=1)
LONGEST_RETRY = dt.timedelta(hours=1)


class BadRecipientError(ValueError):
    """Not an address a message can be sent to (checked forms never give one)."""


def _check_recipient(address: str) -> str:
    address = address.strip()
    local, at, domain = address.rpartition("@")
    if (
        not at
        or not local
        or "." not in domain
        or len(address) > MAX_RECIPIENT_LENGTH
        or not address.isprintable()
        or any(character in address for character in ' <>,;"\\')
    ):
        raise BadRecipientError(address[:80])
    return address


async def enqueue(
    session: AsyncSession, to: str, template: str, language: str, **context: Any
) -> OutboxMessage:
    """Add a message for `to` in `language` (fi, sv or en) to the caller's transaction.

    `template` names mail/<template>.txt and .html; `context` (JSON values: links, names) is
    what they are rendered with. Nothing is sent before the caller commits.
    """
    check_template(template)
    if language not in LANGUAGES:
        language = "fi"
    # Fails here, in the caller's request, rather than later in the sender.
    context = json.loads(json.dumps(context))
    message = OutboxMessage(
        message_id=secrets.token_hex(16),
        recipient=_check_recipient(to),
        template=template,
        language=language,
        context=context,
        status=PENDING,
        attempts=0,
    )
    session.add(message)
    return message


def retry_delay(attempts: int) -> dt.timedelta:
    """1, 2, 4, 8 ... minutes after the attempts so far, at most an hour."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


async def claim_due(
    session: AsyncSession, now: dt.datetime, limit: int
) -> tuple[str, list[OutboxMessage]]:
    """Claim up to `limit` due messages for this sender and commit the claim.

    Due: pending and its time has come, or claimed by a sender whose lease ran out. On
    PostgreSQL the rows are picked `FOR UPDATE SKIP LOCKED`, so two senders never claim the same
    row and neither waits for the other; SQLite has one writer at a time, and the single UPDATE
    is the claim (SQLAlchemy leaves FOR UPDATE out there).
    """
    token = secrets.token_hex(16)
    due = (
        select(OutboxMessage.id)
        .where(
            or_(
                and_(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now),
                and_(OutboxMessage.status == SENDING, OutboxMessage.lease_until < now),
            )
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = await session.scalars(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(due.scalar_subquery()))
        .values(
            status=SENDING,
            claim=token,
            lease_until=now + LEASE,
            attempts=OutboxMessage.attempts + 1,
        )
        .returning(OutboxMessage)
        .execution_options(synchronize_session=False)
    )
    messages = sorted(claimed.all(), key=lambda message: message.id)
    await session.commit()
    return token, messages


async def _settle(session: AsyncSession, message: OutboxMessage, token: str, **values: Any) -> bool:
    """Change a claimed row, only while the claim is still ours; commit at once."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message.id,
            OutboxMessage.claim == token,
            OutboxMessage.status == SENDING,
        )
        .values(claim=None, lease_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return bool(result.rowcount)


async def mark_sent(
    session: AsyncSession, message: OutboxMessage, token: str, now: dt.datetime
) -> bool:
    return await _settle(session, message, token, status=SENT, sent_at=now, last_error=None)


async def mark_failed(
    session: AsyncSession, message: OutboxMessage, token: str, now: dt.datetime, error: str
) -> bool:
    """Given up: the server refused the message for good, or it cannot be rendered."""
    return await _settle(session, message, token, status=FAILED, last_error=error[:500])


async def mark_retry(
    session: AsyncSession, message: OutboxMessage, token: str, now: dt.datetime, error: str
) -> bool:
    """A temporary failure: tried again after a back-off, or given up after the last attempt."""
    if message.attempts >= MAX_ATTEMPTS:
        return await mark_failed(session, message, token, now, error)
    return await _settle(
        session,
        message,
        token,
        status=PENDING,
        next_attempt_at=now + retry_delay(message.attempts),
        last_error=error[:500],
    )


async def release(session: AsyncSession, messages: list[OutboxMessage], token: str) -> None:
    """Give back claimed messages that were not tried (the attempt does not count)."""
    for message in messages:
        await _settle(session, message, token, status=PENDING, attempts=OutboxMessage.attempts - 1)
