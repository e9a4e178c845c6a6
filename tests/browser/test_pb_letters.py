"""A staff member makes voting-code letters in a real browser, sees them in Finnish and Swedish,
prints batch 1 again, and a resident finds the old code refused and the new one working – the
new letter's QR address filling in the first part of the code. Desktop, with JavaScript on
(and axe-core) and off."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from app.database import Database, utcnow
from app.settings import Settings
from tests.browser.conftest import DESKTOP, sign_in
from tests.browser.test_accessibility import AXE_OPTIONS, axe
from tests.conftest import TEST_SECRET
from tests.postgres import run_in_own_loop

pytestmark = pytest.mark.browser

BORN = dt.date(1975, 3, 14)
HELP = "09 816 12345"
CODE = re.compile(r"[A-Z2-9]{4}(?:-[A-Z2-9]{4}){4}")


def round_with_roll(database_url: str, people: int) -> tuple[int, str]:
    found: list = []

    async def arrange() -> None:
        from app.areas.services import list_areas
        from voting import rounds
        from voting.roll import RollRow, import_roll, person_hash

        database = Database(database_url)
        async with database.sessionmaker() as session:
            area = (await list_areas(session))[0]
            now = utcnow().replace(second=0, microsecond=0)
            round_ = await rounds.create_round(
                session,
                rounds.RoundDraft(
                    title={"fi": "Kirjekierros", "sv": "Brevomgång", "en": "Letter round"},
                    description={},
                    ideas_open_at=now - dt.timedelta(days=3),
                    review_at=now - dt.timedelta(days=2),
                    voting_open_at=now - dt.timedelta(days=1),
                    voting_close_at=now + dt.timedelta(days=2),
                    results_at=now + dt.timedelta(days=3),
                    min_age=12,
                    ballot_rule="approval",
                    official_rule="greedy",
                    budgets={area.id: 100_000},
                ),
            )
            key = Settings(secret_key=TEST_SECRET).roll_key
            rows = [
                RollRow(person_hash(key, f"LETTER{round_.id}X{n}"), BORN, area.id, f"L-{n}")
                for n in range(people)
            ]
            await import_roll(session, round_, rows)
            found.extend([round_.id, round_.slug])
        await database.dispose()

    run_in_own_loop(arrange)
    return found[0], found[1]


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_staff_make_letters_print_batch_one_again_and_only_the_new_code_signs_in(
    new_page, live_server, javascript
):
    round_id, slug = round_with_roll(live_server.database_url, people=2)
    base = live_server.url
    page = new_page(DESKTOP, javascript=javascript)
    sign_in(page, live_server, lang="en")
    found: list[str] = []

    def check(label: str) -> None:
        if javascript:
            found.extend(
                f"{label}: {v['id']}"
                for v in axe.run(page, options=AXE_OPTIONS).response["violations"]
            )

    # From the round page to the letters page; make batch 1 in Finnish and Swedish.
    page.goto(f"{base}/staff/pb/{round_id}")
    page.locator(f"a[href='/staff/pb/{round_id}/letters']").click()
    expect(page.locator("h1")).to_have_text("Voting-code letters")
    check("letters page")
    page.locator("#field-languages").select_option("fi sv")
    page.locator("#field-help_contact").fill(HELP)
    page.get_by_role("button", name="Make letters to print").click()
    letters = page.locator("article.letter")
    expect(letters).to_have_count(2)
    for language in ("fi", "sv"):
        part = letters.first.locator(f"section[lang={language}]")
        expect(part).to_contain_text(HELP)
        expect(part).to_contain_text("klo" if language == "fi" else "kl.")
    expect(letters.first.locator(".letter-qr svg")).to_be_visible()
    check("letters of batch 1")
    # Printed: one letter per page, without the site's header or the staff notes.
    page.emulate_media(media="print")
    assert letters.first.evaluate("e => getComputedStyle(e).breakAfter") == "page"
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".letters-intro")).to_be_hidden()
    page.emulate_media(media="screen")
    first = CODE.findall(page.locator("main").inner_text())
    assert len(first) == 2

    # Batch 1 is listed; print it again (as if the printer had jammed).
    page.goto(f"{base}/staff/pb/{round_id}/letters")
    row = page.locator("tbody tr").first
    expect(row.locator("td").nth(2)).to_have_text("2")
    page.get_by_role("button", name="Print batch 1 again").click()
    expect(page.locator("h1")).to_have_text("Letters of batch 1")
    expect(page.locator("article.letter")).to_have_count(2)
    check("letters printed again")
    second = CODE.findall(page.locator("main").inner_text())
    assert len(second) == 2
    assert not set(second) & set(first)

    # A resident with the lost (old) letter is refused with a clear message.
    resident = new_page(DESKTOP, javascript=javascript)
    resident.goto(f"{base}/pb/{slug}/vote?lang=en")
    resident.locator("#field-code").fill(first[0])
    resident.locator("#field-birth_date").fill(BORN.isoformat())
    resident.get_by_role("button", name="Continue to the ballot").click()
    expect(resident.locator(".error-summary")).to_contain_text("This code has been replaced")

    # The new letter's QR address fills in the public part; the resident types the rest.
    public, secret = second[0].replace("-", "")[:8], second[0].replace("-", "")[8:]
    resident.goto(f"{base}/pb/{slug}/vote?code={public[:4]}-{public[4:]}&lang=en")
    code_field = resident.locator("#field-code")
    expect(code_field).to_have_value(f"{public[:4]}-{public[4:]}-")
    code_field.press("End")
    code_field.press_sequentially(secret)
    resident.locator("#field-birth_date").fill(BORN.isoformat())
    resident.get_by_role("button", name="Continue to the ballot").click()
    resident.wait_for_url(f"{base}/pb/{slug}/ballot")
    assert found == []
