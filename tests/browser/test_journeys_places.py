"""Places and themes, walked on a phone with and without JavaScript: a staff member adds two
themes to a round – the first without its Swedish name (the usual mistake: an error beside the
field and nothing stored), then with it – reads them in another language, and sets a proposal's
themes and place (a latitude outside Finland first, then the right one); a voter filters the
ballot by theme, ticks, changes the filter, ticks more and casts: every choice is kept."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, LiveServer, sign_in
from tests.browser.steps import (
    CAST,
    CONTINUE,
    HEADING,
    RECORDED,
    REVIEW,
    arrange_round,
    in_database,
    issue_codes,
    no_axe_violations,
    put_on_roll,
    query,
    said,
)

pytestmark = pytest.mark.browser

PARKS = {"fi": "Puistot", "sv": "Parker", "en": "Parks"}
TRAFFIC = {"fi": "Liikenne", "sv": "Trafik", "en": "Traffic"}


def theme_ids(server: LiveServer, round_id: int) -> dict[str, int]:
    rows = query(server, "SELECT name->>'fi', id FROM pb_theme WHERE round_id = :r", r=round_id)
    return dict(rows)


def give_themes(server: LiveServer, round_id: int, pairs: list[tuple[int, int]]) -> None:
    async def add(session) -> None:
        from voting.models import ProposalTheme

        for proposal_id, theme_id in pairs:
            session.add(ProposalTheme(proposal_id=proposal_id, theme_id=theme_id))
        await session.commit()

    in_database(server, add)


def add_theme(page: Page, language: str, names: dict[str, str]) -> None:
    for code, text in names.items():
        page.fill(f"#field-name_{code}", text)
    page.get_by_role("button", name=said(language, "Add the theme")).click()


@pytest.mark.parametrize(
    ("language", "javascript"), [("fi", False), ("en", True), ("sv", True)], ids=str
)
def test_staff_add_themes_and_a_place_and_a_voter_filters_the_ballot_keeping_every_choice(
    new_page, live_server: LiveServer, language, javascript
):
    base = live_server.url
    token = f"{language}{'js' if javascript else 'nojs'}"
    arranged = arrange_round(
        live_server,
        {"fi": f"Teemat {token}", "sv": f"Teman {token}", "en": f"Themes {token}"},
        budgets={"area": 100_000, "city": 200_000},
        proposals=(
            ("area", "Benches", 30_000),
            ("area", "Lights", 50_000),
            ("city", "Library", 90_000),
            ("city", "Bikes", 150_000),
        ),
    )
    put_on_roll(live_server, arranged, [(f"PLACES{token}", dt.date(1980, 5, 1))])
    [(code, born)] = issue_codes(live_server, arranged)
    ids = arranged.proposals

    # --- staff: two themes, the first without its Swedish name at first -------------------
    staff = new_page(PHONE, javascript=javascript)
    sign_in(staff, live_server, lang=language)
    staff.goto(f"{base}/staff/pb/{arranged.id}")
    staff.get_by_role("link", name=said(language, "Themes of the proposals")).click()
    expect(staff.locator("h1")).to_have_text(said(language, "Themes"))
    add_theme(staff, language, {"fi": PARKS["fi"], "en": PARKS["en"]})
    expect(staff.locator(".error-summary")).to_be_visible()
    expect(staff.locator("#error-name_sv")).to_contain_text(
        said(language, "This field is required.")
    )
    assert theme_ids(live_server, arranged.id) == {}
    no_axe_violations(staff, javascript)
    # The fix: the Finnish and English names are still there; the Swedish one is added.
    expect(staff.locator("#field-name_fi")).to_have_value(PARKS["fi"])
    staff.fill("#field-name_sv", PARKS["sv"])
    staff.get_by_role("button", name=said(language, "Add the theme")).click()
    expect(staff.get_by_role("status")).to_have_text(said(language, "Saved."))
    add_theme(staff, language, TRAFFIC)
    expect(staff.locator("table tbody tr")).to_have_count(2)
    themes = theme_ids(live_server, arranged.id)
    assert set(themes) == {PARKS["fi"], TRAFFIC["fi"]}
    # In another language the page names them the same way (each name marked with its language).
    other = "sv" if language != "sv" else "fi"
    staff.goto(f"{base}/staff/pb/{arranged.id}/themes?lang={other}")
    expect(staff.locator("h1")).to_have_text(said(other, "Themes"))
    expect(staff.locator("td[lang=sv]").first).to_have_text(PARKS["sv"])
    staff.goto(f"{base}/staff/pb/{arranged.id}/themes?lang={language}")
    no_axe_violations(staff, javascript)
    [(audited,)] = query(
        live_server,
        "SELECT count(*) FROM staff_audit WHERE action = 'theme.create' AND target = :t",
        t=f"round {arranged.id}",
    )
    assert audited == 2

    # --- staff: the library's themes and place --------------------------------------------
    staff.goto(f"{base}/staff/pb/{arranged.id}/proposals/{ids['Library']}")
    staff.get_by_role("link", name=said(language, "Change the themes and place")).click()
    staff.check(f"#field-theme-{themes[PARKS['fi']]}")
    staff.fill("#field-place_name", "Keskuskirjasto Oodi")
    staff.select_option("#field-place_area", str(arranged.area_id))
    staff.fill("#field-latitude", "601,73")  # a slip of the comma
    staff.fill("#field-longitude", "24,9384")
    staff.get_by_role("button", name=said(language, "Save the themes and place")).click()
    expect(staff.locator("#error-latitude")).to_contain_text(
        said(language, "Give a latitude in Finland, from 59 to 70.5.")
    )
    [(stored,)] = query(
        live_server, "SELECT place_name FROM pb_proposal WHERE id = :i", i=ids["Library"]
    )
    assert stored is None
    no_axe_violations(staff, javascript)
    expect(staff.locator(f"#field-theme-{themes[PARKS['fi']]}")).to_be_checked()
    staff.fill("#field-latitude", "60,1739")
    staff.get_by_role("button", name=said(language, "Save the themes and place")).click()
    expect(staff.get_by_role("status")).to_have_text(said(language, "Saved."))
    expect(staff.locator("main")).to_contain_text("Keskuskirjasto Oodi")
    [(place, latitude, longitude)] = query(
        live_server,
        "SELECT place_name, latitude, longitude FROM pb_proposal WHERE id = :i",
        i=ids["Library"],
    )
    assert (place, latitude, longitude) == ("Keskuskirjasto Oodi", 60.1739, 24.9384)
    # The other proposals' themes, arranged: benches in parks, lights and bikes in traffic.
    give_themes(
        live_server,
        arranged.id,
        [
            (ids["Benches"], themes[PARKS["fi"]]),
            (ids["Lights"], themes[TRAFFIC["fi"]]),
            (ids["Bikes"], themes[TRAFFIC["fi"]]),
        ],
    )

    # The public page: the place, its themes and the city's map link (a link, nothing loaded).
    public = new_page(PHONE, javascript=javascript)
    public.goto(f"{base}/pb/{arranged.slug}/proposals/{ids['Library']}?lang={language}")
    expect(public.locator("main")).to_contain_text("Keskuskirjasto Oodi")
    expect(public.locator("main")).to_contain_text(PARKS[language])
    link = public.get_by_role("link", name=said(language, "Show on the map"))
    expect(link).to_have_attribute("href", "https://kartta.example.fi/?e=24.938400&n=60.173900")
    no_axe_violations(public, javascript)
    public.goto(f"{base}/pb/{arranged.slug}/proposals?lang={language}")
    public.select_option("#filter-theme", str(themes[TRAFFIC["fi"]]))
    public.locator("form.filters button[type=submit]").click()
    expect(public.locator(".event-title")).to_have_count(2)
    expect(public.locator("main")).to_contain_text("Bikes")
    no_axe_violations(public, javascript)

    # --- the voter: filter, tick, change the filter, tick more, cast ----------------------
    voter = new_page(PHONE, javascript=javascript)
    voter.goto(f"{base}/pb/{arranged.slug}/vote?lang={language}")
    voter.fill("#field-code", code.lower())
    voter.fill("#field-birth_date", born.isoformat())
    voter.get_by_role("button", name=CONTINUE[language]).click()
    expect(voter.get_by_role("heading", name=HEADING[language])).to_be_visible()
    expect(voter.locator("input[type=checkbox][name=proposal]")).to_have_count(4)

    show = voter.locator("button[name=action][value=filter]")
    voter.select_option("#filter-theme", str(themes[PARKS["fi"]]))
    show.click()
    expect(voter.locator("input[type=checkbox][name=proposal]")).to_have_count(2)
    expect(voter.locator(f"#proposal-{ids['Lights']}")).to_have_count(0)
    no_axe_violations(voter, javascript)
    voter.check(f"#proposal-{ids['Benches']}")
    voter.check(f"#proposal-{ids['Library']}")

    voter.select_option("#filter-theme", str(themes[TRAFFIC["fi"]]))
    show.click()
    expect(voter.locator("input[type=checkbox][name=proposal]")).to_have_count(2)
    expect(voter.locator(f"#proposal-{ids['Benches']}")).to_have_count(0)
    # The choices made under the other filter are in the form, unseen, and in the totals.
    kept = voter.locator("input[type=hidden][name=proposal]")
    expect(kept).to_have_count(2)
    expect(voter.locator("#ballot-totals")).to_contain_text("30")
    voter.check(f"#proposal-{ids['Lights']}")
    voter.check(f"#proposal-{ids['Bikes']}")
    # Bikes and the library together cost more than the city budget: the usual mistake.
    voter.get_by_role("button", name=REVIEW[language]).click()
    expect(voter.locator(".error-summary")).to_be_visible()
    expect(
        voter.locator("input[name=proposal]:checked, input[type=hidden][name=proposal]")
    ).to_have_count(4)
    # The fix: all proposals shown again, the library let go.
    voter.select_option("#filter-theme", "")
    voter.locator("button[name=action][value=filter]").click()
    expect(voter.locator("input[type=checkbox][name=proposal]")).to_have_count(4)
    expect(voter.locator("input[type=checkbox][name=proposal]:checked")).to_have_count(4)
    voter.uncheck(f"#proposal-{ids['Library']}")
    voter.get_by_role("button", name=REVIEW[language]).click()
    for name in ("Benches", "Lights", "Bikes"):
        expect(voter.locator("main")).to_contain_text(name)
    voter.get_by_role("button", name=CAST[language]).click()
    expect(voter.get_by_text(RECORDED[language])).to_be_visible()
    [(choices,)] = query(
        live_server, "SELECT choices FROM pb_pending WHERE round_id = :r", r=arranged.id
    )
    assert set(choices) == {str(ids["Benches"]), str(ids["Lights"]), str(ids["Bikes"])}
