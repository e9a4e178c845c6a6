"""Attacks on resident sessions, which live on the server: the cookie holds a random token and the
database only its hash. A copied cookie must stop working at sign-out, at "sign out on every
device" from another browser, at a password change and at a password reset; a forged or guessed
token opens nothing; and whoever reads the session table cannot present a session from it."""

from __future__ import annotations

import datetime as dt
import secrets
from urllib.parse import urlsplit

from sqlalchemy import func, select, text, update

from app.accounts.passwords import hash_password, verify_password
from app.database import utcnow
from app.mail import OutboxMessage
from app.signing import sign
from tests.conftest import TEST_SECRET, spellings
from voting.models import Resident, ResidentSession
from voting.password_reset import reset_token
from voting.resident_accounts import SESSION_SECONDS

PASSWORD = "the old long passphrase"
NEW = "a brand new long passphrase"
COOKIE = "tori_resident"


def form(client, **fields):
    return {"_csrf_token": client.cookies["tori_csrf"], **fields}


async def make_resident(db, email="aino@example.fi") -> Resident:
    resident = Resident(
        email=email,
        display_name="Aino",
        password_hash=await hash_password(PASSWORD),
        language="en",
        confirmed_at=utcnow(),
    )
    db.add(resident)
    await db.commit()
    return resident


async def sign_in(client, email="aino@example.fi", password=PASSWORD) -> str:
    """Sign in as a new browser would, and return the session cookie it got."""
    client.cookies.delete(COOKIE)
    await client.get("/account/sign-in?lang=en")
    answer = await client.post(
        "/account/sign-in", data=form(client, email=email, password=password, next="/account")
    )
    assert answer.status_code == 303, answer.text
    return client.cookies[COOKIE]


async def opens_account(client, cookie: str) -> bool:
    """Whether a browser holding only this cookie gets the account page."""
    client.cookies.delete(COOKIE)
    client.cookies.set(COOKIE, cookie)
    page = await client.get("/account/")
    assert page.status_code in (200, 303)
    return page.status_code == 200 and "Your account" in page.text


async def session_rows(db) -> int:
    return await db.scalar(select(func.count()).select_from(ResidentSession))


async def test_a_copied_cookie_opens_nothing_after_sign_out(client, db):
    await make_resident(db)
    cookie = await sign_in(client)
    assert await opens_account(client, cookie)
    signed_out = await client.post("/account/sign-out", data=form(client))
    assert signed_out.status_code == 303
    assert f"{COOKIE}=" in signed_out.headers["set-cookie"]
    # The thief's copy: the same value, sent again.
    assert not await opens_account(client, cookie)
    assert await session_rows(db) == 0


async def test_sign_out_on_every_device_ends_the_other_browsers_sessions(client, db):
    await make_resident(db)
    phone = await sign_in(client)
    laptop = await sign_in(client)
    stolen = await sign_in(client)
    assert phone != laptop != stolen
    assert await session_rows(db) == 3
    # From the laptop: every session ends, the laptop's, the phone's and the stolen copy's.
    assert await opens_account(client, laptop)
    done = await client.post("/account/sign-out-everywhere", data=form(client))
    assert done.status_code == 303
    assert done.headers["location"] == "/account/sign-in?done=signed-out"
    for cookie in (phone, laptop, stolen):
        assert not await opens_account(client, cookie)
    assert await session_rows(db) == 0
    client.cookies.delete(COOKIE)
    page = await client.get("/account/sign-in?done=signed-out")
    assert "You are signed out on every device." in page.text
    # Without a session (or without the form token) the button does nothing.
    other = await make_resident(db, "other@example.fi")
    kept = await sign_in(client, other.email)
    client.cookies.delete(COOKIE)
    refused = await client.post("/account/sign-out-everywhere", data=form(client))
    assert refused.status_code == 403
    assert await opens_account(client, kept)
    forged = await client.post("/account/sign-out-everywhere", data={})
    assert forged.status_code == 403
    assert await opens_account(client, kept)


async def test_a_password_change_ends_every_other_session_and_keeps_this_one(client, db):
    resident = await make_resident(db)
    other_browser = await sign_in(client)
    here = await sign_in(client)
    assert await opens_account(client, here)
    changed = await client.post(
        "/account/password",
        data=form(client, current_password=PASSWORD, new_password=NEW, new_password_again=NEW),
    )
    assert changed.status_code == 303
    assert changed.headers["location"] == "/account/?done=password"
    # This browser got a new session; the old cookie of this browser and the other's are dead.
    renewed = changed.cookies[COOKIE]
    assert renewed not in (here, other_browser)
    assert await opens_account(client, renewed)
    page = await client.get("/account/?done=password")
    assert "Your new password is saved. Other devices were signed out." in page.text
    assert not await opens_account(client, other_browser)
    assert not await opens_account(client, here)
    assert await opens_account(client, renewed)
    assert await session_rows(db) == 1
    resident_id = resident.id
    db.expire_all()
    stored = await db.get(Resident, resident_id)
    assert await verify_password(stored.password_hash, NEW)


