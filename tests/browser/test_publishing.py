"""Publishing a round's results in a real browser at phone width, with and without JavaScript,
in Finnish, Swedish and English: the admin opens the confirmation page from the round, reads what
will be published, confirms, and the public results appear; zero axe-core violations on the
confirmation page and on the results."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from app.settings import Settings
from tests.browser.conftest import PHONE, LiveServer, sign_in
from tests.browser.steps import arrange_round, cast_and_close, put_on_roll, violations
from tests.conftest import TEST_SECRET
from voting.board_keys import public_key_text
from voting.published import key_id

pytestmark = pytest.mark.browser

VOTERS = 5
SEED = Settings(secret_key=TEST_SECRET).signing_seed


def closed_round(server: LiveServer, label: str) -> tuple[int, str]:
    """A round whose voting has just closed, with five ballots in its log."""
    arranged = arrange_round(
        server,
        {"fi": f"Julkaisu {label}", "sv": f"Publicering {label}", "en": label},
        description={"en": "Publishing in the browser."},
        budgets={"area": 100_000, "city": 200_000},
        proposals=(("area", "Benches", 30_000), ("city", "Library", 90_000)),
        closes_in=dt.timedelta(days=1),
    )
    put_on_roll(server, arranged, [(f"PUB{label}{n}", dt.date(1970, 1, 1)) for n in range(VOTERS)])
    cast_and_close(server, arranged, ["Benches", "Library"])
    return arranged.id, arranged.slug


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_the_admin_confirms_and_publishes_at_phone_width(
    new_page, live_server: LiveServer, language, javascript
):
    round_id, slug = closed_round(live_server, f"{language}{'js' if javascript else 'nojs'}")
    page = new_page(PHONE, javascript=javascript)
    sign_in(page, live_server, lang=language)
    base = live_server.url
    page.goto(f"{base}/staff/pb/{round_id}")
    page.locator(f'a[href="/staff/pb/{round_id}/publish"]').click()
    page.wait_for_url(f"{base}/staff/pb/{round_id}/publish")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("5")  # entries in the log and roll marks
    expect(facts.locator("code")).to_have_text(key_id(public_key_text(SEED)))
    if javascript:  # axe-core runs as a script in the page: not with JavaScript off
        assert violations(page, page.url) == []
    button = page.locator(f'form[action="/staff/pb/{round_id}/publish"] button')
    expect(button).to_be_visible()
    assert button.bounding_box()["width"] <= PHONE["width"]
    button.click()
    page.wait_for_url(f"{base}/staff/pb/{round_id}/audit")
    expect(page.locator(".notice-success")).to_be_visible()
    # Publishing twice is refused: the confirmation page now says it was published, no button.
    page.goto(f"{base}/staff/pb/{round_id}/publish")
    expect(page.locator(f'form[action="/staff/pb/{round_id}/publish"]')).to_have_count(0)
    expect(page.locator(f'a[href="/pb/{slug}/results"]')).to_be_visible()
    results = f"{base}/pb/{slug}/results?lang={language}"
    page.goto(results)
    expect(page.locator("table").first).to_contain_text("Benches")
    if javascript:
        assert violations(page, results) == []
    # Read on a phone: the selected proposals first, as cards; nothing wider than the screen;
    # the other rules folded until opened (a native disclosure: with or without JavaScript).
    cards = page.locator(".result-card")
    expect(cards).to_have_count(2)
    expect(cards.first).to_be_visible()
    assert cards.first.bounding_box()["y"] < page.locator("table").first.bounding_box()["y"]
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    chart_title = page.locator("svg[role=img] title").first
    assert chart_title.text_content().strip()
    other_rules = page.locator("details.other-rules").first
    expect(other_rules.locator("table")).to_be_hidden()
    other_rules.locator("summary").click()
    expect(other_rules.locator("table")).to_be_visible()
    # Participation: five voters in one area and one age band are too few to show.
    expect(page.locator("#participation")).to_be_visible()
    # How to check it: the page that leads to the board, the keys and the verifier.
    page.locator(f'a[href="/pb/{slug}/check"]').click()
    page.wait_for_url(f"{base}/pb/{slug}/check")
    expect(page.locator('a[href="/pb/tori-verify.pyz"]')).to_be_visible()
    if javascript:
        assert violations(page, page.url) == []
