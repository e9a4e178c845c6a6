"""Participatory budgeting on PostgreSQL: signing in with a code, the ballot, casting exactly
once, secrecy of the ballot, and the results with their reasons."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, inspect, select

from app.settings import Settings
from tests.conftest import TEST_SECRET
from tests.factories import make_area
from tests.voting.factories import (
    add_proposal,
    adult_birth_date,
    letter_codes,
    make_round,
    move_to,
    put_on_roll,
    sign_in_to_vote,
)
from voting.ballots import AlreadyVotedError, cast_ballot
from voting.models import Ballot, PendingBallot, RollEntry, VotingCode
from voting.publication import publish


async def ballots(db) -> int:
    """Ballots cast: in the log's table or still pending for the mixer."""
    mixed = await db.scalar(select(func.count()).select_from(Ballot))
    return mixed + await db.scalar(select(func.count()).select_from(PendingBallot))


async def voting_round(db, **changes):
    """A round in its voting phase: Kallio 100 000 € and city-wide 300 000 €, one voter each."""
    kallio, vuosaari = await make_area(db, "Kallio"), await make_area(db, "Vuosaari")
    round_ = await make_round(db, "voting", {kallio.id: 100_000, None: 300_000}, **changes)
    park = await add_proposal(db, round_, kallio, "Park benches", 60_000)
    lights = await add_proposal(db, round_, kallio, "Street lights", 50_000)
    far = await add_proposal(db, round_, vuosaari, "Beach sauna", 40_000)
    library = await add_proposal(db, round_, None, "Library hours", 200_000)
    await put_on_roll(
        db,
        round_,
        [
            ("131052-308T", adult_birth_date(), kallio),
            ("010203A123B", adult_birth_date(), vuosaari),
        ],
    )
    codes = await letter_codes(db, round_)
    entry = await db.scalar(select(RollEntry).where(RollEntry.area_id == kallio.id))
    return (
        round_,
        {"park": park, "lights": lights, "far": far, "library": library},
        codes[entry.id],
        entry,
    )


def form(client, **fields):
    data = {"_csrf_token": client.cookies["tori_csrf"]}
    data.update(fields)
    return data


@pytest.mark.parametrize(
    ("lang", "heading", "thanks"),
    [
        ("fi", "Äänestyslippusi", "Äänesi on tallennettu."),
        ("sv", "Din röstsedel", "Din röst har registrerats."),
        ("en", "Your ballot", "Your vote has been recorded."),
    ],
)
async def test_a_voter_signs_in_with_the_letter_code_reviews_and_casts_once(
    client, db, lang, heading, thanks
):
    round_, p, code, entry = await voting_round(db)
    signed = await sign_in_to_vote(
        client, round_, code.lower().replace("-", " "), adult_birth_date(), lang
    )
    assert signed.status_code == 303, signed.text
    assert signed.headers["location"] == f"/pb/{round_.slug}/ballot"
    page = await client.get(f"/pb/{round_.slug}/ballot")
    assert page.status_code == 200
    assert heading in page.text
    # The district part and the city-wide part, never another district's proposals.
    assert "Park benches" in page.text
    assert "Library hours" in page.text
    assert "Beach sauna" not in page.text

    choices = {"proposal": [str(p["park"].id), str(p["library"].id)]}
    total = await client.post(
        f"/pb/{round_.slug}/ballot", data=form(client, action="recalculate", **choices)
    )
    assert total.status_code == 200
    review = await client.post(
        f"/pb/{round_.slug}/ballot", data=form(client, action="review", **choices)
    )
    assert review.status_code == 200
    assert f'action="/pb/{round_.slug}/cast"' in review.text
    cast = await client.post(f"/pb/{round_.slug}/cast", data=form(client, **choices))
    assert cast.status_code == 303
    assert cast.headers["location"] == f"/pb/{round_.slug}/voted"
    done = await client.get(cast.headers["location"])
    assert thanks in done.text

    # The ballot waits for the mixer (a batch needs 2k pending), its receipt says so.
    stored = (await db.scalars(select(PendingBallot))).all()
    assert len(stored) == 1
    assert stored[0].tracker in done.text.replace(" ", "")
    assert stored[0].choices == {str(p["park"].id): 1, str(p["library"].id): 1}
    assert stored[0].area_id == entry.area_id
    await db.refresh(entry)
    assert entry.voted_via == "online"
    # Signed out after casting; signing in again is refused: a vote cannot be changed.
    again = await sign_in_to_vote(client, round_, code, adult_birth_date(), lang)
    assert again.status_code == 400
    assert await ballots(db) == 1


