"""A poll's language buttons keep the choices ticked so far: on a phone, fi/sv/en, with and
without JavaScript. The poll comes back whole in the new language (one header, the page's
language changed), nothing is stored, and the vote sent from there is counted once."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, LiveServer
from tests.browser.test_journeys_residents import (
    JAVASCRIPT,
    LANGUAGE,
    LANGUAGES,
    SUMMER,
    VOTE_BUTTON,
    VOTE_THANKS,
    no_axe_violations,
    query,
    summer_poll,  # noqa: F401 - a fixture
    votes,
)

pytestmark = pytest.mark.browser


@JAVASCRIPT
@LANGUAGE
def test_poll_language_switch_mid_form_keeps_the_choices(
    new_page,
    live_server: LiveServer,
    summer_poll,  # noqa: F811 - the fixture imported above
    language,
    javascript,
):
    poll_id, slug = summer_poll
    other = LANGUAGES[(LANGUAGES.index(language) + 1) % 3]
    before = votes(live_server, poll_id)
    page = new_page(PHONE, javascript=javascript)
    page.goto(f"{live_server.url}/p/{slug}?lang={language}")
    for option in ("concerts", "markets", "yes"):
        page.get_by_text(SUMMER[option][language], exact=True).click()
    page.click(f"button[name=_switch_language][value={other}]")
    expect(page.locator("html")).to_have_attribute("lang", other)
    expect(page.get_by_label(SUMMER["concerts"][other], exact=True)).to_be_checked()
    expect(page.get_by_label(SUMMER["markets"][other], exact=True)).to_be_checked()
    expect(page.get_by_label(SUMMER["sports"][other], exact=True)).not_to_be_checked()
    expect(page.get_by_label(SUMMER["yes"][other], exact=True)).to_be_checked()
    # One page in the new language, header included: not a page inside the page.
    expect(page.locator("header.site-header")).to_have_count(1)
    expect(page.locator("h1")).to_have_count(1)
    expect(page.locator(f"button[name=_switch_language][value={other}]")).to_have_attribute(
        "aria-current", "true"
    )
    no_axe_violations(page, javascript)
    assert votes(live_server, poll_id) == before
    page.locator(VOTE_BUTTON).click()
    expect(page.get_by_text(VOTE_THANKS[other])).to_be_visible()
    expect(page).to_have_url(re.compile(r"/thanks$"))
    assert votes(live_server, poll_id) == before + 1
    stored = query(
        live_server,
        "SELECT language FROM poll_vote WHERE poll_id = :poll ORDER BY id DESC LIMIT 1",
        poll=poll_id,
    )
    assert stored == [(other,)]


def test_poll_language_switch_by_keyboard(new_page, live_server: LiveServer, summer_poll):  # noqa: F811
    _poll_id, slug = summer_poll
    page = new_page(PHONE)
    page.goto(f"{live_server.url}/p/{slug}?lang=fi")
    page.get_by_label(SUMMER["sports"]["fi"], exact=True).focus()
    page.keyboard.press("Space")
    page.locator("button[name=_switch_language][value=sv]").focus()
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    expect(page.get_by_label(SUMMER["sports"]["sv"], exact=True)).to_be_checked()


@JAVASCRIPT
def test_enter_on_a_choice_votes_rather_than_switching_language(
    new_page,
    live_server: LiveServer,
    summer_poll,  # noqa: F811 - the fixture imported above
    javascript,
):
    """The language buttons in the header belong to the poll's form; Enter on a choice sends
    the vote as before, in the page's language."""
    poll_id, slug = summer_poll
    before = votes(live_server, poll_id)
    page = new_page(PHONE, javascript=javascript)
    page.goto(f"{live_server.url}/p/{slug}?lang=en")
    page.get_by_label(SUMMER["markets"]["en"], exact=True).check()
    page.get_by_label(SUMMER["yes"]["en"], exact=True).check()
    page.get_by_label(SUMMER["yes"]["en"], exact=True).press("Enter")
    expect(page.get_by_text(VOTE_THANKS["en"])).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert votes(live_server, poll_id) == before + 1


# --- a poll written in Arabic too: right to left on a phone ------------------------------------

ARABIC_POLL = {
    "title": {
        "fi": "Kirjaston illat",
        "sv": "Bibliotekets kvällar",
        "en": "Library evenings",
        "ar": "أمسيات المكتبة",
    },
    "q1": {"fi": "Mikä ilta?", "sv": "Vilken kväll?", "en": "Which evening?", "ar": "أي أمسية؟"},
    "q1_options": {
        "o1": {"fi": "Maanantai", "sv": "Måndag", "en": "Monday", "ar": "الاثنين"},
        "o2": {"fi": "Torstai", "sv": "Torsdag", "en": "Thursday", "ar": "الخميس"},
    },
    "q2": {"fi": "Tuletko?", "sv": "Kommer du?", "en": "Will you come?", "ar": "هل ستأتي؟"},
}


@pytest.fixture(scope="module")
def arabic_poll(live_server: LiveServer) -> tuple[int, str]:
    from app.database import utcnow
    from surveys.polls import services
    from tests.browser.steps import in_database

    async def create(session):
        opens = utcnow() - dt.timedelta(hours=1)
        poll = await services.create_poll(
            session,
            services.PollDraft(
                title=ARABIC_POLL["title"],
                questions=[
                    {
                        "key": "q1",
                        "type": "single",
                        "required": True,
                        "text": ARABIC_POLL["q1"],
                        "options": [
                            {"key": key, "label": label}
                            for key, label in ARABIC_POLL["q1_options"].items()
                        ],
                    },
                    {"key": "q2", "type": "yes_no", "required": True, "text": ARABIC_POLL["q2"]},
                ],
                opens_at=opens,
                closes_at=opens + dt.timedelta(days=2),
                visibility="immediate",
            ),
        )
        return poll.id, poll.slug

    return in_database(live_server, create)


@JAVASCRIPT
def test_poll_switched_to_arabic_on_a_phone_reads_right_to_left(
    new_page, live_server: LiveServer, arabic_poll, javascript
):
    poll_id, slug = arabic_poll
    before = votes(live_server, poll_id)
    page = new_page(PHONE, javascript=javascript)
    page.goto(f"{live_server.url}/p/{slug}?lang=fi")
    page.get_by_text("Torstai", exact=True).click()
    page.click("button[name=_switch_language][value=ar]")
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "ar")
    expect(html).to_have_attribute("dir", "rtl")
    expect(page.locator("h1")).to_have_text("أمسيات المكتبة")
    expect(page.get_by_label("الخميس", exact=True)).to_be_checked()
    expect(page.locator("button[name=_switch_language][value=ar]")).to_have_attribute("lang", "ar")
    no_axe_violations(page, javascript)
    # The usual mistake: the second question is left out; the vote is refused, nothing stored.
    page.locator(VOTE_BUTTON).click()
    expect(page.locator(".error-summary")).to_be_visible()
    expect(html).to_have_attribute("dir", "rtl")
    assert votes(live_server, poll_id) == before
    expect(page.get_by_label("الخميس", exact=True)).to_be_checked()
    page.locator("label.tap", has=page.locator("input[value=yes]")).click()
    page.locator(VOTE_BUTTON).click()
    expect(page.get_by_text(VOTE_THANKS["en"])).to_be_visible()
    assert votes(live_server, poll_id) == before + 1
    stored = query(
        live_server,
        "SELECT language FROM poll_vote WHERE poll_id = :poll ORDER BY id DESC LIMIT 1",
        poll=poll_id,
    )
    assert stored == [("ar",)]
