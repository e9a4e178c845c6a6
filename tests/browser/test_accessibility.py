"""Zero axe-core violations on every page, at phone and desktop widths, in Finnish, Swedish and English."""

from __future__ import annotations

import pytest

from tests.browser.conftest import DESKTOP, PHONE, LiveServer, sign_in
from tests.browser.steps import AXE_OPTIONS, axe, axe_violations, first_link, violations

pytestmark = pytest.mark.browser

PUBLIC_PAGES = [
    "/",
    "/?view=month",
    "/accessibility",
    "/privacy",
    "/audit-log",
    "/staff/login",
    "/staff/forgot",
    "/staff/reset?t=forged",
    "/account/forgot",
    "/account/reset?t=forged",
    "/account/email/confirm?t=forged",
    "/account/confirm?t=forged",
    "/account/confirm/again",
    "/account/unsubscribe?t=forged",
    "/account/unsubscribed?scope=all",
    "/no/such/page",
    "/?area=nonsense",
    "/calendar/year",
    "/calendar/year?by=type&year=abc",
    "/open-data",
    "/embed/calendar",
]
STAFF_PAGES = [
    "/staff",
    "/staff/events",
    "/staff/events?when=past",
    "/staff/events/new",
    "/staff/events/year",
    "/staff/areas",
    "/staff/areas/new",
    "/staff/areas/statistics",
    "/staff/feedback/equal-access",
    "/staff/feedback/equal-access?year=abc&area=nowhere",
    "/staff/organisers",
    "/staff/organisers/new",
    "/staff/event-types",
    "/staff/event-types/new",
    "/staff/users",
    "/staff/users/new",
    "/staff/password",
    "/staff/mail",
    "/staff/pb/attention",
    "/staff/events?q=asukas",
    "/staff/events?q=%26%7C%21",
]


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_every_page_has_no_axe_violations(new_page, live_server: LiveServer, language, viewport):
    page = new_page(viewport)
    base = live_server.url
    page.goto(f"{base}/?lang={language}")
    found: list[str] = []
    event_page = first_link(page, f"{base}/", "a.event-title")
    slug = live_server.open_questionnaire
    feedback_pages = [f"/f/{slug}", f"/f/{slug}/poster", f"/f/{slug}/thanks"]
    poll, closed = live_server.open_poll, live_server.closed_poll
    poll_pages = [
        f"/p/{poll}",
        f"/p/{poll}/results",
        f"/p/{poll}/thanks",
        f"/p/{poll}/poster",
        f"/p/{closed}",
        f"/p/{closed}/results",
        f"/p/{poll}/embed",
        f"/p/{closed}/embed",
        "/p/nosuch",
        "/kiosk?t=forged",
    ]
    kit_pages = [f"/events/{live_server.open_questionnaire_event}/kit"]
    # What happened to the winning proposals: every round, and the demo's counted round.
    followed_pages = ["/pb/implementation", first_link(page, f"{base}/pb/implementation", "h2 a")]
    event_pages = [event_page, f"{event_page}/report"]
    for path in [
        *PUBLIC_PAGES,
        *event_pages,
        *feedback_pages,
        *poll_pages,
        *kit_pages,
        *followed_pages,
    ]:
        found += violations(page, base + path)
    # A form shown again with its errors.
    page.goto(f"{base}/staff/login")
    page.click("button[type=submit]")
    found += [
        f"login errors: {v['id']}"
        for v in axe.run(page, options=AXE_OPTIONS).response["violations"]
    ]
    sign_in(page, live_server, lang=language)
    staff_pages = [
        *STAFF_PAGES,
        first_link(page, f"{base}/staff/events", "table a"),
        first_link(page, f"{base}/staff/areas", "table a"),
        first_link(page, f"{base}/staff/organisers", "table a"),
        first_link(page, f"{base}/staff/users", "table a"),
        "/staff/feedback",
        "/staff/feedback?group=month",
        "/staff/feedback?group=area&type=nonsense",
        f"/staff/events/{live_server.open_questionnaire_event}/feedback",
        f"/staff/events/{live_server.open_questionnaire_event}/kit",
        f"/staff/events/{live_server.open_questionnaire_event}/count",
        "/staff/polls",
        "/staff/polls/new",
    ]
    # The review list of a round, also with its filters refused (errors beside the fields).
    round_page = first_link(page, f"{base}/staff/pb", "table a")
    staff_pages += [f"{round_page}/ideas", f"{round_page}/ideas?q=%25&status=nonsense&sort=x"]
    staff_pages += [f"{round_page}/themes"]
    poll_page = first_link(page, f"{base}/staff/polls", "table a")
    staff_pages += [poll_page, f"{poll_page}/edit", f"{poll_page}/present"]
    for path in staff_pages:
        found += violations(page, base + path)
    page.goto(f"{base}/staff/events/new")
    page.click("form[action='/staff/events/new'] button[type=submit]")
    found += [
        f"event form errors: {v['id']}"
        for v in axe.run(page, options=AXE_OPTIONS).response["violations"]
    ]
    assert page.locator(".error-summary").is_visible()
    # A poll form and a kiosk form shown again with errors; a kiosk link shown once.
    page.goto(f"{base}/staff/polls/new")
    page.click("form[action='/staff/polls/new'] button[type=submit]")
    found += [
        f"poll form errors: {v['id']}"
        for v in axe.run(page, options=AXE_OPTIONS).response["violations"]
    ]
    page.goto(base + poll_page)
    page.click(f"form[action='{poll_page}/kiosks'] button[type=submit]")
    page.fill("#field-name", "Axe")
    page.click(f"form[action='{poll_page}/kiosks'] button[type=submit]")
    found += [
        f"kiosk created: {v['id']}"
        for v in axe.run(page, options=AXE_OPTIONS).response["violations"]
    ]
    # A kiosk on a tablet, before and after a vote.
    kiosk_link = page.locator(".kiosk-link code").inner_text()
    page.goto(kiosk_link)
    found += violations(page, page.url)
    page.locator("button.tap").first.click()
    page.locator("[data-kiosk-pause]").click()
    found += [
        f"kiosk thanks: {v['id']}"
        for v in axe.run(page, options=AXE_OPTIONS).response["violations"]
    ]
    # A poll vote refused with a message.
    page.goto(f"{base}/p/{live_server.open_poll}")
    page.evaluate("document.querySelector('input[name=token]').value = 'forged'")
    page.locator("button.tap").first.click()
    page.wait_for_selector(".error-summary")
    found += [
        f"poll refused: {v['id']}"
        for v in axe.run(page, options=AXE_OPTIONS).response["violations"]
    ]
    # The questionnaire shown again with a missing required answer.
    page.goto(f"{base}/f/{slug}")
    page.click("#feedback-form button[type=submit]")
    found += [
        f"questionnaire errors: {v['id']}"
        for v in axe.run(page, options=AXE_OPTIONS).response["violations"]
    ]
    assert found == [], "\n".join(found)


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_questionnaire_editor_pages_have_no_axe_violations(
    new_page, live_server: LiveServer, language, viewport
):
    """The editor of the standard questionnaire: the draft, a question (also with its errors and
    a condition being chosen), the add form with errors, and the preview in each language."""
    page = new_page(viewport)
    base = live_server.url
    sign_in(page, live_server, lang=language)
    editor = f"{base}/staff/questionnaire"
    page.goto(editor)
    found = axe_violations(page, "editor without a draft")
    discard = page.locator("form[action='/staff/questionnaire/draft/discard'] button")
    if discard.count():
        discard.click()
    page.locator("form[action='/staff/questionnaire/draft'] button").click()
    found += axe_violations(page, "editor with a draft")
    found += violations(page, f"{editor}/draft/questions/wellbeing")
    page.fill("#field-text_sv", "<b>")
    page.locator("#question-form button[type=submit]:not([name])").click()
    found += axe_violations(page, "question errors")
    page.goto(f"{editor}/draft/questions/comment")
    page.select_option("#field-show_if_key", "again")
    page.locator("button[name=_choose_condition]").click()
    found += axe_violations(page, "condition answers")
    page.goto(editor)
    page.locator("form[action='/staff/questionnaire/draft/questions'] button").click()
    found += axe_violations(page, "add errors")
    for code in ("fi", "sv", "en"):
        found += violations(page, f"{editor}/draft/preview/{code}")
    page.locator("#feedback-form button[type=submit]:not([name])").last.click()
    found += axe_violations(page, "preview checked")
    page.goto(editor)
    page.locator("form[action='/staff/questionnaire/draft/discard'] button").click()
    found += violations(page, f"{base}/staff/feedback?group=version")
    assert found == [], "\n".join(found)