async def test_the_running_total_is_shown_without_javascript_and_as_an_htmx_fragment(client, db):
    round_, p, code, _entry = await voting_round(db)
    await sign_in_to_vote(client, round_, code, adult_birth_date())
    choices = {"proposal": [str(p["park"].id), str(p["lights"].id)]}
    plain = await client.post(
        f"/pb/{round_.slug}/ballot", data=form(client, action="recalculate", **choices)
    )
    assert plain.status_code == 400  # 110 000 € does not fit 100 000 €
    assert "cost more than the budget" in plain.text
    assert "110\xa0000\xa0€ of 100\xa0000\xa0€ chosen" in plain.text
    assert "<html" in plain.text
    fragment = await client.post(
        f"/pb/{round_.slug}/ballot",
        data=form(client, proposal=[str(p["park"].id)]),
        headers={"hx-request": "true"},
    )
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="ballot-totals"')
    assert "60\xa0000\xa0€ of 100\xa0000\xa0€ chosen" in fragment.text
    assert "40\xa0000\xa0€ left" in fragment.text
    # Reviewing an over-budget ballot is refused, and casting one stores nothing.
    review = await client.post(
        f"/pb/{round_.slug}/ballot", data=form(client, action="review", **choices)
    )
    assert review.status_code == 400
    cast = await client.post(f"/pb/{round_.slug}/cast", data=form(client, **choices))
    assert cast.status_code == 400
    assert await ballots(db) == 0


@pytest.mark.parametrize(
    "fields",
    [
        {"proposal": ["abc"]},
        {"proposal": ["99999999"]},
        {"proposal": ["-1"]},
        {"proposal": ["1e3"]},
        {"proposal": ["<script>alert(1)</script>"]},
        {"proposal": [str(n) for n in range(150)]},
    ],
)
async def test_hostile_ballots_are_refused_and_store_nothing(client, db, fields):
    round_, _p, code, entry = await voting_round(db)
    await sign_in_to_vote(client, round_, code, adult_birth_date())
    cast = await client.post(f"/pb/{round_.slug}/cast", data=form(client, **fields))
    assert cast.status_code == 400
    assert "Choose from the proposals shown on your ballot." in cast.text
    assert "<script>alert(1)</script>" not in cast.text
    assert await ballots(db) == 0
    await db.refresh(entry)
    assert entry.voted_via is None


async def test_another_districts_proposal_cannot_be_smuggled_onto_a_ballot(client, db):
    round_, p, code, _entry = await voting_round(db)
    await sign_in_to_vote(client, round_, code, adult_birth_date())
    cast = await client.post(
        f"/pb/{round_.slug}/cast", data=form(client, proposal=[str(p["far"].id)])
    )
    assert cast.status_code == 400
    assert await ballots(db) == 0


async def test_k_approval_ballots_enforce_their_limit(client, db):
    round_, p, code, _entry = await voting_round(db, ballot_rule="k_approval", max_choices=1)
    await sign_in_to_vote(client, round_, code, adult_birth_date())
    two = {"proposal": [str(p["park"].id), str(p["lights"].id)]}
    refused = await client.post(f"/pb/{round_.slug}/cast", data=form(client, **two))
    assert refused.status_code == 400
    assert "Choose at most 1 proposal." in refused.text
    assert await ballots(db) == 0


