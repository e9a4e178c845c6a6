"""Staff journeys in a real browser: an admin adds a staff member (a mistyped e-mail first), the
new person signs in with the one-time password and chooses their own; and the paper-ballot
page's "set aside" button is readable. Phone width, JavaScript on and off, fi, sv and en, axe."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, LiveServer, sign_in
from tests.browser.steps import (
    CAST,
    RECORDED,
    REVIEW,
    BudgetingRound,
    arrange_round,
    budgeting_round,
    in_database,
    no_axe_violations,
    sign_in_to_vote,
)

pytestmark = pytest.mark.browser

BAD_EMAIL = {
    "fi": "Anna sähköpostiosoite, esimerkiksi",
    "sv": "Ange en e-postadress, till exempel",
    "en": "Enter an e-mail address, such as",
}
ONE_TIME = {"fi": "Kertakäyttöinen salasana", "sv": "Engångslösenord", "en": "One-time password"}


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
def test_an_admin_adds_a_staff_member_who_signs_in_and_chooses_a_password(
    new_page, live_server: LiveServer, lang, javascript
):
    page = new_page(PHONE, javascript=javascript)
    sign_in(page, live_server, lang=lang)
    page.goto(f"{live_server.url}/staff/users")
    page.click("main a[href='/staff/users/new']")
    page.wait_for_url(f"{live_server.url}/staff/users/new")
    form = page.locator("main form[action='/staff/users/new']")
    expect(form).to_be_visible()
    expect(page.locator("#field-role")).to_have_value("staff")
    expect(page.locator("#field-is_active")).to_be_checked()
    no_axe_violations(page, javascript)

    email = f"new.{lang}.{'js' if javascript else 'nojs'}@example.fi"
    page.fill("#field-email", email.replace("@", " at "))
    page.fill("#field-display_name", f"Uusi Henkilö {lang}")
    form.locator("button[type=submit]").click()
    expect(page.locator("#error-email")).to_contain_text(BAD_EMAIL[lang])
    expect(page.locator("html")).to_have_attribute("lang", lang)
    # What was typed is kept; the form still goes to the add page.
    expect(page.locator("#field-display_name")).to_have_value(f"Uusi Henkilö {lang}")
    expect(page.locator("main form[action='/staff/users/new']")).to_be_visible()
    no_axe_violations(page, javascript)

    page.fill("#field-email", email)
    page.locator("main form[action='/staff/users/new'] button[type=submit]").click()
    expect(page.locator("h1")).to_have_text(ONE_TIME[lang])
    password = page.locator(".one-time-password code").inner_text().strip()
    assert len(password) >= 12
    no_axe_violations(page, javascript)

    page.locator("form.logout button").click()
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/staff/login?lang={lang}")
    page.fill("#field-email", email)
    page.fill("#field-password", password)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/staff/password")
    no_axe_violations(page, javascript)
    # Nothing else opens before the person has chosen their own password.
    page.goto(f"{live_server.url}/staff/events")
    page.wait_for_url(f"{live_server.url}/staff/password")
    page.fill("#field-current_password", password)
    page.fill("#field-new_password", f"my own long password {lang}")
    page.fill("#field-new_password_again", f"my own long password {lang}")
    page.locator("main button[type=submit]").click()
    page.wait_for_url(re.compile(r"/staff\?done=password"))
    expect(page.locator(".signed-in")).to_have_text(f"Uusi Henkilö {lang}")
    no_axe_violations(page, javascript)


def contrast(page: Page, selector: str) -> float:
    """WCAG contrast ratio of an element's text against the first opaque background behind it."""
    return page.eval_on_selector(
        selector,
        """element => {
            const rgb = text => text.match(/[\\d.]+/g).map(Number);
            const luminance = ([r, g, b]) => {
                const c = [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
                return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
            };
            let node = element, background = null;
            while (node && !background) {
                const colour = rgb(getComputedStyle(node).backgroundColor);
                if (colour.length < 4 || colour[3] > 0) background = colour;
                node = node.parentElement;
            }
            background = background || [255, 255, 255];
            const [a, b] = [luminance(rgb(getComputedStyle(element).color)), luminance(background)];
            return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        }""",
    )


@pytest.fixture(scope="module")
def flagged_slip(live_server: LiveServer) -> int:
    """A round open for voting with one slip whose two typings differ."""
    arranged = arrange_round(
        live_server,
        {"fi": "Paperikierros", "sv": "Pappersomgång", "en": "Paper round"},
        description={"en": "For the paper ballot test."},
        budgets={"area": 100_000},
    )

    async def flag(session) -> None:
        from sqlalchemy import select

        from app.accounts.models import User
        from voting.models import PaperEntry

        staff = list(await session.scalars(select(User.id).order_by(User.id)))
        for typed_by in staff[:2]:
            session.add(
                PaperEntry(round_id=arranged.id, slip="P-77", entered_by=typed_by, status="flagged")
            )
        await session.commit()

    in_database(live_server, flag)
    return arranged.id


@pytest.fixture(scope="module")
def budgeting(live_server: LiveServer) -> BudgetingRound:
    return budgeting_round(live_server, voters=4)


@pytest.fixture(scope="module")
def codes(budgeting: BudgetingRound):
    return iter(budgeting.codes)


@pytest.mark.parametrize("lang", ["fi", "en"])
def test_the_set_aside_button_of_a_flagged_slip_is_readable(
    new_page, live_server: LiveServer, flagged_slip, lang
):
    page = new_page(PHONE)
    sign_in(page, live_server, lang=lang)
    page.goto(f"{live_server.url}/staff/pb/{flagged_slip}/paper")
    button = "form[action$='/paper/discard'] button"
    expect(page.locator(button).first).to_be_visible()
    assert contrast(page, button) >= 4.5
    # The header's sign-out button keeps its white text on the brand colour.
    assert contrast(page, "form.logout button") >= 4.5
    no_axe_violations(page)


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
def test_a_resident_finds_the_open_questionnaire_from_the_event_page(
    new_page, live_server: LiveServer, lang
):
    page = new_page(PHONE)
    page.goto(f"{live_server.url}/events/{live_server.open_questionnaire_event}?lang={lang}")
    link = page.locator(f"a[href='/f/{live_server.open_questionnaire}']")
    expect(link).to_be_visible()
    no_axe_violations(page)
    link.click()
    page.wait_for_url(re.compile(rf"/f/{live_server.open_questionnaire}"))
    expect(page.locator("#feedback-form")).to_be_visible()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_back_at_the_ballot_after_voting_the_voter_reads_they_have_voted(
    new_page,
    live_server: LiveServer,
    budgeting,
    codes,
    javascript,
):
    page = new_page(PHONE, javascript=javascript)
    sign_in_to_vote(page, live_server, budgeting, codes, "en")
    page.get_by_label(re.compile("^Benches")).check()
    page.get_by_role("button", name=REVIEW["en"]).click()
    page.get_by_role("button", name=CAST["en"]).click()
    expect(page.get_by_text(RECORDED["en"])).to_be_visible()
    page.goto(f"{live_server.url}/pb/{budgeting.slug}/ballot")
    expect(page.locator("h1")).to_have_text("You have already voted")
    no_axe_violations(page, javascript)
    page.locator(f"main a[href='/pb/{budgeting.slug}/receipt']").click()
    page.wait_for_url(re.compile(rf"/pb/{budgeting.slug}/receipt"))
