"""Ideas from every channel and in every language (issue #16, item 5), walked on a phone in
fi/sv/en, with and without JavaScript, each with the usual mistake first:

- a resident edits their idea (the title left empty, then written) and withdraws it (the
  confirming box not ticked, then ticked); nobody else sees it afterwards;
- staff enter an idea from a paper form (the cost written as words, then as a number), find
  it on the round's list of proposals that lack a translation, translate it into Swedish and put
  it on the ballot; a voter then reads it on the ballot in their language: in Swedish in
  Swedish, in Finnish in Finnish, and in English the Finnish text marked `lang="fi"`.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, LiveServer, sign_in
from tests.browser.steps import (
    CONTINUE,
    HEADING,
    RESIDENT_PASSWORD,
    in_database,
    make_resident,
    make_staff_member,
    no_axe_violations,
    query,
    said,
)

pytestmark = pytest.mark.browser

WAITS = "Voting opens only when every proposal on the ballot has its text in Finnish and Swedish."
JOURNEYS = pytest.mark.parametrize(
    ("language", "javascript"), [("fi", True), ("sv", False), ("en", True)], ids=str
)


def ideas_round(server: LiveServer) -> str:
    [(slug,)] = query(
        server,
        "SELECT slug FROM pb_round WHERE ideas_open_at < now() AND review_at > now()",
    )
    return slug


def send_idea(page: Page, base: str, slug: str, email: str, language: str, title: str) -> str:
    page.goto(f"{base}/account/sign-in?next=/pb/{slug}/propose&lang={language}")
    page.fill("#field-email", email)
    page.fill("#field-password", RESIDENT_PASSWORD)
    page.click("form[action='/account/sign-in'] button[type=submit]")
    expect(page).to_have_url(re.compile(rf"/pb/{slug}/propose$"))
    page.fill("#field-title", title)
    page.fill("#field-description", "Kolme penkkiä leikkipaikan viereen.")
    page.select_option("#field-area", index=1)
    page.fill("#field-estimated_cost", "900")
    page.click("#propose-form button[type=submit]:not([name])")
    expect(page).to_have_url(re.compile(rf"/pb/{slug}/proposals/\d+\?sent=1$"))
    return page.url.split("?")[0]


@JOURNEYS
def test_a_resident_edits_then_withdraws_their_idea(
    new_page, live_server: LiveServer, language, javascript
):
    base, slug = live_server.url, ideas_round(live_server)
    mark = f"{language}-{'js' if javascript else 'nojs'}"
    email = f"editor.{mark}@example.fi"
    make_resident(live_server, email)
    resident = new_page(PHONE, javascript=javascript)
    idea_url = send_idea(resident, base, slug, email, language, f"Penkit {mark}")
    idea_id = int(idea_url.rsplit("/", 1)[1])

    # Edit: the title left empty first, then written anew.
    resident.get_by_role("link", name=said(language, "Change or withdraw your idea")).click()
    expect(resident.locator("h1")).to_have_text(said(language, "Change your idea"))
    no_axe_violations(resident, javascript)
    resident.fill("#field-title", "")
    resident.get_by_role("button", name=said(language, "Save the changes")).click()
    expect(resident.locator(".error-summary")).to_be_visible()
    expect(resident.locator("#field-title")).to_have_attribute("aria-invalid", "true")
    no_axe_violations(resident, javascript)
    new_title = f"Penkit ja roskakori {mark}"
    resident.fill("#field-title", new_title)
    resident.get_by_role("button", name=said(language, "Save the changes")).click()
    expect(resident.get_by_role("status")).to_have_text(
        said(language, "Your changes have been saved.")
    )
    expect(resident.locator("h1")).to_have_text(new_title)
    assert query(
        live_server,
        "SELECT number, by_author FROM pb_proposal_version WHERE proposal_id = :p",
        p=idea_id,
    ) == [(1, True)]

    # Withdraw: the confirming box not ticked first, then ticked.
    resident.get_by_role("link", name=said(language, "Change or withdraw your idea")).click()
    withdraw = resident.get_by_role("button", name=said(language, "Withdraw the idea"))
    withdraw.click()
    expect(resident.locator(".error-summary")).to_contain_text(
        said(language, "Tick the box to confirm that you withdraw the idea.")
    )
    no_axe_violations(resident, javascript)
    resident.get_by_label(said(language, "Yes, I withdraw this idea")).check()
    resident.get_by_role("button", name=said(language, "Withdraw the idea")).click()
    expect(
        resident.get_by_text(
            said(
                language,
                "You have withdrawn this idea. It is no longer shown to others and is not"
                " reviewed.",
            )
        )
    ).to_be_visible()
    no_axe_violations(resident, javascript)
    assert query(live_server, "SELECT status FROM pb_proposal WHERE id = :i", i=idea_id) == [
        ("withdrawn",)
    ]

    # Nobody else sees it.
    visitor = new_page(PHONE, javascript=javascript)
    assert visitor.goto(f"{idea_url}?lang={language}").status == 404
    visitor.goto(f"{base}/pb/{slug}/proposals?lang={language}")
    expect(visitor.get_by_text(new_title)).to_have_count(0)


def review_round(server: LiveServer, mark: str) -> tuple[int, str, int]:
    """A round in review (ideas are typed in then) with a budget for the first area."""

    async def make(session) -> tuple[int, str, int]:
        from app.areas.services import list_areas
        from app.database import utcnow
        from voting import rounds

        area = (await list_areas(session))[0]
        now = utcnow().replace(second=0, microsecond=0)
        round_ = await rounds.create_round(
            session,
            rounds.RoundDraft(
                title={"fi": f"Käännöskierros {mark}", "sv": f"Översättningsomgång {mark}"},
                description={},
                ideas_open_at=now - dt.timedelta(days=2),
                review_at=now - dt.timedelta(days=1),
                voting_open_at=now + dt.timedelta(days=3),
                voting_close_at=now + dt.timedelta(days=5),
                results_at=now + dt.timedelta(days=6),
                min_age=12,
                ballot_rule="approval",
                official_rule="greedy",
                budgets={area.id: 50_000},
            ),
        )
        return round_.id, round_.slug, area.id

    return in_database(server, make)


def open_voting_with_a_voter(server: LiveServer, round_id: int, area_id: int, mark: str) -> str:
    """Voting opened an hour ago, one person of the area on the roll; their letter code."""

    async def make(session) -> str:
        from app.database import utcnow
        from app.settings import Settings
        from tests.conftest import TEST_SECRET
        from voting import rounds
        from voting.roll import RollRow, import_roll, issue_letter_codes, person_hash

        round_ = await rounds.get_round(session, round_id)
        round_.voting_open_at = utcnow() - dt.timedelta(hours=1)
        await session.commit()
        key = Settings(secret_key=TEST_SECRET).roll_key
        row = RollRow(person_hash(key, f"TRANSLATE-{mark}"), dt.date(1975, 3, 4), area_id, None)
        await import_roll(session, round_, [row])
        [code] = await issue_letter_codes(session, round_)
        return code.code

    return in_database(server, make)


@JOURNEYS
def test_staff_enter_and_translate_an_idea_that_a_voter_reads_in_their_language(
    new_page, live_server: LiveServer, language, javascript
):
    base = live_server.url
    mark = f"{language}-{'js' if javascript else 'nojs'}"
    round_id, slug, area_id = review_round(live_server, mark)
    staff_email = f"translator.{mark}@example.fi"
    make_staff_member(live_server, staff_email)
    finnish, swedish = f"Kahluuallas {mark}", f"Plaskdamm {mark}"

    # Staff type in an idea from a paper form: the cost in words first, then as a number.
    staff = new_page(PHONE, javascript=javascript)
    sign_in(staff, live_server, staff_email, lang=language)
    staff.goto(f"{base}/staff/pb/{round_id}")
    staff.get_by_role("link", name=said(language, "Enter an idea for a resident")).click()
    staff.select_option("#field-channel", "paper")
    staff.select_option("#field-language", "fi")
    staff.fill("#field-title", finnish)
    staff.fill("#field-description", "Kahluuallas puistoon lapsille.")
    staff.select_option("#field-area", str(area_id))
    staff.fill("#field-estimated_cost", "paljon")
    staff.get_by_role("button", name=said(language, "Save the idea")).click()
    expect(staff.locator(".error-summary")).to_be_visible()
    no_axe_violations(staff, javascript)
    staff.fill("#field-estimated_cost", "20 000")
    staff.get_by_role("button", name=said(language, "Save the idea")).click()
    expect(staff).to_have_url(re.compile(rf"/staff/pb/{round_id}/proposals/\d+\?done=enter$"))
    idea_url = staff.url.split("?")[0]
    idea_id = int(idea_url.rsplit("/", 1)[1])

    # On the ballot, it lacks Swedish: the round's page lists it with a link to the text.
    staff.fill("#field-final_cost", "20 000")
    staff.click("button[name=action][value=accept]")
    expect(staff.get_by_role("status")).to_have_text(said(language, "Saved."))
    staff.goto(f"{base}/staff/pb/{round_id}")
    expect(
        staff.get_by_role("heading", name=said(language, "Translations for the ballot"))
    ).to_be_visible()
    expect(staff.get_by_text(said(language, WAITS), exact=False)).to_be_visible()
    gap = staff.locator(f"a[href$='/proposals/{idea_id}#text']", has_text=finnish)
    expect(gap).to_have_count(1)
    no_axe_violations(staff, javascript)
    gap.click()

    # The translation: the Swedish title first without its description, then with it.
    staff.fill("#field-title_sv", swedish)
    staff.get_by_role("button", name=said(language, "Save the text")).click()
    expect(staff.get_by_role("status")).to_have_text(said(language, "Saved."))
    staff.goto(f"{base}/staff/pb/{round_id}")
    expect(staff.get_by_text(said(language, WAITS), exact=False)).to_be_visible()
    staff.locator(f"a[href$='/proposals/{idea_id}#text']").click()
    staff.fill("#field-description_sv", "En plaskdamm i parken för barnen.")
    staff.get_by_role("button", name=said(language, "Save the text")).click()
    expect(staff.get_by_role("status")).to_have_text(said(language, "Saved."))
    history = staff.locator("#text details summary")
    expect(history).to_have_count(2)
    no_axe_violations(staff, javascript)
    staff.goto(f"{base}/staff/pb/{round_id}")
    expect(staff.get_by_text(said(language, WAITS), exact=False)).to_have_count(0)
    assert query(
        live_server,
        "SELECT count(*) FROM staff_audit WHERE action = 'proposal.edit_text' AND target = :t",
        t=f"proposal {idea_id}",
    ) == [(2,)]

    # Voting opens; a voter reads the ballot in their language.
    code = open_voting_with_a_voter(live_server, round_id, area_id, mark)
    voter = new_page(PHONE, javascript=javascript)
    voter.goto(f"{base}/pb/{slug}/vote?lang={language}")
    voter.fill("#field-code", code)
    voter.fill("#field-birth_date", "1975-03-04")
    voter.get_by_role("button", name=CONTINUE[language]).click()
    expect(voter.get_by_role("heading", name=HEADING[language])).to_be_visible()
    shown = {"fi": (finnish, "fi"), "sv": (swedish, "sv"), "en": (finnish, "fi")}[language]
    title = voter.locator("label span[lang]", has_text=shown[0])
    expect(title).to_have_attribute("lang", shown[1])
    if language == "sv":
        expect(voter.get_by_text(finnish)).to_have_count(0)
    no_axe_violations(voter, javascript)
