"""A resident's account between registering and signing out, walked on a phone in fi/sv/en, with
and without JavaScript, with the defects a resident's tour found:

- signing in before confirming: the error summary has the focus, the title starts with "Error:",
  and the page offers a new confirmation link, which arrives by mail (a real SMTP server);
- asking for a link with a malformed address first, then the right one;
- the link opened, then opened again: "already confirmed", with the way to sign in;
- signed in: "Your account" in the header of every page, and signing out from there.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, LiveServer
from tests.browser.test_journeys_ideas import (
    PASSWORD,
    IdeasServer,
    confirm_by_link,
    ideas_server,
    register,
    t,
)
from tests.browser.test_journeys_residents import JAVASCRIPT, LANGUAGES, no_axe_violations
from tests.mailbox import text_part

pytestmark = pytest.mark.browser
__all__ = ["ideas_server"]  # the fixture, shared with the ideas journey


def confirmation_links(server: IdeasServer, language: str, email: str, count: int) -> list[str]:
    """The links of the first `count` confirmation messages to `email`, oldest first."""
    subject = t(language, "Confirm your e-mail address")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        messages = [m for m in server.mailbox.to(email) if m["Subject"] == subject]
        if len(messages) >= count:
            return [
                re.search(r"(http://\S+/account/confirm\?\S+)", text_part(m)).group(1)
                for m in messages
            ]
        time.sleep(0.1)
    pytest.fail(f"{count} confirmation messages to {email} did not reach the SMTP server")


def shows_errors_first(page: Page, language: str) -> None:
    """The error summary has the focus and the title says "Error:" first, in the language."""
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(page).to_have_title(re.compile("^" + re.escape(t(language, "Error:")) + " "))


def sign_in(page: Page, email: str, password: str) -> None:
    page.fill("#field-email", email)
    page.fill("#field-password", password)
    page.click("form[action='/account/sign-in'] button[type=submit]")


@JAVASCRIPT
@pytest.mark.parametrize("language", LANGUAGES)
def test_unconfirmed_sign_in_new_link_link_reopened_and_the_account_in_the_header(
    new_page, live_server: LiveServer, ideas_server: IdeasServer, language, javascript
):
    base = ideas_server.url
    email = f"tour.{language}.{'js' if javascript else 'nojs'}@example.fi"
    page = new_page(PHONE, javascript=javascript)
    page.goto(f"{base}/account/register?lang={language}")
    expect(page).not_to_have_title(re.compile("^" + re.escape(t(language, "Error:"))))
    register(page, language, email)
    expect(page.get_by_role("status")).to_contain_text(email)
    confirmation_links(ideas_server, language, email, 1)

    # Signing in before confirming: the reason first, and a way to get a new link.
    page.goto(f"{base}/account/sign-in?lang={language}")
    sign_in(page, email, PASSWORD)
    shows_errors_first(page, language)
    expect(page.locator(".error-summary")).to_contain_text(
        t(language, "Confirm your e-mail address first: open the link in the message we sent.")
    )
    no_axe_violations(page, javascript)
    page.get_by_role("button", name=t(language, "Send a new confirmation link")).click()
    expect(page.locator("h1")).to_have_text(t(language, "Send a new confirmation link"))
    expect(page.get_by_role("status")).to_contain_text(email)
    no_axe_violations(page, javascript)

    # The same page reached directly, with a malformed address first: nothing sent.
    page.goto(f"{base}/account/confirm/again")
    page.fill("#field-email", email.replace("@", " at "))
    page.click("form[action='/account/confirm/again'] button[type=submit]")
    shows_errors_first(page, language)
    expect(page.locator("#field-email")).to_have_value(email.replace("@", " at "))
    no_axe_violations(page, javascript)
    _, newer = confirmation_links(ideas_server, language, email, 2)
    assert len(ideas_server.mailbox.to(email)) == 2

    # The new link confirms (with its button); opened again it says so and leads to signing in.
    confirm_by_link(page, newer, language)
    expect(page.get_by_role("status")).to_have_text(
        t(language, "Thank you, your e-mail address is confirmed. You can now sign in.")
    )
    page.goto(newer)
    expect(page.get_by_role("status")).to_have_text(
        t(language, "Your e-mail address is already confirmed. You can sign in.")
    )
    expect(page.get_by_role("alert")).to_have_count(0)
    no_axe_violations(page, javascript)
    page.get_by_role("link", name=t(language, "Sign in")).click()

    # A wrong password, then the right one; no account link in the header until then.
    header = page.locator("header.site-header")
    expect(header.get_by_role("link", name=t(language, "Your account"))).to_have_count(0)
    sign_in(page, email, PASSWORD + "x")
    shows_errors_first(page, language)
    sign_in(page, email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/pb$"))
    expect(page).not_to_have_title(re.compile("^" + re.escape(t(language, "Error:"))))

    # Signed in: "Your account" in the header, on other pages too, and sign-out from there.
    page.goto(f"{base}/privacy")
    header.get_by_role("link", name=t(language, "Your account")).click()
    expect(page.locator("h1")).to_have_text(t(language, "Your account"))
    expect(page.locator("main")).to_contain_text(email)
    expect(header.get_by_role("link", name=t(language, "Your account"))).to_have_attribute(
        "aria-current", "page"
    )
    no_axe_violations(page, javascript)
    header.get_by_role("button", name=t(language, "Sign out")).click()
    expect(page).to_have_url(re.compile(r"/pb$"))
    expect(header.get_by_role("link", name=t(language, "Your account"))).to_have_count(0)
    page.goto(f"{base}/account")
    expect(page).to_have_url(re.compile(r"/account/sign-in\?next="))
