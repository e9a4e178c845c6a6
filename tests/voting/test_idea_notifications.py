"""Notices to an idea's author (voting/notifications.py), read from a real SMTP server: each event
in the author's language with its reason, written in the transaction of the event; unsubscribing
from the link without signing in (a page that asks for one POST, and RFC 8058's one-click POST),
attacked with forged, altered and foreign tokens; and the account page's choices."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.mail import OutboxMessage
from app.mail.models import PENDING
from app.mail.sender import deliver_due, write_timed_mail
from app.signing import sign
from tests.factories import make_area, signed_in_as
from tests.mailbox import html_part, text_part
from tests.voting.factories import add_proposal, make_round, move_to
from tests.voting.test_password_reset import OLD, make_resident
from tests.voting.test_pb_publication import SEED, a_round, cast_all
from voting import moderation, rounds
from voting.models import Proposal, Resident
from voting.notifications import (
    Kind,
    Notifier,
    announce_ballots,
    read_unsubscribe_token,
    unsubscribe_token,
)
from voting.password_reset import reset_token
from voting.publication import publish
from voting.resident_accounts import RESIDENT_COOKIE, confirmation_token

SITE = "https://osallistu.example.fi"


def form(client, **fields):
    return {"_csrf_token": client.cookies["tori_csrf"], **fields}


@pytest.fixture
def mail_settings(settings, smtp_server):
    return dataclasses.replace(
        settings, smtp_url=smtp_server.url, mail_from="Tori <osallisuus@example.fi>"
    )


@pytest.fixture
def notifier(settings) -> Notifier:
    return Notifier(settings.secret_key, SITE)


async def outbox(db) -> list[OutboxMessage]:
    return list(await db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def sign_in_resident(client, email: str, lang: str = "en") -> None:
    await client.get(f"/account/sign-in?lang={lang}")
    signed = await client.post(
        "/account/sign-in", data=form(client, email=email, password=OLD, next="/pb")
    )
    assert signed.status_code == 303, signed.text


async def authored(db, round_, area, author, title, status="submitted", **options) -> Proposal:
    proposal = await add_proposal(db, round_, area, title, 20_000, status, **options)
    proposal.author_id = author.id
    await db.commit()
    return proposal


def unsubscribe_path(message) -> str:
    """The unsubscribe link of a received message: in the text, the HTML and the header."""
    header = message["List-Unsubscribe"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = re.fullmatch(r"<(\S+)>", header).group(1)
    assert url in text_part(message)
    assert url.replace("&", "&amp;") in html_part(message) or url in html_part(message)
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


# --- every event, in the author's language -------------------------------------------------


async def test_each_event_mails_the_author_in_their_language_with_the_reason(
    client, db, database, mail_settings, smtp_server
):
    """A Swedish-speaking author: the idea received (sent through the form), accepted,
    rejected, merged and hidden (each with the public reason, as staff wrote it in Swedish),
    on the ballot when voting opens, selected at publication, and implementation news."""
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 100_000})
    aino = await make_resident(db, "aino@example.fi", language="sv")
    await sign_in_resident(client, aino.email, lang="fi")  # the pages' language is not hers
    sent = await client.post(
        f"/pb/{round_.slug}/propose",
        data=form(
            client,
            language="sv",
            title="Bänkar längs <strandstigen>",
            description="Fler bänkar.",
            area=str(kallio.id),
            estimated_cost="30 000",
        ),
    )
    assert sent.status_code == 303, sent.text
    benches = await db.scalar(select(Proposal).where(Proposal.author_id == aino.id))
    rejected = await authored(db, round_, kallio, aino, "Ett torn")
    merged = await authored(db, round_, kallio, aino, "Bänkar igen")
    hidden = await authored(db, round_, kallio, aino, "Matti 040 123", moderation="published")
    await move_to(db, round_, "review")

    client.cookies.clear()
    await signed_in_as(client, db, Role.STAFF)
    staff = f"/staff/pb/{round_.id}/proposals"
    answers = [
        await client.post(
            f"{staff}/{benches.id}", data=form(client, action="accept", final_cost="25 000")
        ),
        await client.post(
            f"{staff}/{rejected.id}",
            data=form(
                client,
                action="reject",
                reason_sv="Tornet kostar mer än hela budgeten.",
                reason_fi="Torni maksaa enemmän kuin koko budjetti.",
            ),
        ),
        await client.post(
            f"{staff}/{merged.id}",
            data=form(
                client,
                action="merge",
                merge_into=str(benches.id),
                merge_reason_sv="Samma idé som bänkarna.",
            ),
        ),
        await client.post(
            f"{staff}/{hidden.id}/moderation",
            data=form(client, action="hide", hide_reason_sv="Idén namnger en privatperson."),
        ),
    ]
    assert [answer.status_code for answer in answers] == [303] * 4, [a.text for a in answers]

    done = await deliver_due(database.sessionmaker, mail_settings)
    assert (done.sent, done.failed) == (5, 0)
    received = smtp_server.to("aino@example.fi")
    subjects = [message["Subject"] for message in received]
    assert subjects == [
        "Vi har fått din idé",
        "Din idé godkändes för omröstningen",
        "Din idé kommer inte med i omröstningen",
        "Din idé slogs ihop med ett annat förslag",
        "Din idé doldes av moderatorerna",
    ]
    texts = [text_part(message) for message in received]
    assert "Bänkar längs <strandstigen>" in texts[0]
    assert "&lt;strandstigen&gt;" in html_part(received[0])
    assert "<strandstigen>" not in html_part(received[0])
    assert "25\xa0000\xa0€" in texts[1]
    assert "Tornet kostar mer än hela budgeten." in texts[2]
    assert "Torni" not in texts[2]
    assert "Samma idé som bänkarna." in texts[3]
    assert f"/pb/{round_.slug}/proposals/{benches.id}" in texts[3]
    assert "Idén namnger en privatperson." in texts[4]
    for message in received:
        assert '<html lang="sv">' in html_part(message)
        query = parse_qs(urlsplit(unsubscribe_path(message)).query)
        assert query["lang"] == ["sv"]
        assert read_unsubscribe_token(mail_settings.secret_key, query["t"][0])

    # Voting opens: the author of the idea on the ballot is told, once.
    await move_to(db, round_, "voting")
    assert await write_timed_mail(database.sessionmaker, mail_settings) == 1
    assert await write_timed_mail(database.sessionmaker, mail_settings) == 0
    await deliver_due(database.sessionmaker, mail_settings)
    ballot = smtp_server.to("aino@example.fi")[-1]
    assert ballot["Subject"] == "Röstningen har börjat: din idé är med i omröstningen"
    assert f"/pb/{round_.slug}" in text_part(ballot)

    # After the results, implementation news.
    await move_to(db, round_, "results")
    news = await client.post(
        f"{staff}/{benches.id}",
        data=form(
            client,
            action="implementation",
            implementation="in_progress",
            note_sv="Bänkarna beställs i mars.",
        ),
    )
    assert news.status_code == 303, news.text
    await deliver_due(database.sessionmaker, mail_settings)
    last = smtp_server.to("aino@example.fi")[-1]
    assert last["Subject"] == "Nyheter om hur din idé genomförs"
    assert "Bänkarna beställs i mars." in text_part(last)
    assert "Status: Genomförs" in text_part(last)


async def test_the_authors_of_selected_ideas_are_told_at_publication(
    db, database, mail_settings, smtp_server, notifier
):
    round_, kallio, p, entries = await a_round(db)
    finn = await make_resident(db, "finn@example.fi", language="fi")
    english = await make_resident(db, "eve@example.fi", language="en")
    for name, author in (("park", finn), ("library", english), ("lights", finn)):
        p[name].author_id = author.id
    await db.commit()
    await cast_all(db, round_, kallio, p, entries)
    await move_to(db, round_, "counting")
    await publish(db, round_, SEED, None, notifier)
    await deliver_due(database.sessionmaker, mail_settings)
    received = {message["To"]: message for message in smtp_server.messages()}
    # Park and Library are selected; Lights (Finn's too) is not, and gets no "selected" notice.
    assert len(smtp_server.messages()) == 2
    assert received["finn@example.fi"]["Subject"] == "Ideasi valittiin"
    assert "Park" in text_part(received["finn@example.fi"])
    assert received["eve@example.fi"]["Subject"] == "Your idea was selected"
    assert f"{SITE}/pb/{round_.slug}/results" in text_part(received["eve@example.fi"])


async def test_a_refused_decision_writes_no_message(client, db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "review", {kallio.id: 100_000})
    aino = await make_resident(db, language="fi")
    idea = await authored(db, round_, kallio, aino, "Liian kallis")
    await signed_in_as(client, db, Role.STAFF)
    refused = await client.post(
        f"/staff/pb/{round_.id}/proposals/{idea.id}",
        data=form(client, action="accept", final_cost="900 000"),
    )
    assert refused.status_code == 400
    assert await outbox(db) == []


async def test_only_confirmed_residents_who_want_it_are_mailed(db, notifier):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "review", {kallio.id: 100_000})
    unconfirmed = await make_resident(db, "new@example.fi", confirmed=False)
    opted_out = await make_resident(db, "quiet@example.fi")
    opted_out.mail_opt_out = ["review"]
    everything_off = await make_resident(db, "silent@example.fi")
    everything_off.mail_opt_out = ["all"]
    # As a resident identified strongly, without an e-mail address, would be.
    no_address = await make_resident(db, "placeholder@example.fi")
    no_address.email = ""
    await db.commit()
    ideas = [
        await authored(db, round_, kallio, unconfirmed, "A"),
        await authored(db, round_, kallio, opted_out, "B"),
        await authored(db, round_, kallio, everything_off, "C"),
        await authored(db, round_, kallio, no_address, "C2"),
        # Typed in by staff from a paper slip: no author, no message.
        await add_proposal(db, round_, kallio, "D", 1_000, "submitted"),
    ]
    for idea in ideas:
        await rounds.reject_proposal(db, idea, {"fi": "Ei."}, None, notifier)
    assert await outbox(db) == []
    # The kinds left on still are mailed.
    await move_to(db, round_, "voting")
    accepted = await authored(db, round_, kallio, opted_out, "E", "accepted")
    assert accepted.status == "accepted"
    assert await announce_ballots(db, _settings(notifier), round_.voting_open_at) == 1
    [message] = await outbox(db)
    assert (message.recipient, message.template) == ("quiet@example.fi", "idea_ballot")


def _settings(notifier: Notifier):
    from app.settings import Settings

    return Settings(secret_key=notifier.secret, site_url=notifier.site)


# --- unsubscribing ------------------------------------------------------------------------------


async def one_notice(db, notifier, language="fi", email="aino@example.fi"):
    """A resident, their idea and the "received" notice waiting in the outbox."""
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 100_000})
    resident = await make_resident(db, email, language=language)
    draft = rounds.ProposalDraft({language: "Penkit"}, {language: "Lisää"}, kallio.id, 1_000)
    proposal = await rounds.submit_proposal(db, round_, resident.id, draft, notifier=notifier)
    [message] = await outbox(db)
    token = parse_qs(urlsplit(message.context["unsubscribe_url"]).query)["t"][0]
    return resident, round_, proposal, token


async def opt_out_of(db, resident) -> list[str]:
    await db.refresh(resident)
    return resident.mail_opt_out


async def test_opening_the_link_only_asks_and_one_post_turns_the_kind_off(client, db, notifier):
    resident, round_, proposal, token = await one_notice(db, notifier)
    page = await client.get(f"/account/unsubscribe?t={token}&lang=en")
    assert page.status_code == 200
    assert "Do you want to stop these messages?" in page.text
    assert "When my idea has been received" in page.text
    # A link scanner's GET (and a second one) changes nothing.
    await client.get(f"/account/unsubscribe?t={token}")
    assert await opt_out_of(db, resident) == []
    assert len(await outbox(db)) == 1

    # The button: one POST with the form token. The notice still waiting is not sent either.
    done = await client.post("/account/unsubscribe", data=form(client, t=token))
    assert done.status_code == 303
    assert done.headers["location"] == "/account/unsubscribed?scope=received"
    assert await opt_out_of(db, resident) == ["received"]
    assert await outbox(db) == []
    shown = await client.get(done.headers["location"])
    assert "you will no longer get these messages" in shown.text

    # No message of that kind afterwards; other kinds still come.
    draft = rounds.ProposalDraft({"fi": "Toinen"}, {"fi": "Lisää"}, proposal.area_id, 1_000)
    await rounds.submit_proposal(db, round_, resident.id, draft, notifier=notifier)
    assert await outbox(db) == []
    await move_to(db, round_, "review")
    await rounds.reject_proposal(db, proposal, {"fi": "Ei."}, None, notifier)
    assert [m.template for m in await outbox(db)] == ["idea_review"]


async def test_the_page_offers_to_stop_every_kind_at_once(client, db, notifier):
    resident, round_, proposal, token = await one_notice(db, notifier, language="sv")
    page = await client.get(f"/account/unsubscribe?t={token}&lang=sv")
    all_token = re.findall(r'name="t" value="([^"]+)"', page.text)[1]
    assert read_unsubscribe_token(notifier.secret, all_token) == (resident.id, "all")
    done = await client.post("/account/unsubscribe", data=form(client, t=all_token))
    assert done.status_code == 303
    assert await opt_out_of(db, resident) == ["all"]
    await move_to(db, round_, "review")
    await rounds.accept_proposal(db, proposal, 1_000, None, notifier)
    assert await outbox(db) == []


async def test_a_post_without_the_form_token_is_refused(client, db, notifier):
    resident, _round, _proposal, token = await one_notice(db, notifier)
    await client.get(f"/account/unsubscribe?t={token}&lang=en")
    for data in ({"t": token}, {"t": token, "_csrf_token": "forged" * 20}):
        refused = await client.post("/account/unsubscribe", data=data)
        assert refused.status_code == 403
        assert "nothing was changed" in refused.text
    assert await opt_out_of(db, resident) == []


async def test_the_one_click_post_of_rfc_8058_unsubscribes_without_a_form_token(
    app, client, db, notifier
):
    """A mail client POSTs `List-Unsubscribe=One-Click` to the header's address: no cookie, no
    form token, no page."""
    resident, _round, _proposal, token = await one_notice(db, notifier)
    client.cookies.clear()
    one_click = await client.post(
        f"/account/unsubscribe?t={token}", data={"List-Unsubscribe": "One-Click"}
    )
    assert one_click.status_code == 200
    assert await opt_out_of(db, resident) == ["received"]
    # The same as multipart/form-data, as some clients send it.
    _resident, _r, _p, second = await one_notice(db, notifier, email="b@example.fi")
    again = await client.post(
        f"/account/unsubscribe?t={second}", files={"List-Unsubscribe": (None, "One-Click")}
    )
    assert again.status_code == 200
    assert await opt_out_of(db, _resident) == ["received"]


def altered(token: str) -> str:
    """The same token with one character of its payload changed."""
    position = 3
    replacement = "A" if token[position] != "A" else "B"
    return token[:position] + replacement + token[position + 1 :]


async def test_a_forged_altered_or_foreign_token_is_refused(client, db, settings, notifier):
    resident, _round, _proposal, token = await one_notice(db, notifier)
    other = await make_resident(db, "other@example.fi")
    forged = [
        altered(token),
        token[:-2],
        # Signed with another key.
        unsubscribe_token("another secret key that is long enough 0123", resident.id, "all"),
        # Signed with the right key for another purpose: a confirmation link, a reset link.
        confirmation_token(settings.secret_key, other),
        reset_token(settings.secret_key, other),
        sign(settings.secret_key, "resident", f"{other.id}.1"),
        # The right purpose, a kind that does not exist.
        sign(settings.secret_key, "unsubscribe", f"{other.id}:everything"),
        "x" * 5000,
        "",
    ]
    await client.get("/account/unsubscribe?lang=en")
    for bad in forged:
        page = await client.get("/account/unsubscribe", params={"t": bad})
        assert page.status_code == 400
        assert "This link is not valid" in page.text
        posted = await client.post("/account/unsubscribe", data=form(client, t=bad))
        assert posted.status_code == 400
        clicked = await client.post(
            "/account/unsubscribe", params={"t": bad}, data={"List-Unsubscribe": "One-Click"}
        )
        assert clicked.status_code == 400
    assert await opt_out_of(db, resident) == []
    assert await opt_out_of(db, other) == []


async def test_an_unsubscribe_token_opens_nothing_else(client, db, notifier):
    """Not a confirmation link, a password reset, an e-mail change or a session."""
    resident, _round, _proposal, token = await one_notice(db, notifier)
    resident.confirmed_at = None
    await db.commit()
    assert (await client.get(f"/account/confirm?t={token}")).status_code == 400
    await db.refresh(resident)
    assert resident.confirmed_at is None
    assert (await client.get(f"/account/reset?t={token}")).status_code == 400
    assert (await client.get(f"/account/email/confirm?t={token}")).status_code == 400
    client.cookies.set(RESIDENT_COOKIE, token)
    account = await client.get("/account")
    assert account.status_code == 303
    assert "/account/sign-in" in account.headers["location"]


# --- the account page -----------------------------------------------------------------------


async def test_the_account_page_chooses_which_notices_come(client, db):
    resident = await make_resident(db, language="en")
    await sign_in_resident(client, resident.email)
    page = await client.get("/account")
    assert page.text.count('name="wanted"') == len(Kind)
    assert page.text.count("checked") == len(Kind)
    saved = await client.post(
        "/account/notifications", data=form(client, wanted=["review", "results"])
    )
    assert saved.status_code == 303
    assert await opt_out_of(db, resident) == ["received", "ballot", "implementation"]
    shown = await client.get("/account")
    assert shown.text.count("checked") == 2
    # None ticked: nothing at all, new kinds included.
    await client.post("/account/notifications", data=form(client))
    assert await opt_out_of(db, resident) == ["all"]
    # Ticked again: on again.
    await client.post("/account/notifications", data=form(client, wanted=[k.value for k in Kind]))
    assert await opt_out_of(db, resident) == []


@pytest.mark.parametrize(
    "wanted", [["everything"], ["<script>alert(1)</script>"], ["review", "x" * 5000]]
)
async def test_a_hostile_choice_is_refused_and_stores_nothing(client, db, wanted):
    resident = await make_resident(db, language="en")
    await sign_in_resident(client, resident.email)
    refused = await client.post("/account/notifications", data=form(client, wanted=wanted))
    assert refused.status_code == 400
    assert "Choose from the options shown." in refused.text
    assert "<script>alert(1)" not in refused.text
    assert await opt_out_of(db, resident) == []


async def test_choosing_needs_a_signed_in_resident_and_the_form_token(client, db):
    resident = await make_resident(db, language="en")
    await client.get("/account/sign-in?lang=en")
    anonymous = await client.post("/account/notifications", data=form(client))
    assert anonymous.status_code == 403
    await sign_in_resident(client, resident.email)
    forged = await client.post("/account/notifications", data={"_csrf_token": "x" * 96})
    assert forged.status_code == 403
    assert await opt_out_of(db, resident) == []


async def test_pending_notices_of_a_kind_turned_off_are_not_sent(db, notifier):
    resident, _round, _proposal, _token = await one_notice(db, notifier)
    from voting.notifications import set_opt_out

    await set_opt_out(db, resident, ["review"])
    assert [m.status for m in await outbox(db)] == [PENDING]
    await set_opt_out(db, resident, ["received"])
    assert await db.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert (await db.get(Resident, resident.id)).mail_opt_out == ["received"]


async def test_hiding_an_idea_tells_its_author_once(db, notifier):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 100_000})
    aino = await make_resident(db, language="fi")
    idea = await authored(db, round_, kallio, aino, "Nimi ja numero")
    decision = moderation.ModerationDecision(
        moderation.ModerationAction.HIDE, reason={"fi": "Henkilötietoja."}
    )
    await moderation.moderate(db, idea, decision, None, notifier)
    await moderation.moderate(db, idea, decision, None, notifier)
    [message] = await outbox(db)
    assert message.context["event"] == "hidden"
    assert message.context["reason"] == {"fi": "Henkilötietoja."}


async def test_two_senders_announcing_the_ballot_at_once_write_each_notice_once(
    db, database, settings
):
    """Voting has opened; two senders' turns run at the same moment (FOR UPDATE SKIP LOCKED on
    the round): every author on the ballot is told once, and the round is marked."""
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "voting", {kallio.id: 100_000})
    for number in range(5):
        author = await make_resident(db, f"author{number}@example.fi", language="fi")
        await authored(db, round_, kallio, author, f"Idea {number}", "accepted")
    written = await asyncio.gather(
        *(write_timed_mail(database.sessionmaker, settings) for _ in range(4))
    )
    assert sorted(written) == [0, 0, 0, 5]
    recipients = [message.recipient for message in await outbox(db)]
    assert sorted(recipients) == [f"author{number}@example.fi" for number in range(5)]
    await db.refresh(round_)
    assert round_.ballot_announced_at is not None
    # A round whose voting has not opened, or has closed, is not announced.
    assert await write_timed_mail(database.sessionmaker, settings) == 0
