"""A resident's forgotten password: the link by e-mail (through the outbox), one-time, expiring,
single-use; the same answer for every address; rate-limited; bad input stores nothing."""

from __future__ import annotations

import asyncio
import re
import time

import httpx
import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import func, select

from app import ratelimit
from app.accounts.passwords import hash_password
from app.database import utcnow
from app.errors import DomainError
from app.mail import OutboxMessage
from app.mail.messages import render
from app.web import create_app
from voting.models import Resident
from voting.password_reset import PER_NETWORK_ADDRESS, ResetLinkError, reset_password
from voting.resident_accounts import REGISTRATIONS_PER_ADDRESS, confirmation_token

OLD = "the old long passphrase"
NEW = "a brand new long passphrase"


def form(client, **fields):
    return {"_csrf_token": client.cookies["tori_csrf"], **fields}


async def make_resident(db, email="aino@example.fi", *, language="sv", confirmed=True) -> Resident:
    resident = Resident(
        email=email,
        display_name="Aino",
        password_hash=await hash_password(OLD),
        session_generation=1,
        language=language,
        confirmed_at=utcnow() if confirmed else None,
    )
    db.add(resident)
    await db.commit()
    return resident


async def outbox(db) -> list[OutboxMessage]:
    return list(await db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def reset_path(message: OutboxMessage) -> str:
    return re.search(r"(/account/reset\?t=\S+)", message.context["link"]).group(1)


async def sign_in(client, email, password):
    return await client.post(
        "/account/sign-in", data=form(client, email=email, password=password, next="/pb")
    )


async def test_the_same_answer_and_the_same_work_whether_or_not_an_account_exists(
    client, db, settings
):
    await make_resident(db)
    await client.get("/account/forgot?lang=en")
    known = await client.post("/account/forgot", data=form(client, email="Aino@Example.fi"))
    unknown = await client.post("/account/forgot", data=form(client, email="nobody@example.fi"))
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace("aino@example.fi", "X").replace("Aino@Example.fi", "X") == (
        unknown.text.replace("nobody@example.fi", "X")
    )
    # Both wrote exactly one message: the link to the account holder (in the account's
    # language, Swedish), a "no account here" note to the other address.
    first, second = await outbox(db)
    assert (first.recipient, first.template, first.language) == (
        "aino@example.fi",
        "password_reset",
        "sv",
    )
    assert (second.recipient, second.template, second.language) == (
        "nobody@example.fi",
        "password_reset_unknown",
        "en",
    )
    assert "/account/reset?t=" not in str(second.context)
    assert render(settings, first.template, first.language, first.context).subject == (
        "Ett nytt lösenord för ditt konto"
    )


async def test_the_link_sets_a_new_password_once_and_signs_out_everywhere(client, db):
    resident = await make_resident(db)
    await client.get("/account/sign-in?lang=en")
    assert (await sign_in(client, resident.email, OLD)).status_code == 303
    old_cookie = client.cookies["tori_resident"]
    await client.post("/account/forgot", data=form(client, email=resident.email))
    [message] = await outbox(db)
    path = reset_path(message)
    token = path.partition("t=")[2]
    page = await client.get(path)
    assert page.status_code == 200
    assert 'name="t"' in page.text
    # The usual mistakes: nothing changes.
    for password, again in (("", ""), ("short", "short"), (NEW, NEW + "x"), ("x" * 300, "x" * 300)):
        refused = await client.post(
            "/account/reset", data=form(client, t=token, password=password, password_again=again)
        )
        assert refused.status_code == 400
    done = await client.post(
        "/account/reset", data=form(client, t=token, password=NEW, password_again=NEW)
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/account/sign-in?done=reset"
    # Single use: the same link is refused, on the page and on the form.
    used = await client.get(path)
    assert used.status_code == 400
    assert "expired or has already been used" in used.text
    again = await client.post(
        "/account/reset", data=form(client, t=token, password=NEW + "2", password_again=NEW + "2")
    )
    assert again.status_code == 400
    # The old session no longer opens the account; the old password no longer signs in.
    client.cookies.set("tori_resident", old_cookie)
    assert (await client.get("/account/")).status_code == 303
    assert (await sign_in(client, resident.email, OLD)).status_code == 400
    assert (await sign_in(client, resident.email, NEW)).status_code == 303


async def test_an_unconfirmed_account_is_confirmed_by_a_reset(client, db):
    resident = await make_resident(db, confirmed=False)
    await client.get("/account/forgot?lang=en")
    await client.post("/account/forgot", data=form(client, email=resident.email))
    [message] = await outbox(db)
    token = reset_path(message).partition("t=")[2]
    await client.post(
        "/account/reset", data=form(client, t=token, password=NEW, password_again=NEW)
    )
    assert (await sign_in(client, resident.email, NEW)).status_code == 303


async def test_an_expired_forged_or_foreign_token_is_refused(client, db, settings, monkeypatch):
    resident = await make_resident(db)
    await client.get("/account/forgot?lang=en")
    real = time.time
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(real()) - 3601)
    await client.post("/account/forgot", data=form(client, email=resident.email))
    monkeypatch.undo()
    [message] = await outbox(db)
    expired = reset_path(message).partition("t=")[2]
    confirm = confirmation_token(settings.secret_key, resident)
    for token in (expired, confirm, "", "forged.token", "ä" * 10, "x" * 5000, expired[:-2] + "AA"):
        page = await client.get("/account/reset", params={"t": token})
        assert page.status_code == 400
        sent = await client.post(
            "/account/reset", data=form(client, t=token, password=NEW, password_again=NEW)
        )
        assert sent.status_code == 400
    assert (await sign_in(client, resident.email, OLD)).status_code == 303


async def test_two_uses_of_one_link_at_the_same_moment_set_one_password(database, db, settings):
    resident = await make_resident(db)
    from voting.password_reset import reset_token

    token = reset_token(settings.secret_key, resident)

    async def use(password):
        async with database.sessionmaker() as session:
            try:
                await reset_password(session, settings.secret_key, token, password)
            except DomainError:
                return False
            return True

    resident_id = resident.id
    results = await asyncio.gather(use(NEW), use(NEW + " other"))
    assert sorted(results) == [False, True]
    db.expire_all()
    stored = await db.get(Resident, resident_id)
    assert stored.session_generation == 2
    with pytest.raises(ResetLinkError):
        await reset_password(db, settings.secret_key, token, NEW)


@pytest.fixture
async def two_clients(settings):
    """Two browsers at different addresses on one application: an attacker's and the victim's."""
    app = create_app(settings)

    def at(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver.local")

    async with at("198.51.100.66") as attacker, at("203.0.113.5") as victim:
        yield attacker, victim
    await app.state.db.dispose()


async def ask_for_link(browser: httpx.AsyncClient, email: str) -> httpx.Response:
    await browser.get("/account/forgot?lang=en")
    return await browser.post(
        "/account/forgot", data={"_csrf_token": browser.cookies["tori_csrf"], "email": email}
    )


def later(monkeypatch, seconds: float) -> None:
    """Move the limits' clock forward."""
    real = ratelimit._now
    monkeypatch.setattr(ratelimit, "_now", lambda: real() + seconds)


async def test_requests_for_someones_address_never_stop_them_resetting(
    two_clients, db, monkeypatch
):
    """Found by attack: three requests for an address made the form answer 429 to its owner for
    an hour, and each refused request extended it, so anyone could keep a resident from
    resetting their password. Now the requests for one address only quieten repeats."""
    attacker, victim = two_clients
    resident = await make_resident(db)
    answers = [(await ask_for_link(attacker, resident.email)).status_code for _ in range(10)]
    # The same neutral answer to every request, and one message, not ten.
    assert answers == [200] * 10
    assert len(await outbox(db)) == 1
    # Within the cooldown the owner gets the same page (the message minutes old works).
    mine = await ask_for_link(victim, resident.email)
    assert mine.status_code == 200
    assert "We sent a message to aino@example.fi." in mine.text
    assert len(await outbox(db)) == 1
    # After the cooldown, from the owner's own device: a new message, however much the
    # attacker went on meanwhile.
    later(monkeypatch, 11 * 60)
    for _ in range(5):
        await ask_for_link(attacker, "someone.else@example.fi")
    mine = await ask_for_link(victim, resident.email)
    assert mine.status_code == 200
    messages = [m for m in await outbox(db) if m.recipient == resident.email]
    assert len(messages) == 2
    # And the link works.
    token = reset_path(messages[-1]).partition("t=")[2]
    await victim.get("/account/reset", params={"t": token})
    done = await victim.post(
        "/account/reset",
        data={
            "_csrf_token": victim.cookies["tori_csrf"],
            "t": token,
            "password": NEW,
            "password_again": NEW,
        },
    )
    assert done.status_code == 303


async def test_the_requester_is_limited_and_refused_requests_do_not_extend_it(
    two_clients, db, monkeypatch
):
    attacker, victim = two_clients
    answers = [
        (await ask_for_link(attacker, f"target{n}@example.fi")).status_code
        for n in range(PER_NETWORK_ADDRESS.count + 5)
    ]
    assert answers == [200] * PER_NETWORK_ADDRESS.count + [429] * 5
    assert len(await outbox(db)) == PER_NETWORK_ADDRESS.count
    refused = await ask_for_link(attacker, "one.more@example.fi")
    assert "Too many requests for a new password" in refused.text
    # Another client is not held back by it.
    assert (await ask_for_link(victim, "target0@example.fi")).status_code == 200
    # Two windows on, the attacker's hammering during the lockout has not extended it.
    later(monkeypatch, 2 * PER_NETWORK_ADDRESS.seconds + 1)
    assert (await ask_for_link(attacker, "later@example.fi")).status_code == 200


@pytest.mark.parametrize(
    "email",
    [
        "",
        "   ",
        "not-an-address",
        "a@b",
        "x" * 300 + "@example.fi",
        "<script>@example.fi",
        "a@example.fi\r\nBcc: b@example.fi",
        "Robert'); DROP TABLE resident_account;--@x.fi",
    ],
)
async def test_bad_addresses_are_refused_and_store_nothing(client, db, email):
    await client.get("/account/forgot?lang=en")
    answer = await client.post("/account/forgot", data=form(client, email=email))
    assert answer.status_code == 400
    assert "<script>@" not in answer.text
    assert await db.scalar(select(func.count()).select_from(OutboxMessage)) == 0


# --- registration: the same answer and work for a registered address, rate-limited --------


def registration(client, email, password="a long enough password 1"):
    return form(client, display_name="Eve", email=email, password=password, password_again=password)


async def test_registering_a_taken_address_tells_its_owner_not_the_visitor(client, db, settings):
    owner = await make_resident(db, language="fi")
    await client.get("/account/register?lang=en")
    taken = await client.post("/account/register", data=registration(client, owner.email))
    fresh = await client.post("/account/register", data=registration(client, "new@example.fi"))
    assert taken.status_code == fresh.status_code == 200
    assert taken.text.replace(owner.email, "X") == fresh.text.replace("new@example.fi", "X")
    note, confirm = await outbox(db)
    assert (note.recipient, note.template, note.language) == (owner.email, "account_exists", "fi")
    assert (confirm.recipient, confirm.template, confirm.language) == (
        "new@example.fi",
        "account_confirm",
        "en",
    )
    assert render(settings, note.template, note.language, note.context).subject == (
        "Sinulla on jo tili"
    )
    # The owner's account is unchanged: the visitor's password does not sign in.
    assert (await sign_in(client, owner.email, "a long enough password 1")).status_code == 400


async def test_registration_is_rate_limited_per_address(client, db):
    await client.get("/account/register?lang=en")
    answers = [
        (
            await client.post("/account/register", data=registration(client, "flood@example.fi"))
        ).status_code
        for _ in range(REGISTRATIONS_PER_ADDRESS.count + 1)
    ]
    assert answers == [200] * REGISTRATIONS_PER_ADDRESS.count + [429]
    # One confirmation message: the repeats came within the address's cooldown.
    assert len(await outbox(db)) == 1


async def test_a_forged_host_header_cannot_point_the_reset_link_elsewhere(settings, db):
    """Found by attack: `Host: evil.example` on the forgot-password form queued a mail whose
    link carried a valid token to the attacker's host. Links now use TORI_SITE_URL."""
    from litestar.testing import AsyncTestClient

    from app.settings import Settings
    from app.web import create_app

    await make_resident(db)
    public = Settings(**{**settings.__dict__, "site_url": "https://osallistu.example.fi"})
    async with AsyncTestClient(app=create_app(public)) as client:
        await client.get("/account/forgot?lang=en")
        sent = await client.post(
            "/account/forgot",
            data=form(client, email="aino@example.fi"),
            headers={"Host": "evil.example"},
        )
    assert sent.status_code == 200
    [message] = await outbox(db)
    assert message.context["link"].startswith("https://osallistu.example.fi/account/reset?t=")
    assert "evil" not in str(message.context)


def test_production_refuses_to_start_without_its_public_address():
    from app.settings import InsecureSettingsError, Settings
    from tests.app.test_settings_and_i18n import GOOD_PRODUCTION as SAFE

    Settings.from_environment(SAFE).check()
    without = {k: v for k, v in SAFE.items() if k != "TORI_SITE_URL"}
    with pytest.raises(InsecureSettingsError, match="TORI_SITE_URL"):
        Settings.from_environment(without).check()
    for bad in ("osallistu.example.fi", "https://x.fi/path", "javascript:alert(1)"):
        with pytest.raises(InsecureSettingsError, match="TORI_SITE_URL"):
            Settings.from_environment({**SAFE, "TORI_SITE_URL": bad})


async def test_a_link_made_for_one_kind_of_account_opens_no_other(client, db, settings):
    """Staff and residents share one reset flow; each kind signs its links for a purpose of its
    own, so a link carrying a resident's id and password fingerprint does nothing on the staff
    form (and the other way round), even where the ids and hashes would match."""
    from app.accounts.models import Role
    from app.accounts.password_reset import STAFF, make_reset_token
    from tests.factories import make_user
    from voting.password_reset import RESIDENT

    resident = await make_resident(db)
    user = await make_user(db, Role.ADMIN)
    secret = settings.secret_key
    await client.get("/account/forgot?lang=en")
    crossed = {
        "/staff/reset": make_reset_token(secret, RESIDENT, user.id, user.password_hash, user.email),
        "/account/reset": make_reset_token(
            secret, STAFF, resident.id, resident.password_hash, resident.email
        ),
    }
    for path, token in crossed.items():
        assert (await client.get(path, params={"t": token})).status_code == 400
    refused = await client.post(
        "/account/reset",
        data=form(client, t=crossed["/account/reset"], password=NEW, password_again=NEW),
    )
    assert refused.status_code == 400
    # The same values signed for the right kind open the page: only the purpose differed.
    own = make_reset_token(secret, RESIDENT, resident.id, resident.password_hash, resident.email)
    assert (await client.get("/account/reset", params={"t": own})).status_code == 200
    own = make_reset_token(secret, STAFF, user.id, user.password_hash, user.email)
    assert (await client.get("/staff/reset", params={"t": own})).status_code == 200
    assert (await sign_in(client, resident.email, OLD)).status_code == 303
