"""Participation figures published with the results: known answers computed by hand, small
groups withheld so that no withheld group comes back by subtraction from a published total, and
the figures kept after retention deletes the roll."""

from __future__ import annotations

import csv
import datetime as dt
import io

from sqlalchemy import select

from app.accounts.models import Role
from app.disclosure import MIN_GROUP_SIZE, withheld
from app.settings import Settings
from tests.conftest import TEST_SECRET
from tests.factories import make_area, signed_in_as
from tests.voting.factories import add_proposal, make_round, move_to, put_on_roll
from voting import published, retention
from voting.ballots import cast_ballot
from voting.models import Publication, RollEntry
from voting.participation import age_band, band_label, published_turnouts, reference_day


def form(client, **fields):
    return {"_csrf_token": client.cookies["tori_csrf"], **fields}


def test_withheld_known_answers():
    # Nothing small: nothing withheld.
    assert withheld({"a": (10, 7), "b": (6, 5)}) == set()
    # One small group alone would come back as total minus the rest: the next smallest goes too.
    assert withheld({"a": (10, 7), "b": (3, 9), "c": (6, 8)}) == {"b", "c"}
    # Two small groups already hide each other.
    assert withheld({"a": (10, 7), "b": (3, 9), "c": (9, 0)}) == {"b", "c"}
    # A count of nobody singles people out too ("nobody here voted").
    assert withheld({"a": (0, 40), "b": (30, 30)}) == {"a", "b"}
    # The boundary is MIN_GROUP_SIZE itself: five is shown, four is not.
    assert withheld({"a": (MIN_GROUP_SIZE, MIN_GROUP_SIZE)}) == set()
    assert withheld({"a": (MIN_GROUP_SIZE - 1, 50)}) == {"a"}


def test_age_bands():
    assert [band_label(age_band(age)) for age in (12, 17, 18, 29, 30, 44, 45, 64, 65, 74, 75)] == [
        "–17",
        "–17",
        "18–29",
        "18–29",
        "30–44",
        "30–44",
        "45–64",
        "45–64",
        "65–74",
        "65–74",
        "75+",
    ]


async def published_round(client, db):
    """Three areas: Kallio 12 people aged 35 (9 vote: 6 online, 3 on paper) and 8 aged 70 (5
    vote with help); Vallila 8 aged 20 (6 vote online); Pasila 10 aged 50 (5 vote online)."""
    kallio, vallila, pasila = (
        await make_area(db, "Kallio"),
        await make_area(db, "Vallila"),
        await make_area(db, "Pasila"),
    )
    round_ = await make_round(db, "voting", {None: 300_000})
    library = await add_proposal(db, round_, None, "Library", 200_000)
    await move_to(db, round_, "counting")
    day = reference_day(round_)
    await move_to(db, round_, "voting")

    def born(age):
        return dt.date(day.year - age, 1, 1)

    groups = [
        ("K35", kallio, 35, 12, ["online"] * 6 + ["paper"] * 3),
        ("K70", kallio, 70, 8, ["assisted"] * 5),
        ("V20", vallila, 20, 8, ["online"] * 6),
        ("P50", pasila, 50, 10, ["online"] * 5),
    ]
    people = [
        (f"{name}{n:04d}", born(age), area)
        for name, area, age, size, _ in groups
        for n in range(size)
    ]
    await put_on_roll(db, round_, people)
    entries = list(await db.scalars(select(RollEntry).order_by(RollEntry.id)))
    start = 0
    for _name, _area, _age, size, channels in groups:
        for entry, channel in zip(entries[start : start + size], channels, strict=False):
            await cast_ballot(db, round_, entry.id, channel, {library.id: 1})
        start += size
    await move_to(db, round_, "counting")
    await signed_in_as(client, db, Role.ADMIN)
    response = await client.post(f"/staff/pb/{round_.id}/publish", data=form(client))
    assert response.status_code == 303
    await client.post("/staff/logout", data=form(client))
    return round_, (kallio, vallila, pasila)


