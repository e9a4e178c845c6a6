"""Moderation of ideas, walked on a phone in fi/sv/en, once without JavaScript: a resident sends
an abusive idea, which nobody else sees; staff find it in the needs-attention list and hide it
with a reason, after which the public sees the reason only. Someone reports a public idea (first
with no reason, the usual mistake), and staff see it in the same list."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, LiveServer, sign_in
from tests.browser.steps import (
    RESIDENT_PASSWORD,
    in_database,
    make_resident,
    make_staff_member,
    no_axe_violations,
    query,
    said,
)

pytestmark = pytest.mark.browser

REASONS = {
    "fi": "Idea loukkasi nimeltä mainittua henkilöä.",
    "sv": "Idén förolämpade en namngiven person.",
    "en": "The idea insulted a named person.",
}
REPORTS = {
    "fi": "Tässä on jonkun puhelinnumero.",
    "sv": "Här finns någons telefonnummer.",
    "en": "This shows someone's phone number.",
}


def ideas_round(server: LiveServer) -> str:
    [(slug,)] = query(
        server,
        "SELECT slug FROM pb_round WHERE ideas_open_at < now() AND review_at > now()",
    )
    return slug


def public_idea(server: LiveServer, slug: str, title: str) -> int:
    """An idea that staff have already checked (published)."""

    async def add(session) -> int:
        from sqlalchemy import select

        from voting.models import Budget, Proposal, Round

        round_ = await session.scalar(select(Round).where(Round.slug == slug))
        area_id = await session.scalar(
            select(Budget.area_id).where(Budget.round_id == round_.id).limit(1)
        )
        proposal = Proposal(
            round_id=round_.id,
            area_id=area_id,
            title={"fi": title},
            description={"fi": "Lisää lehtiä ja penkkejä lukusaliin."},
            estimated_cost=2_000,
            status="submitted",
            reason={},
            implementation_note={},
            moderation="published",
            moderation_reason={},
        )
        session.add(proposal)
        await session.commit()
        return proposal.id

    return in_database(server, add)


def send_idea(page: Page, base: str, slug: str, email: str, language: str, title: str) -> str:
    page.goto(f"{base}/account/sign-in?next=/pb/{slug}/propose&lang={language}")
    page.fill("#field-email", email)
    page.fill("#field-password", RESIDENT_PASSWORD)
    page.click("form[action='/account/sign-in'] button[type=submit]")
    expect(page).to_have_url(re.compile(rf"/pb/{slug}/propose$"))
    page.fill("#field-title", title)
    page.fill("#field-description", "Soittakaa hänelle numeroon 040 123 4567.")
    page.select_option("#field-area", index=1)
    page.fill("#field-estimated_cost", "500")
    page.click("#propose-form button[type=submit]:not([name])")
    expect(page).to_have_url(re.compile(rf"/pb/{slug}/proposals/\d+\?sent=1$"))
    return page.url.split("?")[0]


@pytest.mark.parametrize(
    ("language", "javascript"), [("fi", True), ("sv", False), ("en", True)], ids=str
)
def test_an_abusive_idea_is_hidden_with_a_reason_and_a_report_reaches_staff(
    new_page, live_server: LiveServer, language, javascript
):
    base, slug = live_server.url, ideas_round(live_server)
    mark = f"{language}-{'js' if javascript else 'nojs'}"
    resident_email = f"moderation.{mark}@example.fi"
    staff_email = f"moderator.{mark}@example.fi"
    make_resident(live_server, resident_email)
    make_staff_member(live_server, staff_email)
    title = f"Matti Meikäläinen 040 123 4567 on idiootti {mark}"

    # The resident sends the idea and sees it waits for a check.
    resident = new_page(PHONE, javascript=javascript)
    idea_url = send_idea(resident, base, slug, resident_email, language, title)
    expect(resident.locator("h1")).to_have_text(title)
    expect(resident.get_by_text(said(language, "Waiting for a check"), exact=True)).to_be_visible()
    no_axe_violations(resident, javascript)

    # Nobody else sees it: not in the list, not at its address.
    visitor = new_page(PHONE, javascript=javascript)
    visitor.goto(f"{base}/pb/{slug}/proposals?lang={language}")
    expect(visitor.locator("h1")).to_have_text(said(language, "Proposals"))
    expect(visitor.get_by_text(title)).to_have_count(0)
    assert visitor.goto(f"{idea_url}?lang={language}").status == 404

    # Staff find it in the needs-attention list and hide it with a public reason.
    staff = new_page(PHONE, javascript=javascript)
    sign_in(staff, live_server, staff_email, lang=language)
    staff.goto(f"{base}/staff/pb/attention")
    expect(staff.locator("h1")).to_have_text(said(language, "Ideas that need attention"))
    no_axe_violations(staff, javascript)
    staff.get_by_role("link", name=title).click()
    staff.fill(f"#field-hide_reason_{language}", REASONS[language])
    staff.click("button[name=action][value=hide]")
    expect(staff.get_by_role("status")).to_have_text(said(language, "Saved."))
    idea_id = int(idea_url.rsplit("/", 1)[1])
    assert query(live_server, "SELECT moderation FROM pb_proposal WHERE id = :i", i=idea_id) == [
        ("hidden",)
    ]

    # The public now sees the reason and a neutral title, never the text.
    response = visitor.goto(f"{idea_url}?lang={language}")
    assert response.status == 200
    expect(visitor.locator("h1")).to_have_text(said(language, "Idea hidden by the moderators"))
    expect(visitor.get_by_text(REASONS[language])).to_be_visible()
    assert "040 123 4567" not in visitor.content()
    assert "Meikäläinen" not in visitor.content()
    no_axe_violations(visitor, javascript)

    # Someone reports a public idea: first without a reason, then with one.
    other_title = f"Kirjastoon lisää lehtiä {mark}"
    other_id = public_idea(live_server, slug, other_title)
    visitor.goto(f"{base}/pb/{slug}/proposals/{other_id}?lang={language}")
    visitor.get_by_text(said(language, "Report this idea")).click()
    visitor.get_by_role("button", name=said(language, "Send the report")).click()
    expect(visitor.locator(".error-summary")).to_be_visible()
    expect(visitor.locator("#field-reason")).to_be_visible()
    no_axe_violations(visitor, javascript)
    visitor.fill("#field-reason", REPORTS[language])
    visitor.get_by_role("button", name=said(language, "Send the report")).click()
    expect(visitor.get_by_role("status")).to_have_text(
        said(language, "Thank you. Your report was sent to the moderators.")
    )
    assert query(
        live_server, "SELECT reason FROM pb_proposal_report WHERE proposal_id = :p", p=other_id
    ) == [(REPORTS[language],)]

    # Staff see the report in the needs-attention list and on the idea's page.
    staff.goto(f"{base}/staff/pb/attention")
    row = staff.locator("tr").filter(has_text=other_title)
    expect(row).to_have_count(1)
    expect(row.locator("td").last).to_have_text("1")
    row.get_by_role("link", name=other_title).click()
    expect(staff.get_by_text(REPORTS[language])).to_be_visible()
