"""Keyboard-only staff work, the calendar without JavaScript, and htmx as an enhancement."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, STAFF_PASSWORD, LiveServer, sign_in

pytestmark = pytest.mark.browser
# The README's pictures are refreshed by `make screenshots` (TORI_SCREENSHOTS=docs/screenshots);
# a test run writes its own copy among the test artifacts, never into a tracked file.
SCREENSHOTS = Path(
    os.environ.get("TORI_SCREENSHOTS") or Path(__file__).resolve().parents[2] / "test-artifacts"
).resolve()


def tab_to(page: Page, selector: str, limit: int = 80) -> None:
    """Press Tab until the element has focus, as a keyboard user would; fail if it never does."""
    target = page.locator(selector)
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    pytest.fail(f"{selector} cannot be reached with the Tab key")


def date_keys(page: Page, day: dt.date) -> str:
    """The digits a keyboard user types for `day` into a date field, in the order this browser
    shows its parts: headless Chromium uses the month-first order of its own default locale
    whatever the page's language (the test once typed day first and passed only on the 12th of
    December). The order is found by typing into a throwaway field."""
    page.evaluate(
        "() => { const probe = document.createElement('input'); probe.type = 'date';"
        " probe.id = 'date-order-probe'; document.body.append(probe); }"
    )
    page.focus("#date-order-probe")
    page.keyboard.type("01022000")
    month_first = page.input_value("#date-order-probe") == "2000-01-02"
    page.evaluate("() => document.getElementById('date-order-probe').remove()")
    first, second = (day.month, day.day) if month_first else (day.day, day.month)
    return f"{first:02d}{second:02d}{day.year}"


def choose_with_arrows(page: Page, selector: str, value: str) -> None:
    tab_to(page, selector)
    for _ in range(30):
        if page.locator(selector).input_value() == value:
            return
        page.keyboard.press("ArrowDown")
    pytest.fail(f"option {value} of {selector} cannot be chosen with the arrow keys")


def test_staff_signs_in_and_adds_an_event_with_the_keyboard_only(new_page, live_server: LiveServer):
    page = new_page(PHONE)
    page.goto(f"{live_server.url}/?lang=en")
    tab_to(page, "a.skip-link")
    tab_to(page, "footer a[href='/staff/login']")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/staff/login"))
    tab_to(page, "#field-email")
    page.keyboard.type(live_server.admin_email)
    tab_to(page, "#field-password")
    page.keyboard.type(STAFF_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/staff")
    tab_to(page, "a[href='/staff/events']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/staff/events")
    tab_to(page, "a[href='/staff/events/new']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/staff/events/new")

    day = dt.datetime.now(ZoneInfo("Europe/Helsinki")).date() + dt.timedelta(days=20)
    tab_to(page, "#field-title_fi")
    page.keyboard.type("Näppäimistöilta")
    tab_to(page, "#field-title_en")
    page.keyboard.type("Keyboard evening")
    choose_with_arrows(page, "#field-event_type", "theme_panel")
    tab_to(page, "#field-languages-en")
    page.keyboard.press("Space")
    keys = date_keys(page, day)
    tab_to(page, "#field-starts_date")
    page.keyboard.type(keys)
    tab_to(page, "#field-starts_time")
    page.keyboard.press("Control+a")
    page.keyboard.type("18.00")
    tab_to(page, "#field-ends_time")
    page.keyboard.press("Control+a")
    page.keyboard.type("20:00")
    tab_to(page, "form[action='/staff/events/new'] button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/staff/events/\d+\?done=created"))
    expect(page.locator(".notice-success")).to_contain_text("The event was added.")
    expect(page.locator("#field-starts_date")).to_have_value(day.isoformat())
    expect(page.locator("#field-languages-en")).to_be_checked()

    page.goto(f"{live_server.url}/?type=theme_panel")
    expect(page.get_by_text("Keyboard evening")).to_be_visible()


def test_calendar_filters_and_month_view_work_without_javascript(new_page, live_server: LiveServer):
    page = new_page(PHONE, javascript=False)
    page.goto(f"{live_server.url}/?lang=en")
    page.select_option("#filter-area", label="Old Espoo")
    page.click("form.filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"area=\d+"))
    cards = page.locator(".event-card .event-meta")
    assert cards.count() > 0
    for index in range(cards.count()):
        expect(cards.nth(index)).to_contain_text("Old Espoo")
    page.get_by_role("link", name="Month", exact=True).click()
    expect(page).to_have_url(re.compile(r"view=month"))
    expect(page.locator("table.month")).to_be_visible()
    page.click("a[rel=next]")
    expect(page).to_have_url(re.compile(r"month=\d{4}-\d{2}"))
    page.click("a[hreflang=sv]")
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    expect(page).to_have_url(re.compile(r"view=month"))


def test_calendar_filter_updates_the_list_in_place_with_htmx(new_page, live_server: LiveServer):
    page = new_page(PHONE)
    page.goto(f"{live_server.url}/?lang=en")
    page.evaluate("window.toriMarker = 'still the same page'")
    page.select_option("#filter-language", "sv")
    page.click("form.filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"language=sv"))
    # Languages are named in the reader's language (English here), not in their own.
    expect(page.locator(".event-languages").first).to_contain_text("Swedish")
    assert page.evaluate("window.toriMarker") == "still the same page"
    languages = page.locator(".event-languages")
    for index in range(languages.count()):
        expect(languages.nth(index)).to_contain_text("Swedish")


def test_phone_calendar_screenshot_for_the_readme(new_page, live_server: LiveServer):
    page = new_page(PHONE)
    page.goto(f"{live_server.url}/?lang=fi")
    expect(page.locator("h1")).to_have_text("Asukastilaisuuksien kalenteri")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=str(SCREENSHOTS / "calendar-phone.png"),
        full_page=True,
        clip={"x": 0, "y": 0, "width": 390, "height": 1400},
    )
    assert (SCREENSHOTS / "calendar-phone.png").stat().st_size > 10_000


def test_page_at_200_percent_zoom_does_not_scroll_sideways(new_page, live_server: LiveServer):
    # 200 % zoom of a 1280 px window lays the page out like a 640 px one.
    page = new_page({"width": 640, "height": 400})
    for path in ("/?lang=en", "/?view=month", "/staff/login", "/accessibility"):
        page.goto(live_server.url + path)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 200 % zoom"


def test_month_cells_and_figure_tables_fit_their_boxes_on_a_desktop(new_page, live_server):
    """Long Finnish event and column names ("Kaupunkikohtaaminen", "Tyytyväisyyden keskiarvo")
    once spilled out of the month grid's cells and made the monitoring table 1,376 px wide in a
    960 px column."""
    page = new_page({"width": 1280, "height": 800})
    overflowing_cells = (
        "[...document.querySelectorAll('table.month td')]"
        ".filter(td => td.scrollWidth > td.clientWidth + 1).length"
    )
    for month in (0, 1):
        page.goto(f"{live_server.url}/?view=month&lang=fi")
        for _ in range(month):
            page.click("a[rel=next]")
        assert page.evaluate(overflowing_cells) == 0, page.url
    sign_in(page, live_server, lang="fi")
    page.goto(f"{live_server.url}/staff/feedback?lang=fi")
    widths = page.evaluate(
        "[...document.querySelectorAll('table.figures')]"
        ".map(t => [t.scrollWidth, t.closest('main').clientWidth])"
    )
    assert widths
    assert all(table <= box for table, box in widths), widths
