"""The idea phase of participatory budgeting, walked as a resident does, with the usual mistakes:
on a phone, in fi/sv/en, with and without JavaScript.

Register with a mistyped e-mail address, then fix it; open the confirmation link; sign in; send
an idea with an empty title, then fix it, the cost written "30 000 €"; switch the page's language
mid-form; reload after sending. Each journey ends where the resident expects: the idea's page
says it was sent and waits for review, and the account lists it, once.

The confirmation link arrives by e-mail: a second server on the same database sends its outbox
to a real SMTP server (tests/smtp_server.py, its own process), and the test opens the link from
the message that server received, after checking that the message is in the page's language.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app import PROJECT_ROOT
from app.i18n import gettext_in, load_catalogs
from tests.browser.conftest import PHONE, LiveServer, log_path, served
from tests.browser.test_budgeting import RESIDENT_PASSWORD, make_resident
from tests.browser.test_journeys_residents import JAVASCRIPT, LANGUAGES, no_axe_violations, query
from tests.conftest import TEST_SECRET
from tests.mailbox import SmtpServerProcess, html_part, smtp_server_process, text_part

pytestmark = pytest.mark.browser
load_catalogs(PROJECT_ROOT / "locale")

PASSWORD = "a long idea password 7"
IDEA = {
    "fi": (
        "Penkkejä rantapolulle",
        "Rantapolulle lisää penkkejä, jotta ikäihmiset jaksavat kävellä.",
    ),
    "sv": ("Bänkar längs strandstigen", "Fler bänkar längs strandstigen så att äldre orkar gå."),
    "en": ("Benches on the shore path", "More benches on the shore path so older people can walk."),
}


def t(language: str, message: str) -> str:
    return gettext_in(language, message)


@dataclass(frozen=True)
class IdeasServer:
    url: str
    log: Path
    slug: str
    mailbox: SmtpServerProcess


@pytest.fixture(scope="module")
def ideas_server(live_server: LiveServer, tmp_path_factory) -> Iterator[IdeasServer]:
    """The live server's database served once more, sending its mail to a test SMTP server."""
    [(slug,)] = query(
        live_server,
        "SELECT slug FROM pb_round WHERE ideas_open_at < now() AND review_at > now()",
    )
    environment = {
        **os.environ,
        "DATABASE_URL": live_server.database_url,
        "SECRET_KEY": TEST_SECRET,
        "TORI_ENV": "test",
        "LOG_LEVEL": "INFO",
        "TORI_MAIL_FROM": "Tori <osallisuus@example.fi>",
        "TORI_MAIL_POLL_SECONDS": "0.2",
    }
    with smtp_server_process(tmp_path_factory.mktemp("mail")) as mailbox:
        environment["SMTP_URL"] = mailbox.url
        with served(environment, "ideas-server") as url:
            yield IdeasServer(url, log_path("ideas-server"), slug, mailbox)


