"""Outbound e-mail (app/mail): the outbox, the sender against a real SMTP server in another
process, the drill that takes that server away mid-batch, retention and the staff page."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import pytest
from sqlalchemy import func, select, update

from app.accounts.models import Role
from app.database import utcnow
from app.mail import OutboxMessage, enqueue
from app.mail.models import FAILED, PENDING, SENDING, SENT
from app.mail.outbox import LEASE, BadRecipientError, claim_due
from app.mail.sender import deliver_due
from app.mail.smtp import SmtpUrlError, parse_smtp_url
from app.retention import apply_retention
from tests.factories import signed_in_as
from tests.mailbox import html_part, text_part

LINK = "https://tori.example.fi/account/confirm?t=abc"


@pytest.fixture
def mail_settings(settings, smtp_server):
    return dataclasses.replace(
        settings,
        smtp_url=smtp_server.url,
        mail_from="Espoon kaupunki <osallisuus@espoo.fi>",
        contact_name="Espoon osallisuusyksikkö",
        contact_phone="09 816 21",
    )


async def statuses(db) -> dict[str, int]:
    return dict(
        (
            await db.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            )
        ).all()
    )


def later(minutes: float):
    return lambda: utcnow() + dt.timedelta(minutes=minutes)


async def write(
    db, count: int, language: str = "fi", prefix: str = "asukas"
) -> list[OutboxMessage]:
    messages = [
        await enqueue(
            db, f"{prefix}{n}@example.fi", "account_confirm", language, name=f"N{n}", link=LINK
        )
        for n in range(count)
    ]
    await db.commit()
    return messages


# --- the outbox -----------------------------------------------------------------------------


async def test_a_message_exists_only_when_the_causing_transaction_commits(db):
    await enqueue(db, "a@example.fi", "account_confirm", "fi", name="A", link=LINK)
    await db.rollback()
    assert await db.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    await enqueue(db, "a@example.fi", "account_confirm", "fi", name="A", link=LINK)
    await db.commit()
    assert await db.scalar(select(func.count()).select_from(OutboxMessage)) == 1


@pytest.mark.parametrize(
    "address",
    [
        "",
        "no-at-sign",
        "a@nodot",
        "a@example.fi\r\nBcc: victim@example.fi",
        "a b@example.fi",
        "<a@example.fi>",
        "x" * 250 + "@example.fi",
    ],
)
async def test_an_address_no_one_can_receive_is_refused_at_once(db, address):
    with pytest.raises(BadRecipientError):
        await enqueue(db, address, "account_confirm", "fi", name="A", link=LINK)


async def test_an_unknown_template_or_unserialisable_context_is_refused_at_once(db):
    with pytest.raises(ValueError, match="nonexistent"):
        await enqueue(db, "a@example.fi", "nonexistent", "fi")
    with pytest.raises(ValueError, match=r"\.\./"):
        await enqueue(db, "a@example.fi", "../base", "fi")
    with pytest.raises(TypeError):
        await enqueue(db, "a@example.fi", "account_confirm", "fi", name=object(), link=LINK)


def test_smtp_urls_are_read_with_tls_auth_and_ports():
    plain = parse_smtp_url("smtp://relay.example.fi")
    assert (plain.port, plain.use_tls, plain.start_tls, plain.username) == (25, False, False, None)
    submission = parse_smtp_url("smtp://user%40city:p%3Ass%20w@mail.example.fi?starttls=1")
    assert (submission.port, submission.start_tls) == (587, True)
    assert (submission.username, submission.password) == ("user@city", "p:ss w")
    assert "p:ss" not in repr(submission)
    tls = parse_smtp_url("smtps://u:p@mail.example.fi")
    assert (tls.port, tls.use_tls, tls.start_tls) == (465, True, False)
    for bad in ("http://x", "smtp://", "smtp://h:0x1", "smtp://u@h", "smtp://h?timeout=0"):
        with pytest.raises(SmtpUrlError):
            parse_smtp_url(bad)


# --- sending --------------------------------------------------------------------------------


async def test_messages_arrive_in_the_recipients_language_with_text_html_and_contact(
    db, database, mail_settings, smtp_server
):
    rows = []
    for language in ("fi", "sv", "en"):
        rows.append(
            await enqueue(
                db,
                f"{language}@example.fi",
                "account_confirm",
                language,
                name="<b>Aino</b>",
                link=LINK,
            )
        )
    await db.commit()
    done = await deliver_due(database.sessionmaker, mail_settings)
    assert (done.sent, done.retried, done.failed) == (3, 0, 0)
    received = {message["To"]: message for message in smtp_server.messages()}
    assert set(received) == {"fi@example.fi", "sv@example.fi", "en@example.fi"}
    subjects = {to: message["Subject"] for to, message in received.items()}
    assert subjects == {
        "fi@example.fi": "Vahvista sähköpostiosoitteesi",
        "sv@example.fi": "Bekräfta din e-postadress",
        "en@example.fi": "Confirm your e-mail address",
    }
    finnish = received["fi@example.fi"]
    assert finnish["From"] == "Espoon kaupunki <osallisuus@espoo.fi>"
    assert finnish["Message-ID"] == f"<{rows[0].message_id}@espoo.fi>"
    text, html = text_part(finnish), html_part(finnish)
    # A confirmation goes to an address nobody has confirmed: it names no one (the name is the
    # typist's; tests/app/test_attack_regressions.py).
    assert "Hei," in text
    assert "Aino" not in text
    assert "Aino" not in html
    assert '<html lang="fi">' in html
    for part in (text, html):
        assert LINK.replace("?", "") in part.replace("?", "")
        assert "Espoon osallisuusyksikkö" in part
        assert "09 816 21" in part
    assert "Tack" not in text
    assert "skickades automatiskt" in text_part(received["sv@example.fi"])
    assert await statuses(db) == {SENT: 3}
    # Nothing is sent again by a later run.
    again = await deliver_due(database.sessionmaker, mail_settings, clock=later(24 * 60))
    assert again.sent == 0
    assert len(smtp_server.messages()) == 3


async def test_a_wrong_password_leaves_the_messages_waiting_with_back_off(
    db, database, mail_settings, smtp_server
):
    await write(db, 2)
    wrong = dataclasses.replace(mail_settings, smtp_url=smtp_server.url.replace("s3cret", "wrong"))
    done = await deliver_due(database.sessionmaker, wrong)
    assert (done.sent, done.retried) == (0, 2)
    rows = list(await db.scalars(select(OutboxMessage)))
    assert {row.status for row in rows} == {PENDING}
    assert all(row.next_attempt_at > utcnow() + dt.timedelta(seconds=50) for row in rows)
    assert all(row.last_error for row in rows)
    assert smtp_server.messages() == []
    # Not due yet: nothing is tried before the back-off has passed, even with the right password.
    assert (await deliver_due(database.sessionmaker, mail_settings)).sent == 0
    assert (await deliver_due(database.sessionmaker, mail_settings, clock=later(2))).sent == 2
    assert len(smtp_server.messages()) == 2


async def test_a_refused_recipient_fails_for_good_and_the_others_are_sent(
    db, database, mail_settings, smtp_server
):
    await write(db, 1, prefix="first")
    await write(db, 1, prefix="refused")
    await write(db, 1, prefix="last")
    done = await deliver_due(database.sessionmaker, mail_settings)
    assert (done.sent, done.failed) == (2, 1)
    failed = await db.scalar(select(OutboxMessage).where(OutboxMessage.status == FAILED))
    assert failed.recipient == "refused0@example.fi"
    assert "550" in failed.last_error
    assert sorted(message["To"] for message in smtp_server.messages()) == [
        "first0@example.fi",
        "last0@example.fi",
    ]


async def test_without_a_server_nothing_is_sent_and_the_messages_wait(db, database, settings):
    await write(db, 2)
    done = await deliver_due(database.sessionmaker, settings)
    assert done.sent == 0
    assert await statuses(db) == {PENDING: 2}


async def test_drill_the_smtp_server_dies_mid_batch_and_every_message_arrives_exactly_once(
    db, database, mail_settings, smtp_server
):
    """The server takes a moment for each message; after the third it is killed (SIGKILL) while
    the sender waits for the fourth. After it comes back, every message arrives once."""
    smtp_server.stop()
    smtp_server.delay = 0.3
    smtp_server.start()
    rows = await write(db, 10)
    sending = asyncio.create_task(deliver_due(database.sessionmaker, mail_settings))
    for _ in range(400):
        if len(smtp_server.files()) >= 3:
            break
        await asyncio.sleep(0.02)
    # The third message's 250 is on its way; the fourth is in the server's 0.3 s delay.
    await asyncio.sleep(0.1)
    smtp_server.kill()
    interrupted = await sending
    arrived = len(smtp_server.files())
    assert 3 <= arrived < 10
    assert interrupted.sent == arrived
    assert interrupted.retried == 10 - arrived
    assert await statuses(db) == {SENT: arrived, PENDING: 10 - arrived}
    # While the server is away the sender keeps failing politely, and the rows wait.
    assert (await deliver_due(database.sessionmaker, mail_settings, clock=later(2))).sent == 0
    smtp_server.start()
    finished = await deliver_due(database.sessionmaker, mail_settings, clock=later(10))
    assert finished.sent == 10 - arrived
    received = [message["Message-ID"] for message in smtp_server.messages()]
    assert sorted(received) == sorted(f"<{row.message_id}@espoo.fi>" for row in rows)
    assert await statuses(db) == {SENT: 10}


async def test_two_senders_at_once_never_send_a_message_twice(
    db, database, mail_settings, smtp_server
):
    """FOR UPDATE SKIP LOCKED: two senders with small batches share the work without overlap."""
    rows = await write(db, 30)
    first, second = await asyncio.gather(
        deliver_due(database.sessionmaker, mail_settings, batch=4),
        deliver_due(database.sessionmaker, mail_settings, batch=4),
    )
    assert first.sent + second.sent == 30
    assert first.sent > 0
    assert second.sent > 0
    received = [message["Message-ID"] for message in smtp_server.messages()]
    assert len(received) == 30 == len(set(received))
    assert set(received) == {f"<{row.message_id}@espoo.fi>" for row in rows}


async def test_a_claim_of_a_sender_that_died_is_taken_over_only_after_its_lease(
    db, database, mail_settings, smtp_server
):
    """The honest window: a sender that crashed holding a claim leaves its messages unsent until
    the lease ends; then they are sent (once), with the Message-ID fixed when they were written."""
    [row] = await write(db, 1)
    async with database.sessionmaker() as session:
        _token, claimed = await claim_due(session, utcnow(), 10)
    assert [message.id for message in claimed] == [row.id]
    assert (await deliver_due(database.sessionmaker, mail_settings)).sent == 0
    assert (await deliver_due(database.sessionmaker, mail_settings, clock=later(5))).sent == 0
    taken_over = later(LEASE.total_seconds() / 60 + 1)
    assert (await deliver_due(database.sessionmaker, mail_settings, clock=taken_over)).sent == 1
    [message] = smtp_server.messages()
    assert message["Message-ID"] == f"<{row.message_id}@espoo.fi>"
    row_id = row.id
    db.expire_all()
    assert (await db.get(OutboxMessage, row_id)).attempts == 2


async def test_a_sender_whose_claim_was_taken_over_cannot_mark_or_release_it(db, database):
    from app.mail import outbox

    [row] = await write(db, 1)
    async with database.sessionmaker() as session:
        old_token, [old] = await claim_due(session, utcnow(), 10)
        new_token, [new] = await claim_due(session, utcnow() + LEASE * 2, 10)
        assert old_token != new_token
        assert not await outbox.mark_sent(session, old, old_token, utcnow())
        assert not await outbox.mark_retry(session, old, old_token, utcnow(), "late")
        assert await outbox.mark_sent(session, new, new_token, utcnow())
    row_id = row.id
    db.expire_all()
    assert (await db.get(OutboxMessage, row_id)).status == SENT


async def test_a_message_is_given_up_after_the_last_attempt(db, database, mail_settings):
    from app.mail.outbox import MAX_ATTEMPTS

    await write(db, 1)
    await db.execute(update(OutboxMessage).values(attempts=MAX_ATTEMPTS - 1))
    await db.commit()
    away = dataclasses.replace(mail_settings, smtp_url="smtp://127.0.0.1:9?timeout=2")
    done = await deliver_due(database.sessionmaker, away)
    assert done.retried == 1
    assert await statuses(db) == {FAILED: 1}


# --- retention and the staff page --------------------------------------------------------------


async def test_retention_deletes_mail_sent_or_given_up_long_ago_and_keeps_the_rest(db, settings):
    now = utcnow()
    rows = await write(db, 5)
    old, recent = now - dt.timedelta(days=31), now - dt.timedelta(days=29)
    values = [
        {"status": SENT, "sent_at": old, "created_at": old},
        {"status": SENT, "sent_at": recent, "created_at": old},
        {"status": FAILED, "created_at": old},
        {"status": PENDING, "created_at": old},
        {"status": SENDING, "created_at": old},
    ]
    for row, change in zip(rows, values, strict=True):
        await db.execute(update(OutboxMessage).where(OutboxMessage.id == row.id).values(**change))
    await db.commit()
    removed = await apply_retention(db, settings, now)
    counts = {item.what: item.count for item in removed}
    assert counts["e-mail sent over 30 days ago"] == 1
    assert counts["undeliverable e-mail written over 30 days ago"] == 1
    left = set(await db.scalars(select(OutboxMessage.id)))
    assert left == {rows[1].id, rows[3].id, rows[4].id}


async def test_the_outbox_page_is_for_administrators_and_escapes_what_it_shows(client, db):
    await enqueue(
        db, "aino@example.fi", "password_reset", "en", name="<script>alert(1)</script>", link=LINK
    )
    await db.commit()
    anonymous = await client.get("/staff/mail")
    assert anonymous.status_code in (302, 303)
    await signed_in_as(client, db, Role.STAFF)
    assert (await client.get("/staff/mail")).status_code == 403
    await client.post("/staff/logout", data={"_csrf_token": client.cookies["tori_csrf"]})
    await signed_in_as(client, db, Role.ADMIN)
    page = await client.get("/staff/mail")
    assert page.status_code == 200
    assert "aino@example.fi" in page.text
    assert "A new password for your account" in page.text
    # The whole message is shown (no SMTP server in the tests' settings), escaped.
    assert LINK in page.text
    assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


async def test_on_embedded_sqlite_the_same_claim_sends_each_message_once(
    tmp_path, mail_settings, smtp_server
):
    """SQLite has no FOR UPDATE: the single UPDATE ... RETURNING is the claim there."""
    from app.database import Database, create_engine
    from app.migrate import upgrade_to_head

    url = f"sqlite+aiosqlite:///{tmp_path / 'mail.sqlite3'}"
    engine = create_engine(url)
    async with engine.begin() as connection:
        await upgrade_to_head(connection)
    await engine.dispose()
    database = Database(url)
    try:
        async with database.sessionmaker() as session:
            for n in range(5):
                await enqueue(
                    session, f"s{n}@example.fi", "account_confirm", "sv", name="S", link=LINK
                )
            await session.commit()
            _token, first = await claim_due(session, utcnow(), 3)
            _token, second = await claim_due(session, utcnow(), 10)
        assert len(first) == 3
        assert len(second) == 2
        assert not {m.id for m in first} & {m.id for m in second}
        sqlite_settings = dataclasses.replace(mail_settings, database_url=url)
        later_on = later(LEASE.total_seconds() / 60 + 1)
        done = await deliver_due(database.sessionmaker, sqlite_settings, clock=later_on)
        assert done.sent == 5
        assert (await deliver_due(database.sessionmaker, sqlite_settings, clock=later_on)).sent == 0
    finally:
        await database.dispose()
    received = [message["Message-ID"] for message in smtp_server.messages()]
    assert len(received) == 5 == len(set(received))
    assert {message["Subject"] for message in smtp_server.messages()} == {
        "Bekräfta din e-postadress"
    }


async def test_the_tori_mail_command_sends_what_is_due_and_says_so(db, migrated, smtp_server):
    from tests.app.test_database import run_tori

    await write(db, 3)
    without = await asyncio.to_thread(run_tori, "mail", database_url=migrated, SMTP_URL="")
    assert without.returncode == 2
    assert "SMTP_URL is not set" in without.stderr
    done = await asyncio.to_thread(
        run_tori,
        "mail",
        database_url=migrated,
        SMTP_URL=smtp_server.url,
        TORI_MAIL_FROM="Espoo <osallisuus@espoo.fi>",
    )
    assert done.returncode == 0, done.stderr
    assert "sent 3, to be tried again 0, given up 0" in done.stdout
    assert len(smtp_server.messages()) == 3
    assert await statuses(db) == {SENT: 3}
