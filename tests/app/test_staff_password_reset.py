"""A staff member's forgotten password by e-mail: the same answer for every address, a link that
works once and within the hour, every session ended, the change in the staff audit log."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role, StaffSession, User
from app.accounts.password_reset import PER_NETWORK_ADDRESS
from app.audit import AuditRecord
from app.mail import OutboxMessage
from tests.factories import make_user, sign_in

NEW = "a new staff passphrase 2026"


def form(client, **fields):
    return {"_csrf_token": client.cookies["tori_csrf"], **fields}


async def outbox(db) -> list[OutboxMessage]:
    return list(await db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def test_a_staff_member_resets_the_password_by_the_mailed_link(client, db):
    user = await make_user(db, Role.STAFF)
    user_id, email = user.id, user.email
    await sign_in(client, user)
    assert await db.scalar(select(func.count()).select_from(StaffSession)) == 1
    await client.post("/staff/logout", data=form(client))
    await client.get("/staff/forgot?lang=en")
    known = await client.post("/staff/forgot", data=form(client, email=email.upper()))
    unknown = await client.post("/staff/forgot", data=form(client, email="nobody@example.fi"))
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace(email, "X") == unknown.text.replace("nobody@example.fi", "X")
    link, note = await outbox(db)
    assert (link.recipient, link.template) == (email, "staff_reset")
    assert (note.recipient, note.template) == ("nobody@example.fi", "staff_reset_unknown")
    token = re.search(r"/staff/reset\?t=(\S+)", link.context["link"]).group(1)
    assert (await client.get("/staff/reset", params={"t": token})).status_code == 200
    for password, again in (("", ""), ("short", "short"), (NEW, NEW + "!")):
        bad = await client.post(
            "/staff/reset",
            data=form(client, t=token, new_password=password, new_password_again=again),
        )
        assert bad.status_code == 400
    done = await client.post(
        "/staff/reset", data=form(client, t=token, new_password=NEW, new_password_again=NEW)
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/staff/login?done=reset"
    again = await client.post(
        "/staff/reset", data=form(client, t=token, new_password=NEW, new_password_again=NEW)
    )
    assert again.status_code == 400
    db.expire_all()
    assert await db.scalar(select(func.count()).select_from(StaffSession)) == 0
    assert (await db.get(User, user_id)).must_change_password is False
    actions = list(await db.scalars(select(AuditRecord.action)))
    assert "user.reset_password_by_email" in actions
    await sign_in(client, await db.get(User, user_id), NEW)
    assert (await client.get("/staff")).status_code == 200


async def test_an_inactive_account_gets_no_link(client, db):
    user = await make_user(db, Role.STAFF)
    user.is_active = False
    await db.commit()
    await client.get("/staff/forgot?lang=en")
    await client.post("/staff/forgot", data=form(client, email=user.email))
    [message] = await outbox(db)
    assert message.template == "staff_reset_unknown"


@pytest.mark.parametrize(
    "email", ["", "x", "x" * 300 + "@example.fi", "<b>@example.fi", "a@b.fi\nBcc: c@d.fi"]
)
async def test_bad_addresses_are_refused_and_store_nothing(client, db, email):
    await client.get("/staff/forgot?lang=en")
    answer = await client.post("/staff/forgot", data=form(client, email=email))
    assert answer.status_code == 400
    assert "<b>@" not in answer.text
    assert await outbox(db) == []


@pytest.mark.parametrize("token", ["", "forged", "ä" * 5, "x" * 5000])
async def test_forged_tokens_are_refused(client, db, token):
    await make_user(db, Role.ADMIN)
    await client.get("/staff/forgot?lang=en")
    assert (await client.get("/staff/reset", params={"t": token})).status_code == 400
    sent = await client.post(
        "/staff/reset", data=form(client, t=token, new_password=NEW, new_password_again=NEW)
    )
    assert sent.status_code == 400


async def test_repeated_requests_send_one_message_and_the_requester_is_limited(client, db):
    """Repeats for one address are quietened (the same page, no message), never refused: the
    owner cannot be kept from resetting; the requesting client is limited (429)."""
    user = await make_user(db, Role.STAFF)
    await client.get("/staff/forgot?lang=en")
    answers = [
        (await client.post("/staff/forgot", data=form(client, email=user.email))).status_code
        for _ in range(4)
    ]
    assert answers == [200, 200, 200, 200]
    assert len(await outbox(db)) == 1
    answers = [
        (
            await client.post("/staff/forgot", data=form(client, email=f"x{n}@example.org"))
        ).status_code
        for n in range(PER_NETWORK_ADDRESS.count)
    ]
    # The first request counted too: 19 more are let through.
    assert answers[-2:] == [200, 429]
    assert len(await outbox(db)) == PER_NETWORK_ADDRESS.count
