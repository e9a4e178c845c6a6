"""Numbers in queries are read in ASCII digits only: every route, every query parameter the code
reads, sent with the real ids written in other scripts' digits, gets no server error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.requests import ascii_int
from app.settings import Settings
from tests.app.test_authorization import SKIP, TABLE, make_world
from tests.conftest import TEST_SECRET
from tests.factories import make_area
from tests.voting.factories import add_proposal, adult_birth_date, make_round, move_to, put_on_roll
from voting.ballots import cast_ballot
from voting.models import RollEntry
from voting.publication import publish

ROOT = Path(__file__).resolve().parents[2]
# Digits that str.isdecimal() or int() take but that are no ASCII: Arabic-Indic, fullwidth,
# superscript (isdigit but not isdecimal), Devanagari.
SCRIPTS = {
    "arabic-indic": "٠١٢٣٤٥٦٧٨٩",
    "fullwidth": "０１２３４５６７８９",
    "superscript": "⁰¹²³⁴⁵⁶⁷⁸⁹",
    "devanagari": "०१२३४५६७८९",
}


def written_in(script: str, number: int | str) -> str:
    return str(number).translate(str.maketrans("0123456789", SCRIPTS[script]))


def query_parameters() -> set[str]:
    """Every query parameter the application reads, found in its source."""
    names = set()
    for package in ("app", "surveys", "voting"):
        for path in (ROOT / package).rglob("*.py"):
            names |= set(re.findall(r"query_params\.get\(\s*\"(\w+)\"", path.read_text()))
    return names


def test_ascii_int_takes_only_ascii_digits():
    assert ascii_int("7") == 7
    assert ascii_int("0012") == 12
    for script in SCRIPTS:
        assert ascii_int(written_in(script, 7)) is None
    for bad in ("", " 7", "7 ", "+7", "-7", "7.0", "1e3", "7\x00", "9" * 19, None):
        assert ascii_int(bad) is None
    assert ascii_int("5", minimum=1, maximum=4) is None
    assert ascii_int("0", minimum=1) is None


def test_the_parameters_include_the_ones_that_broke():
    assert {"budget", "page", "area"} <= query_parameters()


async def published_round(db, area_name: str):
    """A round counted and published, with a budget for one area and the city."""
    area = await make_area(db, area_name)
    round_ = await make_round(db, "voting", {area.id: 100_000, None: 50_000})
    benches = await add_proposal(db, round_, area, "Benches", 60_000)
    await put_on_roll(db, round_, [(f"PERSON-{area_name}", adult_birth_date(), area)])
    entry = await db.scalar(select(RollEntry).where(RollEntry.round_id == round_.id))
    await cast_ballot(db, round_, entry.id, "online", {benches.id: 1})
    await move_to(db, round_, "results")
    await publish(db, round_, Settings(secret_key=TEST_SECRET).signing_seed, None)
    return round_, area


@pytest.mark.parametrize("script", sorted(SCRIPTS))
async def test_every_route_with_foreign_digits_in_every_query_parameter_gets_no_500(
    client, db, script
):
    await client.get("/?lang=en")
    world = await make_world(db, client, Role.ADMIN.value)
    world.real_staff_ids = True
    # The sweep runs over the world's round in voting and over a published one, so that the
    # routes of results, board and ballot files read their parameters too.
    published, published_area = await published_round(db, "Tapiola")
    names = sorted(query_parameters())
    failures = []
    gets = sorted(key for key in TABLE if key.startswith("GET ") and key not in SKIP)
    rounds = [
        dict(world.values),
        {**world.values, "round": published.slug, "round_id": str(published.id)},
    ]
    for values in rounds:
        world.values = values
        for key in gets:
            if key.endswith("/live"):
                continue  # a stream; its parameters are none
            if "/pb/" not in key and values is not rounds[0]:
                continue  # only the budgeting routes differ in the second sweep
            url = world.path(key)
            # The real ids, so that a digit taken for ASCII finds a real object.
            for number in sorted({values["area_id"], str(published_area.id), values["round_id"]}):
                value = written_in(script, number)
                response = await client.get(url, params=dict.fromkeys(names, value))
                if response.status_code >= 500:
                    failures.append(f"{key} with {value!r}: {response.status_code}")
    assert failures == []


async def test_a_published_rounds_ballots_file_for_a_foreign_digit_budget_is_not_found(client, db):
    """The finding: `/pb/<round>/ballots.pb?budget=%D9%A7` was a 500 when area 7 had a budget."""
    round_, area = await published_round(db, "Kallio")
    ascii_digits = await client.get(f"/pb/{round_.slug}/ballots.pb?budget={area.id}")
    assert ascii_digits.status_code == 200
    for script in SCRIPTS:
        budget = written_in(script, area.id)
        response = await client.get(f"/pb/{round_.slug}/ballots.pb", params={"budget": budget})
        assert response.status_code == 404, (script, response.status_code)


async def test_numbers_in_the_path_have_one_spelling_only(client, db):
    """Every GET route with a whole number in its path answers 404, not the page, when the
    number is written otherwise than in plain ASCII digits: other scripts' digits, a sign, a
    leading zero or an underscore (`int()` takes them all). The page keeps one address."""
    world = await make_world(db, client, "admin")
    world.real_staff_ids = True
    checked = 0
    for key in sorted(TABLE):
        if not key.startswith("GET ") or ":int}" not in key or key in SKIP:
            continue
        path = world.path(key)
        canonical = await client.get(path)
        if canonical.status_code != 200:
            continue
        number = re.search(r"/(\d+)(?=/|$)", path)
        assert number, path
        digits = number.group(1)
        variants = [
            "".join(SCRIPTS["arabic-indic"][int(d)] for d in digits),
            "".join(SCRIPTS["fullwidth"][int(d)] for d in digits),
            "+" + digits,
            "0" + digits,
            digits[:1] + "_" + digits[1:] if len(digits) > 1 else digits + "_0",
        ]
        for variant in variants:
            other = path[: number.start(1)] + variant + path[number.end(1) :]
            response = await client.get(other)
            assert response.status_code == 404, (other, response.status_code)
        checked += 1
    assert checked >= 10, f"only {checked} routes with numbers were checked"
