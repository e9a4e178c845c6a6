"""The equal-access view (surveys/equal_access.py): representation ratios computed by hand, the
groups reached least, small groups withheld so that no figure comes back by subtraction, and
the participatory budgeting turnout that arrives through the features' hook."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from app.accounts.models import Role
from app.areas.models import Area, AreaStatistics
from app.database import utcnow
from app.disclosure import MIN_GROUP_SIZE, withheld_cells
from app.features import Turnout, TurnoutGroup
from surveys.equal_access import (
    CITY,
    breakdown,
    least_reached,
    round_turnout,
    table_withheld,
)
from surveys.models import FeedbackTally
from tests.factories import make_area, make_event, signed_in_as

AGES = ("age_under_18", "age_18_29", "age_30_44", "age_45_64", "age_65_74", "age_75_plus")


def test_representation_ratios_and_the_least_reached_on_known_data():
    """Residents 1000: under 18 200 (20 %), 18–29 300 (30 %), 30–44 500 (50 %). Respondents
    100: 10, 30, 60. Ratios 10 % / 20 % = 0.5, 30 % / 30 % = 1, 60 % / 50 % = 1.2."""
    groups = {"a": "Under 18", "b": "18–29", "c": "30–44"}
    item = breakdown(
        "age", groups, {"a": 200, "b": 300, "c": 500}, {"a": 10, "b": 30, "c": 60}, set()
    )
    rows = {row.key: row for row in item.rows}
    assert item.respondents == 100
    assert rows["a"].resident_share == pytest.approx(0.2)
    assert rows["a"].ratio == pytest.approx(0.5)
    assert rows["b"].ratio == pytest.approx(1.0)
    assert rows["c"].ratio == pytest.approx(1.2)
    # The interval of the ratio is the Wilson interval of the share over the residents' share:
    # 10 of 100 gives 5.52 %–17.4 %, so 0.276–0.872.
    assert rows["a"].ratio_interval.low == pytest.approx(0.2762, abs=1e-3)
    assert rows["a"].ratio_interval.high == pytest.approx(0.8716, abs=1e-3)
    # Languages: residents fi 600, sv 100, other 300; respondents 80, 15, 5.
    languages = breakdown(
        "language",
        {"fi": "Finnish", "sv": "Swedish", "other": "Other"},
        {"fi": 600, "sv": 100, "other": 300},
        {"fi": 80, "sv": 15, "other": 5},
        set(),
    )
    # other: 5 % / 30 % = 1/6; under 18: 0.5; sv 15 % / 10 % = 1.5; fi 80 % / 60 % = 4/3.
    least = least_reached((item, languages))
    assert [(row.label, round(row.ratio, 4)) for _, row in least] == [
        ("Other", round(1 / 6, 4)),
        ("Under 18", 0.5),
    ]


def test_a_withheld_group_shows_no_figure_and_the_least_reached_skips_it():
    item = breakdown("age", {"a": "A", "b": "B"}, {"a": 500, "b": 500}, {"a": 3, "b": 97}, {"a"})
    rows = {row.key: row for row in item.rows}
    assert rows["a"].withheld
    assert (rows["a"].respondents, rows["a"].share, rows["a"].ratio) == (None, None, None)
    assert least_reached((item,)) == ()


def test_withheld_cells_leave_no_line_with_a_single_withheld_cell():
    # A 3 × 3 table with its row and column totals shown: one cell of 2.
    cells = {(r, c): 20 for r in "xyz" for c in "abc"}
    cells[("x", "a")] = 2
    cells[("y", "b")] = 9
    lines = [[(r, c) for c in "abc"] for r in "xyz"] + [[(r, c) for r in "xyz"] for c in "abc"]
    hidden = withheld_cells(cells, lines)
    assert ("x", "a") in hidden
    for line in lines:
        assert sum(cell in hidden for cell in line) != 1
    # Nothing small, nothing withheld; the threshold itself is shown.
    assert withheld_cells({"a": MIN_GROUP_SIZE, "b": 40}, [["a", "b"]]) == set()


def test_no_withheld_respondent_count_comes_back_from_the_totals_across_areas():
    """Each area's age bands with the area's total, and each band across the areas with the
    city's figure: whatever is shown, every withheld cell stays unknown. Checked by brute force:
    no withheld cell is the only unknown of any line whose total is shown."""
    counts = {
        "1": {"age_under_18": 3, "age_18_29": 40, "age_30_44": 50, "age_45_64": 60},
        "2": {"age_under_18": 20, "age_18_29": 4, "age_30_44": 30, "age_45_64": 25},
        "-": {"age_under_18": 9, "age_18_29": 12, "age_30_44": 8, "age_45_64": 11},
    }
    bands = ("age_under_18", "age_18_29", "age_30_44", "age_45_64")
    city = {band: sum(counts[s].get(band, 0) for s in counts) for band in bands}
    hidden = table_withheld({**counts, CITY: city}, bands)
    assert "age_under_18" in hidden["1"]
    assert "age_18_29" in hidden["2"]
    rows = [*counts, CITY]
    unknown = {(s, b) for s in rows for b in bands if b in hidden[s]}
    lines = [[(s, b) for b in bands] for s in rows] + [[(s, b) for s in rows] for b in bands]
    for line in lines:
        assert len(set(line) & unknown) != 1, line


def test_the_turnout_of_a_round_by_age_band_and_by_class():
    """100 eligible, 40 voted (400 per 1,000). 18–29: 10 of 40 = 250 ‰, ratio 0.625; urban
    areas 30 of 60 = 500 ‰ (ratio 1.25); rural: one area withheld, the other 10 of 40."""
    urban, rural1, rural2 = (
        Area(id=1, slug="u", name={"fi": "U"}, settlement_class="urban"),
        Area(id=2, slug="r1", name={"fi": "R1"}, settlement_class="rural"),
        Area(id=3, slug="r2", name={"fi": "R2"}, settlement_class="rural"),
    )
    turnout = Turnout(
        title={"fi": "Kierros"},
        published_at=utcnow(),
        min_age=12,
        eligible=100,
        voted=40,
        areas=(
            TurnoutGroup("1", 60, 30),
            TurnoutGroup("2", None, None),
            TurnoutGroup("3", 40, 10),
        ),
        ages=(TurnoutGroup("age_under_18", 60, 30), TurnoutGroup("age_18_29", 40, 10)),
    )
    result = round_turnout(turnout, {"1": urban, "2": rural1, "3": rural2})
    assert result.per_1000 == 400
    ages = {row.key: row for row in result.ages}
    assert ages["age_under_18"].label == "12–17"
    assert ages["age_18_29"].per_1000 == 250
    assert ages["age_18_29"].ratio == pytest.approx(0.625)
    classes = {row.key: row for row in result.classes}
    assert (classes["urban"].voted, classes["urban"].ratio) == (30, pytest.approx(1.25))
    assert (classes["rural"].eligible, classes["rural"].voted) == (40, 10)
    assert classes["rural"].partial


async def add_statistics(db, area, year, by_age, by_tongue, settlement):
    db.add(
        AreaStatistics(
            area_id=area.id,
            year=year,
            source=f"Tilastokeskus, Väestörakenne {year}",
            by_age=by_age,
            by_tongue=by_tongue,
        )
    )
    await db.execute(update(Area).where(Area.id == area.id).values(settlement_class=settlement))
    await db.commit()


async def add_answers(db, event, key, counts: dict[str, int]):
    for value, count in counts.items():
        db.add(
            FeedbackTally(
                event_id=event.id, language="fi", question_key=key, value=value, count=count
            )
        )
    await db.commit()


async def test_the_page_shows_ratios_withholds_small_groups_and_lists_the_least_reached(client, db):
    north = await make_area(db, "Pohjoinen")
    south = await make_area(db, "Etelä")
    year = utcnow().year
    # Residents: Pohjoinen 2000 (urban), Etelä 1000 (rural).
    await add_statistics(
        db,
        north,
        year,
        dict(zip(AGES, (400, 400, 400, 400, 200, 200), strict=True)),
        {"fi": 1500, "sv": 200, "sami": 0, "other": 300},
        "urban",
    )
    await add_statistics(
        db,
        south,
        year,
        dict(zip(AGES, (200, 200, 200, 200, 100, 100), strict=True)),
        {"fi": 900, "sv": 50, "sami": 10, "other": 40},
        "rural",
    )
    event = await make_event(db, area=north, starts_in=-dt.timedelta(minutes=5))
    # Age: under 18 only 2 (withheld), 18–29 20, 30–44 30, 45–64 30, 65–74 10, 75+ 8.
    await add_answers(
        db,
        event,
        "age_group",
        dict(zip(AGES, (2, 20, 30, 30, 10, 8), strict=True)) | {"no_answer": 7},
    )
    await add_answers(db, event, "preferred_language", {"fi": 80, "sv": 12, "en": 4, "other": 4})
    await add_answers(
        db, event, "home_area", {north.slug: 70, south.slug: 20, "elsewhere": 5, "no_answer": 5}
    )
    await signed_in_as(client, db, Role.AUDITOR)
    response = await client.get(f"/staff/feedback/equal-access?year={year}&lang=en")
    assert response.status_code == 200, response.text
    page = response.text
    assert f"Tilastokeskus, Väestörakenne {year}" in page
    # Under 18 has 2 respondents: withheld, and the next smallest band (75+, 8) with it, so
    # that 100 - the shown bands does not give it back.
    assert page.count("Too few to show") == 2
    ages = page.split('id="breakdown-age"')[1].split("</section>")[0]
    assert ages.count("Too few to show") == 2
    assert ">2<" not in ages
    assert ">8<" not in ages
    # Home areas: Pohjoinen 70 of 90 (77.8 %) against 66.7 % of residents: 1.17; Etelä 20 of 90
    # (22.2 %) against 33.3 %: 0.67, reached least among the places.
    assert "1,17" in page
    assert "0,67" in page
    # Languages: other (en + other) 8 of 100 against 350 of 3000 (11.7 %): 0.69.
    assert "0,69" in page
    least = page.split('id="least-reached"')[1].split("</section>")[0]
    assert least.index("0,67") < least.index("0,69")
    # Finland's conventions in every language: a decimal comma, no-break spaces.
    assert "2\u00a0000" in page


async def test_an_area_s_own_events_are_compared_with_its_own_residents(client, db):
    north = await make_area(db, "Pohjoinen")
    year = utcnow().year
    await add_statistics(
        db,
        north,
        year,
        dict(zip(AGES, (100, 100, 100, 100, 50, 50), strict=True)),
        {"fi": 400, "sv": 50, "sami": 0, "other": 50},
        "urban",
    )
    event = await make_event(db, area=north, starts_in=-dt.timedelta(minutes=5))
    await add_answers(db, event, "age_group", dict(zip(AGES, (5, 5, 10, 10, 10, 10), strict=True)))
    await signed_in_as(client, db, Role.STAFF)
    page = (await client.get(f"/staff/feedback/equal-access?year={year}&area={north.id}")).text
    # 5 of 50 under 18 against 100 of 500: 10 % / 20 % = 0.50.
    assert "0,50" in page
    assert "Home area" not in page
    bad = await client.get("/staff/feedback/equal-access?year=1&area=nowhere")
    assert bad.status_code == 400
    assert "was not understood" in bad.text


async def test_no_statistics_says_so(client, db):
    await signed_in_as(client, db, Role.STAFF)
    page = (await client.get("/staff/feedback/equal-access")).text
    assert "No statistics of the residents have been imported" in page
    assert "No round of participatory budgeting has published" in page
