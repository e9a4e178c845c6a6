"""Participatory budgeting in a real browser: signing in with a letter code, the running total
(live with htmx, recalculated on submit without JavaScript), the review page and casting, in
Finnish, Swedish and English; and zero axe-core violations on every budgeting page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, LiveServer, sign_in
from tests.browser.steps import (
    AXE_OPTIONS,
    CAST,
    CONTINUE,
    HEADING,
    OVER,
    RECALCULATE,
    RECORDED,
    RESIDENT_PASSWORD,
    REVIEW,
    BudgetingRound,
    axe,
    budgeting_round,
    first_link,
    make_resident,
    sign_in_to_vote,
    violations,
)

pytestmark = pytest.mark.browser

DELETED = {
    "fi": "Tilisi on poistettu",
    "sv": "Ditt konto har raderats",
    "en": "Your account has been deleted",
}


@pytest.fixture(scope="module")
def budgeting(live_server: LiveServer) -> BudgetingRound:
    """A round open for voting with 40 people on the roll, each with a letter code."""
    return budgeting_round(live_server)


@pytest.fixture(scope="module")
def codes(budgeting: BudgetingRound):
    """Each test signs in with codes nobody has used yet."""
    return iter(budgeting.codes)


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_vote_with_javascript_shows_the_running_total_live(
    new_page, live_server, budgeting, codes, language
):
    page = new_page(PHONE)
    sign_in_to_vote(page, live_server, budgeting, codes, language)
    page.evaluate("window.notReloaded = true")
    totals = page.locator("#ballot-totals")
    # Keyboard: focus a checkbox and press space, as a screen reader user would.
    page.get_by_label(re.compile("^Benches")).focus()
    page.keyboard.press("Space")
    expect(totals).to_contain_text("30")
    page.get_by_label(re.compile("^Meadow")).check()
    expect(totals).to_contain_text("90")
    page.get_by_label(re.compile("^Lights")).check()
    expect(totals).to_contain_text(OVER[language])
    assert page.evaluate("window.notReloaded") is True
    page.get_by_label(re.compile("^Lights")).uncheck()
    expect(totals).not_to_contain_text(OVER[language])
    page.get_by_label(re.compile("^Library")).check()
    page.get_by_role("button", name=REVIEW[language]).click()
    expect(page.locator("main")).to_contain_text("Meadow")
    expect(page.locator("main")).to_contain_text("Library")
    page.get_by_role("button", name=CAST[language]).click()
    expect(page.get_by_text(RECORDED[language])).to_be_visible()
    # Back to the ballot: refused, the vote cannot be changed.
    page.goto(f"{live_server.url}/pb/{budgeting.slug}/ballot")
    expect(page.locator("main")).not_to_contain_text(HEADING[language])


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_vote_without_javascript_recalculates_on_submit(
    new_page, live_server, budgeting, codes, language
):
    page = new_page(PHONE, javascript=False)
    sign_in_to_vote(page, live_server, budgeting, codes, language)
    page.get_by_label(re.compile("^Lights")).check()
    page.get_by_label(re.compile("^Meadow")).check()
    page.get_by_role("button", name=RECALCULATE[language]).click()
    expect(page.locator(".error-summary")).to_contain_text(OVER[language])
    # The choices survive the round trip; fix them and go on.
    expect(page.get_by_label(re.compile("^Lights"))).to_be_checked()
    page.get_by_label(re.compile("^Meadow")).uncheck()
    page.get_by_label(re.compile("^Bikes")).check()
    page.get_by_role("button", name=RECALCULATE[language]).click()
    expect(page.locator("#ballot-totals")).to_contain_text("50")
    page.get_by_role("button", name=REVIEW[language]).click()
    expect(page.locator("main")).to_contain_text("Bikes")
    page.get_by_role("button", name=CAST[language]).click()
    expect(page.get_by_text(RECORDED[language])).to_be_visible()


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_budgeting_pages_have_no_axe_violations(
    new_page, live_server, budgeting, codes, language, viewport
):
    page = new_page(viewport)
    base = live_server.url
    slug, counted = budgeting.slug, budgeting.counted_slug
    page.goto(f"{base}/?lang={language}")
    found: list[str] = []
    proposal = first_link(page, f"{base}/pb/{slug}/proposals", ".event-title a")
    for path in (
        "/pb",
        f"/pb/{slug}",
        f"/pb/{slug}/proposals",
        f"/pb/{slug}/proposals?area=zzz",
        proposal,
        f"/pb/{slug}/vote",
        f"/pb/{counted}",
        f"/pb/{counted}/results",
        f"/pb/{counted}/results?area=city",
        f"/pb/{counted}/results?theme=zzz",
        f"/pb/{slug}/results",
        "/account/register",
        "/account/sign-in",
        "/account/confirm?t=forged",
        f"/pb/{slug}/log",
        f"/pb/{slug}/receipt",
        f"/pb/{slug}/receipt?r=not-a-receipt",
        f"/pb/{counted}/receipt?r={'0' * 64}",
        f"/pb/{counted}/log",
        "/pb/signing-key",
    ):
        found += violations(page, base + path)
    # Forms shown again with their errors.
    page.goto(f"{base}/pb/{slug}/vote")
    page.fill("#field-code", "WRONG")
    page.get_by_role("button", name=CONTINUE[language]).click()
    found += [
        f"vote sign-in errors: {v['id']}"
        for v in axe.run(page, options=AXE_OPTIONS).response["violations"]
    ]
    page.goto(f"{base}/account/register")
    page.locator("form[action='/account/register'] button[type=submit]").click()
    found += [
        f"register errors: {v['id']}"
        for v in axe.run(page, options=AXE_OPTIONS).response["violations"]
    ]
    # The ballot, the ballot over budget, the review page and the thanks.
    sign_in_to_vote(page, live_server, budgeting, codes, language)
    found += [
        f"ballot: {v['id']}" for v in axe.run(page, options=AXE_OPTIONS).response["violations"]
    ]
    for title in budgeting.district:
        page.get_by_label(re.compile(f"^{title}")).check()
    page.get_by_role("button", name=REVIEW[language]).click()
    found += [
        f"ballot errors: {v['id']}"
        for v in axe.run(page, options=AXE_OPTIONS).response["violations"]
    ]
    page.get_by_label(re.compile("^Meadow")).uncheck()
    page.get_by_label(re.compile("^Lights")).uncheck()
    page.get_by_role("button", name=REVIEW[language]).click()
    found += [
        f"review: {v['id']}" for v in axe.run(page, options=AXE_OPTIONS).response["violations"]
    ]
    page.get_by_role("button", name=CAST[language]).click()
    found += [
        f"voted: {v['id']}" for v in axe.run(page, options=AXE_OPTIONS).response["violations"]
    ]
    # A resident's account page, its delete form with an error, an idea form, the deleted page.
    email = f"axe-{language}-{viewport['width']}@example.fi"
    make_resident(live_server, email)
    page.goto(f"{base}/account/sign-in?next=/account")
    page.fill("#field-email", email)
    page.fill("#field-password", RESIDENT_PASSWORD)
    page.locator("form[action='/account/sign-in'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/account$"))
    found += [
        f"account: {v['id']}" for v in axe.run(page, options=AXE_OPTIONS).response["violations"]
    ]
    found += violations(page, f"{base}/pb/{slug}/propose")
    page.goto(f"{base}/account")
    page.locator("form[action='/account/delete'] button[type=submit]").click()
    expect(page.locator(".error-summary")).to_be_visible()
    found += [
        f"account delete errors: {v['id']}"
        for v in axe.run(page, options=AXE_OPTIONS).response["violations"]
    ]
    page.fill("#field-password", RESIDENT_PASSWORD)
    page.locator("form[action='/account/delete'] button[type=submit]").click()
    expect(page.locator("h1")).to_have_text(DELETED[language])
    found += [
        f"account deleted: {v['id']}"
        for v in axe.run(page, options=AXE_OPTIONS).response["violations"]
    ]
    # Staff pages.
    sign_in(page, live_server, lang=language)
    round_page = f"/staff/pb/{budgeting.round_id}"
    staff_proposal = first_link(page, base + round_page, "table a")
    page.goto(f"{base}/staff/pb")
    # Rounds are listed newest vote first: the last is the demo round counted last year.
    counted_page = page.locator("table a").last.get_attribute("href")
    for path in (
        "/staff/pb",
        "/staff/pb/new",
        "/staff/audit",
        f"{round_page}/audit",
        f"{round_page}/paper",
        round_page,
        f"{round_page}/edit",
        staff_proposal,
        counted_page,
        f"{counted_page}/results",
        f"{counted_page}/audit",
    ):
        found += violations(page, base + path)
    page.goto(f"{base}{round_page}/paper")
    page.locator(f"form[action='{round_page}/paper'] button[type=submit]").click()
    found += [
        f"paper form errors: {v['id']}"
        for v in axe.run(page, options=AXE_OPTIONS).response["violations"]
    ]
    page.goto(f"{base}/staff/pb/new")
    page.locator("form[action='/staff/pb/new'] button[type=submit]").click()
    found += [
        f"round form errors: {v['id']}"
        for v in axe.run(page, options=AXE_OPTIONS).response["violations"]
    ]
    assert found == []
