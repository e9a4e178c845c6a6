"""A resident finds the year at a glance from the calendar on a phone, switches between areas
and types and between years, goes back, and follows a month to its events: fi/sv/en, with and
without JavaScript, by keyboard in the wide table."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, LiveServer, sign_in
from tests.browser.test_journeys_residents import JAVASCRIPT, LANGUAGE, no_axe_violations

pytestmark = pytest.mark.browser

YEAR_LINK = {
    "fi": "Koko vuosi yhdellä silmäyksellä",
    "sv": "Hela året i en överblick",
    "en": "The whole year at a glance",
}
BY_TYPE = {"fi": "Tapahtumatyypeittäin", "sv": "Per evenemangstyp", "en": "By type of event"}
HEADING = {
    "fi": "Vuosi {year} yhdellä silmäyksellä",
    "sv": "År {year} i en överblick",
    "en": "The year {year} at a glance",
}


@JAVASCRIPT
@LANGUAGE
def test_the_year_at_a_glance_on_a_phone(new_page, live_server: LiveServer, language, javascript):
    year = dt.datetime.now(ZoneInfo("Europe/Helsinki")).year
    page = new_page(PHONE, javascript=javascript)
    page.goto(f"{live_server.url}/?lang={language}")
    page.get_by_role("link", name=re.compile(YEAR_LINK[language])).click()
    expect(page.locator("h1")).to_have_text(HEADING[language].format(year=year))
    no_axe_violations(page, javascript)
    # The wide table scrolls sideways in a region that a keyboard can reach and scroll.
    region = page.get_by_role("region")
    region.focus()
    expect(region).to_be_focused()
    page.keyboard.press("End")
    page.get_by_role("link", name=BY_TYPE[language]).click()
    expect(page.get_by_role("link", name=BY_TYPE[language])).to_have_attribute(
        "aria-current", "page"
    )
    page.get_by_role("link", name=f"{year + 1} →").click()
    expect(page.locator("h1")).to_have_text(HEADING[language].format(year=year + 1))
    page.go_back()
    expect(page.locator("h1")).to_have_text(HEADING[language].format(year=year))
    expect(page.get_by_role("link", name=BY_TYPE[language])).to_have_attribute(
        "aria-current", "page"
    )
    # A month with events leads to that month in the calendar.
    first_month = page.locator("tbody td a[href^='/?view=month']").first
    if first_month.count():
        href = first_month.get_attribute("href")
        first_month.click()
        assert page.url.endswith(href)
        expect(page.locator("table.month")).to_be_visible()


def test_staff_see_the_gaps(new_page, live_server: LiveServer):
    page = new_page(PHONE)
    sign_in(page, live_server, lang="en")
    page.goto(f"{live_server.url}/staff/events?lang=en")
    page.get_by_role("link", name="The year at a glance, with the gaps to fill").click()
    expect(page.get_by_role("heading", name="Gaps in the coming months")).to_be_visible()
    expect(page.get_by_role("heading", name="Languages of this year's events")).to_be_visible()
    no_axe_violations(page, True)


@LANGUAGE
def test_only_the_table_scrolls_sideways_on_a_phone(new_page, live_server: LiveServer, language):
    """The year's table scrolls in its region; the page itself must not be wider than the phone
    (the table's visually hidden texts escaped the region and made it 1,000+ px wide)."""
    page = new_page(PHONE)
    for grouping in ("area", "type"):
        page.goto(f"{live_server.url}/calendar/year?by={grouping}&lang={language}")
        expect(page.get_by_role("region")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