async def test_a_refused_password_change_changes_nothing_and_ends_no_session(client, db):
    resident = await make_resident(db)
    other_browser = await sign_in(client)
    here = await sign_in(client)
    assert await opens_account(client, here)
    for current, new, again, message in (
        ("", NEW, NEW, "This field is required."),
        (PASSWORD, "", "", "This field is required."),
        ("a wrong current password", NEW, NEW, "The password is wrong."),
        (PASSWORD, "short", "short", "at least 12 characters"),
        (PASSWORD, NEW, NEW + "x", "The passwords do not match."),
        (PASSWORD, PASSWORD, PASSWORD, "differs from the current one"),
        (PASSWORD, "x" * 300, "x" * 300, "at most 256 characters"),
        ("x" * 300, NEW, NEW, "The password is wrong."),
        (PASSWORD, "<script>alert(1)</script>", "", "The passwords do not match."),
    ):
        refused = await client.post(
            "/account/password",
            data=form(client, current_password=current, new_password=new, new_password_again=again),
        )
        assert refused.status_code == 400, (current, new)
        assert message in refused.text
        assert "<script>alert(1)" not in refused.text
    forged = await client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": NEW, "new_password_again": NEW},
    )
    assert forged.status_code == 403
    assert await opens_account(client, other_browser)
    assert await opens_account(client, here)
    resident_id = resident.id
    db.expire_all()
    stored = await db.get(Resident, resident_id)
    assert await verify_password(stored.password_hash, PASSWORD)


async def test_a_password_reset_ends_every_session(client, db, settings):
    resident = await make_resident(db)
    phone = await sign_in(client)
    laptop = await sign_in(client)
    client.cookies.delete(COOKIE)
    token = reset_token(settings.secret_key, resident)
    await client.get("/account/reset?lang=en", params={"t": token})
    done = await client.post(
        "/account/reset", data=form(client, t=token, password=NEW, password_again=NEW)
    )
    assert done.status_code == 303
    assert not await opens_account(client, phone)
    assert not await opens_account(client, laptop)
    assert await session_rows(db) == 0


async def test_a_forged_or_guessed_session_token_opens_nothing(client, db):
    resident = await make_resident(db)
    genuine = await sign_in(client)
    assert await opens_account(client, genuine)
    for forged in (
        secrets.token_urlsafe(32),  # a guess of the right form
        *(other for other in spellings(genuine) if other != genuine),  # the MAC's spare bits
        genuine[:-9] + ("A" if genuine[-9] != "A" else "B") + genuine[-8:],  # one character off
        sign(TEST_SECRET, "resident", f"{resident.id}.1"),  # the former signed cookie
        genuine + genuine,
        "x" * 5000,
        "",
        "%C3%A4" * 20,
        "' OR 1=1 --",
    ):
        assert not await opens_account(client, forged), forged


async def test_the_database_holds_only_hashes_and_a_stored_hash_opens_nothing(client, db):
    await make_resident(db)
    cookies = [await sign_in(client) for _ in range(3)]
    # Every column of every row, as a reader of the database (a backup, a replica) sees them.
    rows = (await db.execute(text("SELECT * FROM resident_session"))).all()
    assert len(rows) == 3
    dump = " ".join(str(value) for row in rows for value in row)
    for cookie in cookies:
        assert cookie not in dump
    # Presenting what the table holds, as the cookie, opens nothing.
    for (stored,) in (await db.execute(text("SELECT token_hash FROM resident_session"))).all():
        assert not await opens_account(client, stored)
    for cookie in cookies:
        assert await opens_account(client, cookie)


async def test_an_expired_session_opens_nothing_and_is_cleared_at_the_next_sign_in(client, db):
    await make_resident(db)
    old = await sign_in(client)
    assert await opens_account(client, old)
    # The row's lifetime is the cookie's: two weeks.
    row = await db.scalar(select(ResidentSession))
    assert row.expires_at - row.created_at == dt.timedelta(seconds=SESSION_SECONDS)
    await db.execute(update(ResidentSession).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    await db.commit()
    assert not await opens_account(client, old)
    await sign_in(client)
    assert await session_rows(db) == 1


async def test_deleting_the_account_deletes_its_sessions(client, db):
    await make_resident(db)
    other_browser = await sign_in(client)
    here = await sign_in(client)
    assert await opens_account(client, here)
    deleted = await client.post("/account/delete", data=form(client, password=PASSWORD))
    assert deleted.status_code == 200
    assert await session_rows(db) == 0
    assert not await opens_account(client, other_browser)


async def test_signing_in_again_replaces_this_browsers_session(client, db):
    await make_resident(db)
    other = await make_resident(db, "other@example.fi")
    first = await sign_in(client)
    # The same browser, still holding the first session, signs in to another account.
    client.cookies.set(COOKIE, first)
    await client.get("/account/sign-in?lang=en")
    answer = await client.post(
        "/account/sign-in",
        data=form(client, email=other.email, password=PASSWORD, next="/account"),
    )
    assert answer.status_code == 303
    second = answer.cookies[COOKIE]
    assert second != first
    assert not await opens_account(client, first)
    assert await opens_account(client, second)
    assert await session_rows(db) == 1


async def test_an_email_change_ends_every_other_session(client, db):
    """Found by attack: changing the address left every other browser signed in. Whoever else
    was signed in must sign in again; the browser that opens the link keeps its session."""
    await make_resident(db)
    elsewhere = await sign_in(client)
    here = await sign_in(client)
    await client.get("/account/email?lang=en")
    asked = await client.post(
        "/account/email", data=form(client, new_email="aino.new@example.fi", password=PASSWORD)
    )
    assert asked.status_code in (200, 303), asked.text
    message = await db.scalar(
        select(OutboxMessage).where(OutboxMessage.recipient == "aino.new@example.fi")
    )
    link = urlsplit(message.context["link"])
    confirmed = await client.get(link.path + "?" + link.query)
    assert confirmed.status_code == 200
    assert "aino.new@example.fi" in confirmed.text
    assert await opens_account(client, here)
    assert not await opens_account(client, elsewhere)
