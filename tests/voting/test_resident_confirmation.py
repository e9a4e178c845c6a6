"""A resident's confirmation link opened twice or too late, a new link asked for from the
sign-in page, the account link in every page's header, and a form's errors named first (found on
a resident's tour)."""

from __future__ import annotations

import re
import time

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import func, select

from app.mail import OutboxMessage
from tests.voting.test_password_reset import OLD, form, make_resident, outbox, sign_in
from voting.models import Resident
from voting.password_reset import PER_NETWORK_ADDRESS
from voting.resident_accounts import confirmation_token


def confirm_path(message: OutboxMessage) -> str:
    return re.search(r"(/account/confirm\?t=\S+)", message.context["link"]).group(1)


async def open_and_confirm(client, path: str, **params):
    """Open a confirmation link as a person does (a page that asks) and press its button."""
    page = await (client.get(path, params=params) if params else client.get(path))
    if page.status_code != 200 or 'action="/account/confirm"' not in page.text:
        return page
    token = re.search(r'name="t" value="([^"]*)"', page.text).group(1)
    following = re.search(r'name="next" value="([^"]*)"', page.text).group(1)
    return await client.post("/account/confirm", data=form(client, t=token, next=following))


async def test_opening_the_link_confirms_nothing_until_the_button_is_pressed(client, db, settings):
    """A mail gateway that opens every link must not confirm an account that someone registered
    to another person's address (with a password the owner does not know)."""
    resident = await make_resident(db, confirmed=False)
    token = confirmation_token(settings.secret_key, resident)
    for _ in range(3):  # a scanner, a preview, the person
        page = await client.get("/account/confirm", params={"t": token, "lang": "en"})
        assert page.status_code == 200
        assert 'action="/account/confirm"' in page.text
    resident_id = resident.id
    db.expire_all()
    assert (await db.get(Resident, resident_id)).confirmed_at is None
    assert (await sign_in(client, resident.email, OLD)).status_code == 400
    # The button's POST needs the page's form token: a cross-site form confirms nothing.
    forged = await client.post("/account/confirm", data={"t": token, "_csrf_token": "forged"})
    assert forged.status_code == 403
    db.expire_all()
    assert (await db.get(Resident, resident_id)).confirmed_at is None
    done = await open_and_confirm(client, "/account/confirm", t=token, lang="en")
    assert done.status_code == 200
    assert "your e-mail address is confirmed" in done.text
    db.expire_all()
    assert (await db.get(Resident, resident_id)).confirmed_at is not None


async def test_a_link_opened_again_says_the_address_is_already_confirmed(client, db, settings):
    resident = await make_resident(db, confirmed=False)
    token = confirmation_token(settings.secret_key, resident)
    first = await open_and_confirm(client, "/account/confirm", t=token, lang="en")
    assert first.status_code == 200
    assert "your e-mail address is confirmed" in first.text
    again = await client.get("/account/confirm", params={"t": token, "lang": "en"})
    assert again.status_code == 200
    assert "already confirmed" in again.text
    assert "not valid" not in again.text
    assert 'href="/account/sign-in?next=' in again.text
    assert (await sign_in(client, resident.email, OLD)).status_code == 303


async def test_an_old_link_confirms_nothing_and_offers_a_new_one(client, db, settings, monkeypatch):
    resident = await make_resident(db, confirmed=False)
    real = time.time
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(real()) - 4 * 86400)
    old = confirmation_token(settings.secret_key, resident)
    monkeypatch.undo()
    page = await client.get("/account/confirm", params={"t": old, "lang": "en"})
    assert page.status_code == 400
    assert "more than three days old" in page.text
    assert 'href="/account/confirm/again' in page.text
    resident_id = resident.id
    db.expire_all()
    assert (await db.get(Resident, resident_id)).confirmed_at is None
    assert (await sign_in(client, resident.email, OLD)).status_code == 400


@pytest.mark.parametrize("token", ["", "forged", "x" * 5000, "ä.ö", "1.aino@example.fi"])
async def test_a_forged_link_is_called_invalid_and_confirms_nothing(client, db, token):
    resident_id = (await make_resident(db, confirmed=False)).id
    page = await client.get("/account/confirm", params={"t": token, "lang": "en"})
    assert page.status_code == 400
    assert "not valid" in page.text
    db.expire_all()
    assert (await db.get(Resident, resident_id)).confirmed_at is None


async def test_a_link_for_an_address_changed_since_is_invalid(client, db, settings):
    resident = await make_resident(db, confirmed=False)
    token = confirmation_token(settings.secret_key, resident)
    resident.email = "elsewhere@example.fi"
    await db.commit()
    page = await client.get("/account/confirm", params={"t": token, "lang": "en"})
    assert page.status_code == 400


async def test_sign_in_before_confirming_offers_a_new_link_that_works(client, db):
    resident = await make_resident(db, confirmed=False, language="fi")
    await client.get("/account/sign-in?lang=en")
    refused = await sign_in(client, resident.email, OLD)
    assert refused.status_code == 400
    assert "Confirm your e-mail address first" in refused.text
    assert 'action="/account/confirm/again"' in refused.text
    # A wrong password does not offer it: the offer would tell that the account exists.
    wrong = await sign_in(client, resident.email, "a wrong password 123")
    assert 'action="/account/confirm/again"' not in wrong.text
    sent = await client.post(
        "/account/confirm/again", data=form(client, email=resident.email, next="/pb")
    )
    assert sent.status_code == 200
    assert resident.email in sent.text
    [message] = await outbox(db)
    assert (message.recipient, message.template, message.language) == (
        resident.email,
        "account_confirm",
        "fi",
    )
    assert (await open_and_confirm(client, confirm_path(message))).status_code == 200
    assert (await sign_in(client, resident.email, OLD)).status_code == 303


