"""Carrying out a winning proposal, walked on a phone: a staff member working in Finnish adds a
milestone with a mistake (progress 150 %: a clear error beside the field, nothing stored), fixes
it, reloads; residents then read it on the round's "what happened to the winning proposals" page
in Swedish and on the all-rounds page in English, with the progress bar and its words."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, LiveServer, sign_in
from tests.browser.steps import in_database, no_axe_violations, query, said

pytestmark = pytest.mark.browser

TEXT_FI = "Leikkipaikan laitteet tilattu, asennus toukokuussa."
TEXT_SV = "Lekplatsens redskap är beställda, de monteras i maj."


def winning_proposal(server: LiveServer) -> tuple[int, str, int, str]:
    """The demo's counted round and one of its winning proposals without milestones:
    (round id, round slug, proposal id, its English title)."""

    async def find(session):
        from sqlalchemy import select

        from voting import milestones
        from voting.models import Milestone, Proposal, Round

        round_ = await session.scalar(
            select(Round).where(Round.published_at.is_not(None)).order_by(Round.id).limit(1)
        )
        followed = set(await session.scalars(select(Milestone.proposal_id)))
        chosen = sorted(await milestones.selected_ids(session, round_.id))
        proposal_id = next(p for p in chosen if p not in followed)
        proposal = await session.get(Proposal, proposal_id)
        return round_.id, round_.slug, proposal_id, proposal.title["en"]

    return in_database(server, find)


def stored(server: LiveServer, proposal_id: int) -> list[tuple]:
    return query(
        server,
        "SELECT progress, text->>'sv' FROM pb_milestone WHERE proposal_id = :p",
        p=proposal_id,
    )


def test_staff_add_a_milestone_with_a_mistake_and_residents_read_it(
    new_page, live_server: LiveServer
):
    base = live_server.url
    round_id, slug, proposal_id, title = winning_proposal(live_server)

    staff = new_page(PHONE)
    sign_in(staff, live_server, lang="fi")
    staff.goto(f"{base}/staff/pb/{round_id}/proposals/{proposal_id}")
    expect(staff.locator("#milestones-title")).to_have_text(said("fi", "Milestones"))
    no_axe_violations(staff)

    # The mistake: 150 per cent. The error is beside the field, in Finnish; nothing is stored.
    staff.fill("#field-date", "2027-05-20")
    staff.fill("#field-text_fi", TEXT_FI)
    staff.fill("#field-text_sv", TEXT_SV)
    staff.fill("#field-progress", "150")
    staff.fill("#field-cost_so_far", "12 500 €")
    staff.select_option("#field-status", "in_progress")
    staff.get_by_role("button", name=said("fi", "Add the milestone")).click()
    expect(staff.locator(".error-summary")).to_be_visible()
    expect(staff.locator("#error-progress")).to_contain_text(
        said("fi", "Enter a number from %(minimum)s to %(maximum)s.", minimum=0, maximum=100)
    )
    expect(staff.locator("#field-text_sv")).to_have_value(TEXT_SV)
    assert stored(live_server, proposal_id) == []
    no_axe_violations(staff)

    # The fix: 40 per cent. Back on the proposal page, saved, the milestone listed.
    staff.fill("#field-progress", "40")
    staff.get_by_role("button", name=said("fi", "Add the milestone")).click()
    expect(staff).to_have_url(re.compile(rf"/proposals/{proposal_id}\?done=milestone"))
    expect(staff.get_by_role("status")).to_have_text(said("fi", "Saved."))
    expect(staff.locator("#milestones")).to_contain_text(TEXT_FI)
    # A reload sends nothing again.
    staff.reload()
    expect(staff.locator("#milestones")).to_contain_text(TEXT_FI)
    assert stored(live_server, proposal_id) == [(40, TEXT_SV)]
    [(audited,)] = query(
        live_server,
        "SELECT count(*) FROM staff_audit WHERE action = 'milestone.add' AND target LIKE :t",
        t=f"proposal {proposal_id} milestone %",
    )
    assert audited == 1

    # A resident reads the round's page in Swedish, on a phone.
    resident = new_page(PHONE)
    resident.goto(f"{base}/pb/{slug}/results?lang=sv")
    resident.get_by_role("link", name=said("sv", "What happened to the winning proposals")).click()
    expect(resident.locator("h1")).to_have_text(
        said("sv", "What happened to the winning proposals")
    )
    card = resident.locator(f"#proposal-{proposal_id}")
    expect(card).to_contain_text(TEXT_SV)
    expect(card.locator("progress")).to_have_attribute("value", "40")
    expect(card.locator(f"label[for=progress-{proposal_id}]")).to_contain_text("40\xa0%")
    expect(card).to_contain_text("12\xa0500\xa0€")
    assert resident.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    no_axe_violations(resident)

    # Then in English, the page of every round: the milestones behind a disclosure.
    resident.goto(f"{base}/pb?lang=en")
    resident.get_by_role(
        "link", name=said("en", "What happened to the winning proposals of every round")
    ).click()
    card = resident.locator(f"#proposal-{proposal_id}")
    expect(card.get_by_role("heading")).to_have_text(title)
    expect(card.locator(f"label[for=progress-{proposal_id}]")).to_contain_text(
        "Progress: 40\xa0% done"
    )
    card.locator("summary").click()
    # No English text was written: the Finnish one is shown, marked as Finnish.
    expect(card.locator("div[lang=fi]")).to_contain_text(TEXT_FI)
    assert resident.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    no_axe_violations(resident)
