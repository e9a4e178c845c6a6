"""Delivering the outbox over SMTP: `tori mail [--loop]`, or a task in each server process.

A batch: claim due rows (app/mail/outbox.py), open one SMTP session, send them one by one, and
after each message the server accepts, mark that row sent under the same claim and commit
before the next message is sent.

"Never twice" here means: a message the SMTP server accepted and whose row was marked sent is
never sent again, by this sender or another, after any crash or restart — the mark is committed
right after the server's 250 reply, and only the holder of the claim can change the row. Two
senders never hold one row (PostgreSQL: FOR UPDATE SKIP LOCKED; a lease is only taken over after
it ran out, and a sender stops using a claim with less than one SMTP timeout of lease left).
The window that remains: if the process dies (or the database is unreachable) between the
server's 250 and that commit — milliseconds — the row is claimed again when its lease ends and
the message is sent a second time, with the same Message-ID header, which lets mail clients and
many servers drop the copy. And if the SMTP connection fails after the server stored a message
but before its 250 reached us, we cannot know it arrived and send it again (SMTP offers no way
to ask); again with the same Message-ID.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

import aiosmtplib
from sqlalchemy.ext.asyncio import async_sessionmaker

from app.database import utcnow
from app.features import load_features
from app.mail import outbox
from app.mail.messages import build_email, mail_domain, render
from app.mail.models import OutboxMessage
from app.mail.smtp import SmtpConnection, parse_smtp_url
from app.settings import Settings

log = logging.getLogger("tori.mail")
BATCH = 20


@dataclass
class Delivery:
    """What one run did: messages accepted by the server, put back for a retry, given up."""

    sent: int = 0
    retried: int = 0
    failed: int = 0

    def add(self, other: Delivery) -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:500]


class _Batch:
    """One claimed batch on one SMTP connection."""

    def __init__(self, session, settings: Settings, token: str, clock, margin) -> None:
        self.session = session
        self.settings = settings
        self.token = token
        self.clock = clock
        self.margin = margin
        self.domain = mail_domain(settings)
        self.done = Delivery()
        self.settled: set[int] = set()

    def has_time(self, message: OutboxMessage) -> bool:
        """Enough of the claim left for one SMTP exchange; otherwise the rest is released."""
        return message.lease_until is not None and self.clock() + self.margin < message.lease_until

    async def send(self, connection: SmtpConnection, message: OutboxMessage) -> None:
        """Send one message; a refusal or a template error settles it here, a broken connection
        is raised to the caller."""
        try:
            rendered = render(self.settings, message.template, message.language, message.context)
            email = build_email(
                self.settings, f"<{message.message_id}@{self.domain}>", message.recipient, rendered
            )
        except Exception as error:  # a template that cannot be rendered: a bug, not retried
            self.settled.add(message.id)
            log.exception("mail %s cannot be rendered", message.id)
            await outbox.mark_failed(
                self.session, message, self.token, self.clock(), _describe(error)
            )
            self.done.failed += 1
            return
        try:
            await connection.send(email)
        except (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPResponseException) as error:
            # The server answered, refusing this message: 5xx for good, 4xx for now.
            self.settled.add(message.id)
            code = getattr(error, "code", None)
            if code is None and isinstance(error, aiosmtplib.SMTPRecipientsRefused):
                code = min(refusal.code for refusal in error.recipients)
            if code is not None and 500 <= code < 600:
                await outbox.mark_failed(
                    self.session, message, self.token, self.clock(), _describe(error)
                )
                self.done.failed += 1
            else:
                await outbox.mark_retry(
                    self.session, message, self.token, self.clock(), _describe(error)
                )
                self.done.retried += 1
            if not connection.client.is_connected:
                raise aiosmtplib.SMTPServerDisconnected("closed after a refusal") from None
            return
        # Accepted (250): marked sent under our claim and committed before the next message.
        self.settled.add(message.id)
        if not await outbox.mark_sent(self.session, message, self.token, self.clock()):
            log.warning("mail %s: sent after its claim was taken over", message.id)
        self.done.sent += 1


async def deliver_batch(
    sessionmaker: async_sessionmaker,
    settings: Settings,
    *,
    clock: Callable[[], dt.datetime] = utcnow,
    batch: int = BATCH,
) -> tuple[int, Delivery]:
    """Claim and send one batch; returns (how many were claimed, what happened)."""
    if not settings.smtp_url:
        return 0, Delivery()
    server = parse_smtp_url(settings.smtp_url, ca_file=settings.smtp_ca_file)
    async with sessionmaker() as session:
        token, messages = await outbox.claim_due(session, clock(), batch)
        if not messages:
            return 0, Delivery()
        work = _Batch(session, settings, token, clock, dt.timedelta(seconds=server.timeout * 2))
        waiting = list(messages)
        try:
            async with SmtpConnection(server) as connection:
                while waiting and work.has_time(waiting[0]):
                    await work.send(connection, waiting.pop(0))
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            # The connection failed: the message being sent and all after it are tried later.
            log.warning("SMTP delivery interrupted: %s", _describe(error))
            unsent = [message for message in messages if message.id not in work.settled]
            for message in unsent:
                await outbox.mark_retry(session, message, token, clock(), _describe(error))
                work.done.retried += 1
            waiting = []
        if waiting:
            await outbox.release(session, waiting, token)
    return len(messages), work.done


async def deliver_due(
    sessionmaker: async_sessionmaker,
    settings: Settings,
    *,
    clock: Callable[[], dt.datetime] = utcnow,
    batch: int = BATCH,
) -> Delivery:
    """Send every message that is due now, batch after batch, until none is left or the server
    stops accepting (the rest wait for their retry)."""
    total = Delivery()
    while True:
        claimed, done = await deliver_batch(sessionmaker, settings, clock=clock, batch=batch)
        total.add(done)
        if claimed == 0 or (done.sent == 0 and done.failed == 0):
            return total


async def write_timed_mail(
    sessionmaker: async_sessionmaker, settings: Settings, now: dt.datetime | None = None
) -> int:
    """The messages that fall due at a time (Feature.timed_mail), written into the outbox."""
    written = 0
    for feature in load_features():
        if feature.timed_mail is not None:
            async with sessionmaker() as session:
                written += await feature.timed_mail(session, settings, now or utcnow())
    return written


async def run_sender(
    sessionmaker: async_sessionmaker, settings: Settings, stop: asyncio.Event
) -> None:
    """Write the messages that fall due at a time and deliver what is due, every
    TORI_MAIL_POLL_SECONDS until `stop` is set."""
    while not stop.is_set():
        try:
            await write_timed_mail(sessionmaker, settings)
            await deliver_due(sessionmaker, settings)
        except Exception:  # the database was away: try again at the next turn
            log.exception("the mail sender's turn failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.mail_poll_seconds)


class SenderTask:
    """The sender inside a server process: started and stopped with the application."""

    def __init__(self, sessionmaker: async_sessionmaker, settings: Settings) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.stop = asyncio.Event()
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        if self.settings.smtp_url and self.settings.mail_sender_in_server:
            self.stop = asyncio.Event()
            self.task = asyncio.create_task(
                run_sender(self.sessionmaker, self.settings, self.stop), name="tori-mail-sender"
            )

    async def close(self) -> None:
        if self.task is not None:
            self.stop.set()
            try:
                await asyncio.wait_for(self.task, timeout=5)
            except TimeoutError:
                self.task.cancel()
            self.task = None