async def test_points_ballots_enforce_their_limits(client, db):
    round_, p, code, _entry = await voting_round(
        db, ballot_rule="points", points_total=10, points_per_proposal=6
    )
    await sign_in_to_vote(client, round_, code, adult_birth_date())
    too_many = {f"points_{p['park'].id}": "6", f"points_{p['lights'].id}": "5"}
    refused = await client.post(f"/pb/{round_.slug}/cast", data=form(client, **too_many))
    assert refused.status_code == 400
    assert "You have 10 points" in refused.text
    over_one = {f"points_{p['park'].id}": "7"}
    refused = await client.post(f"/pb/{round_.slug}/cast", data=form(client, **over_one))
    assert refused.status_code == 400
    assert "at most 6 points" in refused.text
    for bad in ("-1", "x", "1.5", "99999"):
        refused = await client.post(
            f"/pb/{round_.slug}/cast", data=form(client, **{f"points_{p['park'].id}": bad})
        )
        assert refused.status_code == 400
    assert await ballots(db) == 0
    ok = {
        f"points_{p['park'].id}": "6",
        f"points_{p['lights'].id}": "4",
        f"points_{p['library'].id}": "3",
    }
    cast = await client.post(f"/pb/{round_.slug}/cast", data=form(client, **ok))
    assert cast.status_code == 303
    stored = await db.scalar(select(PendingBallot))
    assert stored.choices == {str(p["park"].id): 6, str(p["lights"].id): 4, str(p["library"].id): 3}


async def test_one_hundred_simultaneous_casts_by_one_voter_store_exactly_one_ballot(database, db):
    round_, p, _code, entry = await voting_round(db)

    async def attempt():
        async with database.sessionmaker() as session:
            fresh = await session.get(type(round_), round_.id)
            try:
                await cast_ballot(session, fresh, entry.id, "online", {p["park"].id: 1})
            except AlreadyVotedError:
                return "refused"
            return "stored"

    outcomes = await asyncio.gather(*(attempt() for _ in range(100)))
    assert outcomes.count("stored") == 1
    assert outcomes.count("refused") == 99
    assert await ballots(db) == 1


async def test_the_stored_ballot_has_no_link_to_the_voter(db, database):
    async with database.engine.connect() as connection:
        columns, foreign = await connection.run_sync(
            lambda sync: (
                {c["name"]: str(c["type"]) for c in inspect(sync).get_columns("pb_ballot")},
                inspect(sync).get_foreign_keys("pb_ballot"),
            )
        )
    assert set(columns) == {"id", "round_id", "area_id", "choices"}
    assert {fk["referred_table"] for fk in foreign} == {"pb_round", "area"}
    assert not any("TIME" in kind.upper() or "DATE" in kind.upper() for kind in columns.values())
    async with database.engine.connect() as connection:
        pending, foreign = await connection.run_sync(
            lambda sync: (
                {c["name"]: str(c["type"]) for c in inspect(sync).get_columns("pb_pending")},
                inspect(sync).get_foreign_keys("pb_pending"),
            )
        )
    assert set(pending) == {"id", "round_id", "area_id", "tracker", "choices"}
    assert {fk["referred_table"] for fk in foreign} == {"pb_round", "area"}
    assert not any("TIME" in kind.upper() or "DATE" in kind.upper() for kind in pending.values())
    roll_columns = await db.run_sync(
        lambda s: [c["name"] for c in inspect(s.connection()).get_columns("voter_roll")]
    )
    assert "voted_at" not in roll_columns
    assert not any("ballot" in c for c in roll_columns)
    # The ballot id is random: two casts in a row do not get neighbouring ids.
    round_, p, _code, entry = await voting_round(db)
    other = await db.scalar(select(RollEntry).where(RollEntry.id != entry.id))
    await cast_ballot(db, round_, entry.id, "online", {p["park"].id: 1})
    await cast_ballot(db, round_, other.id, "online", {p["library"].id: 1})
    ids = sorted((await db.scalars(select(PendingBallot.id))).all())
    assert all(len(i) == 32 for i in ids)
    assert int(ids[1], 16) - int(ids[0], 16) > 1_000_000


async def test_wrong_codes_and_birth_dates_are_refused_and_guessing_is_limited(client, db):
    round_, _p, code, _entry = await voting_round(db)
    wrong_date = await sign_in_to_vote(client, round_, code, dt.date(1981, 5, 17))
    assert wrong_date.status_code == 400
    assert "The code or the birth date is wrong." in wrong_date.text
    for bad in ("", "ABC", "x" * 500, "ABCD-EFGH-JKLM-NPQR-STU0", "'; DROP TABLE voter_roll; --"):
        refused = await sign_in_to_vote(client, round_, bad, adult_birth_date())
        assert refused.status_code == 400
        assert "tori_voter" not in refused.cookies
    for _ in range(4):
        await sign_in_to_vote(client, round_, code, dt.date(1990, 1, 1))
    # Five failures with this code: even the right birth date is refused for an hour.
    locked = await sign_in_to_vote(client, round_, code, adult_birth_date())
    assert locked.status_code == 400
    assert "Too many wrong attempts with this code" in locked.text


