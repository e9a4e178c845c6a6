"""Review at scale, walked on a phone in fi/sv/en, with and without JavaScript: a staff member
searches a round's ideas with an inflected word, pages through them, narrows them by channel,
assigns one to a department and a colleague, writes an internal note, and rejects three at once
— first without a reason (the usual mistake: a clear error and nothing stored), then with one."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, LiveServer, sign_in
from tests.browser.steps import in_database, make_staff_member, no_axe_violations, query, said

pytestmark = pytest.mark.browser

REASONS = {
    "fi": "Paikka ei ole kaupungin maata.",
    "sv": "Platsen ägs inte av staden.",
    "en": "The place is not the city's land.",
}
NOTE = "Soitin Kaupunkiympäristöön: tontti on yksityinen."


def ideas_round(server: LiveServer) -> int:
    [(round_id,)] = query(
        server, "SELECT id FROM pb_round WHERE ideas_open_at < now() AND review_at > now()"
    )
    return round_id


def add_ideas(server: LiveServer, round_id: int, token: str) -> None:
    """51 ideas with the token in their titles ("Puistoon" is "to the park"), the first three
    gathered on paper: more than one page of the list (50 a page)."""

    async def add(session) -> None:
        import datetime as dt

        from sqlalchemy import select

        from app.database import utcnow
        from voting.models import Budget, Proposal

        area_id = await session.scalar(
            select(Budget.area_id).where(Budget.round_id == round_id).limit(1)
        )
        now = utcnow()
        for number in range(51):
            session.add(
                Proposal(
                    round_id=round_id,
                    area_id=area_id,
                    title={"fi": f"Puistoon penkkejä {token} {number:02d}"},
                    description={"fi": "Penkkejä puistoon vanhuksille."},
                    estimated_cost=1_000 + number,
                    status="submitted",
                    reason={},
                    implementation_note={},
                    moderation="published",
                    moderation_reason={},
                    channel="paper" if number < 3 else "online",
                    created_at=now - dt.timedelta(minutes=number),
                )
            )
        await session.commit()

    in_database(server, add)


def listed(page: Page) -> list[str]:
    return page.locator("#review-results a[id^=idea-title-]").all_inner_texts()


def statuses(server: LiveServer, token: str) -> list[str]:
    rows = query(
        server,
        "SELECT status FROM pb_proposal WHERE title->>'fi' LIKE :t ORDER BY id",
        t=f"% {token} %",
    )
    return [status for (status,) in rows]


@pytest.mark.parametrize(
    ("language", "javascript"),
    [("fi", True), ("sv", False), ("en", True), ("fi", False)],
    ids=str,
)
def test_staff_search_page_assign_note_and_reject_three_at_once(
    new_page, live_server: LiveServer, language, javascript
):
    base = live_server.url
    round_id = ideas_round(live_server)
    token = f"zq{language}{'js' if javascript else 'nojs'}"
    add_ideas(live_server, round_id, token)
    staff_email = f"reviewer.{token}@example.fi"
    colleague_email = f"colleague.{token}@example.fi"
    make_staff_member(live_server, staff_email)
    make_staff_member(live_server, colleague_email)
    [(colleague_id,)] = query(
        live_server, "SELECT id FROM staff_user WHERE email = :e", e=colleague_email
    )

    staff = new_page(PHONE, javascript=javascript)
    sign_in(staff, live_server, staff_email, lang=language)
    staff.goto(f"{base}/staff/pb/{round_id}")
    staff.get_by_role(
        "link",
        name=said(language, "Review ideas: search, filter, assign and decide on many at once"),
    ).click()
    expect(staff.locator("h1")).to_have_text(said(language, "Review ideas"))
    no_axe_violations(staff, javascript)

    # A search of punctuation only: the error beside the box, the list unfiltered.
    staff.fill("#field-q", "%&|")
    staff.click("form[role=search] button[type=submit]")
    expect(staff.locator("#error-q")).to_contain_text(
        said(language, "Search with letters or digits.")
    )
    expect(staff.locator(".error-summary")).to_be_visible()

    # Search with another case of the word: "puistossa" (in the park) finds "Puistoon".
    staff.fill("#field-q", f"puistossa {token}")
    staff.click("form[role=search] button[type=submit]")
    expect(staff.locator("#review-caption")).to_have_text(f"{said(language, 'Ideas')} (51)")
    assert len(listed(staff)) == 50
    # The address keeps the search (with JavaScript, htmx pushes it).
    expect(staff).to_have_url(re.compile(r"q=puistossa(\+|%20)" + token))
    staff.get_by_role("link", name=said(language, "Next page")).click()
    expect(staff.locator("#review-results a[id^=idea-title-]")).to_have_count(1)
    expect(staff.locator("#review-results a[id^=idea-title-]")).to_have_text(
        f"Puistoon penkkejä {token} 50"
    )

    # Only the ideas gathered on paper.
    staff.select_option("#field-channel", "paper")
    staff.click("form[role=search] button[type=submit]")
    expect(staff.locator("#review-results a[id^=idea-title-]")).to_have_count(3)
    list_url = staff.url
    assert "channel=paper" in list_url

    # Assign the first to a department and a colleague, and write an internal note.
    staff.get_by_role("link", name=f"Puistoon penkkejä {token} 00").click()
    staff.fill("#field-department", "Kaupunkiympäristö")
    staff.select_option("#field-reviewer", str(colleague_id))
    staff.click("form[action$='/assignment'] button[type=submit]")
    expect(staff.get_by_role("status")).to_have_text(said(language, "Saved."))
    staff.fill("#field-note", NOTE)
    staff.click("form[action$='/notes'] button[type=submit]")
    expect(staff.get_by_role("status")).to_have_text(said(language, "Saved."))
    expect(staff.get_by_text(NOTE)).to_be_visible()
    no_axe_violations(staff, javascript)
    [(department, reviewer)] = query(
        live_server,
        "SELECT department, reviewer_id FROM pb_proposal WHERE title->>'fi' = :t",
        t=f"Puistoon penkkejä {token} 00",
    )
    assert (department, reviewer) == ("Kaupunkiympäristö", colleague_id)

    # Reject the three at once, forgetting the reason: an error, nothing stored, ticks kept.
    staff.goto(list_url)
    for box in staff.locator("#review-results input[name=idea]").all():
        box.check()
    staff.select_option("#field-action", "reject")
    staff.get_by_role("button", name=said(language, "Apply to the ticked ideas")).click()
    summary = staff.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text(said(language, "Give this in at least one language."))
    assert statuses(live_server, token) == ["submitted"] * 51
    expect(staff.locator("#review-results input[name=idea]:checked")).to_have_count(3)
    no_axe_violations(staff, javascript)

    # The fix: the reason, and all three are rejected together.
    staff.fill(f"#field-reason_{language}", REASONS[language])
    staff.get_by_role("button", name=said(language, "Apply to the ticked ideas")).click()
    expect(staff.get_by_role("status")).to_be_visible()
    expect(staff).to_have_url(re.compile(r"done=reject&count=3"))
    assert statuses(live_server, token) == ["rejected"] * 3 + ["submitted"] * 48
    [(reasons,)] = query(
        live_server,
        "SELECT count(*) FROM pb_proposal WHERE title->>'fi' LIKE :t AND reason->>:l = :r",
        t=f"% {token} %",
        l=language,
        r=REASONS[language],
    )
    assert reasons == 3
    [(audited,)] = query(
        live_server,
        "SELECT count(*) FROM staff_audit WHERE action = 'proposal.reject' AND target IN "
        "(SELECT 'proposal ' || id FROM pb_proposal WHERE title->>'fi' LIKE :t)",
        t=f"% {token} %",
    )
    assert audited == 3
