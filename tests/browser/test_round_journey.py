"""A participatory-budgeting round from creation to publication, as staff and voters do it, with
the mistakes people make – in one journey, because each step needs the one before.

Staff at desktop width (the admin in Finnish, a second staff member in Swedish, the auditor in
English); voters on a phone, one per language (Finnish with JavaScript, Swedish without, English
with the staff-assisted code). The clock is moved the way staff move it: the admin edits the
phase dates before voting (review starts now, voting opens now) and closes voting early with a
public reason. axe-core checks the pages shown with JavaScript on."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import DESKTOP, PHONE, LiveServer, sign_in
from tests.browser.steps import (
    RESIDENT_PASSWORD,
    axe_violations,
    make_resident,
    make_staff_member,
    query,
    said,
)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ZONE = ZoneInfo("Europe/Helsinki")
CODE = re.compile(r"[A-Z0-9]{4}(?:-[A-Z0-9]{4}){4}")
TITLE = {"fi": "Lähiöbudjetti 2027", "sv": "Närbudget 2027", "en": "Neighbourhood budget 2027"}
# The resident's ideas, written in English: (title, area "a"/"b"/"city", cost as typed).
IDEAS = [
    ("Benches", "a", "30 000 €"),
    ("Lights", "a", "50000"),
    ("Meadow", "a", "60 000"),
    ("Playground", "b", "40\u00a0000 €"),
    ("Library", "city", "90 000 €"),
]
# The people of the census file: identifier, date of birth, area, mailing reference.
PEOPLE = {
    "fi": ("010190-123A", dt.date(1990, 1, 1), "a", "K-1"),
    "sv": ("120385-222B", dt.date(1985, 3, 12), "a", "K-2"),
    "en": ("030370-333C", dt.date(1970, 3, 3), "b", "K-3"),
    "paper": ("040460-444D", dt.date(1960, 4, 4), "a", "K-4"),
}


def local_now() -> dt.datetime:
    return dt.datetime.now(ZONE)


def this_minute(*, exactly: bool = False) -> dt.datetime:
    """Now, to the minute, as a staff form takes a time. `exactly`: not in the last seconds of
    a minute, so that the time typed is still the current minute when the server reads it
    (closing voting takes "now or later", and the current minute for now)."""
    now = local_now()
    if exactly and now.second >= 50:
        time.sleep(61 - now.second)
        now = local_now()
    return now.replace(second=0, microsecond=0)


def fill_moment(page: Page, name: str, moment: dt.datetime) -> None:
    page.fill(f"#field-{name}_date", moment.date().isoformat())
    page.fill(f"#field-{name}_time", moment.strftime("%H.%M"))


def phase_now(page: Page):
    """The phase on the staff page of a round ("Now: Voting")."""
    return page.locator("main p", has_text=said("fi", "Now:")).locator("strong")


def rounds_titled(server: LiveServer) -> list[tuple]:
    return query(
        server,
        "SELECT id, slug FROM pb_round WHERE title->>'en' = :title",
        title=TITLE["en"],
    )


def roll_file(rows: list[tuple[str, str, str, str]]) -> bytes:
    lines = ["henkilötunnus;syntymäaika;alue;viite", *(";".join(row) for row in rows)]
    return ("\n".join(lines) + "\n").encode()


def upload_roll(page: Page, round_id: int, data: bytes) -> None:
    page.set_input_files(
        "#roll-file", {"name": "vaestotiedot.csv", "mimeType": "text/csv", "buffer": data}
    )
    page.locator(f"form[action='/staff/pb/{round_id}/roll'] button[type=submit]").click()


def vote_sign_in(page: Page, base: str, slug: str, language: str, code: str, born: dt.date):
    page.goto(f"{base}/pb/{slug}/vote?lang={language}")
    page.fill("#field-code", code)
    page.fill("#field-birth_date", born.isoformat())
    page.locator(f"form[action='/pb/{slug}/vote'] button[type=submit]").click()


def type_paper_ballot(page: Page, base: str, round_id: int, person: tuple, choice: str) -> None:
    identifier, born, _area, _reference = person
    page.goto(f"{base}/staff/pb/{round_id}/paper")
    page.fill("#field-slip", "P-1")
    page.fill("#field-identifier", identifier)
    page.fill("#field-birth_date", born.isoformat())
    page.get_by_label(re.compile(f"^{choice}")).check()
    page.locator(f"form[action='/staff/pb/{round_id}/paper'] button[type=submit]").click()


def test_a_round_from_creation_to_publication(new_page, live_server: LiveServer, tmp_path):
    base = live_server.url
    found: list[str] = []  # axe-core violations, reported together at the end

    def check(page: Page, label: str) -> None:
        found.extend(axe_violations(page, label))

    areas = query(live_server, "SELECT id, name->>'fi' FROM area ORDER BY id")
    (area_a, name_a), (area_b, name_b) = areas[0], areas[1]
    area_of = {"a": (area_a, name_a), "b": (area_b, name_b)}
    staff_email = "paper.typist@example.fi"
    make_staff_member(live_server, staff_email)
    resident_email = "journey.resident@example.fi"
    make_resident(live_server, resident_email, "Idea Asukas")

    # --- The admin creates the round: a voting close typed before the opening, then fixed. ---
    admin = new_page(DESKTOP)
    sign_in(admin, live_server, lang="fi")
    admin.goto(f"{base}/staff/pb/new")
    for language, text in TITLE.items():
        admin.fill(f"#field-title_{language}", text)
    admin.fill("#field-description_fi", "Asukkaat ehdottavat ja äänestävät.")
    now = local_now()
    day = dt.timedelta(days=1)
    phases = {
        "ideas_open": now - day,
        "review": now + day,
        "voting_open": now + 2 * day,
        "voting_close": now + day,  # the mistake: a day before voting opens
        "results": now + 10 * day,
    }
    for name, moment in phases.items():
        fill_moment(admin, name, moment.replace(hour=9, minute=0))
    admin.fill(f"#field-budget_{area_a}", "100 000 €")
    admin.fill(f"#field-budget_{area_b}", "80 000")
    admin.fill("#field-budget_city", "200\u00a0000 €")
    admin.locator("form[action='/staff/pb/new'] button[type=submit]").click()
    summary = admin.locator(".error-summary")
    expect(summary).to_contain_text(
        said("fi", "The phases must follow each other: ideas, review, voting, results.")
    )
    expect(admin.locator("html")).to_have_attribute("lang", "fi")
    expect(admin.locator("#field-title_sv")).to_have_value(TITLE["sv"])
    expect(admin.locator(f"#field-budget_{area_a}")).to_have_value("100 000 €")
    check(admin, "round form with an error")
    assert rounds_titled(live_server) == []
    fill_moment(admin, "voting_close", (now + 9 * day).replace(hour=18, minute=0))
    admin.locator("form[action='/staff/pb/new'] button[type=submit]").click()
    admin.wait_for_url(re.compile(r"/staff/pb/\d+$"))
    [(round_id, slug)] = rounds_titled(live_server)
    assert admin.url == f"{base}/staff/pb/{round_id}"
    budgets = query(
        live_server,
        "SELECT area_id, amount FROM pb_budget WHERE round_id = :id",
        id=round_id,
    )
    assert sorted(budgets, key=str) == sorted(
        [(area_a, 100_000), (area_b, 80_000), (None, 200_000)], key=str
    )
    check(admin, "round page, ideas")

    # --- A resident sends ideas on a phone: an amount written as words first, then fixed. ---
    resident = new_page(PHONE)
    resident.goto(f"{base}/account/sign-in?next=/pb/{slug}/propose&lang=en")
    resident.fill("#field-email", resident_email)
    resident.fill("#field-password", RESIDENT_PASSWORD)
    resident.locator("form[action='/account/sign-in'] button[type=submit]").click()
    resident.wait_for_url(re.compile(rf"/pb/{slug}/propose"))
    for number, (title, place, cost) in enumerate(IDEAS):
        resident.goto(f"{base}/pb/{slug}/propose")
        resident.select_option("#field-language", "en")
        resident.fill("#field-title", title)
        resident.fill("#field-description", f"{title} for everyone, all year round.")
        resident.select_option("#field-area", "city" if place == "city" else str(area_of[place][0]))
        resident.fill("#field-estimated_cost", "about thirty thousand" if number == 0 else cost)
        resident.locator(f"form[action='/pb/{slug}/propose'] button[type=submit]").click()
        if number == 0:
            expect(resident.locator("#error-estimated_cost")).to_contain_text(
                said("en", "Enter whole euros, such as 30 000.")
            )
            expect(resident.locator("#field-title")).to_have_value(title)
            check(resident, "idea form with an error")
            resident.fill("#field-estimated_cost", cost)
            resident.locator(f"form[action='/pb/{slug}/propose'] button[type=submit]").click()
        resident.wait_for_url(re.compile(rf"/pb/{slug}/proposals/\d+\?sent=1$"))
    ideas = dict(
        query(
            live_server,
            "SELECT title->>'en', estimated_cost FROM pb_proposal WHERE round_id = :id",
            id=round_id,
        )
    )
    assert ideas == {
        "Benches": 30_000,
        "Lights": 50_000,
        "Meadow": 60_000,
        "Playground": 40_000,
        "Library": 90_000,
    }

    # --- Review starts now; staff cost the proposals: one cost over the budget, then fixed. ---
    admin.goto(f"{base}/staff/pb/{round_id}/edit")
    fill_moment(admin, "review", this_minute())
    admin.locator(f"form[action='/staff/pb/{round_id}/edit'] button[type=submit]").click()
    admin.wait_for_url(f"{base}/staff/pb/{round_id}")
    expect(phase_now(admin)).to_have_text(said("fi", "Review and costing"))
    proposal_ids = dict(
        query(
            live_server,
            "SELECT title->>'en', id FROM pb_proposal WHERE round_id = :id",
            id=round_id,
        )
    )
    final_costs = {"Meadow": "160 000 €"}  # the typo: the area's whole budget is 100 000 €
    for title, _place, cost in IDEAS:
        page_url = f"{base}/staff/pb/{round_id}/proposals/{proposal_ids[title]}"
        admin.goto(page_url)
        admin.fill("#field-final_cost", final_costs.get(title, cost))
        admin.locator("button[name=action][value=accept]").click()
        if title == "Meadow":
            expect(admin.locator(".error-summary")).to_contain_text(
                said("fi", "The final cost is larger than the area's whole budget.")
            )
            check(admin, "proposal with a cost over the budget")
            assert query(
                live_server,
                "SELECT status, final_cost FROM pb_proposal WHERE id = :id",
                id=proposal_ids[title],
            ) == [("submitted", None)]
            admin.fill("#field-final_cost", "60 000 €")
            admin.locator("button[name=action][value=accept]").click()
        admin.wait_for_url(re.compile(r"\?done=accept$"))
    costed = query(
        live_server,
        "SELECT title->>'en', status, final_cost FROM pb_proposal WHERE round_id = :id",
        id=round_id,
    )
    assert sorted(costed) == sorted(
        (title, "accepted", ideas[title]) for title, _place, _cost in IDEAS
    )

    # --- The voter roll: a file with errors (nothing imported), then the corrected file. ---
    admin.goto(f"{base}/staff/pb/{round_id}")
    good = [
        (identifier, born.isoformat(), area_of[place][1], reference)
        for identifier, born, place, reference in PEOPLE.values()
    ]
    bad = [
        good[0],
        ("12#45", "1985-03-12", name_a, "K-2"),  # line 3: not an identifier
        (good[2][0], good[2][1], "Atlantis", "K-3"),  # line 4: no such area
        (good[3][0], "1960-02-30", name_a, "K-4"),  # line 5: no 30 February
    ]
    upload_roll(admin, round_id, roll_file(bad))
    errors = admin.locator(".error-summary")
    expect(errors).to_contain_text(
        said("fi", "Nothing was imported. Correct these lines and try again:")
    )
    for line, message in (
        (3, said("fi", "The identifier must be 4–32 letters, digits, + or -.")),
        (4, said("fi", "Unknown area: %(area)s", area="Atlantis")),
        (5, said("fi", "The birth date must be a date as year-month-day, such as 2010-05-31.")),
    ):
        expect(errors.locator("li", has_text=message)).to_contain_text(
            said("fi", "Line %(line)s", line=line)
        )
    expect(errors.locator("li")).to_have_count(3)
    check(admin, "roll errors")
    assert query(
        live_server, "SELECT count(*) FROM voter_roll WHERE round_id = :id", id=round_id
    ) == [(0,)]
    upload_roll(admin, round_id, roll_file(good))
    expect(admin.locator(".notice-success")).to_contain_text(
        said(
            "fi",
            "Voter roll imported: %(added)s added, %(updated)s updated, %(removed)s removed,"
            " %(kept)s kept because they have voted.",
            added=4,
            updated=0,
            removed=0,
            kept=0,
        )
    )
    expect(admin.locator(".notice-error")).to_have_count(0)  # every area has a budget

    # --- Letter codes: batch 1, printed in Finnish and Swedish. ---
    admin.locator(f"a[href='/staff/pb/{round_id}/letters']").click()
    admin.locator("#field-languages").select_option("fi sv")
    admin.locator("#field-help_contact").fill("kirjaamo@example.fi")
    admin.locator(f"form[action='/staff/pb/{round_id}/codes'] button[value=sheet]").click()
    letters = admin.locator("article.letter")
    expect(letters).to_have_count(4)
    check(admin, "code letters")
    code_of: dict[str, str] = {}
    for text in letters.all_inner_texts():
        reference = re.search(r"K-\d", text).group(0)
        code_of[reference] = CODE.search(text).group(0)
    assert sorted(code_of) == ["K-1", "K-2", "K-3", "K-4"]

    # --- Opening voting is refused while the ballot lacks its Finnish and Swedish text. ---
    admin.goto(f"{base}/staff/pb/{round_id}/edit")
    fill_moment(admin, "voting_open", this_minute())
    admin.locator(f"form[action='/staff/pb/{round_id}/edit'] button[type=submit]").click()
    refusal = admin.locator(".error-summary")
    for title, _place, _cost in IDEAS:
        expect(refusal).to_contain_text(f"“{title}”")
    check(admin, "opening refused for want of translations")
    # Staff translate each proposal (keeping the names, which the voters below look for).
    for title, _place, _cost in IDEAS:
        admin.goto(f"{base}/staff/pb/{round_id}/proposals/{proposal_ids[title]}#text")
        for code in ("fi", "sv"):
            admin.fill(f"#field-title_{code}", title)
            admin.fill(f"#field-description_{code}", f"{title} for everyone, all year round.")
        admin.locator("button[name=action][value=edit_text]").click()
        admin.wait_for_url(re.compile(r"\?done=edit_text$"))

    # --- Voting opens now (the admin edits the opening time); one code with staff help. ---
    admin.goto(f"{base}/staff/pb/{round_id}/edit")
    fill_moment(admin, "voting_open", this_minute())
    admin.locator(f"form[action='/staff/pb/{round_id}/edit'] button[type=submit]").click()
    admin.wait_for_url(f"{base}/staff/pb/{round_id}")
    expect(phase_now(admin)).to_have_text(said("fi", "Voting"))
    identifier, born, _place, _reference = PEOPLE["en"]
    admin.fill("#field-identifier", identifier)
    admin.fill("#field-birth_date", born.isoformat())
    admin.locator(f"form[action='/staff/pb/{round_id}/assisted'] button[type=submit]").click()
    assisted = CODE.search(admin.locator(".one-time-password").inner_text()).group(0)
    check(admin, "assisted code")

    # --- Voters on their phones. ---
    # The Finnish voter checks the receipt again after publication.
    voter_fi, receipt, violations = vote_with_mistakes(
        new_page, base, slug, "fi", code_of["K-1"], javascript=True
    )
    found += violations
    vote_with_mistakes(new_page, base, slug, "sv", code_of["K-2"], javascript=False)
    # The third voter signs in with the code staff gave at the library, in English.
    voter_en = new_page(PHONE)
    vote_sign_in(voter_en, base, slug, "en", assisted, PEOPLE["en"][1])
    expect(voter_en.locator("h1")).to_have_text(said("en", "Your ballot"))
    voter_en.get_by_label(re.compile("^Playground")).check()
    voter_en.locator("button[name=action][value=review]").click()
    expect(voter_en.locator("main")).to_contain_text("Playground")
    voter_en.locator(f"form[action='/pb/{slug}/cast'] button").click()
    expect(voter_en.get_by_text(said("en", "Your vote has been recorded."))).to_be_visible()
    # The one-time code is used up.
    again = voter_en.context.new_page()
    vote_sign_in(again, base, slug, "en", assisted, PEOPLE["en"][1])
    expect(again.locator(".error-summary")).to_be_visible()
    again.close()

    # --- Paper: two staff type the same slip differently; the admin sets it aside; retyped. ---
    typist = new_page(DESKTOP)
    sign_in(typist, live_server, staff_email, lang="sv")
    type_paper_ballot(admin, base, round_id, PEOPLE["paper"], "Benches")
    expect(admin.locator(".notice-success")).to_contain_text(
        said("fi", "First typing saved. Another staff member types the same slip next.")
    )
    type_paper_ballot(typist, base, round_id, PEOPLE["paper"], "Lights")
    expect(typist.locator(".notice-error")).to_contain_text(
        said("sv", "The typings differ: the slip is flagged for review.")
    )
    check(typist, "paper mismatch")
    admin.goto(f"{base}/staff/pb/{round_id}/paper")
    expect(admin.locator("table")).to_contain_text(
        said("fi", "The typings differ: flagged for review")
    )
    check(admin, "paper page, flagged")
    admin.locator(f"form[action='/staff/pb/{round_id}/paper/discard'] button").first.click()
    admin.wait_for_url(f"{base}/staff/pb/{round_id}/paper")
    expect(admin.locator("table")).to_contain_text(said("fi", "Set aside"))
    type_paper_ballot(admin, base, round_id, PEOPLE["paper"], "Benches")
    type_paper_ballot(typist, base, round_id, PEOPLE["paper"], "Benches")
    expect(typist.locator(".notice-success")).to_contain_text(
        said("sv", "The typings match: the ballot is counted.")
    )
    marks = query(
        live_server,
        "SELECT voted_via, count(*) FROM voter_roll WHERE round_id = :id GROUP BY voted_via",
        id=round_id,
    )
    assert dict(marks) == {"online": 2, "assisted": 1, "paper": 1}

    # --- The admin closes voting now, with a public reason, and publishes. ---
    admin.goto(f"{base}/staff/pb/{round_id}")
    fill_moment(admin, "close", this_minute(exactly=True))
    admin.fill("#field-close_reason_fi", "Kaikki äänet on annettu.")
    admin.locator(f"form[action='/staff/pb/{round_id}/voting-close'] button").click()
    expect(admin.locator("p[role=status]")).to_have_text(said("fi", "Saved."))
    admin.locator(f'a[href="/staff/pb/{round_id}/publish"]').click()
    admin.wait_for_url(f"{base}/staff/pb/{round_id}/publish")
    facts = admin.locator("dl.facts")
    # Four marked on the roll; their ballots are in the log or (for a few seconds after the
    # close) wait for the final batch, which publishing mixes first.
    expect(facts.locator("dd").nth(1)).to_contain_text(
        said("fi", "%(total)s: online %(online)s, with staff %(assisted)s, on paper %(paper)s")
        % {"total": 4, "online": 2, "assisted": 1, "paper": 1}
    )
    in_log, waiting = (int(facts.locator("dd").nth(n).inner_text().split()[0]) for n in (0, 2))
    assert in_log + waiting == 4
    check(admin, "publish confirmation")
    admin.locator(f'form[action="/staff/pb/{round_id}/publish"] button').click()
    admin.wait_for_url(f"{base}/staff/pb/{round_id}/audit")
    expect(admin.locator(".notice-success")).to_be_visible()
    check(admin, "audit after publication")

    # --- The auditor downloads the board and the keys; tori-verify says VALID. ---
    auditor = new_page(DESKTOP)
    sign_in(auditor, live_server, live_server.auditor_email, lang="en")
    auditor.goto(f"{base}/pb/{slug}/log")
    with auditor.expect_download() as download:
        auditor.locator(f"a[href='/pb/{slug}/board.jsonl']").click()
    board = tmp_path / download.value.suggested_filename
    download.value.save_as(board)
    auditor.goto(f"{base}/pb/signing-key")
    with auditor.expect_download() as download:
        auditor.locator("a[href='/pb/signing-key.json']").click()
    keys = tmp_path / "signing-keys.json"
    download.value.save_as(keys)
    verdict = subprocess.run(
        [
            sys.executable,
            "-m",
            "voting.verify",
            str(board),
            "--public-key",
            str(keys),
            "--receipt",
            receipt,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=ROOT,
    )
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr
    assert verdict.stdout.startswith(f"receipt {receipt}: in the log\nVALID: 4 entries")

    # --- The results as published; the Finnish voter's receipt is now in the log. ---
    voter_fi.goto(f"{base}/pb/{slug}/results?lang=fi")
    row = {
        title: voter_fi.locator("tr", has=voter_fi.get_by_role("link", name=title))
        for title in ideas
    }
    for title, votes in (("Benches", 2), ("Lights", 2), ("Playground", 1), ("Library", 2)):
        expect(row[title].locator("td").first).to_have_text(str(votes))
        expect(row[title].locator("th .outcome")).to_have_text("✓ " + said("fi", "Selected"))
        # Selected: a card above the tables too.
        expect(voter_fi.locator(".result-card", has_text=title)).to_be_visible()
    expect(row["Meadow"].locator("th .outcome")).to_have_text(said("fi", "No votes"))
    expect(voter_fi.locator(".result-card", has_text="Meadow")).to_have_count(0)
    assert voter_fi.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    check(voter_fi, "results")
    voter_fi.goto(f"{base}/pb/{slug}/receipt?r={receipt}")
    expect(voter_fi.locator(".notice-success")).to_contain_text(
        re.sub(r"%\(num\)s.*", "", said("fi", "Recorded: this ballot is entry %(num)s of the log."))
    )
    assert found == [], "\n".join(found)


def vote_with_mistakes(
    new_page, base: str, slug: str, language: str, code: str, *, javascript: bool
) -> tuple[Page, str, list[str]]:
    """A voter on a phone: a mistyped code, then the right one; over the budget, then fixed;
    review, cast, the receipt; back at the ballot ("already voted"); the receipt checked."""
    born = PEOPLE[language][1]
    page = new_page(PHONE, javascript=javascript)
    found: list[str] = []

    def check(label: str) -> None:
        """axe-core needs JavaScript: not run in the pass without it (it would hang)."""
        if javascript:
            found.extend(axe_violations(page, f"{language} {label}"))

    typo = code[:-1] + ("A" if code[-1] != "A" else "B")
    vote_sign_in(page, base, slug, language, typo, born)
    expect(page.locator(".error-summary")).to_contain_text(
        said(language, "The code or the birth date is wrong. Check the letter and try again.")
    )
    expect(page.locator("html")).to_have_attribute("lang", language)
    check("wrong code")
    vote_sign_in(page, base, slug, language, code.lower(), born)
    expect(page.locator("h1")).to_have_text(said(language, "Your ballot"))
    check("ballot")
    over = said(language, "The proposals you chose cost more than the budget. Remove some to fit.")
    for title in ("Benches", "Lights", "Meadow"):
        page.get_by_label(re.compile(f"^{title}")).check()
    if javascript:
        page.evaluate("window.notReloaded = true")
        expect(page.locator("#ballot-totals")).to_contain_text(over)
        assert page.evaluate("window.notReloaded") is True
    else:
        page.locator("button[name=action][value=recalculate]").click()
        expect(page.locator(".error-summary")).to_contain_text(over)
        expect(page.get_by_label(re.compile("^Meadow"))).to_be_checked()
    check("over the budget")
    page.get_by_label(re.compile("^Meadow")).uncheck()
    if language == "sv":
        page.get_by_label(re.compile("^Benches")).uncheck()
    page.get_by_label(re.compile("^Library")).check()
    if javascript:
        expect(page.locator("#ballot-totals")).not_to_contain_text(over)
    page.locator("button[name=action][value=review]").click()
    expect(page.locator("h1")).to_have_text(said(language, "Check your vote"))
    expect(page.locator("main")).to_contain_text("Library")
    expect(page.locator("main")).not_to_contain_text("Meadow")
    check("review")
    page.locator(f"form[action='/pb/{slug}/cast'] button").click()
    expect(page.get_by_text(said(language, "Your vote has been recorded."))).to_be_visible()
    receipt = re.sub(r"\s", "", page.locator("#receipt-title + p .code").inner_text())
    assert re.fullmatch(r"[0-9a-f]{64}", receipt), receipt
    check("voted")
    # Back at the ballot: the person reads that they have voted, and how to check the receipt.
    page.goto(f"{base}/pb/{slug}/ballot")
    expect(page.locator("h1")).to_have_text(said(language, "You have already voted"))
    check("already voted")
    page.locator(f"main a[href='/pb/{slug}/receipt']").click()
    page.fill("#field-r", receipt)
    page.locator(f"form[action='/pb/{slug}/receipt'] button").click()
    expect(page.locator("[role=status]")).to_contain_text(
        said(language, "Received; it joins the public log with the next batch.")
    )
    check("receipt")
    return page, receipt, found
