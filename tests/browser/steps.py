"""Shared steps of the browser journeys: rows arranged in the live server's database (rounds,
staff, residents), reading rows back, axe-core, the messages of each language.

Separate from conftest.py (the server and the browser) so that the journeys share one copy of
their setup."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from app.database import Database, utcnow
from tests.browser.conftest import STAFF_PASSWORD, LiveServer
from tests.postgres import run_in_own_loop

AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}
axe = Axe()
RESIDENT_PASSWORD = "resident browser password 1"
LOCALE = Path(__file__).resolve().parents[2] / "locale"


# --- the database of the live server ---------------------------------------------------------


def in_database(server: LiveServer, work: Callable[[Any], Awaitable[Any]]) -> Any:
    """Run `work(session)` against the live server's database and return what it returns."""
    result: list = []

    async def run() -> None:
        database = Database(server.database_url)
        try:
            async with database.sessionmaker() as session:
                result.append(await work(session))
        finally:
            await database.dispose()

    run_in_own_loop(run)
    return result[0]


def query(server: LiveServer, statement: str, **params) -> list[tuple]:
    """Rows from the live server's database, read the way an auditor would."""
    from sqlalchemy import text

    async def read(session) -> list[tuple]:
        return [tuple(row) for row in await session.execute(text(statement), params)]

    return in_database(server, read)


def make_resident(server: LiveServer, email: str, name: str = "Axe Asukas") -> None:
    """A resident with a confirmed account (registration itself is tested over HTTP)."""

    async def add(session) -> None:
        from app.accounts.passwords import hash_password
        from voting.models import Resident

        session.add(
            Resident(
                email=email,
                display_name=name,
                password_hash=await hash_password(RESIDENT_PASSWORD),
                confirmed_at=utcnow(),
                session_generation=1,
            )
        )
        await session.commit()

    in_database(server, add)


def make_staff_member(server: LiveServer, email: str, role: str = "staff") -> None:
    """Another staff account with the browser tests' password (adding one through the admin's
    pages is its own journey: test_staff_accounts_journey.py)."""

    async def add(session) -> None:
        from app.accounts.models import User
        from app.accounts.passwords import hash_password

        session.add(
            User(
                email=email,
                display_name=email.split("@", maxsplit=1)[0].replace(".", " ").title(),
                role=role,
                password_hash=await hash_password(STAFF_PASSWORD),
                must_change_password=False,
                is_active=True,
            )
        )
        await session.commit()

    in_database(server, add)


@dataclass
class ArrangedRound:
    id: int
    slug: str
    voting_close_at: dt.datetime
    area_id: int
    # Proposal title (the same in every language) -> id.
    proposals: dict[str, int] = field(default_factory=dict)


def arrange_round(
    server: LiveServer,
    title: dict[str, str],
    *,
    budgets: dict[str, int],
    proposals: tuple[tuple[str, str, int], ...] = (),
    official_rule: str = "greedy",
    closes_in: dt.timedelta = dt.timedelta(days=5),
    description: dict[str, str] | None = None,
    ballot_rule: str = "approval",
    max_choices: int | None = None,
    limits: dict[str, tuple[int | None, int | None]] | None = None,
) -> ArrangedRound:
    """A round open for voting since yesterday, made through the services. `budgets`, `limits`
    (a budget's least and most choices) and each proposal's area say "area" (the first area of
    the demo data) or "city"; proposals are on the ballot at their cost."""

    async def make(session) -> ArrangedRound:
        from app.areas.services import list_areas
        from voting import rounds
        from voting.models import Proposal

        area = (await list_areas(session))[0]
        where = {"area": area.id, "city": None}
        now = utcnow().replace(second=0, microsecond=0)
        round_ = await rounds.create_round(
            session,
            rounds.RoundDraft(
                title=title,
                description=description if description is not None else {"en": title["en"]},
                ideas_open_at=now - dt.timedelta(days=3),
                review_at=now - dt.timedelta(days=2),
                voting_open_at=now - dt.timedelta(days=1),
                voting_close_at=now + closes_in,
                results_at=now + closes_in + dt.timedelta(days=1),
                min_age=12,
                ballot_rule=ballot_rule,
                max_choices=max_choices,
                official_rule=official_rule,
                budgets={where[name]: amount for name, amount in budgets.items()},
                limits={where[name]: limit for name, limit in (limits or {}).items()},
            ),
        )
        made = ArrangedRound(round_.id, round_.slug, round_.voting_close_at, area.id)
        for place, name, cost in proposals:
            proposal = Proposal(
                round_id=round_.id,
                area_id=where[place],
                title={"fi": name, "sv": name, "en": name},
                description={code: f"All about {name.lower()}." for code in ("fi", "sv", "en")},
                estimated_cost=cost,
                final_cost=cost,
                status="accepted",
                reason={},
                implementation_note={},
            )
            session.add(proposal)
            await session.flush()
            made.proposals[name] = proposal.id
        await session.commit()
        return made

    return in_database(server, make)


