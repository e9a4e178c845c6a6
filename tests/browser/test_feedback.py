"""A resident answers on a phone, with and without JavaScript; staff compare and export."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, LiveServer, sign_in

pytestmark = pytest.mark.browser

TEXTS = {
    "fi": (
        "Kuinka tyytyväinen olit tilaisuuteen kokonaisuutena?",
        "Kiitos!",
        "Mikä saisi sinut osallistumaan uudelleen?",
    ),
    "sv": (
        "Hur nöjd var du med evenemanget som helhet?",
        "Tack!",
        "Vad skulle få dig att delta igen?",
    ),
    "en": (
        "Overall, how satisfied were you with the event?",
        "Thank you!",
        "What would make you take part again?",
    ),
}


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_resident_answers_on_a_phone(new_page, live_server: LiveServer, language, javascript):
    page = new_page(PHONE, javascript=javascript)
    page.goto(f"{live_server.url}/f/{live_server.open_questionnaire}?lang={language}")
    question, thanks, follow_up = TEXTS[language]
    expect(page.get_by_text(question)).to_be_visible()
    follow_up_block = page.locator("#question-again_if")
    if javascript:
        expect(follow_up_block).to_be_hidden()
    page.locator("label[for='question-satisfaction-4']").click()
    page.locator("label[for='question-again-no']").click()
    expect(follow_up_block).to_be_visible()
    page.fill("#question-again_if-text", "Lyhyemmät puheenvuorot")
    page.locator("label[for='question-recommend-9']").click()
    page.click("#feedback-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/thanks$"))
    expect(page.locator("h1")).to_have_text(thanks)
    # The same device is thanked, not asked again.
    page.goto(f"{live_server.url}/f/{live_server.open_questionnaire}")
    expect(page.locator(".notice-success")).to_be_visible()
    assert page.locator("#feedback-form").count() == 0
    assert follow_up  # shown text checked above by visibility


def test_switching_language_without_javascript_keeps_the_answers(new_page, live_server: LiveServer):
    page = new_page(PHONE, javascript=False)
    page.goto(f"{live_server.url}/f/{live_server.open_questionnaire}?lang=fi")
    page.locator("label[for='question-satisfaction-2']").click()
    page.fill("#question-comment-text", "Hyvä ilta")
    page.click("button[name=_switch_language][value=sv]")
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    expect(page.get_by_text(TEXTS["sv"][0])).to_be_visible()
    expect(page.locator("#question-satisfaction-2")).to_be_checked()
    expect(page.locator("#question-comment-text")).to_have_value("Hyvä ilta")


def test_missing_required_answer_is_explained_next_to_the_question(
    new_page, live_server: LiveServer
):
    page = new_page(PHONE, javascript=False)
    page.goto(f"{live_server.url}/f/{live_server.open_questionnaire}?lang=en")
    page.click("#feedback-form button[type=submit]")
    expect(page.locator(".error-summary")).to_contain_text("Please answer this question.")
    expect(page.locator("#question-satisfaction")).to_have_attribute(
        "aria-describedby", re.compile("question-satisfaction-error")
    )


def test_staff_compare_two_event_types_and_export(new_page, live_server: LiveServer):
    page = new_page({"width": 1280, "height": 800})
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/staff/feedback")
    page.click("summary")
    page.check("#type-resident_evening")
    page.check("#type-theme_panel")
    page.select_option("#filter-group", "type")
    page.click("form.compare-filters button[type=submit]")
    expect(page).to_have_url(
        re.compile(
            r"type=resident_evening.*type=theme_panel|type=theme_panel.*type=resident_evening"
        )
    )
    table = page.locator("table.figures").first  # the monitoring figures
    expect(table).to_contain_text("Resident evening")
    expect(table).to_contain_text("Theme panel")
    assert table.locator("tbody tr").count() == 2
    expect(page.locator("svg.means-chart").first).to_be_visible()
    with page.expect_download() as download_info:
        page.click("a[href^='/staff/feedback/export/answers.csv']")
    text = Path(download_info.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {row["group"] for row in rows} == {"resident_evening", "theme_panel"}
    assert {"satisfaction", "recommend"} <= {row["question_key"] for row in rows}
