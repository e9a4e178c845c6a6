"""An attack on the mail forms' per-recipient limit (issue #18): one client, or several, taking
every form that mails an address the requester types in (registration, a new confirmation link,
a resident's and a staff member's forgotten password, an e-mail change) in turn, for many
addresses, over two simulated hours. Each form had a cooldown of its own, so together they let
~36 messages an hour reach one address; now one counter per recipient is shared by every form.
What each address received is read from the test SMTP server."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest

from app import ratelimit
from app.accounts.password_reset import RECIPIENT_MAILS
from app.mail.sender import deliver_due
from app.web import create_app
from tests.factories import make_user
from tests.voting.test_password_reset import OLD, make_resident

KNOWN = "known@example.fi"  # a confirmed resident
WAITING = "waiting@example.fi"  # a resident who has not confirmed yet
STAFF = "staff.member@example.fi"
RECIPIENTS = [KNOWN, WAITING, STAFF, "nobody@example.fi"]
CLIENTS = ["198.51.100.7", "203.0.113.9", "192.0.2.44", "2001:db8:7::1"]


@pytest.fixture
async def clients(settings) -> AsyncIterator[list[httpx.AsyncClient]]:
    app = create_app(settings)
    opened = [
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=(address, 40000)),
            base_url="http://testserver.local",
        )
        for address in CLIENTS
    ]
    yield opened
    for client in opened:
        await client.aclose()
    await app.state.db.dispose()


async def token(client: httpx.AsyncClient, path: str) -> str:
    assert (await client.get(f"{path}?lang=en")).status_code == 200
    return client.cookies["tori_csrf"]


async def send_every_form(client: httpx.AsyncClient, email: str) -> list[int]:
    """Every form that mails a typed address, once, for `email`."""
    answers = []
    csrf = await token(client, "/account/register")
    answers.append(
        (
            await client.post(
                "/account/register",
                data={
                    "_csrf_token": csrf,
                    "display_name": "Joku",
                    "email": email,
                    "password": "a long enough secret",
                    "password_again": "a long enough secret",
                },
            )
        ).status_code
    )
    for path in ("/account/confirm/again", "/account/forgot", "/staff/forgot"):
        csrf = await token(client, path)
        answers.append(
            (await client.post(path, data={"_csrf_token": csrf, "email": email})).status_code
        )
    return answers


async def change_address_to(client: httpx.AsyncClient, email: str) -> int:
    csrf = await token(client, "/account/email/")
    response = await client.post(
        "/account/email/", data={"_csrf_token": csrf, "new_email": email, "password": OLD}
    )
    return response.status_code


async def sign_in(client: httpx.AsyncClient, email: str) -> None:
    csrf = await token(client, "/account/sign-in")
    signed = await client.post(
        "/account/sign-in", data={"_csrf_token": csrf, "email": email, "password": OLD}
    )
    assert signed.status_code == 303, signed.text


async def test_every_mail_form_together_sends_at_most_the_limit_to_one_address_an_hour(
    clients, db, database, settings, smtp_server, monkeypatch
):
    await make_resident(db, KNOWN, language="fi")
    await make_resident(db, WAITING, language="fi", confirmed=False)
    await make_user(db, email=STAFF)
    # The attacker's own account, whose address change mails the address they type.
    await make_resident(db, "attacker@example.fi", language="fi")
    changer = clients[0]
    await sign_in(changer, "attacker@example.fi")

    # The limits' clock, moved on by the test: two hours from the start of a clock hour.
    start = math.ceil(ratelimit._now() / 3600) * 3600 + 3600
    now = [float(start)]
    monkeypatch.setattr(ratelimit, "_now", lambda: now[0])
    mail_settings = dataclasses.replace(settings, smtp_url=smtp_server.url)

    answers: Counter[int] = Counter()
    received: list[Counter[str]] = []
    for _hour in range(2):
        before = Counter(message["To"] for message in smtp_server.messages())
        for minute in range(0, 60, 10):
            now[0] = start + _hour * 3600 + minute * 60
            for number, email in enumerate(RECIPIENTS):
                client = clients[(minute + number) % len(clients)]
                answers.update(await send_every_form(client, email))
                answers[await change_address_to(changer, email)] += 1
        await deliver_due(database.sessionmaker, mail_settings)
        after = Counter(message["To"] for message in smtp_server.messages())
        received.append(after - before)

    # Every answer was the neutral page or the requester's own limit: never a 500, and never a
    # refusal that tells one address from another.
    assert set(answers) <= {200, 429}, answers
    assert answers[200] > 0
    # Each address got mail (the forms work), and in each clock hour no more than the limit,
    # where the forms' own cooldowns together had let 6 requests x 5 forms through.
    assert all(received[0][email] >= 1 for email in RECIPIENTS), received
    for hour, counts in enumerate(received):
        assert set(counts) <= set(RECIPIENTS), counts
        for email in RECIPIENTS:
            assert counts[email] <= RECIPIENT_MAILS.count, (hour, email, counts)
