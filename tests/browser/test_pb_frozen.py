"""An administrator extends voting in a real browser: first without a reason (the error is
shown, nothing is saved), then with one; the change appears on the public round page. At phone
and desktop widths, with JavaScript on and off, in Finnish, Swedish and English, and with no
axe-core violations on the pages involved."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, LiveServer, sign_in
from tests.browser.steps import AXE_OPTIONS, arrange_round, axe, query

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


def voting_round(server: LiveServer, language: str) -> tuple[int, str, dt.datetime]:
    """A fresh round open for voting: (id, link, close time)."""
    arranged = arrange_round(
        server,
        {"fi": "Jatkettava", "sv": "Förlängs", "en": f"Extended {language}"},
        description={},
        budgets={"area": 100_000},
        closes_in=dt.timedelta(days=2),
    )
    return arranged.id, arranged.slug, arranged.voting_close_at


def stored_changes(server: LiveServer, round_id: int) -> list:
    return query(
        server,
        "SELECT c.kind, c.to_at, c.reason, r.voting_close_at FROM pb_round_change c"
        " JOIN pb_round r ON r.id = c.round_id WHERE c.round_id = :id",
        id=round_id,
    )


@pytest.mark.parametrize(
    ("language", "viewport", "javascript"),
    [("fi", PHONE, True), ("sv", PHONE, False), ("en", DESKTOP, False), ("en", PHONE, True)],
    ids=["fi-phone-js", "sv-phone-nojs", "en-desktop-nojs", "en-phone-js"],
)
def test_an_admin_extends_voting_with_a_public_reason(
    new_page, live_server, language, viewport, javascript
):
    round_id, slug, close = voting_round(live_server, language)
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
    assert stored_changes(live_server, round_id) == []

    # With a reason in the reader's language: saved, shown, public.
    page.locator(f"#field-close_reason_{language}").fill(REASON[language])
    page.locator(f"form[action='/staff/pb/{round_id}/voting-close'] button[type=submit]").click()
    expect(page.locator("p[role=status]")).to_have_text(SAVED[language])
    expect(page.locator("#changes-title")).to_be_visible()
    check("after the change")
    [(kind, to_at, reason, closes)] = stored_changes(live_server, round_id)
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