async def test_the_same_answer_for_every_address_and_mail_only_to_an_account(client, db):
    await make_resident(db, "waiting@example.fi", confirmed=False)
    await make_resident(db, "done@example.fi", confirmed=True)
    await client.get("/account/confirm/again?lang=en")
    answers = {
        email: await client.post("/account/confirm/again", data=form(client, email=email))
        for email in ("waiting@example.fi", "done@example.fi", "nobody@example.fi")
    }
    assert {answer.status_code for answer in answers.values()} == {200}
    texts = {answer.text.replace(email, "X") for email, answer in answers.items()}
    assert len(texts) == 1
    sent = [(m.recipient, m.template) for m in await outbox(db)]
    assert sent == [
        ("waiting@example.fi", "account_confirm"),
        ("done@example.fi", "account_exists"),
    ]


async def test_asking_again_has_a_cooldown_and_the_requester_limit(client, db):
    """Asking again for one address sends one message in the cooldown (the same page each
    time, never a refusal for the address's owner), apart from registration's (whose message
    may be the one that did not arrive); the requester's own limit is the mail forms' (429)."""
    resident = await make_resident(db, confirmed=False)
    await client.get("/account/confirm/again?lang=en")

    async def ask(email):
        return (
            await client.post("/account/confirm/again", data=form(client, email=email))
        ).status_code

    assert [await ask(resident.email) for _ in range(4)] == [200] * 4
    assert len(await outbox(db)) == 1
    registering = await client.post(
        "/account/register",
        data=form(
            client,
            display_name="Eve",
            email=resident.email,
            password="a long enough password 1",
            password_again="a long enough password 1",
        ),
    )
    assert registering.status_code == 200
    assert len(await outbox(db)) == 2  # registration's own "you already have an account"
    # Quietened requests are not counted against the requester: 1 so far (registration is
    # counted apart), so the 20th new address is the 21st request counted.
    others = [await ask(f"other{n}@example.fi") for n in range(PER_NETWORK_ADDRESS.count)]
    assert others == [200] * (PER_NETWORK_ADDRESS.count - 1) + [429]


@pytest.mark.parametrize(
    "email", ["", "   ", "not-an-address", "x" * 300 + "@example.fi", "<script>@example.fi"]
)
async def test_bad_addresses_are_refused_and_send_nothing(client, db, email):
    await client.get("/account/confirm/again?lang=en")
    answer = await client.post("/account/confirm/again", data=form(client, email=email))
    assert answer.status_code == 400
    assert "<script>@" not in answer.text
    assert answer.text.count('class="error-summary"') == 1
    assert await db.scalar(select(func.count()).select_from(OutboxMessage)) == 0


async def test_asking_again_needs_the_form_token(client, db):
    resident = await make_resident(db, confirmed=False)
    await client.get("/account/confirm/again?lang=en")
    refused = await client.post("/account/confirm/again", data={"email": resident.email})
    assert refused.status_code == 403
    assert await outbox(db) == []


# --- the header: "Your account" and sign-out for a signed-in resident -----------------------


def header(page_text: str) -> str:
    return page_text.split("<main", 1)[0]


async def test_a_signed_in_resident_sees_the_account_link_and_sign_out_in_every_header(client, db):
    resident = await make_resident(db)
    await client.get("/account/sign-in?lang=en")
    assert 'href="/account"' not in header((await client.get("/?lang=en")).text)
    assert (await sign_in(client, resident.email, OLD)).status_code == 303
    for path in ("/", "/pb", "/privacy", "/account/"):
        top = header((await client.get(path)).text)
        assert '<a class="signed-in" href="/account"' in top, path
        assert 'action="/account/sign-out"' in top, path
        assert "Your account" in top
    out = await client.post("/account/sign-out", data=form(client))
    assert out.status_code == 303
    assert 'href="/account"' not in header((await client.get("/")).text)


async def test_a_forged_or_altered_session_cookie_shows_no_account_link(client, db):
    resident = await make_resident(db)
    await client.get("/account/sign-in?lang=en")
    await sign_in(client, resident.email, OLD)
    genuine = client.cookies["tori_resident"]
    for forged in ("1.1", genuine[:-2] + ("AA" if genuine[-2:] != "AA" else "BB"), "x" * 500):
        client.cookies.set("tori_resident", forged)
        assert 'href="/account"' not in header((await client.get("/privacy")).text)


# --- a form's errors come first: focus on the summary, "Error:" in the title ------------------


@pytest.mark.parametrize(
    ("language", "prefix"), [("fi", "Virhe:"), ("sv", "Fel:"), ("en", "Error:")]
)
async def test_a_page_with_errors_says_so_first_in_its_title(client, db, language, prefix):
    await client.get(f"/account/forgot?lang={language}")
    fine = await client.get("/account/forgot")
    assert not re.search(r"<title>\s*" + prefix, fine.text)
    refused = await client.post("/account/forgot", data=form(client, email="nonsense"))
    assert refused.status_code == 400
    assert re.search(r"<title>" + re.escape(prefix) + " ", refused.text)
    summary = re.search(r'<div class="error-summary"[^>]*>', refused.text).group(0)
    assert 'tabindex="-1"' in summary
    assert "autofocus" in summary
