"""Polls in a real browser: one tap on a phone, the weight budget, kiosk reset, live results."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, LiveServer, sign_in

pytestmark = pytest.mark.browser

THANKS = {
    "fi": "Kiitos! Äänesi on tallennettu.",
    "sv": "Tack! Din röst har sparats.",
    "en": "Thank you! Your vote was recorded.",
}
OPTION = {"fi": "Pelejä", "sv": "Spel", "en": "Games"}
FIRST_VISIT_BUDGET = 30 * 1024
HTML_BUDGET = 6 * 1024


def test_first_visit_weighs_under_the_budget(new_page, live_server: LiveServer):
    """Everything a phone downloads on its first visit, as sent over the network (compressed)."""
    page = new_page(PHONE)
    sizes: dict[str, int] = {}

    def record(request):
        transferred = request.sizes()["responseBodySize"]
        sizes[request.url] = transferred

    page.on("requestfinished", record)
    page.goto(f"{live_server.url}/p/{live_server.open_poll}?via=qr")
    page.wait_for_load_state("networkidle")
    html = [size for url, size in sizes.items() if f"/p/{live_server.open_poll}" in url]
    assert len(html) == 1
    assert 0 < html[0] <= HTML_BUDGET, sizes
    assert any("/static/htmx" in url for url in sizes), "the scripts are part of the measured visit"
    total = sum(sizes.values())
    assert total <= FIRST_VISIT_BUDGET, f"{total} bytes: {sizes}"


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_resident_votes_with_one_tap(new_page, live_server: LiveServer, language, javascript):
    page = new_page(PHONE, javascript=javascript)
    page.goto(f"{live_server.url}/p/{live_server.open_poll}?via=qr&lang={language}")
    if javascript:
        # A mark on the window survives only if the vote is sent without loading a new page.
        page.evaluate("window.notReloaded = true")
    page.get_by_role("button", name=OPTION[language]).click()
    expect(page.get_by_text(THANKS[language])).to_be_visible()
    expect(page).to_have_url(re.compile(r"/thanks$"))
    if javascript:
        assert page.evaluate("window.notReloaded") is True
    expect(page.locator(".poll-total")).to_be_visible()
    # The same phone is thanked, not asked again.
    page.goto(f"{live_server.url}/p/{live_server.open_poll}?lang={language}")
    expect(page.locator(".notice-success")).to_be_visible()
    assert page.locator("form.poll-form").count() == 0


def test_switching_language_keeps_the_poll(new_page, live_server: LiveServer):
    page = new_page(PHONE)
    page.goto(f"{live_server.url}/p/{live_server.open_poll}?via=qr&lang=fi")
    page.get_by_role("link", name="Svenska").click()
    expect(page).to_have_url(re.compile(rf"/p/{live_server.open_poll}\?via=qr&lang=sv$"))
    expect(page.get_by_role("button", name=OPTION["sv"])).to_be_visible()


def test_keyboard_alone_votes(new_page, live_server: LiveServer):
    page = new_page(PHONE)
    page.goto(f"{live_server.url}/p/{live_server.open_poll}?lang=en")
    page.get_by_role("button", name=OPTION["en"]).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text(THANKS["en"])).to_be_visible()


def test_kiosk_resets_itself_for_the_next_person(new_page, live_server: LiveServer):
    staff = new_page()
    sign_in(staff, live_server)
    staff.goto(f"{live_server.url}/staff/polls?lang=en")
    staff.locator("table a").first.click()
    staff.fill("#field-name", "Sello library")
    staff.get_by_role("button", name="Create a kiosk link").click()
    link = staff.locator(".kiosk-link code").inner_text()
    assert "/kiosk?t=" in link
    tablet = new_page(PHONE)
    tablet.goto(link + "&lang=en")
    expect(tablet).to_have_url(re.compile(r"/kiosk$"))
    tablet.get_by_role("button", name=OPTION["en"]).click()
    expect(tablet.get_by_text(THANKS["en"])).to_be_visible()
    expect(tablet.get_by_text("The poll starts again for the next person")).to_be_visible()
    # Reset after a few seconds: the poll is there again for the next person, not "already voted".
    expect(tablet.get_by_role("button", name=OPTION["en"])).to_be_visible(timeout=15000)
    tablet.get_by_role("button", name=OPTION["en"]).click()
    expect(tablet.get_by_text(THANKS["en"])).to_be_visible()
    # Staff revoke the kiosk: its next vote is refused.
    staff.reload()
    staff.get_by_role("button", name="Revoke the kiosk Sello library").first.click()
    tablet.get_by_text("Wait, I am still reading").click()
    tablet.goto(f"{live_server.url}/p/{live_server.open_poll}/kiosk?lang=en")
    expect(tablet.get_by_text("no longer allowed to collect votes")).to_be_visible()


def test_results_update_live_without_reload(new_page, live_server: LiveServer):
    watcher = new_page()
    # The page follows the poll through an event stream: wait until the server has answered it
    # (it subscribes to the poll as it starts the stream, long before the voter below has
    # loaded a page), not for some guessed time.
    with watcher.expect_response(lambda response: response.url.endswith("/live")) as stream:
        watcher.goto(f"{live_server.url}/p/{live_server.open_poll}/results?lang=en")
    assert stream.value.status == 200
    assert stream.value.headers["content-type"].startswith("text/event-stream")
    total = watcher.locator(".poll-total")
    before = int(re.search(r"\d+", total.inner_text()).group())
    watcher.evaluate("window.notReloaded = true")
    voter = new_page(PHONE)
    voter.goto(f"{live_server.url}/p/{live_server.open_poll}?lang=en")
    voter.get_by_role("button", name=OPTION["en"]).click()
    expect(voter.get_by_text(THANKS["en"])).to_be_visible()
    expect(total).to_have_text(re.compile(rf"^{before + 1} votes"), timeout=10000)
    assert watcher.evaluate("window.notReloaded") is True


def test_kiosk_is_locked_to_its_poll_and_the_presentation_is_legible_from_afar(
    new_page, live_server: LiveServer
):
    staff = new_page()
    sign_in(staff, live_server)
    staff.goto(f"{live_server.url}/staff/polls?lang=en")
    staff.locator("table a").first.click()
    poll_page = staff.url
    staff.fill("#field-name", "Entresse library")
    staff.get_by_role("button", name="Create a kiosk link").click()
    link = staff.locator(".kiosk-link code").inner_text()
    # The link is also a QR code for the tablet's camera.
    expect(
        staff.get_by_role("img", name="QR code that opens the kiosk on the tablet")
    ).to_be_visible()
    tablet = new_page(PHONE)
    tablet.goto(link + "&lang=en")
    expect(tablet).to_have_url(re.compile(r"/kiosk$"))
    # Nothing leads off the poll: no site navigation, no staff sign-in, the brand is no link.
    assert tablet.locator("nav.main-nav").count() == 0
    assert tablet.locator("a[href='/staff/login'], a[href='/staff'], a[href='/']").count() == 0
    assert tablet.locator("footer").count() == 0
    for box in tablet.locator("main button").evaluate_all(
        "buttons => buttons.map(b => b.getBoundingClientRect().height)"
    ):
        assert box >= 48
    # The presentation screen: no staff name, a heading legible from five metres.
    staff.goto(poll_page + "/present")
    assert "Browser admin" not in staff.locator("body").inner_text()
    assert staff.locator("nav.main-nav, form.logout").count() == 0
    heading = staff.locator("h1").evaluate("h => parseFloat(getComputedStyle(h).fontSize)")
    assert heading >= 48