async def test_the_ballot_needs_a_signed_in_voter_and_an_open_round(client, db):
    round_, p, code, _entry = await voting_round(db)
    await client.get("/?lang=en")
    anonymous = await client.get(f"/pb/{round_.slug}/ballot")
    assert anonymous.status_code == 403
    assert "Sign in to vote first." in anonymous.text
    client.cookies.set(
        "tori_voter", "MS4xLm9ubGluZS45OTk5OTk5OTk5.AAAAAAAAAAAAAAAAAAAAAA", path="/pb/"
    )
    forged = await client.post(
        f"/pb/{round_.slug}/cast", data=form(client, proposal=[str(p["park"].id)])
    )
    assert forged.status_code == 403
    client.cookies.delete("tori_voter", path="/pb/")
    await sign_in_to_vote(client, round_, code, adult_birth_date())
    await move_to(db, round_, "counting")
    late = await client.post(
        f"/pb/{round_.slug}/cast", data=form(client, proposal=[str(p["park"].id)])
    )
    # The worker still holds the round as open for a few seconds; the storing statement
    # itself checks the voting window, so the late ballot is refused all the same.
    assert late.status_code in (400, 403)
    assert "Voting is not open in this round." in late.text
    assert await ballots(db) == 0


async def test_cast_without_csrf_token_is_refused(client, db):
    round_, p, code, _entry = await voting_round(db)
    await sign_in_to_vote(client, round_, code, adult_birth_date())
    response = await client.post(f"/pb/{round_.slug}/cast", data={"proposal": [str(p["park"].id)]})
    assert response.status_code == 403
    assert await ballots(db) == 0


@pytest.mark.parametrize(
    ("born", "allowed"),
    [
        # Voting day: today. Minimum age 12.
        (lambda today: today.replace(year=today.year - 12) + dt.timedelta(days=1), False),
        (lambda today: today.replace(year=today.year - 12), True),
        (lambda today: today.replace(year=today.year - 12) - dt.timedelta(days=1), True),
    ],
    ids=["turns-12-tomorrow", "turns-12-today", "turned-12-yesterday"],
)
async def test_minimum_age_is_reached_on_the_birthday(client, db, born, allowed):
    from zoneinfo import ZoneInfo

    today = dt.datetime.now(ZoneInfo("Europe/Helsinki")).date()
    if (today.month, today.day) == (2, 29):
        pytest.skip("covered by the leap-day unit tests")
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "voting", {kallio.id: 1000})
    birth = born(today)
    await put_on_roll(db, round_, [("131052-308T", birth, kallio)])
    (code,) = (await letter_codes(db, round_)).values()
    response = await sign_in_to_vote(client, round_, code, birth)
    if allowed:
        assert response.status_code == 303
    else:
        assert response.status_code == 400
        assert "You can vote in this round from the day you turn 12." in response.text


async def test_codes_are_stored_only_as_argon2_hashes(db):
    _round, _p, code, _entry = await voting_round(db)
    public, secret = code.replace("-", "")[:8], code.replace("-", "")[8:]
    stored = await db.scalar(select(VotingCode).where(VotingCode.public_id == public))
    assert stored.secret_hash.startswith("$argon2id$")
    assert secret not in stored.secret_hash


