"""Enter on a field sends the form, also where the header's language buttons belong to the
form (they carry the answers along to another language): the questionnaire. The browser
presses the first submit button of the form in document order, and those buttons come first.
The poll and the idea form have the same test beside their journeys."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LiveServer
from tests.browser.test_journeys_residents import (
    JAVASCRIPT,
    SATISFACTION,
    THANKS,
    open_form,
    responses,
)

pytestmark = pytest.mark.browser


@JAVASCRIPT
def test_enter_on_an_answer_sends_the_questionnaire_in_its_language(
    new_page, live_server: LiveServer, javascript
):
    before = responses(live_server)
    page = open_form(new_page, live_server, "sv", javascript)
    expect(page.get_by_text(SATISFACTION["sv"])).to_be_visible()
    page.locator("label[for='question-satisfaction-4']").click()
    page.locator("#question-satisfaction-4").press("Enter")
    expect(page).to_have_url(re.compile(r"/thanks$"))
    expect(page.locator("h1")).to_have_text(THANKS["sv"])
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    assert responses(live_server) == before + 1
