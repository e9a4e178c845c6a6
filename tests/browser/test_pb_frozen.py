"""An administrator extends voting in a real browser: first without a reason (the error is
shown, nothing is saved), then with one; the change appears on the public round page. At phone
and desktop widths, with JavaScript on and off, in Finnish, Swedish and English, and with no
axe-core violations on the pages involved."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from app.database import Database, utcnow
from tests.browser.conftest import DESKTOP, PHONE, sign_in
from tests.browser.test_accessibility import AXE_OPTIONS, axe
from tests.postgres import run_in_own_loop

pytestmark = pytest.mark.browser

ZONE = ZoneInfo("Europe/Helsinki")
GIVE_REASON = {
    "fi": "Anna tämä vähintään yhdellä kielellä.",
    "sv": "Ange detta på minst ett språk.",
    "en": "Give this in at least one language.",
}
SAVED = {"fi": "Tallennettu.", "sv": "Sparat.", "en": "Saved."}
REASON = {
    "fi": "Verkkoyhteydet katkesivat kirjastoissa.",
    "sv": "Nätverket låg nere på biblioteken.",
    "en": "The network was down at the libraries.",
}


def voting_round(database_url: str, language: str) -> tuple[int, str, dt.datetime]:
    """A fresh round open for voting: (id, link, close time)."""
    found: list = []

    async def arrange() -> None:
        from app.areas.services import list_areas
        from voting import rounds

        database = Database(database_url)
        async with database.sessionmaker() as session:
            area = (await list_areas(session))[0]
            now = utcnow().replace(second=0, microsecond=0)
            round_ = await rounds.create_round(
                session,
                rounds.RoundDraft(
                    title={"fi": "Jatkettava", "sv": "Förlängs", "en": f"Extended {language}"},
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
            found.extend([round_.id, round_.slug, round_.voting_close_at])
        await database.dispose()

    run_in_own_loop(arrange)
    return found[0], found[1], found[2]


def stored_changes(database_url: str, round_id: int) -> list:
    found: list = []

    async def read() -> None:
        from sqlalchemy import text

        database = Database(database_url)
        async with database.sessionmaker() as session:
            rows = await session.execute(
                text(
                    "SELECT c.kind, c.to_at, c.reason, r.voting_close_at FROM pb_round_change c"
                    " JOIN pb_round r ON r.id = c.round_id WHERE c.round_id = :id"
                ),
                {"id": round_id},
            )
            found.extend(tuple(row) for row in rows)
        await database.dispose()

    run_in_own_loop(read)
    return found


@pytest.mark.parametrize(
    ("language", "viewport", "javascript"),
    [("fi", PHONE, True), ("sv", PHONE, False), ("en", DESKTOP, False), ("en", PHONE, True)],
    ids=["fi-phone-js", "sv-phone-nojs", "en-desktop-nojs", "en-phone-js"],
)
def test_an_admin_extends_voting_with_a_public_reason(
    new_page, live_server, language, viewport, javascript
):
    round_id, slug, close = voting_round(live_server.database_url, language)
    page = new_page(viewport, javascript=javascript)
    base = live_server.url
    sign_in(page, live_server, lang=language)
    found: list[str] = []

    def check(label: str) -> None:
        """axe-core needs JavaScript: it runs on the pages of the JavaScript-on cases."""
        if javascript:
            found.extend(
                f"{label}: {v['id']}"
                for v in axe.run(page, options=AXE_OPTIONS).response["violations"]
            )

    page.goto(f"{base}/staff/pb/{round_id}")
    check("round page")
    form = page.locator(f"form[action='/staff/pb/{round_id}/voting-close']")
    expect(form).to_be_visible()
    later = (close + dt.timedelta(days=1)).astimezone(ZONE)

    # Without a reason: the error is shown next to the field and nothing is saved.
    form.locator("#field-close_date").fill(later.date().isoformat())
    form.locator("#field-close_time").fill(later.strftime("%H.%M"))
    form.locator("button[type=submit]").click()
    expect(page.locator(".error-summary")).to_be_visible()
    expect(page.locator("#error-close_reason_fi")).to_contain_text(GIVE_REASON[language])
    expect(page.locator("#field-close_reason_fi")).to_have_attribute("aria-invalid", "true")
    # What was typed is still there.
    expect(page.locator("#field-close_date")).to_have_value(later.date().isoformat())
    check("close form errors")
    assert stored_changes(live_server.database_url, round_id) == []

    # With a reason in the reader's language: saved, shown, public.
    page.locator(f"#field-close_reason_{language}").fill(REASON[language])
    page.locator(f"form[action='/staff/pb/{round_id}/voting-close'] button[type=submit]").click()
    expect(page.locator("p[role=status]")).to_have_text(SAVED[language])
    expect(page.locator("#changes-title")).to_be_visible()
    check("after the change")
    [(kind, to_at, reason, closes)] = stored_changes(live_server.database_url, round_id)
    assert kind == "extend"
    assert to_at == closes == later.astimezone(dt.UTC)
    assert reason == {language: REASON[language]}

    page.goto(f"{base}/pb/{slug}?lang={language}")
    expect(page.locator("#changes-title")).to_be_visible()
    expect(page.get_by_text(REASON[language])).to_be_visible()
    assert live_server.admin_email not in page.content()
    check("public round page")
    if javascript:
        # Nothing overflows the phone's width.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], width
    assert found == []
