"""The questionnaire editor in a real browser, on a phone, with and without JavaScript, in
Finnish, Swedish and English: an admin rewords a question in Swedish, empties it by mistake and
is told so, fixes it, tries the draft in the Swedish preview and publishes it; a resident then
answers a questionnaire of the new version."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from app.i18n import language_name
from tests.browser.conftest import PHONE, LiveServer, sign_in
from tests.browser.steps import in_database, no_axe_violations, query, said

pytestmark = pytest.mark.browser

EDITOR = "/staff/questionnaire"


def fresh_draft(staff: Page, base: str, language: str) -> None:
    """A draft of the next version, whatever an earlier test left behind."""
    staff.goto(f"{base}{EDITOR}")
    discard = staff.get_by_role("button", name=said(language, "Discard the draft"))
    if discard.count():
        discard.click()
    staff.get_by_role("button", name=said(language, "Start the next version")).click()
    expect(staff.get_by_role("status")).to_have_text(
        said(language, "A draft of the next version was started.")
    )


def new_questionnaire(server: LiveServer) -> tuple[str, int]:
    """An event held an hour ago with its questionnaire open: of the newest version."""

    async def make(session) -> tuple[str, int]:
        from tests.factories import make_event
        from tests.surveys.factories import open_questionnaire

        event = await make_event(session, starts_in=-dt.timedelta(hours=1))
        questionnaire = await open_questionnaire(session, event)
        return questionnaire.slug, questionnaire.version.version

    return in_database(server, make)


def newest_version(server: LiveServer) -> int:
    [(number,)] = query(
        server,
        "SELECT max(v.version) FROM questionnaire_version v JOIN questionnaire_template t"
        " ON t.id = v.template_id WHERE t.key = 'standard_feedback'",
    )
    return number


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_staff_reword_preview_and_publish_then_a_resident_answers(
    new_page, live_server: LiveServer, language, javascript
):
    base = live_server.url
    staff = new_page(PHONE, javascript=javascript)
    sign_in(staff, live_server, lang=language)
    fresh_draft(staff, base, language)
    no_axe_violations(staff, javascript)
    before = newest_version(live_server)
    [(published_before,)] = query(
        live_server, "SELECT count(*) FROM staff_audit WHERE action = 'template.publish'"
    )

    # The Swedish wording emptied by mistake: refused beside the field, nothing saved.
    staff.get_by_role("link", name=f"{said(language, 'Edit')} wellbeing").click()
    expect(staff.locator("#field-text_sv")).not_to_have_value("")
    staff.fill("#field-text_sv", "")
    staff.get_by_role("button", name=said(language, "Save in the draft"), exact=True).click()
    expect(staff.locator(".error-summary")).to_contain_text(
        said(language, "Write this in Finnish and in Swedish.")
    )
    expect(staff.locator("#error-text_sv")).to_be_visible()
    no_axe_violations(staff, javascript)
    wording = f"Hur påverkade träffen ditt välbefinnande? ({language}, {javascript})"
    staff.fill("#field-text_sv", wording)
    staff.get_by_role("button", name=said(language, "Save in the draft"), exact=True).click()
    expect(staff.get_by_role("status")).to_have_text(
        said(language, "The question was saved in the draft.")
    )

    # The Swedish preview: the residents' own page, the new wording, nothing stored.
    preview_name = f"{said(language, 'Preview')}: {language_name('sv', language)}"
    staff.get_by_role("link", name=preview_name).click()
    expect(staff.get_by_text(wording)).to_be_visible()
    no_axe_violations(staff, javascript)
    send = staff.get_by_role("button", name=said("sv", "Send answers"), exact=True)
    send.click()
    expect(staff.locator(".error-summary")).to_contain_text(
        said("sv", "Please answer this question.")
    )
    staff.locator("label[for='question-satisfaction-4']").click()
    staff.locator("label[for='question-wellbeing-5']").click()
    send.click()
    expect(staff.get_by_text(said("sv", "These answers would be accepted."))).to_be_visible()
    staff.get_by_role("link", name=said("sv", "Back to the draft")).click()

    staff.locator(f"form[action='{EDITOR}/draft/publish'] button").click()
    expect(staff.get_by_role("status")).to_have_text(
        said(language, "The new version was published. New event questionnaires use it.")
    )
    assert newest_version(live_server) == before + 1
    [(published_after,)] = query(
        live_server, "SELECT count(*) FROM staff_audit WHERE action = 'template.publish'"
    )
    assert published_after == published_before + 1
    expect(staff.locator("table")).to_contain_text("wellbeing")

    # A resident answers an event's questionnaire of the new version.
    slug, version = new_questionnaire(live_server)
    assert version == before + 1
    resident = new_page(PHONE, javascript=javascript)
    resident.goto(f"{base}/f/{slug}?lang={language}")
    if language == "sv":
        expect(resident.get_by_text(wording)).to_be_visible()
    no_axe_violations(resident, javascript)
    resident.locator("label[for='question-satisfaction-5']").click()
    resident.locator("label[for='question-wellbeing-4']").click()
    resident.get_by_role("button", name=said(language, "Send answers"), exact=True).click()
    expect(resident).to_have_url(re.compile(rf"/f/{slug}/thanks$"))
    [(answers, answered_in)] = query(
        live_server,
        "SELECT r.answers, r.language FROM feedback_response r JOIN questionnaire q"
        " ON q.id = r.questionnaire_id WHERE q.slug = :slug",
        slug=slug,
    )
    assert answers["wellbeing"] == 4
    assert answered_in == language


def test_a_condition_on_several_answers_hides_and_shows_the_question(
    new_page, live_server: LiveServer
):
    """With JavaScript the preview hides a conditional question until one of its answers is
    chosen (without it the question is shown, and a hidden answer is dropped on submit: tested
    in tests/surveys/test_drafts.py). The draft is discarded afterwards."""
    base = live_server.url
    staff = new_page(PHONE)
    sign_in(staff, live_server, lang="en")
    fresh_draft(staff, base, "en")
    staff.goto(f"{base}{EDITOR}/draft/questions/recommend")
    staff.select_option("#field-show_if_key", "satisfaction")
    staff.get_by_role("button", name="Show its answers").click()
    staff.locator("label[for='field-show_if_values-1']").click()
    staff.locator("label[for='field-show_if_values-2']").click()
    staff.get_by_role("button", name="Save in the draft", exact=True).click()
    expect(staff.get_by_role("status")).to_have_text("The question was saved in the draft.")
    expect(staff.locator("#draft-recommend")).to_contain_text(
        "shown only after answer 1, 2 to satisfaction"
    )
    staff.goto(f"{base}{EDITOR}/draft/preview/en")
    follow_up = staff.locator("#question-recommend")
    expect(follow_up).to_be_hidden()
    staff.locator("label[for='question-satisfaction-5']").click()
    expect(follow_up).to_be_hidden()
    staff.locator("label[for='question-satisfaction-2']").click()
    expect(follow_up).to_be_visible()
    staff.locator("label[for='question-satisfaction-1']").click()
    expect(follow_up).to_be_visible()
    no_axe_violations(staff)
    staff.goto(f"{base}{EDITOR}")
    staff.get_by_role("button", name="Discard the draft").click()
    expect(staff.get_by_role("status")).to_have_text("The draft was discarded.")
