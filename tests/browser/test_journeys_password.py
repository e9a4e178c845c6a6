"""A resident who forgot the password, on a phone, in fi/sv/en, with and without JavaScript:
bad addresses first, then the right one; the link from the mail a real SMTP server received;
mismatched and short passwords; the new password; sign in. The link then no longer works."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from tests.browser.conftest import PHONE, LiveServer
from tests.browser.steps import in_database
from tests.browser.test_budgeting import RESIDENT_PASSWORD, make_resident
from tests.browser.test_journeys_ideas import IdeasServer, ideas_server, mailed_link, t
from tests.browser.test_journeys_residents import JAVASCRIPT, LANGUAGES, no_axe_violations
from voting.models import Resident

pytestmark = pytest.mark.browser
__all__ = ["ideas_server"]  # the fixture, shared with the ideas journey

NEW_PASSWORD = "a new and long password 42"
HOSTILE = '"><script>alert(1)</script>@example.fi'


def resident_language(live_server: LiveServer, email: str, language: str) -> None:
    """The account's language, as if it had been made on pages in `language`."""

    async def change(session) -> None:
        await session.execute(
            update(Resident).where(Resident.email == email).values(language=language)
        )
        await session.commit()

    in_database(live_server, change)


@JAVASCRIPT
@pytest.mark.parametrize("language", LANGUAGES)
def test_forgot_password_mailed_link_new_password_and_sign_in(
    new_page, live_server: LiveServer, ideas_server: IdeasServer, language, javascript
):
    base = ideas_server.url
    email = f"forgot.{language}.{'js' if javascript else 'nojs'}@example.fi"
    make_resident(live_server, email)
    resident_language(live_server, email, language)
    page = new_page(PHONE, javascript=javascript)

    page.goto(f"{base}/account/sign-in?lang={language}")
    page.get_by_role("link", name=t(language, "Forgot your password?")).click()
    expect(page.locator("h1")).to_have_text(t(language, "Forgot your password?"))
    no_axe_violations(page, javascript)

    # Empty, malformed, oversized and hostile addresses: told what is wrong, nothing sent.
    for bad in ("", "aino at example.fi", "x" * 300 + "@example.fi", HOSTILE):
        page.fill("#field-email", bad)
        page.click("form[action='/account/forgot'] button[type=submit]")
        expect(page.locator(".error-summary")).to_be_visible()
        expect(page.locator("#field-email").locator("xpath=..")).to_have_class(
            re.compile("field-invalid")
        )
    no_axe_violations(page, javascript)
    assert ideas_server.mailbox.to(email) == []

    page.fill("#field-email", email)
    page.click("form[action='/account/forgot'] button[type=submit]")
    expect(page.get_by_role("status")).to_contain_text(email)

    link = mailed_link(
        ideas_server, email, t(language, "A new password for your account"), "/account/reset"
    )
    page.goto(link)
    expect(page.locator("h1")).to_have_text(t(language, "Choose a new password"))
    # Mismatched, then too short: errors, the old password still works.
    page.fill("#field-password", NEW_PASSWORD)
    page.fill("#field-password_again", NEW_PASSWORD + "!")
    page.click("form[action='/account/reset'] button[type=submit]")
    expect(page.get_by_text(t(language, "The passwords do not match.")).first).to_be_visible()
    page.fill("#field-password", "short")
    page.fill("#field-password_again", "short")
    page.click("form[action='/account/reset'] button[type=submit]")
    expect(
        page.get_by_text(t(language, "The password must be at least 12 characters long.")).first
    ).to_be_visible()
    no_axe_violations(page, javascript)

    page.fill("#field-password", NEW_PASSWORD)
    page.fill("#field-password_again", NEW_PASSWORD)
    page.click("form[action='/account/reset'] button[type=submit]")
    expect(page).to_have_url(re.compile(r"/account/sign-in\?done=reset$"))
    expect(page.get_by_role("status")).to_have_text(
        t(language, "Your new password is saved. Sign in with it.")
    )
    page.fill("#field-email", email)
    page.fill("#field-password", RESIDENT_PASSWORD)
    page.click("form[action='/account/sign-in'] button[type=submit]")
    expect(
        page.get_by_text(t(language, "The e-mail address or password is wrong."))
    ).to_be_visible()
    page.fill("#field-email", email)
    page.fill("#field-password", NEW_PASSWORD)
    page.click("form[action='/account/sign-in'] button[type=submit]")
    expect(page).to_have_url(re.compile(r"/pb$"))

    # The link works once.
    page.goto(link)
    expect(page.get_by_role("alert")).to_have_text(
        t(language, "This link has expired or has already been used. Ask for a new one.")
    )
    no_axe_violations(page, javascript)


