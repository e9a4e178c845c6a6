"""The embeddable calendar and poll on a city's own page, in a real browser: a listed site shows
them in frames at phone width, a resident follows a link out of the frame into Tori, and
neither an unlisted site nor any other page of Tori's can be framed (clickjacking)."""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import PHONE, LiveServer, _free_port, served
from tests.browser.steps import violations
from tests.conftest import TEST_SECRET

pytestmark = pytest.mark.browser

HOST_PAGE = """<!doctype html><html lang="fi"><head><meta charset="utf-8"><title>Kaupunki</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head><body>
<h1>Kaupungin sivu</h1>
<iframe id="calendar" title="Tapahtumat" src="{tori}/embed/calendar?lang=fi" width="360" height="500"></iframe>
<iframe id="poll" title="Kysely" src="{tori}/p/{slug}/embed?lang=fi" width="360" height="400"></iframe>
<iframe id="poll-page" title="Kyselysivu" src="{tori}/p/{slug}?lang=fi" width="360" height="400"></iframe>
<iframe id="sign-in" title="Kirjautuminen" src="{tori}/staff/login" width="360" height="400"></iframe>
</body></html>"""


@contextmanager
def city_site(port: int, page: str) -> Iterator[None]:
    """A stand-in for the city's web site: one page on its own port, served until the block ends."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *arguments):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def embedding_server(live_server: LiveServer) -> Iterator[tuple[str, int]]:
    """Tori, with the live server's database, allowing frames on http://localhost:<port> only."""
    port = _free_port()

    environment = {
        **os.environ,
        "DATABASE_URL": live_server.database_url,
        "SECRET_KEY": TEST_SECRET,
        "TORI_ENV": "test",
        "LOG_LEVEL": "WARNING",
        "TORI_EMBED_ORIGINS": f"http://localhost:{port}",
    }
    with served(environment, "embedding") as url:
        yield url, port


def shows_tori(page, frame_id: str) -> bool:
    """Whether the frame shows a page of Tori's (a refused frame shows the browser's own error
    page instead, "… refused to connect")."""
    page.wait_for_load_state("load")
    return page.frame_locator(f"#{frame_id}").locator("header.site-header").count() > 0


def test_a_listed_site_shows_the_embeds_and_nothing_else(
    browser: Browser, live_server: LiveServer, embedding_server
):
    tori, port = embedding_server
    slug = live_server.open_poll
    context = browser.new_context(viewport=PHONE, locale="fi-FI")
    page = context.new_page()
    with city_site(port, HOST_PAGE.format(tori=tori, slug=slug)):
        page.goto(f"http://localhost:{port}/")
        calendar = page.frame_locator("#calendar")
        expect(calendar.locator("h1")).to_have_text("Tulevat tapahtumat")
        expect(calendar.locator("a.event-title").first).to_be_visible()
        poll = page.frame_locator("#poll")
        expect(
            poll.get_by_role("link", name="Vastaa pikakyselyyn (avautuu uuteen välilehteen)")
        ).to_be_visible()
        # The poll page and the staff sign-in refuse to be framed, listed site or not.
        assert not shows_tori(page, "sign-in")
        assert not shows_tori(page, "poll-page")
        # A resident taps an event: Tori opens in a new tab, not inside the city's page.
        with context.expect_page() as opened:
            calendar.locator("a.event-title").first.click()
        event_page = opened.value
        event_page.wait_for_load_state()
        assert event_page.url.startswith(f"{tori}/events/")
        expect(event_page.locator("header.site-header")).to_be_visible()
        # From the poll's frame to the poll itself, where answering happens.
        with context.expect_page() as opened:
            poll.get_by_role(
                "link", name="Vastaa pikakyselyyn (avautuu uuteen välilehteen)"
            ).click()
        poll_page = opened.value
        poll_page.wait_for_load_state()
        assert poll_page.url == f"{tori}/p/{slug}"
        expect(poll_page.locator("form")).to_have_count(1)
    context.close()


def test_an_unlisted_site_cannot_frame_even_the_embeds(
    browser: Browser, live_server: LiveServer, embedding_server
):
    tori, port = embedding_server
    context = browser.new_context(viewport=PHONE, locale="fi-FI")
    page = context.new_page()
    # The same page from another origin (127.0.0.1 is not localhost to the browser).
    with city_site(port, HOST_PAGE.format(tori=tori, slug=live_server.open_poll)):
        page.goto(f"http://127.0.0.1:{port}/")
        for frame_id in ("calendar", "poll", "poll-page", "sign-in"):
            assert not shows_tori(page, frame_id), frame_id
        # The same browser does show the embeds to the listed site: the refusal is the origin's.
        page.goto(f"http://localhost:{port}/")
        assert shows_tori(page, "calendar")
        assert shows_tori(page, "poll")
    context.close()


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_the_embeds_have_no_axe_violations_at_phone_width(new_page, live_server, language):
    page = new_page(PHONE)
    page.goto(f"{live_server.url}/?lang={language}")
    found = []
    for path in (
        "/embed/calendar",
        f"/p/{live_server.open_poll}/embed",
        f"/p/{live_server.closed_poll}/embed",
        "/open-data",
    ):
        found += violations(page, live_server.url + path)
    assert found == []
