"""Residents' journeys with the mistakes people make, on a phone, in fi/sv/en, with and without
JavaScript: each ends where the person expects, with nothing lost and nothing counted twice.

- questionnaire: an error, then the fix; a language switch mid-form; an expired form; a double
  tap on "Send", a reload of the thanks page and the back button;
- poll: too many choices, then the fix, with a double tap;
- kiosk: a vote, the automatic reset, the next person's vote.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, LiveServer
from tests.browser.steps import in_database, no_axe_violations, query

pytestmark = pytest.mark.browser

LANGUAGES = ["fi", "sv", "en"]
JAVASCRIPT = pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
LANGUAGE = pytest.mark.parametrize("language", LANGUAGES)
SATISFACTION = {
    "fi": "Kuinka tyytyväinen olit tilaisuuteen kokonaisuutena?",
    "sv": "Hur nöjd var du med evenemanget som helhet?",
    "en": "Overall, how satisfied were you with the event?",
}
THANKS = {"fi": "Kiitos!", "sv": "Tack!", "en": "Thank you!"}
VOTE_THANKS = {
    "fi": "Kiitos! Äänesi on tallennettu.",
    "sv": "Tack! Din röst har sparats.",
    "en": "Thank you! Your vote was recorded.",
}
SUMMER = {  # the demo poll with at most two choices and a second question
    "concerts": {"fi": "Konsertit", "sv": "Konserter", "en": "Concerts"},
    "markets": {"fi": "Torit", "sv": "Torgdagar", "en": "Markets"},
    "sports": {"fi": "Liikunta", "sv": "Motion", "en": "Sports"},
    "yes": {"fi": "Kyllä", "sv": "Ja", "en": "Yes"},
}
VOTE_BUTTON = "form.poll-form button[type=submit]"


def responses(server: LiveServer) -> int:
    return query(
        server,
        "SELECT count(*) FROM feedback_response r JOIN questionnaire q ON q.id = r.questionnaire_id"
        " WHERE q.slug = :slug",
        slug=server.open_questionnaire,
    )[0][0]


@pytest.fixture(scope="module")
def summer_poll(live_server: LiveServer) -> tuple[int, str]:
    polls = query(live_server, "SELECT id, slug, title FROM poll ORDER BY id")
    [(poll_id, slug)] = [(i, s) for i, s, title in polls if title.get("en") == "Summer events"]
    return poll_id, slug


def votes(server: LiveServer, poll_id: int, channel: str | None = None) -> int:
    statement = "SELECT count(*) FROM poll_vote WHERE poll_id = :poll"
    if channel:
        statement += " AND channel = :channel"
    return query(server, statement, poll=poll_id, channel=channel)[0][0]


def open_form(new_page, server: LiveServer, language: str, javascript: bool) -> Page:
    page = new_page(PHONE, javascript=javascript)
    page.goto(f"{server.url}/f/{server.open_questionnaire}?lang={language}")
    expect(page.get_by_text(SATISFACTION[language])).to_be_visible()
    return page


def send(page: Page) -> None:
    page.click("#feedback-form button[type=submit]:not([name])")


# --- the questionnaire ---------------------------------------------------------------------


@JAVASCRIPT
@LANGUAGE
def test_questionnaire_error_then_fix_reaches_thanks(
    new_page, live_server: LiveServer, language, javascript
):
    before = responses(live_server)
    page = open_form(new_page, live_server, language, javascript)
    # The required overall question is skipped; other answers are given.
    page.locator("label[for='question-recommend-8']").click()
    page.fill("#question-comment-text", "Hyvä ilta, kiitos")
    send(page)
    expect(page.locator(".error-summary")).to_be_visible()
    expect(page.locator("#question-satisfaction")).to_have_class(re.compile("field-invalid"))
    expect(page.locator("#question-recommend-8")).to_be_checked()
    expect(page.locator("#question-comment-text")).to_have_value("Hyvä ilta, kiitos")
    expect(page.locator("html")).to_have_attribute("lang", language)
    no_axe_violations(page, javascript)
    assert responses(live_server) == before
    page.locator("label[for='question-satisfaction-5']").click()
    send(page)
    expect(page).to_have_url(re.compile(r"/thanks$"))
    expect(page.locator("h1")).to_have_text(THANKS[language])
    assert responses(live_server) == before + 1


@JAVASCRIPT
@LANGUAGE
def test_questionnaire_language_switch_mid_form_keeps_the_answers(
    new_page, live_server: LiveServer, language, javascript
):
    other = LANGUAGES[(LANGUAGES.index(language) + 1) % 3]
    before = responses(live_server)
    page = open_form(new_page, live_server, language, javascript)
    page.locator("label[for='question-satisfaction-2']").click()
    page.fill("#question-comment-text", "Kahvi loppui kesken")
    page.click(f"button[name=_switch_language][value={other}]")
    expect(page.locator("html")).to_have_attribute("lang", other)
    expect(page.get_by_text(SATISFACTION[other])).to_be_visible()
    expect(page.locator("#question-satisfaction-2")).to_be_checked()
    expect(page.locator("#question-comment-text")).to_have_value("Kahvi loppui kesken")
    assert responses(live_server) == before
    send(page)
    expect(page).to_have_url(re.compile(r"/thanks$"))
    expect(page.locator("h1")).to_have_text(THANKS[other])
    assert responses(live_server) == before + 1
    stored = query(
        live_server,
        "SELECT language FROM feedback_response ORDER BY id DESC LIMIT 1",
    )
    assert stored == [(other,)]


@JAVASCRIPT
@LANGUAGE
def test_questionnaire_expired_form_keeps_the_answers(
    new_page, live_server: LiveServer, language, javascript
):
    """The form sat open until its token cookie was gone (closed browser, cleared cookies)."""
    before = responses(live_server)
    page = open_form(new_page, live_server, language, javascript)
    page.locator("label[for='question-satisfaction-3']").click()
    page.fill("#question-comment-text", "Pitkä päivä")
    page.context.clear_cookies(name="tori_csrf")
    send(page)
    expect(page.locator(".error-summary")).to_be_visible()
    expect(page.locator("#question-satisfaction-3")).to_be_checked()
    expect(page.locator("#question-comment-text")).to_have_value("Pitkä päivä")
    no_axe_violations(page, javascript)
    assert responses(live_server) == before
    send(page)
    expect(page).to_have_url(re.compile(r"/thanks$"))
    assert responses(live_server) == before + 1


@JAVASCRIPT
@LANGUAGE
def test_questionnaire_double_tap_reload_and_back_store_one_response(
    new_page, live_server: LiveServer, language, javascript
):
    before = responses(live_server)
    page = open_form(new_page, live_server, language, javascript)
    page.locator("label[for='question-satisfaction-4']").click()
    page.locator("#feedback-form button[type=submit]:not([name])").dblclick()
    expect(page).to_have_url(re.compile(r"/thanks$"))
    expect(page.locator("h1")).to_have_text(THANKS[language])
    page.reload()
    expect(page.locator("h1")).to_have_text(THANKS[language])
    page.go_back()
    expect(page).to_have_url(re.compile(rf"/f/{live_server.open_questionnaire}"))
    # Back on the form page: the device is thanked, not asked again.
    expect(page.locator(".notice-success")).to_be_visible()
    assert page.locator("#feedback-form").count() == 0
    assert responses(live_server) == before + 1


# --- polls ----------------------------------------------------------------------------------


@JAVASCRIPT
@LANGUAGE
def test_poll_too_many_choices_then_fix_counts_once(
    new_page, live_server: LiveServer, summer_poll, language, javascript
):
    poll_id, slug = summer_poll
    before = votes(live_server, poll_id)
    page = new_page(PHONE, javascript=javascript)
    page.goto(f"{live_server.url}/p/{slug}?lang={language}")
    for option in ("concerts", "markets", "sports", "yes"):
        page.get_by_text(SUMMER[option][language], exact=True).click()
    page.locator(VOTE_BUTTON).click()
    expect(page.locator(".error-summary")).to_be_visible()
    # One page, not a page inside the page.
    expect(page.locator("header.site-header")).to_have_count(1)
    expect(page.locator("h1")).to_have_count(1)
    sports = page.get_by_label(SUMMER["sports"][language], exact=True)
    expect(sports).to_be_checked()
    no_axe_violations(page, javascript)
    assert votes(live_server, poll_id) == before
    sports.uncheck()
    page.locator(VOTE_BUTTON).dblclick()
    expect(page.get_by_text(VOTE_THANKS[language])).to_be_visible()
    expect(page).to_have_url(re.compile(r"/thanks$"))
    expect(page.locator("header.site-header")).to_have_count(1)
    assert votes(live_server, poll_id) == before + 1
    page.reload()
    assert votes(live_server, poll_id) == before + 1


# --- kiosks ---------------------------------------------------------------------------------


@pytest.fixture
def kiosk_link(live_server: LiveServer, summer_poll) -> str:
    """A kiosk of the summer poll, made as staff make one; its link is opened once on the tablet."""
    from surveys.polls import services

    async def make(session) -> str:
        poll = await services.get_poll(session, summer_poll[0])
        _kiosk, token = await services.create_kiosk(session, poll, "Sello", None)
        return token

    return f"{live_server.url}/kiosk?t={in_database(live_server, make)}"


@JAVASCRIPT
@LANGUAGE
def test_kiosk_two_people_vote_one_after_the_other(
    new_page, live_server: LiveServer, summer_poll, kiosk_link, language, javascript
):
    poll_id, slug = summer_poll
    before = votes(live_server, poll_id, "kiosk")
    tablet = new_page(PHONE, javascript=javascript)
    tablet.goto(kiosk_link)
    tablet.goto(f"{live_server.url}/p/{slug}/kiosk?lang={language}")
    for person in (("concerts", "yes"), ("markets", "sports")):
        for option in person:
            tablet.get_by_text(SUMMER[option][language], exact=True).click()
        if person == ("markets", "sports"):
            # The second person forgets the required question: told, nothing counted, then fixed.
            tablet.locator(VOTE_BUTTON).click()
            expect(tablet.locator(".error-summary")).to_be_visible()
            no_axe_violations(tablet, javascript)
            tablet.get_by_text(SUMMER["yes"][language], exact=True).click()
        tablet.locator(VOTE_BUTTON).click()
        expect(tablet.get_by_text(VOTE_THANKS[language])).to_be_visible()
        # The kiosk starts again by itself for the next person, with nothing of this one's left.
        expect(tablet.locator(VOTE_BUTTON)).to_be_visible(timeout=20000)
        expect(tablet).to_have_url(re.compile(rf"/p/{slug}/kiosk$"))
        expect(tablet.locator("input:checked")).to_have_count(0)
    assert votes(live_server, poll_id, "kiosk") == before + 2