def put_on_roll(
    server: LiveServer, arranged: ArrangedRound, people: list[tuple[str, dt.date]]
) -> None:
    """People (identifier, date of birth) of the round's area on its voter roll."""

    async def add(session) -> None:
        from app.settings import Settings
        from tests.conftest import TEST_SECRET
        from voting import rounds
        from voting.roll import RollRow, import_roll, person_hash

        key = Settings(secret_key=TEST_SECRET).roll_key
        round_ = await rounds.get_round(session, arranged.id)
        rows = [
            RollRow(person_hash(key, identifier), born, arranged.area_id, None)
            for identifier, born in people
        ]
        await import_roll(session, round_, rows)

    in_database(server, add)


def issue_codes(server: LiveServer, arranged: ArrangedRound) -> list[tuple[str, dt.date]]:
    """Letter codes for everyone on the roll: (code, date of birth) each."""

    async def issue(session) -> list[tuple[str, dt.date]]:
        from voting import rounds
        from voting.models import RollEntry
        from voting.roll import issue_letter_codes

        round_ = await rounds.get_round(session, arranged.id)
        codes = []
        for code in await issue_letter_codes(session, round_):
            entry = await session.get(RollEntry, code.roll_id)
            codes.append((code.code, entry.birth_date))
        return codes

    return in_database(server, issue)


def cast_and_close(server: LiveServer, arranged: ArrangedRound, choices: list[str]) -> None:
    """Everyone on the roll votes online for `choices` (proposal titles), then voting closes."""

    async def vote(session) -> None:
        from sqlalchemy import select

        from voting import rounds
        from voting.ballots import cast_ballot
        from voting.models import RollEntry

        round_ = await rounds.get_round(session, arranged.id)
        entries = list(
            await session.scalars(select(RollEntry).where(RollEntry.round_id == arranged.id))
        )
        chosen = {arranged.proposals[name]: 1 for name in choices}
        for entry in entries:
            await cast_ballot(session, round_, entry.id, "online", chosen, arranged.area_id)
        round_ = await rounds.get_round(session, arranged.id)
        round_.voting_close_at = utcnow().replace(microsecond=0) - dt.timedelta(minutes=1)
        await session.commit()

    in_database(server, vote)


# --- a round open for voting, and a voter's steps ----------------------------------------------

HEADING = {"fi": "Äänestyslippusi", "sv": "Din röstsedel", "en": "Your ballot"}
REVIEW = {"fi": "Tarkista ääneni", "sv": "Granska min röst", "en": "Review my vote"}
RECALCULATE = {"fi": "Päivitä summat", "sv": "Uppdatera summorna", "en": "Update the totals"}
CAST = {"fi": "Anna ääneni", "sv": "Avge min röst", "en": "Cast my vote"}
CONTINUE = {
    "fi": "Jatka äänestykseen",
    "sv": "Fortsätt till röstsedeln",
    "en": "Continue to the ballot",
}
RECORDED = {
    "fi": "Äänesi on tallennettu.",
    "sv": "Din röst har registrerats.",
    "en": "Your vote has been recorded.",
}
OVER = {
    "fi": "Valitsemasi ehdotukset maksavat enemmän kuin budjetti.",
    "sv": "Förslagen du valt kostar mer än budgeten.",
    "en": "The proposals you chose cost more than the budget.",
}


