"""A resident identified strongly (OpenID Connect) sends, edits and withdraws ideas without an
e-mail account (issue #16, item 2), against the real test provider of test_pb_identify: a
server-side session tied to a keyed hash of the provider's subject (never the subject or the
personal identity code), notices only to an address they give and confirm."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy import func, select, text

from app.mail.models import OutboxMessage
from tests.factories import make_area
from tests.voting.factories import make_round
from tests.voting.test_pb_identify import grant, person_at_provider
from voting.identified import identity_hash
from voting.models import Proposal, Resident, ResidentSession
from voting.rounds import ProposalStatus

HETU = "131052-308T"


def form(client, **fields):
    return {"_csrf_token": client.cookies["tori_csrf"], **fields}


async def identify_for_ideas(client, issuer: str, sub: str, next_path: str):
    """The resident presses Identify on the sign-in page, picks their identity at the provider,
    and comes back signed in."""
    page = await client.get(f"/account/sign-in?lang=en&next={next_path}")
    assert page.status_code == 200
    assert "Sign in with strong identification" in page.text
    start = await client.post("/account/identify", data=form(client, next=next_path))
    assert start.status_code == 303, start.text
    assert start.headers["location"].startswith(issuer)
    granted = await grant(start.headers["location"], sub)
    assert granted.status_code == 302
    back = urlsplit(granted.headers["location"])
    assert back.path == "/pb/identified"
    return await client.get(f"{back.path}?{back.query}")


async def ideas_round(db):
    kallio = await make_area(db, "Kallio")
    return await make_round(db, "ideas", {kallio.id: 100_000}), kallio


def idea(client, area, **changes):
    return form(
        client,
        **{
            "language": "fi",
            "title": "Penkkejä puistoon",
            "description": "Kolme penkkiä leikkipaikan viereen.",
            "area": str(area.id),
            "estimated_cost": "3000",
            **changes,
        },
    )


async def test_an_identified_resident_sends_edits_and_withdraws_an_idea_without_an_email_account(
    oidc_client, identity_provider, db
):
    client = oidc_client
    round_, kallio = await ideas_round(db)
    person_at_provider(identity_provider, "person-1", {"hetu": HETU, "name": "Maija Meikäläinen"})
    propose = f"/pb/{round_.slug}/propose"
    refused = await client.get(propose)
    assert refused.status_code == 303
    assert refused.headers["location"].startswith("/account/sign-in")

    back = await identify_for_ideas(client, identity_provider, "person-1", propose)
    assert back.status_code == 303, back.text
    assert back.headers["location"] == propose
    assert "tori_resident" in client.cookies

    page = await client.get(propose)
    assert page.status_code == 200
    assert "Signed in with strong identification" in page.text
    bad = await client.post(propose, data=idea(client, kallio, title=""))
    assert bad.status_code == 400
    assert await db.scalar(select(func.count()).select_from(Proposal)) == 0
    sent = await client.post(propose, data=idea(client, kallio))
    assert sent.status_code == 303, sent.text

    resident = await db.scalar(select(Resident))
    assert resident.email is None
    assert resident.password_hash is None
    assert len(resident.identity_hash) == 64
    proposal = await db.scalar(select(Proposal))
    assert proposal.author_id == resident.id

    # Neither the subject nor the personal identity code nor the name is stored anywhere.
    dump = (
        (await db.execute(text("SELECT row_to_json(r)::text FROM resident_account r")))
        .scalars()
        .all()
    )
    assert dump
    assert not any(secret in row for row in dump for secret in ("person-1", HETU, "Maija"))

    # Their own idea: seen, edited, withdrawn.
    own = await client.get(f"/pb/{round_.slug}/proposals/{proposal.id}?lang=en")
    assert own.status_code == 200
    assert "Change or withdraw your idea" in own.text
    edited = await client.post(
        f"/pb/{round_.slug}/proposals/{proposal.id}/edit",
        data=form(client, language="fi", title="Penkkejä ja pöytä", description="Myös pöytä."),
    )
    assert edited.status_code == 303, edited.text
    await db.refresh(proposal)
    assert proposal.title == {"fi": "Penkkejä ja pöytä"}
    account = await client.get("/account?lang=en")
    assert "Penkkejä ja pöytä" in account.text
    assert "With strong identification" in account.text
    assert "Change your password" not in account.text
    withdrawn = await client.post(
        f"/pb/{round_.slug}/proposals/{proposal.id}/withdraw", data=form(client, confirm="yes")
    )
    assert withdrawn.status_code == 303, withdrawn.text
    await db.refresh(proposal)
    assert proposal.status == ProposalStatus.WITHDRAWN


async def test_the_same_person_gets_the_same_account_and_another_person_another(
    oidc_client, identity_provider, db, settings
):
    client = oidc_client
    round_, _kallio = await ideas_round(db)
    target = f"/pb/{round_.slug}/propose"
    await identify_for_ideas(client, identity_provider, "person-a", target)
    await client.post("/account/sign-out", data=form(client))
    await identify_for_ideas(client, identity_provider, "person-a", target)
    assert await db.scalar(select(func.count()).select_from(Resident)) == 1
    first = await db.scalar(select(Resident))
    assert first.identity_hash == identity_hash(settings.roll_key, identity_provider, "person-a")
    await identify_for_ideas(client, identity_provider, "person-b", target)
    assert await db.scalar(select(func.count()).select_from(Resident)) == 2
    # The previous session of this browser ended when the other person identified.
    assert await db.scalar(select(func.count()).select_from(ResidentSession)) == 1


async def test_sign_out_ends_the_identified_session_on_the_server(
    oidc_client, identity_provider, db
):
    client = oidc_client
    round_, kallio = await ideas_round(db)
    target = f"/pb/{round_.slug}/propose"
    await identify_for_ideas(client, identity_provider, "person-c", target)
    stolen = client.cookies["tori_resident"]
    await client.post("/account/sign-out", data=form(client))
    assert await db.scalar(select(func.count()).select_from(ResidentSession)) == 0
    client.cookies.set("tori_resident", stolen)
    refused = await client.post(target, data=idea(client, kallio))
    assert refused.status_code == 403
    assert await db.scalar(select(func.count()).select_from(Proposal)) == 0


async def test_notices_go_only_to_an_address_the_identified_resident_gave_and_confirmed(
    oidc_client, identity_provider, db
):
    client = oidc_client
    round_, _kallio = await ideas_round(db)
    await identify_for_ideas(client, identity_provider, "person-d", f"/pb/{round_.slug}/propose")
    page = await client.get("/account/email?lang=en")
    assert "You have no e-mail address with us" in page.text
    assert 'name="password"' not in page.text
    bad = await client.post("/account/email", data=form(client, new_email="not an address"))
    assert bad.status_code == 400
    asked = await client.post("/account/email", data=form(client, new_email="maija@example.fi"))
    assert asked.status_code == 200, asked.text
    resident = await db.scalar(select(Resident))
    assert resident.email is None  # not before the link is opened
    mailed = await db.scalar(
        select(OutboxMessage).where(OutboxMessage.recipient == "maija@example.fi")
    )
    link = re.search(r"(/account/email/confirm\?t=\S+)", mailed.context["link"]).group(1)
    opened = await client.get(link)
    assert opened.status_code == 200, opened.text
    await db.refresh(resident)
    assert resident.email == "maija@example.fi"
    assert resident.confirmed_at is not None
    assert resident.password_hash is None
    # No note to an "old address": there was none.
    assert await db.scalar(select(func.count()).select_from(OutboxMessage)) == 1


async def test_an_identified_account_cannot_be_opened_with_an_empty_or_guessed_password(
    oidc_client, identity_provider, db
):
    """An identified resident who gave an address has no password: the e-mail sign-in and the
    forgotten-password link cannot be used to take the account over."""
    client = oidc_client
    round_, _kallio = await ideas_round(db)
    await identify_for_ideas(client, identity_provider, "person-e", f"/pb/{round_.slug}/propose")
    resident = await db.scalar(select(Resident))
    resident.email, resident.confirmed_at = "e@example.fi", resident.created_at
    await db.commit()
    await client.post("/account/sign-out", data=form(client))
    for password in ("", "x" * 12, "None"):
        refused = await client.post(
            "/account/sign-in", data=form(client, email="e@example.fi", password=password)
        )
        assert refused.status_code in (400, 429)
    await client.get("/account/forgot?lang=en")
    asked = await client.post("/account/forgot", data=form(client, email="e@example.fi"))
    assert asked.status_code == 200
    mailed = await db.scalar(select(OutboxMessage).where(OutboxMessage.recipient == "e@example.fi"))
    assert mailed.template == "password_reset_unknown"


async def test_identification_for_ideas_is_refused_when_not_configured(client):
    await client.get("/account/sign-in?lang=en")
    page = await client.get("/account/sign-in")
    assert "Sign in with strong identification" not in page.text
    refused = await client.post("/account/identify", data=form(client, next="/pb"))
    assert refused.status_code in (400, 403)


async def test_the_way_back_goes_only_to_a_path_on_this_site(oidc_client, identity_provider, db):
    back = await identify_for_ideas(
        oidc_client, identity_provider, "person-f", "//evil.example/steal"
    )
    assert back.status_code == 303
    assert back.headers["location"] == "/pb"


async def test_the_pages_let_the_identify_forms_go_on_to_the_provider(
    oidc_client, identity_provider
):
    """Found by the browser journey: `form-action 'self'` made Chromium block the redirect of
    the identify button to the provider, so nobody could identify in a real browser."""
    page = await oidc_client.get("/account/sign-in")
    policy = page.headers["content-security-policy"]
    assert f"form-action 'self' {identity_provider};" in policy


def test_only_an_origin_goes_into_the_policy():
    from app.security import content_security_policy, origin_of

    assert origin_of("https://idp.example.fi/broker/path?x=1") == ("https://idp.example.fi",)
    assert origin_of(None) == ()
    assert origin_of("javascript:alert(1)") == ()
    assert origin_of("https://idp.example.fi';script-src *") == ()
    assert "form-action 'self';" in content_security_policy(())


async def test_the_identified_residents_pages_are_valid_html_in_every_language(
    oidc_client, identity_provider, db, tmp_path
):
    from tests.app.test_html_validity import check_html

    client = oidc_client
    round_, _kallio = await ideas_round(db)
    pages = {}
    for language in ("fi", "sv", "en"):
        await client.get(f"/?lang={language}")
        pages[f"{language}-sign-in"] = (await client.get("/account/sign-in")).text
    await identify_for_ideas(client, identity_provider, "person-h", f"/pb/{round_.slug}/propose")
    for language in ("fi", "sv", "en"):
        await client.get(f"/?lang={language}")
        pages[f"{language}-propose"] = (await client.get(f"/pb/{round_.slug}/propose")).text
        pages[f"{language}-account"] = (await client.get("/account")).text
        pages[f"{language}-email"] = (await client.get("/account/email/")).text
        pages[f"{language}-delete-error"] = (
            await client.post("/account/delete", data=form(client))
        ).text
    assert "Vahvalla tunnistautumisella" in pages["fi-account"]
    assert "Med stark autentisering" in pages["sv-account"]
    files = []
    for number, (label, html) in enumerate(pages.items()):
        assert "<!doctype html>" in html.lower()[:20], label
        path = tmp_path / f"page{number}.html"
        path.write_text(html, encoding="utf-8")
        files.append(path)
    assert check_html(files) == []
    # The confirmation box deletes the account.
    deleted = await client.post("/account/delete", data=form(client, confirm="yes"))
    assert deleted.status_code == 200
    assert await db.scalar(select(func.count()).select_from(Resident)) == 0
