"""Staff reply to residents after an event, with the usual mistake (Swedish missing), and a
resident on a phone finds the event's card in their language: with and without JavaScript."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, LiveServer, sign_in
from tests.browser.test_journeys_residents import JAVASCRIPT, no_axe_violations

pytestmark = pytest.mark.browser

REPLY = {
    "fi": "Kiitos palautteesta! Puiston valaistus korjataan maaliskuussa.",
    "sv": "Tack för responsen! Belysningen i parken lagas i mars.",
}


@JAVASCRIPT
def test_staff_reply_and_a_resident_reads_the_card(new_page, live_server: LiveServer, javascript):
    staff = new_page(PHONE, javascript=javascript)
    sign_in(staff, live_server, lang="fi")
    staff.goto(f"{live_server.url}/staff/events?when=past&lang=fi")
    staff.locator("table a[href^='/staff/events/']").first.click()
    event_path = staff.url.split(live_server.url)[1].split("?")[0]
    event_id = event_path.rstrip("/").split("/")[-1]
    staff.get_by_role("link", name="Vastaus asukkaille: te sanoitte – me teimme").click()
    staff.get_by_label("Suomeksi").fill(REPLY["fi"])
    staff.get_by_label("Ruotsiksi").fill("")  # the other variant of this test may have saved one
    staff.get_by_label("Näytä vastaus tapahtuman julkisessa kortissa").check()
    staff.get_by_role("button", name="Tallenna").click()
    # The mistake: Swedish missing. The Finnish text is kept, the error says what to do.
    expect(staff.locator(".error-summary")).to_contain_text(
        "Kirjoita vastaus suomeksi ja ruotsiksi"
    )
    expect(staff.get_by_label("Suomeksi")).to_have_value(REPLY["fi"])
    no_axe_violations(staff, javascript)
    staff.get_by_label("Ruotsiksi").fill(REPLY["sv"])
    staff.get_by_role("button", name="Tallenna").click()
    expect(staff.get_by_role("status")).to_contain_text("näkyy tapahtuman julkisessa kortissa")

    resident = new_page(PHONE, javascript=javascript)
    resident.goto(f"{live_server.url}/events/{event_id}?lang=sv")
    resident.get_by_role("link", name="Ni sade – vi gjorde: vad evenemanget ledde till").click()
    expect(resident.locator("h2", has_text="Vad staden gör")).to_be_visible()
    expect(resident.get_by_text(REPLY["sv"])).to_be_visible()
    expect(resident.get_by_text(REPLY["fi"])).to_have_count(0)
    no_axe_violations(resident, javascript)
    resident.reload()
    expect(resident.get_by_text(REPLY["sv"])).to_be_visible()