@dataclass
class BudgetingRound:
    slug: str
    round_id: int
    counted_slug: str
    codes: list[tuple[str, dt.date]]
    district: list[str]  # proposal titles (en) of the voters' district, cheapest first
    city: list[str]


def budgeting_round(server: LiveServer, voters: int = 40) -> BudgetingRound:
    """A round open for voting (equal shares by cost) with three proposals in the first area
    and two city-wide, `voters` people of that area on the roll, each with a letter code; and
    the demo round counted last year."""
    arranged = arrange_round(
        server,
        {"fi": "Selainkierros", "sv": "Webbläsaromgång", "en": "Browser round"},
        description={"en": "For the browser tests."},
        budgets={"area": 100_000, "city": 200_000},
        proposals=(
            ("area", "Benches", 30_000),
            ("area", "Lights", 50_000),
            ("area", "Meadow", 60_000),
            ("city", "Bikes", 150_000),
            ("city", "Library", 90_000),
        ),
        official_rule="mes_cost",
    )
    born = [dt.date(1970, 1, 1) + dt.timedelta(days=400 * n) for n in range(voters)]
    put_on_roll(server, arranged, [(f"BROWSER{n:04d}", born[n]) for n in range(voters)])
    [(counted,)] = query(
        server,
        "SELECT slug FROM pb_round WHERE results_at < now() ORDER BY id LIMIT 1",
    )
    return BudgetingRound(
        arranged.slug,
        arranged.id,
        counted,
        issue_codes(server, arranged),
        ["Benches", "Lights", "Meadow"],
        ["Library", "Bikes"],
    )


def sign_in_to_vote(
    page: Page, server: LiveServer, budgeting: BudgetingRound, codes, language: str
) -> None:
    """The next unused letter code of `codes`, typed in lower case as people do."""
    code, born = next(codes)
    page.goto(f"{server.url}/pb/{budgeting.slug}/vote?lang={language}")
    page.fill("#field-code", code.lower())
    page.fill("#field-birth_date", born.isoformat())
    page.get_by_role("button", name=CONTINUE[language]).click()
    expect(page.get_by_role("heading", name=HEADING[language])).to_be_visible()


# --- accessibility and language -----------------------------------------------------------------


def violations(page: Page, url: str) -> list[str]:
    """axe-core's violations on the page at `url`."""
    page.goto(url)
    return axe_violations(page, url)


def first_link(page: Page, url: str, selector: str) -> str:
    page.goto(url)
    return page.locator(selector).first.get_attribute("href")


def axe_violations(page: Page, label: str | None = None) -> list[str]:
    """axe-core's violations on the page as it is now, one line each."""
    return [
        f"{label or page.url}: {v['id']} – {v['help']} ({len(v['nodes'])}×: "
        f"{v['nodes'][0]['target']})"
        for v in axe.run(page, options=AXE_OPTIONS).response["violations"]
    ]


def no_axe_violations(page: Page, javascript: bool = True) -> None:
    """axe-core is a script: in a page without JavaScript it cannot run (the evaluation never
    returns), so a journey without JavaScript is checked by its steps, and the same pages with
    JavaScript by axe."""
    if not javascript:
        return
    found = axe_violations(page)
    assert found == [], "\n".join(found)


_catalogs_loaded: list[bool] = []


def said(language: str, message: str, **values) -> str:
    """`message` as a reader of `language` reads it, from the catalogs the server uses; in
    Finnish and Swedish it must be translated (an English text there is a defect, and would
    make a check of the page's language pass without proving anything)."""
    from app.i18n import gettext_in, load_catalogs

    if not _catalogs_loaded:
        load_catalogs(LOCALE)
        _catalogs_loaded.append(True)
    text = gettext_in(language, message)
    assert language == "en" or text != message, f"not translated into {language}: {message!r}"
    return text % values if values else text