def mailed_link(server: IdeasServer, email: str, subject: str, path: str) -> str:
    """The link in the message to `email` with `subject` (which is in the resident's language),
    as the server's sender delivered it to the SMTP server."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for message in server.mailbox.to(email):
            if message["Subject"] == subject:
                text = text_part(message)
                assert path in html_part(message)
                return re.search(rf"(http://\S+{re.escape(path)}(?:\?\S+)?)", text).group(1)
        time.sleep(0.1)
    pytest.fail(f"no message {subject!r} to {email} reached the SMTP server")


def confirmation_link(server: IdeasServer, language: str, email: str) -> str:
    link = mailed_link(
        server, email, t(language, "Confirm your e-mail address"), "/account/confirm"
    )
    assert len(server.mailbox.to(email)) == 1
    return link


def confirm_by_link(page: Page, link: str, language: str) -> None:
    """Open a confirmation link and press its button: opening alone confirms nothing (a mail
    gateway that opens links must not confirm an account for someone else's address)."""
    page.goto(link)
    expect(page.get_by_role("status")).to_have_count(0)
    page.get_by_role("button", name=t(language, "Confirm my e-mail address"), exact=True).click()


def ideas_of(live_server: LiveServer, email: str) -> list[tuple]:
    return query(
        live_server,
        "SELECT p.title, p.estimated_cost, p.status FROM pb_proposal p "
        "JOIN resident_account r ON r.id = p.author_id WHERE r.email = :e ORDER BY p.id",
        e=email,
    )


def register(page: Page, language: str, email: str, *, fill_name: bool = True) -> None:
    if fill_name:
        page.fill("#field-display_name", "Aino Asukas")
    page.fill("#field-email", email)
    page.fill("#field-password", PASSWORD)
    page.fill("#field-password_again", PASSWORD)
    page.click("form[action='/account/register'] button[type=submit]")


@JAVASCRIPT
@pytest.mark.parametrize("language", LANGUAGES)
def test_register_confirm_and_send_an_idea_with_the_usual_mistakes(
    new_page, live_server: LiveServer, ideas_server: IdeasServer, language, javascript
):
    base, slug = ideas_server.url, ideas_server.slug
    email = f"idea.{language}.{'js' if javascript else 'nojs'}@example.fi"
    other = LANGUAGES[(LANGUAGES.index(language) + 1) % 3]
    title, description = IDEA[language]
    page = new_page(PHONE, javascript=javascript)

    # The round's page leads to the idea form, which asks to sign in, which leads to registering.
    page.goto(f"{base}/pb/{slug}/propose?lang={language}")
    expect(page).to_have_url(re.compile(r"/account/sign-in\?next="))
    page.get_by_role("link", name=t(language, "Create an account")).click()
    expect(page.locator("h1")).to_have_text(t(language, "Create an account"))

    # A mistyped address: told what is wrong, the name kept, nothing stored.
    register(page, language, email.replace("@", " at "))
    expect(page.locator(".error-summary")).to_be_visible()
    expect(page.locator("#field-email").locator("xpath=..")).to_have_class(
        re.compile("field-invalid")
    )
    expect(
        page.get_by_text(t(language, "Enter an e-mail address, such as name@example.fi.")).first
    ).to_be_visible()
    expect(page.locator("#field-display_name")).to_have_value("Aino Asukas")
    expect(page.locator("#field-email")).to_have_value(email.replace("@", " at "))
    expect(page.locator("html")).to_have_attribute("lang", language)
    no_axe_violations(page, javascript)
    assert query(
        live_server, "SELECT count(*) FROM resident_account WHERE email = :e", e=email
    ) == [(0,)]
    register(page, language, email, fill_name=False)
    expect(page.get_by_role("status")).to_contain_text(email)

    # Signing in before confirming is refused with the reason.
    page.goto(f"{base}/account/sign-in?next=/pb/{slug}/propose")
    page.fill("#field-email", email)
    page.fill("#field-password", PASSWORD)
    page.click("form[action='/account/sign-in'] button[type=submit]")
    expect(
        page.get_by_text(
            t(language, "Confirm your e-mail address first: open the link in the message we sent.")
        )
    ).to_be_visible()

    # The link from "the mail", opened on the same phone.
    confirm_by_link(page, confirmation_link(ideas_server, language, email), language)
    expect(page.get_by_role("status")).to_have_text(
        t(language, "Thank you, your e-mail address is confirmed. You can now sign in.")
    )
    page.get_by_role("link", name=t(language, "Sign in")).click()
    page.fill("#field-email", email)
    page.fill("#field-password", PASSWORD)
    page.click("form[action='/account/sign-in'] button[type=submit]")
    expect(page).to_have_url(re.compile(rf"/pb/{slug}/propose$"))
    expect(page.locator("h1")).to_have_text(t(language, "Send an idea"))

    # No title: the error, and everything else kept; the cost as people write it.
    page.fill("#field-description", description)
    page.select_option("#field-area", index=1)
    page.fill("#field-estimated_cost", "30 000 €")
    page.click("#propose-form button[type=submit]:not([name])")
    expect(page.locator(".error-summary")).to_be_visible()
    expect(page.locator("#field-title").locator("xpath=..")).to_have_class(
        re.compile("field-invalid")
    )
    expect(page.locator("#field-description")).to_have_value(description)
    expect(page.locator("#field-estimated_cost")).to_have_value("30 000 €")
    no_axe_violations(page, javascript)
    assert ideas_of(live_server, email) == []

    # The title written, then the page switched to another language: nothing lost, nothing sent.
    page.fill("#field-title", title)
    page.click(f"button[name=_switch_language][value={other}]")
    expect(page.locator("html")).to_have_attribute("lang", other)
    expect(page.locator("h1")).to_have_text(t(other, "Send an idea"))
    expect(page.locator("#field-title")).to_have_value(title)
    expect(page.locator("#field-description")).to_have_value(description)
    expect(page.locator("#field-estimated_cost")).to_have_value("30 000 €")
    expect(page.locator("#field-language")).to_have_value(language)
    assert page.locator("#field-area").input_value() != ""
    assert ideas_of(live_server, email) == []

    page.click("#propose-form button[type=submit]:not([name])")
    expect(page).to_have_url(re.compile(rf"/pb/{slug}/proposals/\d+\?sent=1$"))
    expect(page.get_by_role("status")).to_have_text(
        t(other, "Thank you! Your idea has been sent. City staff will review and cost it.")
    )
    expect(page.locator("h1")).to_have_text(title)
    # Pre-moderation (the default): the idea waits for a staff member's check.
    expect(page.get_by_text(t(other, "Waiting for a check"), exact=True)).to_be_visible()
    no_axe_violations(page, javascript)

    # A reload of the page after sending sends nothing again.
    page.reload()
    expect(page.locator("h1")).to_have_text(title)
    stored = ideas_of(live_server, email)
    assert stored == [({language: title}, 30_000, "submitted")]

    # The account lists the idea, once, waiting for a check.
    page.goto(f"{base}/account")
    ideas = page.locator("main li").filter(has_text=title)
    expect(ideas).to_have_count(1)
    expect(ideas).to_contain_text(t(other, "Waiting for a check"))
    assert ideas_of(live_server, email) == stored


@JAVASCRIPT
def test_enter_in_the_title_sends_the_idea_not_a_language_switch(
    new_page, live_server: LiveServer, ideas_server: IdeasServer, javascript
):
    """The language buttons in the header belong to the idea form (they carry the text along);
    Enter in a text field must still send the idea, not switch the page to Finnish."""
    base, slug = ideas_server.url, ideas_server.slug
    email = f"enter.{'js' if javascript else 'nojs'}@example.fi"
    make_resident(live_server, email)
    page = new_page(PHONE, javascript=javascript)
    page.goto(f"{base}/account/sign-in?next=/pb/{slug}/propose&lang=sv")
    page.fill("#field-email", email)
    page.fill("#field-password", RESIDENT_PASSWORD)
    page.click("form[action='/account/sign-in'] button[type=submit]")
    expect(page).to_have_url(re.compile(rf"/pb/{slug}/propose$"))
    page.fill("#field-description", "Fler cykelställ vid stationen.")
    page.select_option("#field-area", index=1)
    page.fill("#field-estimated_cost", "4 500")
    page.fill("#field-title", "Cykelställ vid stationen")
    page.press("#field-title", "Enter")
    expect(page).to_have_url(re.compile(rf"/pb/{slug}/proposals/\d+\?sent=1$"))
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    assert ideas_of(live_server, email) == [
        ({"sv": "Cykelställ vid stationen"}, 4_500, "submitted")
    ]