class ResultTables(HTMLParser):
    """The results page's tables as text: a list of rows, each a list of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.rows = []
            self.tables.append(self.rows)
        elif tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(re.sub(r"[ \t\r\n]+", " ", "".join(self.cell)).strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


async def test_results_show_every_rule_side_by_side_with_reasons(client, db):
    """Kallio, 100 000 €, ten voters who each hold 10 000 € under equal shares. Six approve
    Big (60 000 €); five of them also approve A and B, four of them C (20 000 € each); the other
    four approve only Y (40 000 €). Worked by hand:

    - Most votes first: Big (6 votes), A and B (5) fill the budget; C and Y (4) do not fit.
    - Equal shares, cost: Big costs its six supporters 10 000 € each (1/6 per euro of benefit,
      the lowest), then Y its four; A, B and C have no money left behind them: Big and Y.
    - Equal shares, number of proposals: A and B cost their five 4 000 € each (the cheapest
      proposals per supporter), which leaves Big unaffordable (60 000 € against 20 000 €);
      Y costs its four 10 000 € each; the 20 000 € left go by votes to C (Big does not fit).
    """
    kallio = await make_area(db, "Kallio")
    # Choose up to four: the ballots of four (120 000 €) would not fit an approval ballot's
    # budget, and the service refuses a ballot that breaks the round's rules.
    round_ = await make_round(
        db, "voting", {kallio.id: 100_000}, ballot_rule="k_approval", max_choices=4
    )
    names = {"Big": 60_000, "A": 20_000, "B": 20_000, "C": 20_000, "Y": 40_000}
    proposals = {
        name: await add_proposal(db, round_, kallio, name, cost) for name, cost in names.items()
    }
    people = [(f"voter {n}", adult_birth_date(), kallio) for n in range(10)]
    await put_on_roll(db, round_, people)
    entries = list(await db.scalars(select(RollEntry).order_by(RollEntry.id)))
    ballots = [["Big", "A", "B", "C"]] * 4 + [["Big", "A", "B"], ["Big"]] + [["Y"]] * 4
    for entry, chosen in zip(entries, ballots, strict=True):
        await cast_ballot(db, round_, entry.id, "online", {proposals[n].id: 1 for n in chosen})
    await client.get("/?lang=en")
    early = await client.get(f"/pb/{round_.slug}/results")
    assert early.status_code == 404
    await move_to(db, round_, "results")
    unpublished = await client.get(f"/pb/{round_.slug}/results")
    assert unpublished.status_code == 404
    await publish(db, round_, Settings(secret_key=TEST_SECRET).signing_seed, None)
    page = await client.get(f"/pb/{round_.slug}/results")
    assert page.status_code == 200
    assert "The official rule of this round: Most votes first, within the budget." in page.text
    tables = ResultTables()
    tables.feed(page.text)
    # The budget's table: most votes first, each with the official rule's outcome on the line
    # under its title – a tick when selected, else the reason (after a <br>, so no space
    # between the two in the text).
    header, *rows = tables.tables[0]
    assert header == ["Proposal", "Votes", "Cost"]
    assert [(row[0], row[1]) for row in rows] == [
        ("Big✓ Selected", "6"),
        ("A✓ Selected", "5"),
        ("B✓ Selected", "5"),
        ("CDid not fit the remaining budget of 0\xa0€", "4"),
        ("YDid not fit the remaining budget of 0\xa0€", "4"),
    ]
    # The selected proposals again as cards, before the table.
    assert page.text.index('class="result-card"') < page.text.index("<table")
    # Every rule side by side, behind a disclosure; the money each rule used.
    header, *rows, total = tables.tables[1]
    assert header == [
        "Proposal",
        "Most votes first, within the budget",
        "Method of equal shares (cost), completed by votes",
        "Method of equal shares (number of proposals), completed by votes",
    ]
    selected = {
        rule: {row[0] for row in rows if row[1 + column] == "Selected"}
        for column, rule in enumerate(("greedy", "mes_cost", "mes_cardinality"))
    }
    assert selected == {
        "greedy": {"Big", "A", "B"},
        "mes_cost": {"Big", "Y"},
        "mes_cardinality": {"A", "B", "C", "Y"},
    }
    assert [row[0] for row in rows] == ["Big", "A", "B", "C", "Y"]
    assert total[0] == "Money used"
    assert total[-3:] == ["100\xa0000\xa0€"] * 3


async def test_guessing_limits_hold_across_workers(app, settings, db):
    """Two application instances (as two workers or hosts) share the counters."""
    from litestar.testing import AsyncTestClient

    from app.web import create_app

    round_, _p, code, _entry = await voting_round(db)
    other_app = create_app(settings)
    async with (
        AsyncTestClient(app=app, base_url="http://testserver.local") as first,
        AsyncTestClient(app=other_app, base_url="http://testserver.local") as second,
    ):
        first.follow_redirects = second.follow_redirects = False
        for client in (first, second, first, second, first):
            wrong = await sign_in_to_vote(client, round_, code, dt.date(1990, 1, 1))
            assert wrong.status_code == 400
        locked = await sign_in_to_vote(second, round_, code, adult_birth_date())
        assert locked.status_code == 400
        assert "Too many wrong attempts with this code" in locked.text
