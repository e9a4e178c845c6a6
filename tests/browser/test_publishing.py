"""Publishing a round's results in a real browser at phone width, with and without JavaScript,
in Finnish, Swedish and English: the admin opens the confirmation page from the round, reads what
will be published, confirms, and the public results appear; zero axe-core violations on the
confirmation page and on the results."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from app.database import Database, utcnow
from app.settings import Settings
from tests.browser.conftest import PHONE, LiveServer, sign_in
from tests.browser.test_accessibility import violations
from tests.conftest import TEST_SECRET
from tests.postgres import run_in_own_loop
from voting.board_keys import public_key_text
from voting.published import key_id

pytestmark = pytest.mark.browser

VOTERS = 5
SEED = Settings(secret_key=TEST_SECRET).signing_seed


def closed_round(server: LiveServer, label: str) -> tuple[int, str]:
    """A round whose voting has just closed, with five ballots in its log."""
    found: dict = {}

    async def arrange() -> None:
        from sqlalchemy import select

        from app.areas.services import list_areas
        from voting import rounds
        from voting.ballots import cast_ballot
        from voting.models import Proposal, RollEntry
        from voting.roll import RollRow, import_roll, person_hash

        database = Database(server.database_url)
        async with database.sessionmaker() as session:
            area = (await list_areas(session))[0]
            now = utcnow().replace(microsecond=0)
            round_ = await rounds.create_round(
                session,
                rounds.RoundDraft(
                    title={"fi": f"Julkaisu {label}", "sv": f"Publicering {label}", "en": label},
                    description={"en": "Publishing in the browser."},
                    ideas_open_at=now - dt.timedelta(days=3),
                    review_at=now - dt.timedelta(days=2),
                    voting_open_at=now - dt.timedelta(days=1),
                    voting_close_at=now + dt.timedelta(days=1),
                    results_at=now + dt.timedelta(days=2),
                    min_age=12,
                    ballot_rule="approval",
                    official_rule="greedy",
                    budgets={area.id: 100_000, None: 200_000},
                ),
            )
            proposals = []
            for area_id, title, cost in ((area.id, "Benches", 30_000), (None, "Library", 90_000)):
                proposal = Proposal(
                    round_id=round_.id,
                    area_id=area_id,
                    title={"fi": title, "sv": title, "en": title},
                    description={"en": title},
                    estimated_cost=cost,
                    final_cost=cost,
                    status="accepted",
                    reason={},
                    implementation_note={},
                )
                session.add(proposal)
                await session.flush()
                proposals.append(proposal.id)
            await session.commit()
            key = Settings(secret_key=TEST_SECRET).roll_key
            await import_roll(
                session,
                round_,
                [
                    RollRow(person_hash(key, f"PUB{label}{n}"), dt.date(1970, 1, 1), area.id, None)
                    for n in range(VOTERS)
                ],
            )
            entries = list(
                await session.scalars(select(RollEntry).where(RollEntry.round_id == round_.id))
            )
            for entry in entries:
                await cast_ballot(
                    session, round_, entry.id, "online", dict.fromkeys(proposals, 1), area.id
                )
            round_.voting_close_at = now - dt.timedelta(minutes=1)
            await session.commit()
            found.update(id=round_.id, slug=round_.slug)
        await database.dispose()

    run_in_own_loop(arrange)
    return found["id"], found["slug"]


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_the_admin_confirms_and_publishes_at_phone_width(
    new_page, live_server: LiveServer, language, javascript
):
    round_id, slug = closed_round(live_server, f"{language}{'js' if javascript else 'nojs'}")
    page = new_page(PHONE, javascript=javascript)
    sign_in(page, live_server, lang=language)
    base = live_server.url
    page.goto(f"{base}/staff/pb/{round_id}")
    page.locator(f'a[href="/staff/pb/{round_id}/publish"]').click()
    page.wait_for_url(f"{base}/staff/pb/{round_id}/publish")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("5")  # entries in the log and roll marks
    expect(facts.locator("code")).to_have_text(key_id(public_key_text(SEED)))
    if javascript:  # axe-core runs as a script in the page: not with JavaScript off
        assert violations(page, page.url) == []
    button = page.locator(f'form[action="/staff/pb/{round_id}/publish"] button')
    expect(button).to_be_visible()
    assert button.bounding_box()["width"] <= PHONE["width"]
    button.click()
    page.wait_for_url(f"{base}/staff/pb/{round_id}/audit")
    expect(page.locator(".notice-success")).to_be_visible()
    # Publishing twice is refused: the confirmation page now says it was published, no button.
    page.goto(f"{base}/staff/pb/{round_id}/publish")
    expect(page.locator(f'form[action="/staff/pb/{round_id}/publish"]')).to_have_count(0)
    expect(page.locator(f'a[href="/pb/{slug}/results"]')).to_be_visible()
    results = f"{base}/pb/{slug}/results?lang={language}"
    page.goto(results)
    expect(page.locator("table").first).to_contain_text("Benches")
    if javascript:
        assert violations(page, results) == []
