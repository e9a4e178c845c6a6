"""Every resident's language on a phone: the questionnaire in Arabic (right to left, the
interface in English) and in Ukrainian reached by a switch mid-questionnaire, with the usual
mistakes (a required answer missed, then given), axe on every step, and the answers stored in
the language they were given in."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, LiveServer, sign_in
from tests.browser.steps import axe_violations, no_axe_violations, query, violations

pytestmark = pytest.mark.browser

ARABIC_SATISFACTION = "بشكل عام، ما مدى رضاك عن الفعالية؟"
UKRAINIAN_SATISFACTION = "Наскільки ви загалом задоволені заходом?"


def last_language(server: LiveServer) -> str:
    rows = query(
        server,
        "SELECT r.language FROM feedback_response r JOIN questionnaire q ON q.id = "
        "r.questionnaire_id WHERE q.slug = :slug ORDER BY r.id DESC LIMIT 1",
        slug=server.open_questionnaire,
    )
    return rows[0][0]


def test_the_questionnaire_in_arabic_on_a_phone_reads_right_to_left(
    new_page, live_server: LiveServer
):
    page = new_page(PHONE)
    page.goto(f"{live_server.url}/f/{live_server.open_questionnaire}?lang=ar")
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "ar")
    expect(html).to_have_attribute("dir", "rtl")
    expect(page.get_by_text(ARABIC_SATISFACTION)).to_be_visible()
    # The English interface is marked as English; the language names as their speakers write.
    expect(page.locator("header.site-header")).to_have_attribute("lang", "en")
    expect(page.locator("button[name=_switch_language][value=ar]")).to_have_text("العربية")
    expect(page.locator("button[name=_switch_language][value=uk]")).to_have_attribute("lang", "uk")
    no_axe_violations(page)
    # The layout mirrors: the scale runs from the right, the brand stands on the right.
    one = page.locator("label[for='question-satisfaction-1']").bounding_box()
    five = page.locator("label[for='question-satisfaction-5']").bounding_box()
    assert one["x"] > five["x"]
    viewport = page.viewport_size["width"]
    brand = page.locator(".brand").bounding_box()
    assert brand["x"] + brand["width"] > viewport / 2
    # Nothing runs off the side of the phone's screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport
    # The usual mistake: the required question is missed.
    page.locator("label[for='question-again-no']").click()
    page.fill("#question-again_if-text", "مواعيد في المساء")
    page.fill("#question-comment-text", "شكرًا 123")
    page.click("#feedback-form button[type=submit]")
    expect(page.locator(".error-summary")).to_be_visible()
    expect(html).to_have_attribute("dir", "rtl")
    expect(page.locator("#question-again_if-text")).to_have_value("مواعيد في المساء")
    no_axe_violations(page)
    page.locator("label[for='question-satisfaction-4']").click()
    page.locator("label[for='question-recommend-10']").click()
    page.click("#feedback-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/thanks$"))
    assert last_language(live_server) == "ar"
    # Opened again on the same device: thanked, not asked again.
    page.goto(f"{live_server.url}/f/{live_server.open_questionnaire}?lang=ar")
    expect(page.locator(".notice-success")).to_be_visible()
    no_axe_violations(page)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_switching_to_ukrainian_mid_questionnaire_keeps_the_answers(
    new_page, live_server: LiveServer, javascript
):
    page = new_page(PHONE, javascript=javascript)
    page.goto(f"{live_server.url}/f/{live_server.open_questionnaire}?lang=fi")
    page.locator("label[for='question-satisfaction-2']").click()
    page.locator("label[for='question-heard_from-friend']").click()
    page.fill("#question-comment-text", "Hyvä ilta")
    page.click("button[name=_switch_language][value=uk]")
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "uk")
    assert page.get_attribute("html", "dir") is None
    expect(page.get_by_text(UKRAINIAN_SATISFACTION)).to_be_visible()
    expect(page.locator("#question-satisfaction-2")).to_be_checked()
    expect(page.locator("#question-heard_from-friend")).to_be_checked()
    expect(page.locator("#question-comment-text")).to_have_value("Hyvä ilta")
    expect(page.locator("button[name=_switch_language][value=uk]")).to_have_attribute(
        "aria-current", "true"
    )
    no_axe_violations(page, javascript)
    # On to Arabic and back to Ukrainian: still nothing lost, the direction follows.
    page.click("button[name=_switch_language][value=ar]")
    expect(html).to_have_attribute("dir", "rtl")
    page.click("button[name=_switch_language][value=uk]")
    expect(page.locator("#question-satisfaction-2")).to_be_checked()
    page.click("#feedback-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/thanks$"))
    assert last_language(live_server) == "uk"


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_pages_read_in_added_languages_have_no_axe_violations(
    new_page, live_server: LiveServer, viewport
):
    page = new_page(viewport)
    base, slug = live_server.url, live_server.open_questionnaire
    found: list[str] = []
    for path in (
        f"/f/{slug}?lang=ar",
        f"/f/{slug}?lang=fi-x-selko",
        f"/f/{slug}?lang=uk",
        f"/p/{live_server.open_poll}?lang=ar",
        "/?lang=ar",  # the calendar has no Arabic: the English interface's page, not an RTL one
    ):
        found += violations(page, base + path)
    assert page.get_attribute("html", "lang") == "en"
    assert page.get_attribute("html", "dir") is None
    # The staff poll form with the other content languages opened.
    sign_in(page, live_server, lang="en")
    page.goto(f"{base}/staff/polls/new")
    page.locator("details.more-languages summary").first.click()
    expect(page.locator("#field-title_ar")).to_have_attribute("dir", "rtl")
    found += axe_violations(page, "/staff/polls/new (other languages open)")
    assert found == [], "\n".join(found)
