"""Staff keep the registers beside the events on a phone: an organiser added to the register (a
name forgotten first), an event type added by an administrator (first with a built-in type's
name), and both then offered on the event form: fi/sv/en, with and without JavaScript."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, LiveServer, sign_in
from tests.browser.steps import no_axe_violations, said
from tests.browser.test_journeys_residents import JAVASCRIPT, LANGUAGE

pytestmark = pytest.mark.browser


@JAVASCRIPT
@LANGUAGE
def test_staff_add_an_organiser_and_an_event_type(
    new_page, live_server: LiveServer, language, javascript
):
    run = f"{language}-{'js' if javascript else 'nojs'}"
    organiser = f"Kylätalon väki {run}"
    event_type = f"Kävelykierros {run}"
    page = new_page(PHONE, javascript=javascript)
    sign_in(page, live_server, lang=language)

    # The register of organisers, from the staff home page.
    page.get_by_role("link", name=said(language, "Organisers"), exact=True).click()
    expect(page.locator("h1")).to_have_text(said(language, "Organisers"))
    no_axe_violations(page, javascript)
    page.get_by_role("link", name=said(language, "Add an organiser"), exact=True).click()
    page.get_by_label(said(language, "Kind of organiser")).select_option("association")
    page.get_by_role("button", name=said(language, "Add the organiser")).click()
    expect(page.locator(".error-summary, [role=alert]").first).to_contain_text(
        said(language, "Give this in at least one language.")
    )
    no_axe_violations(page, javascript)
    # The kind chosen is kept; the name is given now.
    expect(page.get_by_label(said(language, "Kind of organiser"))).to_have_value("association")
    page.locator("#field-name_fi").fill(organiser)
    page.get_by_role("button", name=said(language, "Add the organiser")).click()
    expect(page.get_by_role("status")).to_have_text(
        said(language, "The organiser was added to the register.")
    )
    expect(page.get_by_role("link", name=organiser, exact=True)).to_be_visible()

    # An event type, by the administrator: a built-in type's name is refused.
    page.goto(f"{live_server.url}/staff")
    page.get_by_role("link", name=said(language, "Event types"), exact=True).click()
    no_axe_violations(page, javascript)
    page.get_by_role("link", name=said(language, "Add an event type"), exact=True).click()
    page.locator(f"#field-name_{language}").fill(said(language, "Theme panel"))
    page.get_by_role("button", name=said(language, "Add the event type")).click()
    expect(page.locator(".error-summary, [role=alert]").first).to_contain_text(
        said(language, "There is already an event type by this name.")
    )
    no_axe_violations(page, javascript)
    page.locator(f"#field-name_{language}").fill(event_type)
    page.get_by_role("button", name=said(language, "Add the event type")).click()
    expect(page.get_by_role("status")).to_have_text(said(language, "The event type was added."))
    expect(page.get_by_role("cell", name=event_type, exact=True)).to_be_visible()

    # Both are offered on the event form.
    page.goto(f"{live_server.url}/staff/events/new")
    expect(page.get_by_label(organiser, exact=True)).not_to_be_checked()
    type_select = page.get_by_label(said(language, "Type of event"))
    expect(type_select.locator("option", has_text=event_type)).to_have_count(1)
    no_axe_violations(page, javascript)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