async def test_participation_known_answer_and_small_groups(client, db):
    round_, (kallio, vallila, pasila) = await published_round(client, db)
    stored = await published.in_force(db, round_.id)
    figures = (await published.results_of(db, stored))["participation"]
    assert (figures["eligible"], figures["voted"], figures["per_1000"]) == (38, 25, 657.9)

    areas = {row["key"]: row for row in figures["areas"]}
    # Kallio 20 on the roll, 14 voted. Vallila has 2 non-voters: withheld; alone it would come
    # back as 38 - 20 - 10, so the next smallest (Pasila, 5 and 5) is withheld with it.
    assert (areas[kallio.id]["eligible"], areas[kallio.id]["voted"]) == (20, 14)
    assert areas[kallio.id]["per_1000"] == 700.0
    assert areas[vallila.id] == {"key": vallila.id, "label": vallila.name, "withheld": True}
    assert areas[pasila.id]["withheld"] is True
    assert "voted" not in areas[pasila.id]

    ages = {row["key"]: row for row in figures["ages"]}
    assert list(ages) == ["18–29", "30–44", "45–64", "65–74"]
    assert (ages["45–64"]["eligible"], ages["45–64"]["voted"]) == (10, 5)
    assert all(ages[band]["withheld"] for band in ("18–29", "30–44", "65–74"))

    channels = {row["key"]: row for row in figures["channels"]}
    # 17 online of 25; paper (3) withheld, and assisted (5) with it.
    assert (channels["online"]["voted"], channels["online"]["share"]) == (17, 68.0)
    assert channels["paper"]["withheld"]
    assert channels["assisted"]["withheld"]

    # The attacker's subtraction: in every breakdown, a withheld group never stands alone.
    for dimension in ("areas", "ages", "channels"):
        hidden = [row for row in figures[dimension] if row["withheld"]]
        assert len(hidden) != 1, dimension

    page = (await client.get(f"/pb/{round_.slug}/results?lang=fi")).text
    assert "Kuka äänesti" in page
    assert "657,9" in page
    assert "700,0" in page
    assert page.count("Ei näytetä: pieni ryhmä") == 2 + 3 + 2

    response = await client.get(f"/pb/{round_.slug}/participation.csv?lang=sv")
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    by_key = {(row["dimension"], row["group"]): row for row in rows}
    assert by_key[("all", "all")]["voted"] == "25"
    assert by_key[("area", str(vallila.id))]["voted"] == ""
    assert by_key[("area", str(vallila.id))]["withheld"] == "1"
    assert by_key[("area", str(kallio.id))]["per_1000"] == "700.0"
    assert by_key[("channel", "paper")]["label"] == "På papper"


async def test_figures_outlive_the_roll(client, db):
    round_, _areas = await published_round(client, db)
    stored = select(Publication.results).where(Publication.round_id == round_.id)
    before = (await db.scalar(stored))["participation"]
    settings = Settings(secret_key=TEST_SECRET, keep_roll_days=0)
    await retention.apply(db, settings, dt.datetime.now(dt.UTC) + dt.timedelta(days=1), False)
    await db.commit()
    assert await db.scalar(select(RollEntry.id).where(RollEntry.round_id == round_.id)) is None
    db.expire_all()
    assert (await db.scalar(stored))["participation"] == before
    assert before["voted"] == 25


async def test_a_round_without_published_results_has_no_figures(client, db):
    area = await make_area(db, "Kallio")
    round_ = await make_round(db, "voting", {area.id: 100_000})
    response = await client.get(f"/pb/{round_.slug}/participation.csv")
    assert response.status_code == 404


# --- the equal-access view's part (surveys/equal_access.py), through Feature.turnouts ---------


async def test_the_published_turnout_arrives_through_the_features_hook(client, db):
    _round, (kallio, _vallila, _pasila) = await published_round(client, db)
    [turnout] = await published_turnouts(db)
    assert (turnout.eligible, turnout.voted) == (38, 25)
    ages = {group.key: group for group in turnout.ages}
    assert (ages["age_45_64"].eligible, ages["age_45_64"].voted) == (10, 5)
    assert ages["age_18_29"].voted is None  # withheld in the published figures
    areas = {group.key: group for group in turnout.areas}
    assert (areas[str(kallio.id)].eligible, areas[str(kallio.id)].voted) == (20, 14)
    await signed_in_as(client, db, Role.STAFF)
    page = (await client.get("/staff/feedback/equal-access?lang=en")).text
    assert "25 of 38 eligible residents voted (657,9 per 1\u00a0000)." in page
    assert round(500 / (25 / 38 * 1000), 2) == 0.76
    assert "0,76" in page  # 45–64: 500 per 1,000 against the round's 657.9
