"""A resident hears how their idea does, by e-mail in their language, and stops the messages from
the link without signing in: on a phone without JavaScript, in fi/sv/en.

Register; open the confirmation link from the mail; send an idea ("we received your idea" in the
resident's language); staff publish it and accept it (an empty cost first, then the cost); the
acceptance arrives in the resident's language with its unsubscribe link. A damaged copy of the
link is refused; the real link only asks, and one press of its button turns the messages off
(the pages' form token, no session). A later decision on the idea writes no message.

The mail goes through the ideas journey's second server (tests/browser/test_journeys_ideas.py),
which sends the shared database's outbox to a real SMTP server in its own process.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, STAFF_PASSWORD, LiveServer
from tests.browser.steps import make_staff_member, no_axe_violations, query
from tests.browser.test_journeys_ideas import PASSWORD as IDEA_PASSWORD
from tests.browser.test_journeys_ideas import (
    IdeasServer,
    confirm_by_link,
    confirmation_link,
    ideas_server,
    register,
    t,
)
from tests.mailbox import text_part

pytestmark = pytest.mark.browser
__all__ = ["ideas_server"]  # the fixture, shared with the ideas journey

TITLES = {
    "fi": "Juomapiste uimarannalle",
    "sv": "Vattenpost vid badstranden",
    "en": "Drinking fountain at the beach",
}


def mailed(server: IdeasServer, email: str, subject: str):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for message in server.mailbox.to(email):
            if message["Subject"] == subject:
                return message
        time.sleep(0.1)
    got = [message["Subject"] for message in server.mailbox.to(email)]
    pytest.fail(f"no message {subject!r} to {email} reached the SMTP server (got {got})")


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_notified_of_acceptance_in_own_language_then_unsubscribed_from_the_link(
    new_page, live_server: LiveServer, ideas_server: IdeasServer, language
):
    base, slug = ideas_server.url, ideas_server.slug
    email = f"notify.{language}@example.fi"
    staff_email = f"notify.staff.{language}@example.fi"
    make_staff_member(live_server, staff_email)
    title = TITLES[language]

    # Register and confirm from the mail, on a phone without JavaScript.
    resident = new_page(PHONE, javascript=False)
    resident.goto(f"{base}/account/register?lang={language}")
    register(resident, language, email)
    expect(resident.get_by_role("status")).to_contain_text(email)
    confirm_by_link(resident, confirmation_link(ideas_server, language, email), language)
    expect(resident.get_by_role("status")).to_have_text(
        t(language, "Thank you, your e-mail address is confirmed. You can now sign in.")
    )

    # Send an idea: the author hears it arrived, in their language.
    resident.goto(f"{base}/account/sign-in?next=/pb/{slug}/propose&lang={language}")
    resident.fill("#field-email", email)
    resident.fill("#field-password", IDEA_PASSWORD)
    resident.click("form[action='/account/sign-in'] button[type=submit]")
    expect(resident).to_have_url(re.compile(rf"/pb/{slug}/propose$"))
    resident.fill("#field-title", title)
    resident.fill("#field-description", title + ".")
    resident.select_option("#field-area", index=1)
    resident.fill("#field-estimated_cost", "3 000")
    resident.click("#propose-form button[type=submit]:not([name])")
    expect(resident).to_have_url(re.compile(rf"/pb/{slug}/proposals/\d+\?sent=1$"))
    idea_id = int(re.search(r"/proposals/(\d+)", resident.url).group(1))
    received = mailed(ideas_server, email, t(language, "We received your idea"))
    assert title in text_part(received)

    # Staff publish it and accept it: an empty cost first, then the cost.
    [(round_id,)] = query(live_server, "SELECT id FROM pb_round WHERE slug = :s", s=slug)
    staff = new_page(DESKTOP)
    staff.goto(f"{base}/staff/login?lang={language}")
    staff.fill("#field-email", staff_email)
    staff.fill("#field-password", STAFF_PASSWORD)
    staff.click("button[type=submit]")
    staff.wait_for_url(f"{base}/staff")
    staff.goto(f"{base}/staff/pb/{round_id}/proposals/{idea_id}")
    staff.click("button[name=action][value=publish]")
    expect(staff.get_by_role("status")).to_have_text(t(language, "Saved."))
    staff.fill("#field-final_cost", "")
    staff.click("button[name=action][value=accept]")
    expect(staff.locator(".error-summary")).to_be_visible()
    no_axe_violations(staff)
    staff.fill("#field-final_cost", "2 800")
    staff.click("button[name=action][value=accept]")
    expect(staff.get_by_role("status")).to_have_text(t(language, "Saved."))

    # The acceptance arrives in the resident's language, with the way to stop such messages.
    accepted = mailed(ideas_server, email, t(language, "Your idea was accepted for the vote"))
    text = text_part(accepted)
    assert title in text
    assert "2\xa0800\xa0€" in text
    assert accepted["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.fullmatch(r"<(\S+)>", accepted["List-Unsubscribe"]).group(1)
    assert link in text
    assert "/account/unsubscribe?t=" in link
    assert link.endswith(f"&lang={language}")

    # Opened in a browser that has never signed in; first a copy of the link cut short.
    reader = new_page(PHONE, javascript=False)
    reader.goto(re.sub(r"t=([^&]+)", lambda found: "t=" + found.group(1)[:-6], link))
    expect(reader.get_by_role("alert")).to_have_text(
        t(
            language,
            "This link is not valid. Open the link in the message again, or sign in and choose"
            " on your account page which messages you get.",
        )
    )
    reader.goto(link)
    expect(reader.locator("html")).to_have_attribute("lang", language)
    expect(reader.get_by_text(t(language, "Do you want to stop these messages?"))).to_be_visible()
    # Opening the link (as a link scanner would) changes nothing.
    assert query(
        live_server, "SELECT mail_opt_out FROM resident_account WHERE email = :e", e=email
    ) == [([],)]
    checker = new_page(PHONE)  # the same page, checked by axe (which needs JavaScript)
    checker.goto(link)
    no_axe_violations(checker)
    reader.get_by_role("button", name=t(language, "Stop these messages")).click()
    expect(reader).to_have_url(re.compile(r"/account/unsubscribed\?scope=review$"))
    expect(reader.get_by_role("status")).to_have_text(
        t(language, "Done: you will no longer get these messages.")
    )
    assert query(
        live_server, "SELECT mail_opt_out FROM resident_account WHERE email = :e", e=email
    ) == [(["review"],)]

    # A later decision on the idea writes no message for the resident.
    staff.goto(f"{base}/staff/pb/{round_id}/proposals/{idea_id}")
    staff.fill(f"#field-reason_{language}", "Sama idea on jo toisaalla.")
    staff.click("button[name=action][value=reject]")
    expect(staff.get_by_role("status")).to_have_text(t(language, "Saved."))
    assert query(
        live_server,
        "SELECT template FROM mail_outbox WHERE recipient = :e ORDER BY id",
        e=email,
    ) == [("account_confirm",), ("idea_received",), ("idea_review",)]