def test_an_address_without_an_account_gets_the_same_page_and_a_note(
    new_page, ideas_server: IdeasServer
):
    page = new_page(PHONE)
    email = "never.registered@example.fi"
    page.goto(f"{ideas_server.url}/account/forgot?lang=sv")
    page.fill("#field-email", email)
    page.click("form[action='/account/forgot'] button[type=submit]")
    expect(page.get_by_role("status")).to_contain_text(email)
    mailed_link(
        ideas_server,
        email,
        t("sv", "A new password was asked for this address"),
        "/account/register",
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_change_the_email_address_from_the_account_with_bad_input_first(
    new_page, live_server: LiveServer, ideas_server: IdeasServer, language
):
    base = ideas_server.url
    old, new = f"change.{language}@example.fi", f"changed.{language}@example.fi"
    make_resident(live_server, old)
    page = new_page(PHONE)
    page.goto(f"{base}/account/sign-in?lang={language}&next=/account")
    page.fill("#field-email", old)
    page.fill("#field-password", RESIDENT_PASSWORD)
    page.click("form[action='/account/sign-in'] button[type=submit]")
    page.get_by_role("link", name=t(language, "Change your e-mail address")).click()
    expect(page.locator("h1")).to_have_text(t(language, "Change your e-mail address"))
    for bad_email, password in (
        ("", RESIDENT_PASSWORD),
        (HOSTILE, RESIDENT_PASSWORD),
        (new, "wrong password 123"),
    ):
        page.fill("#field-new_email", bad_email)
        page.fill("#field-password", password)
        page.click("form[action='/account/email'] button[type=submit]")
        expect(page.locator(".error-summary")).to_be_visible()
    no_axe_violations(page, True)
    assert ideas_server.mailbox.to(new) == []
    page.fill("#field-new_email", new)
    page.fill("#field-password", RESIDENT_PASSWORD)
    page.click("form[action='/account/email'] button[type=submit]")
    expect(page.get_by_role("status")).to_contain_text(new)
    link = mailed_link(
        ideas_server, new, t(language, "Confirm your new e-mail address"), "/account/email/confirm"
    )
    page.goto(link)
    expect(page.get_by_role("status")).to_contain_text(new)
    no_axe_violations(page, True)
    page.goto(f"{base}/account")
    expect(page.locator("main")).to_contain_text(new)


def sign_in_at(page, base: str, language: str, email: str, password: str) -> None:
    page.goto(f"{base}/account/sign-in?lang={language}&next=/account")
    page.fill("#field-email", email)
    page.fill("#field-password", password)
    page.click("form[action='/account/sign-in'] button[type=submit]")
    expect(page).to_have_url(re.compile(r"/account/?$"))


@JAVASCRIPT
@pytest.mark.parametrize("language", LANGUAGES)
def test_change_the_password_then_sign_out_on_every_device(
    new_page, live_server: LiveServer, ideas_server: IdeasServer, language, javascript
):
    """On a phone and a laptop at once: a password change with the usual mistakes first signs
    the laptop out; "sign out on every device" then signs out the phone too."""
    base = ideas_server.url
    email = f"sessions.{language}.{'js' if javascript else 'nojs'}@example.fi"
    make_resident(live_server, email)
    phone = new_page(PHONE, javascript=javascript)
    laptop = new_page({"width": 1280, "height": 800}, javascript=javascript)
    sign_in_at(phone, base, language, email, RESIDENT_PASSWORD)
    sign_in_at(laptop, base, language, email, RESIDENT_PASSWORD)

    # A wrong current password, then mismatched new ones: told what is wrong, nothing changes.
    phone.fill("#field-current_password", "not my password at all")
    phone.fill("#field-new_password", NEW_PASSWORD)
    phone.fill("#field-new_password_again", NEW_PASSWORD)
    phone.click("form[action='/account/password'] button[type=submit]")
    expect(phone.locator(".error-summary")).to_be_visible()
    expect(phone.get_by_text(t(language, "The password is wrong.")).first).to_be_visible()
    phone.fill("#field-current_password", RESIDENT_PASSWORD)
    phone.fill("#field-new_password", NEW_PASSWORD)
    phone.fill("#field-new_password_again", NEW_PASSWORD + "!")
    phone.click("form[action='/account/password'] button[type=submit]")
    expect(phone.get_by_text(t(language, "The passwords do not match.")).first).to_be_visible()
    no_axe_violations(phone, javascript)
    laptop.reload()
    expect(laptop.locator("h1")).to_have_text(t(language, "Your account"))

    phone.fill("#field-current_password", RESIDENT_PASSWORD)
    phone.fill("#field-new_password", NEW_PASSWORD)
    phone.fill("#field-new_password_again", NEW_PASSWORD)
    phone.click("form[action='/account/password'] button[type=submit]")
    expect(phone.get_by_role("status")).to_have_text(
        t(language, "Your new password is saved. Other devices were signed out.")
    )
    no_axe_violations(phone, javascript)
    # The laptop is signed out; the phone, where the password was changed, is not.
    laptop.goto(f"{base}/account")
    expect(laptop).to_have_url(re.compile(r"/account/sign-in"))
    sign_in_at(laptop, base, language, email, NEW_PASSWORD)

    # From the laptop, every device is signed out: the phone too.
    laptop.get_by_role("button", name=t(language, "Sign out on every device")).click()
    expect(laptop.get_by_role("status")).to_have_text(
        t(language, "You are signed out on every device.")
    )
    no_axe_violations(laptop, javascript)
    phone.goto(f"{base}/account")
    expect(phone).to_have_url(re.compile(r"/account/sign-in"))
