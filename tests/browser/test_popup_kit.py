"""The pop-up kit in a real browser: two people in turn on one kiosk tablet, the second seeing
nothing of the first (back button included, and after the first walked away); the head counter
on a phone, with and without JavaScript, a double tap counted twice."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, LiveServer, sign_in
from tests.browser.steps import no_axe_violations, query

pytestmark = pytest.mark.browser

TABLET = {"width": 800, "height": 1280}
FIRST_PERSONS_WORDS = "Ensimmäisen vastaajan oma kommentti"


def responses(server: LiveServer) -> int:
    [(count,)] = query(
        server,
        "SELECT count(*) FROM feedback_response r JOIN questionnaire q"
        " ON q.id = r.questionnaire_id WHERE q.slug = :slug",
        slug=server.open_questionnaire,
    )
    return count


def nothing_of_the_first_person(tablet) -> None:
    assert FIRST_PERSONS_WORDS not in tablet.content()
    assert tablet.locator("input:checked").count() == 0


def test_two_people_in_turn_on_a_kiosk_tablet(new_page, live_server: LiveServer):
    base, event = live_server.url, live_server.open_questionnaire_event
    slug = live_server.open_questionnaire
    staff = new_page(PHONE)
    sign_in(staff, live_server)
    staff.goto(f"{base}/staff/events/{event}/kit?lang=en")
    no_axe_violations(staff)
    # A kiosk without a name is refused beside the field; then it is made.
    staff.get_by_role("button", name="Create a kiosk link").click()
    expect(staff.locator(".error-summary")).to_be_visible()
    staff.fill("#field-name", "Pop-up tablet")
    staff.get_by_role("button", name="Create a kiosk link").click()
    link = staff.locator(".kiosk-link code").first.inner_text()
    assert "/kiosk?t=" in link
    no_axe_violations(staff)
    before = responses(live_server)

    tablet = new_page(TABLET)
    tablet.goto(link + "&lang=en")
    expect(tablet).to_have_url(re.compile(rf"/events/{event}/kit$"))
    expect(tablet.get_by_text("This tablet is shared")).to_be_visible()
    no_axe_violations(tablet)
    # The first person: a language switch, a forgotten required answer, then the answers sent.
    tablet.get_by_role("link", name="Answer the questionnaire").click()
    expect(tablet).to_have_url(re.compile(rf"/f/{slug}/kiosk$"))
    no_axe_violations(tablet)
    tablet.fill("#question-comment-text", FIRST_PERSONS_WORDS)
    tablet.click("button[name=_switch_language][value=sv]")
    expect(tablet.locator("html")).to_have_attribute("lang", "sv")
    expect(tablet.locator("#question-comment-text")).to_have_value(FIRST_PERSONS_WORDS)
    tablet.click("button[name=_switch_language][value=en]")
    expect(tablet.locator("html")).to_have_attribute("lang", "en")
    tablet.click("#feedback-form button[type=submit]")
    expect(tablet.locator(".error-summary")).to_be_visible()
    expect(tablet.locator("#question-comment-text")).to_have_value(FIRST_PERSONS_WORDS)
    no_axe_violations(tablet)
    tablet.locator("label[for='question-satisfaction-4']").click()
    tablet.click("#feedback-form button[type=submit]")
    expect(tablet).to_have_url(re.compile(r"/kiosk\?answered=1$"))
    expect(tablet.locator("h1")).to_have_text("Thank you!")
    no_axe_violations(tablet)
    # Left alone, the tablet starts again for the next person.
    expect(tablet).to_have_url(re.compile(rf"/events/{event}/kit$"), timeout=20000)
    assert responses(live_server) == before + 1

    # The second person steps back through the tablet's history: nothing of the first.
    nothing_of_the_first_person(tablet)
    for _step in range(4):
        if tablet.go_back() is None:
            break
        nothing_of_the_first_person(tablet)
    tablet.goto(f"{base}/events/{event}/kit?lang=en")
    tablet.get_by_role("link", name="Answer the questionnaire").click()
    nothing_of_the_first_person(tablet)
    expect(tablet.get_by_text("already answered")).to_have_count(0)
    # The second person starts, then walks away: the notice, then a clean start page.
    tablet.fill("#question-comment-text", "Toisen vastaajan keskeneräinen vastaus")
    tablet.evaluate(
        "var form = document.querySelector('form[data-kiosk-idle]');"
        "form.setAttribute('data-kiosk-idle', '1'); form.setAttribute('data-kiosk-notice', '3');"
    )
    expect(tablet.get_by_text("Are you still answering?")).to_be_visible(timeout=5000)
    expect(tablet).to_have_url(re.compile(rf"/events/{event}/kit$"), timeout=10000)
    assert "Toisen vastaajan" not in tablet.content()
    tablet.go_back()
    assert "Toisen vastaajan" not in tablet.content()
    # A third person answers in full.
    tablet.goto(f"{base}/f/{slug}/kiosk?lang=en")
    tablet.locator("label[for='question-satisfaction-5']").click()
    tablet.click("#feedback-form button[type=submit]")
    expect(tablet.locator("h1")).to_have_text("Thank you!")
    assert responses(live_server) == before + 2


def counts(server: LiveServer, event: int) -> tuple[int, int]:
    [(participants, visitors)] = query(
        server,
        "SELECT coalesce(participant_count, 0), coalesce(visitor_count, 0) FROM event"
        " WHERE id = :id",
        id=event,
    )
    return participants, visitors


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_head_counter_on_a_phone(new_page, live_server: LiveServer, javascript):
    base, event = live_server.url, live_server.open_questionnaire_event
    phone = new_page(PHONE, javascript=javascript)
    sign_in(phone, live_server)
    phone.goto(f"{base}/staff/events/{event}/count?lang=en")
    no_axe_violations(phone, javascript)
    participants, visitors = counts(live_server, event)
    figure = phone.locator("[data-count=participants]")
    plus_one = phone.get_by_role("button", name="+1 participant")
    plus_one.click()
    expect(figure).to_have_text(str(participants + 1))
    # A double tap: two taps, counted twice.
    if javascript:
        plus_one.dblclick()
    else:
        plus_one.click()
        expect(figure).to_have_text(str(participants + 2))
        plus_one.click()
    expect(figure).to_have_text(str(participants + 3))
    phone.get_by_role("button", name="+1 visitor").click()
    expect(phone.locator("[data-count=visitors]")).to_have_text(str(visitors + 1))
    assert counts(live_server, event) == (participants + 3, visitors + 1)
    # Reloaded (and, without JavaScript, the last post not sent again): the same figures.
    phone.goto(f"{base}/staff/events/{event}/count?lang=fi")
    expect(phone.locator("[data-count=participants]")).to_have_text(str(participants + 3))
    expect(phone.get_by_role("button", name="+1 osallistuja")).to_be_visible()
    no_axe_violations(phone, javascript)
