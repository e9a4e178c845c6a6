"""Staff import the residents' statistics (a file with a bad line first, then the fixed file),
see the source and year on the areas page, and open the equal-access view from the staff page:
fi/sv/en, with and without JavaScript, on a phone."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, LiveServer, sign_in
from tests.browser.steps import no_axe_violations
from tests.browser.test_journeys_residents import JAVASCRIPT, LANGUAGE

pytestmark = pytest.mark.browser

EXAMPLE = (Path(__file__).parents[2] / "docs" / "area-statistics.csv").read_bytes()
# The example with its second area's mother tongues one short of its age bands.
BROKEN = EXAMPLE.replace(b";33520;", b";33519;")
IMPORT_LINK = {
    "fi": "Asukkaat iän ja äidinkielen mukaan: tuo tilastot",
    "sv": "Invånare efter ålder och modersmål: importera statistik",
    "en": "Residents by age and mother tongue: import statistics",
}
IMPORT_BUTTON = {"fi": "Tuo tilastot", "sv": "Importera statistiken", "en": "Import the statistics"}
NOTHING_IMPORTED = {
    "fi": "Mitään ei tuotu.",
    "sv": "Ingenting importerades.",
    "en": "Nothing was imported.",
}
LINE_3 = {"fi": "Rivi 3", "sv": "Rad 3", "en": "Line 3"}
IMPORTED = {
    "fi": "Tilastot tuotu vuodelle 2025",
    "sv": "Statistik importerad för 2025",
    "en": "Statistics imported for 2025",
}
SOURCE_SHOWN = {
    "fi": "Tilastokeskus, Väestörakenne 2025 (vuosi 2025)",
    "sv": "Tilastokeskus, Väestörakenne 2025 (år 2025)",
    "en": "Tilastokeskus, Väestörakenne 2025 (year 2025)",
}
STAFF_LINK = {
    "fi": "Yhdenvertaisuus: keitä tavoitamme",
    "sv": "Jämlikhet: vilka vi når",
    "en": "Equal access: whom we reach",
}
REACHED_LEAST = {"fi": "Vähiten tavoitetut", "sv": "Minst nådda", "en": "Reached least"}
AGE_BAND = {"fi": "Ikäryhmä", "sv": "Åldersgrupp", "en": "Age band"}


def upload(page: Page, data: bytes, language: str) -> None:
    page.set_input_files(
        "#statistics-file", {"name": "vaesto.csv", "mimeType": "text/csv", "buffer": data}
    )
    page.get_by_role("button", name=IMPORT_BUTTON[language], exact=True).click()


@JAVASCRIPT
@LANGUAGE
def test_staff_import_statistics_and_see_whom_they_reach(
    new_page, live_server: LiveServer, language, javascript
):
    page = new_page(PHONE, javascript=javascript)
    sign_in(page, live_server, lang=language)
    base = live_server.url
    page.goto(f"{base}/staff/areas")
    page.get_by_role("link", name=IMPORT_LINK[language], exact=True).click()
    page.wait_for_url(f"{base}/staff/areas/statistics")
    no_axe_violations(page, javascript)
    # A file with a bad line: nothing is imported, and the line is named in the staff
    # member's language.
    upload(page, BROKEN, language)
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text(NOTHING_IMPORTED[language])
    expect(summary).to_contain_text(LINE_3[language])
    no_axe_violations(page, javascript)
    # The fixed file is imported (a year imported again is replaced, so repeating is safe).
    upload(page, EXAMPLE, language)
    expect(page.get_by_role("status")).to_contain_text(IMPORTED[language])
    expect(page.locator(".error-summary")).to_have_count(0)
    expect(page.get_by_role("table").first).to_contain_text("67\u00a0814")
    page.goto(f"{base}/staff/areas")
    expect(page.get_by_role("table")).to_contain_text(SOURCE_SHOWN[language])
    # The equal-access view from the staff page: the least reached first, then the tables.
    page.goto(f"{base}/staff")
    page.get_by_role("link", name=STAFF_LINK[language], exact=True).click()
    page.wait_for_url(f"{base}/staff/feedback/equal-access")
    expect(page.get_by_role("heading", level=1)).to_have_text(STAFF_LINK[language])
    expect(page.get_by_role("heading", name=REACHED_LEAST[language], exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name=AGE_BAND[language], exact=True)).to_be_visible()
    expect(page.locator("section[aria-labelledby='breakdown-age'] table")).to_contain_text(
        "22\u00a0930"
    )
    # Only the tables scroll sideways on a phone, never the page.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    no_axe_violations(page, javascript)
