"""A fair ballot in a real browser at phone width, in Finnish, Swedish and English, with and
without JavaScript: a voter chooses more proposals than the budget allows, reads the error in
their language with their choices kept, fixes it and casts; a voter of a ranking round gives
one rank twice, fixes it and casts. The ballot pages have no axe-core violations."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, LiveServer
from tests.browser.steps import (
    CAST,
    CONTINUE,
    HEADING,
    RECORDED,
    REVIEW,
    arrange_round,
    issue_codes,
    no_axe_violations,
    put_on_roll,
    query,
)

pytestmark = pytest.mark.browser

LIMIT = {
    "fi": "Valitse tässä enintään 2 ehdotusta.",
    "sv": "Välj högst 2 förslag här.",
    "en": "Choose at most 2 proposals here.",
}
TOO_MANY = {
    "fi": "Valitse enintään 2 ehdotusta.",
    "sv": "Välj högst 2 förslag.",
    "en": "Choose at most 2 proposals.",
}
TWICE = {
    "fi": "Sija 1 on annettu useammalle kuin yhdelle ehdotukselle.",
    "sv": "Plats 1 har getts till fler än ett förslag.",
    "en": "Rank 1 is given to more than one proposal.",
}
RANK = {"fi": "Sija {}", "sv": "Plats {}", "en": "Rank {}"}


@dataclass
class Ballots:
    slug: str
    round_id: int
    codes: list[tuple[str, dt.date]]


def _round(server: LiveServer, name: str, people: str, **rules) -> Ballots:
    arranged = arrange_round(
        server,
        {"fi": name, "sv": name, "en": name},
        budgets={"area": 100_000, "city": 200_000},
        proposals=(
            ("area", "Benches", 20_000),
            ("area", "Lights", 30_000),
            ("area", "Meadow", 40_000),
            ("city", "Library", 90_000),
            ("city", "Bikes", 100_000),
        ),
        **rules,
    )
    born = [dt.date(1970, 1, 1) + dt.timedelta(days=400 * n) for n in range(12)]
    put_on_roll(server, arranged, [(f"{people}{n:04d}", born[n]) for n in range(12)])
    return Ballots(arranged.slug, arranged.id, issue_codes(server, arranged))


@pytest.fixture(scope="module")
def limited(live_server: LiveServer) -> Ballots:
    """An approval round whose district budget allows at most two choices."""
    return _round(live_server, "Rajattu kierros", "LIMITED", limits={"area": (None, 2)})


@pytest.fixture(scope="module")
def ranking(live_server: LiveServer) -> Ballots:
    """A ranking round: up to three ranks in each part, counted by Borda points."""
    return _round(live_server, "Järjestyskierros", "RANKING", ballot_rule="ranking", max_choices=3)


@pytest.fixture(scope="module")
def codes(limited: Ballots, ranking: Ballots):
    return {limited.slug: iter(limited.codes), ranking.slug: iter(ranking.codes)}


def sign_in(page: Page, server: LiveServer, ballots: Ballots, codes, language: str) -> None:
    code, born = next(codes[ballots.slug])
    page.goto(f"{server.url}/pb/{ballots.slug}/vote?lang={language}")
    page.fill("#field-code", code.lower())
    page.fill("#field-birth_date", born.isoformat())
    page.get_by_role("button", name=CONTINUE[language]).click()
    expect(page.get_by_role("heading", name=HEADING[language])).to_be_visible()


def pending(server: LiveServer, round_id: int) -> list[dict]:
    return [
        row[0]
        for row in query(server, "SELECT choices FROM pb_pending WHERE round_id = :r", r=round_id)
    ] + [
        row[0]
        for row in query(server, "SELECT choices FROM pb_ballot WHERE round_id = :r", r=round_id)
    ]


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_too_many_choices_are_refused_kept_and_fixed_before_casting(
    new_page, live_server, limited, codes, language, javascript
):
    page = new_page(PHONE, javascript=javascript)
    before = len(pending(live_server, limited.round_id))
    sign_in(page, live_server, limited, codes, language)
    main = page.locator("main")
    expect(main).to_contain_text(LIMIT[language])
    for name in ("Benches", "Lights", "Meadow"):
        page.get_by_label(re.compile(f"^{name}")).check()
    if javascript:  # the running total says it at once
        expect(page.locator("#ballot-totals")).to_contain_text(TOO_MANY[language])
    page.get_by_role("button", name=REVIEW[language]).click()
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text(TOO_MANY[language])
    no_axe_violations(page, javascript)
    for name in ("Benches", "Lights", "Meadow"):  # the voter's choices are kept
        expect(page.get_by_label(re.compile(f"^{name}"))).to_be_checked()
    page.get_by_label(re.compile("^Meadow")).uncheck()
    page.get_by_label(re.compile("^Library")).check()
    page.get_by_role("button", name=REVIEW[language]).click()
    expect(main).to_contain_text("Lights")
    expect(main).not_to_contain_text("Meadow")
    page.get_by_role("button", name=CAST[language]).click()
    expect(page.get_by_text(RECORDED[language])).to_be_visible()
    assert len(pending(live_server, limited.round_id)) == before + 1


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_a_rank_given_twice_is_refused_kept_and_fixed_before_casting(
    new_page, live_server, ranking, codes, language, javascript
):
    page = new_page(PHONE, javascript=javascript)
    before = len(pending(live_server, ranking.round_id))
    sign_in(page, live_server, ranking, codes, language)
    first, second = RANK[language].format(1), RANK[language].format(2)
    page.get_by_label(re.compile("^Meadow")).select_option(label=first)
    page.get_by_label(re.compile("^Benches")).select_option(label=first)
    page.get_by_label(re.compile("^Library")).select_option(label=first)
    page.get_by_role("button", name=REVIEW[language]).click()
    expect(page.locator(".error-summary")).to_contain_text(TWICE[language])
    no_axe_violations(page, javascript)
    benches = page.get_by_label(re.compile("^Benches"))
    expect(benches).to_have_value(re.compile(r"^1$"))  # kept for the voter to fix
    expect(benches).to_have_attribute("aria-invalid", "true")
    benches.select_option(label=second)
    page.get_by_role("button", name=REVIEW[language]).click()
    ranked = page.locator("main ol").first
    expect(ranked.locator("li").nth(0)).to_contain_text("Meadow")
    expect(ranked.locator("li").nth(1)).to_contain_text("Benches")
    page.get_by_role("button", name=CAST[language]).click()
    expect(page.get_by_text(RECORDED[language])).to_be_visible()
    ballots = pending(live_server, ranking.round_id)
    assert len(ballots) == before + 1
    assert any(sorted(ballot.values()) == [1, 1, 2] for ballot in ballots)
