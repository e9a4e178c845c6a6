"""Residents by age band and mother tongue, imported from a statistics file (app/areas/
statistics_file.py, app/areas/services.py): a good file, bad lines (nothing stored), hostile,
oversized and malformed files, and importing a year again."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.areas.models import AreaPopulation, AreaStatistics
from app.areas.statistics_file import MAX_STATISTICS_LINES, read_statistics
from app.audit.models import AuditRecord
from app.i18n import in_language
from tests.commands import run_tori
from tests.factories import make_area, signed_in_as

HEADER = "area;year;class;age_under_18;age_18_29;age_30_44;age_45_64;age_65_74;age_75_plus;fi;sv;sami;other;source\n"
KALLIO = (
    "Kallio;2025;urban;100;200;300;250;100;50;800;100;0;100;Tilastokeskus, Väestörakenne 2025\n"
)
KYLA = "kyla;2025;M6;20;10;20;30;15;5;90;5;0;5;Tilastokeskus, Väestörakenne 2025\n"
GOOD = (HEADER + KALLIO + KYLA).encode()


async def two_areas(db):
    kallio = await make_area(db, "Kallio", population=900, year=2024)
    kyla = await make_area(db, "Kylä")
    return kallio, kyla


async def upload(client, data: bytes, name: str = "statistics.csv"):
    return await client.post(
        "/staff/areas/statistics",
        data={"_csrf_token": client.cookies["tori_csrf"]},
        files={"file": (name, data, "text/csv")},
    )


async def count(db, model) -> int:
    return await db.scalar(select(func.count()).select_from(model))


async def test_a_good_file_stores_the_bands_the_class_and_the_population_and_is_audited(client, db):
    kallio, kyla = await two_areas(db)
    await signed_in_as(client, db, Role.STAFF)
    audits = await count(db, AuditRecord)
    response = await upload(client, GOOD)
    assert response.status_code == 200, response.text
    assert "Statistics imported for 2025: 2 added, 0 replaced, 0 removed." in response.text
    rows = {row.area_id: row for row in await db.scalars(select(AreaStatistics))}
    assert rows[kallio.id].by_age == {
        "age_under_18": 100,
        "age_18_29": 200,
        "age_30_44": 300,
        "age_45_64": 250,
        "age_65_74": 100,
        "age_75_plus": 50,
    }
    assert rows[kallio.id].by_tongue == {"fi": 800, "sv": 100, "sami": 0, "other": 100}
    assert rows[kyla.id].source == "Tilastokeskus, Väestörakenne 2025"
    await db.refresh(kallio)
    await db.refresh(kyla)
    assert (kallio.settlement_class, kyla.settlement_class) == ("urban", "rural")
    populations = {
        (p.area_id, p.year): p.population for p in await db.scalars(select(AreaPopulation))
    }
    assert populations[(kallio.id, 2025)] == 1000
    assert populations[(kallio.id, 2024)] == 900  # an earlier year's figure is kept
    assert populations[(kyla.id, 2025)] == 100
    records = list(await db.scalars(select(AuditRecord).order_by(AuditRecord.seq)))
    assert len(records) == audits + 1
    assert records[-1].action == "area.statistics_import"
    # The areas page names the source and the year of the figures, and the class.
    listing = await client.get("/staff/areas")
    assert "Tilastokeskus, Väestörakenne 2025 (year 2025)" in listing.text
    assert "Rural" in listing.text


async def test_importing_the_same_year_again_changes_nothing_and_a_corrected_file_replaces_it(
    client, db
):
    kallio, _kyla = await two_areas(db)
    await signed_in_as(client, db, Role.STAFF)
    assert (await upload(client, GOOD)).status_code == 200
    again = await upload(client, GOOD)
    assert "0 added, 2 replaced, 0 removed" in again.text
    assert await count(db, AreaStatistics) == 2
    corrected = (HEADER + KALLIO.replace(";50;800;", ";60;810;")).encode()
    response = await upload(client, corrected)
    assert "0 added, 1 replaced, 1 removed" in response.text, response.text
    rows = (await db.execute(select(AreaStatistics.area_id, AreaStatistics.by_age))).all()
    assert [(area_id, by_age["age_75_plus"]) for area_id, by_age in rows] == [(kallio.id, 60)]
    population = await db.scalar(
        select(AreaPopulation.population).where(
            AreaPopulation.area_id == kallio.id, AreaPopulation.year == 2025
        )
    )
    assert population == 1010


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("Nowhere;2025;urban;1;1;1;1;1;1;6;0;0;0;S\n", "Unknown area: Nowhere"),
        ("Kallio;20x5;urban;1;1;1;1;1;1;6;0;0;0;S\n", "The year must be a year"),
        ("Kallio;2025;town;1;1;1;1;1;1;6;0;0;0;S\n", "Unknown urban/rural class: town"),
        ("Kallio;2025;urban;-1;1;1;1;1;1;4;0;0;0;S\n", "age_under_18 must be a whole number"),
        ("Kallio;2025;urban;1,5;1;1;1;1;1;6;0;0;0;S\n", "must be a whole number"),
        ("Kallio;2025;urban;99999999999;1;1;1;1;1;6;0;0;0;S\n", "must be a whole number"),
        ("Kallio;2025;urban;1;1;1;1;1;1;7;0;0;0;S\n", "add up to 6 residents but the mother"),
        ("Kallio;2025;urban;1;1;1;1;1;1;6;0;0;0;\n", "Give the source"),
        ("Kallio;2025;urban;1;1;1;1;1;1;6;0;0;0\n", "The line has 13 columns"),
        ("Kallio;2025;urban;1;1;1;1;1;1;6;0;0;0;" + "x" * 201 + "\n", "at most 200"),
        ("Kallio;2025;urban;1;1;1;1;1;1;6;0;0;0;a\u202eb\n", "at most 200"),
        ("Kallio;2025;urban;１;1;1;1;1;1;6;0;0;0;S\n", "must be a whole number"),
    ],
)
async def test_a_bad_line_is_reported_with_its_number_and_nothing_is_stored(
    client, db, line, message
):
    await two_areas(db)
    await signed_in_as(client, db, Role.STAFF)
    response = await upload(client, (HEADER + KYLA + line).encode())
    assert response.status_code == 400
    assert "Nothing was imported" in response.text
    assert "Line 3:" in response.text
    assert message in response.text.replace("&#34;", '"')
    assert await count(db, AreaStatistics) == 0


async def test_every_bad_line_is_listed_in_the_staff_member_s_language(client, db):
    await two_areas(db)
    await signed_in_as(client, db, Role.STAFF)
    await client.get("/?lang=fi")
    data = HEADER + KALLIO + KALLIO + "Nowhere;2025;;1;1;1;1;1;1;6;0;0;0;S\n"
    response = await upload(client, data.encode())
    assert response.status_code == 400
    assert "Rivi 3:" in response.text
    assert "Rivi 4:" in response.text
    assert "Tuntematon alue: Nowhere" in response.text
    assert await count(db, AreaStatistics) == 0


async def test_the_same_area_with_two_classes_or_twice_in_a_year_is_refused(db):
    kallio, _kyla = await two_areas(db)
    areas = [kallio]
    with in_language("en"):
        twice = read_statistics((HEADER + KALLIO + KALLIO).encode(), areas)
    assert twice.rows == []
    assert twice.errors == [(3, "The same area and year are already on line 2.")]
    other_class = KALLIO.replace("2025;urban", "2024;rural")
    with in_language("en"):
        classes = read_statistics((HEADER + KALLIO + other_class).encode(), areas)
    assert classes.rows == []
    assert classes.errors[0][0] == 3
    assert "differs from the one on line 2" in classes.errors[0][1]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file has no rows."),
        (HEADER.encode(), "The file has no rows."),
        (b"\xff\xfe\x00a\x00r", "not UTF-8"),
        (b"area;year\nKallio;2025\n", "Missing: class"),
        (HEADER.replace("source", "area").encode(), "Missing: source"),
        (b'area;year;"unfinished\n', "not valid CSV"),
        (b"area;\x00year\n", "not a CSV text file"),
        (b"PK\x03\x04" + bytes(range(256)) * 4, "not UTF-8"),
    ],
)
async def test_a_malformed_file_is_refused_with_a_clear_error(db, data, message):
    kallio, _ = await two_areas(db)
    with in_language("en"):
        found = read_statistics(data, [kallio])
    assert found.rows == []
    assert any(message in text for _, text in found.errors), found.errors


async def test_a_formula_in_a_cell_is_kept_as_text_never_run(client, db):
    """A source starting with "=" is plain text; the page escapes it like any other text."""
    await two_areas(db)
    await signed_in_as(client, db, Role.STAFF)
    hostile = KALLIO.replace("Tilastokeskus, Väestörakenne 2025", '=HYPERLINK("x")<script>')
    response = await upload(client, (HEADER + hostile).encode())
    assert response.status_code == 200, response.text
    assert "<script>" not in response.text
    assert "=HYPERLINK(&#34;x&#34;)&lt;script&gt;" in response.text


async def test_an_oversized_file_is_refused_and_a_long_file_stops_at_the_line_limit(
    client, db, monkeypatch
):
    kallio, _ = await two_areas(db)
    await signed_in_as(client, db, Role.STAFF)
    from app.areas import controllers

    monkeypatch.setattr(controllers, "MAX_STATISTICS_UPLOAD", 4096)
    response = await upload(client, GOOD * 100)
    assert response.status_code == 413
    assert await count(db, AreaStatistics) == 0
    many = HEADER + "\n".join(
        f"Kallio;{1900 + n % 200};;1;0;0;0;0;0;1;0;0;0;S" for n in range(MAX_STATISTICS_LINES + 5)
    )
    found = read_statistics(many.encode(), [kallio])
    assert found.rows == []
    assert len(found.errors) <= 50


async def test_the_upload_needs_this_browser_s_token_and_an_editor(client, db):
    await two_areas(db)
    await signed_in_as(client, db, Role.STAFF)
    refused = await client.post(
        "/staff/areas/statistics",
        data={"_csrf_token": "0" * 64 + "1" * 64},
        files={"file": ("s.csv", GOOD, "text/csv")},
    )
    assert refused.status_code == 403
    none_chosen = await client.post(
        "/staff/areas/statistics",
        data={"_csrf_token": client.cookies["tori_csrf"]},
        files={"file": ("", b"", "text/csv")},
    )
    assert none_chosen.status_code == 400
    assert "Choose a CSV file." in none_chosen.text
    assert await count(db, AreaStatistics) == 0


async def test_the_example_file_in_the_docs_imports(db):
    from app.demo import seed_areas

    areas = await seed_areas(db)
    example = Path(__file__).parents[2] / "docs" / "area-statistics.csv"
    found = read_statistics(example.read_bytes(), areas)
    assert found.errors == []
    assert [row.total for row in found.rows] == [67_814, 46_052]


def test_the_import_command_checks_every_line_and_imports_the_example(tmp_path):
    """`tori area-statistics-import FILE` on the zero-setup SQLite database: a bad file stores
    nothing and names its lines; the example in the docs imports, and again changes nothing."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"

    def tori(*arguments: str):
        return run_tori(*arguments, env={"DATABASE_URL": url, "LOG_LEVEL": "WARNING"})

    assert tori("migrate").returncode == 0
    assert tori("seed-demo").returncode == 0
    example = Path(__file__).parents[2] / "docs" / "area-statistics.csv"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(example.read_bytes().replace(b";33520;", b";33519;") + b"Nowhere;2025;;1")
    refused = tori("area-statistics-import", str(bad))
    assert refused.returncode == 2
    assert "bad.csv:3: The age bands add up to 46052 residents" in refused.stderr
    assert "bad.csv:4:" in refused.stderr
    assert "Nothing was imported." in refused.stderr
    missing = tori("area-statistics-import", str(tmp_path / "missing.csv"))
    assert missing.returncode == 2
    first = tori("area-statistics-import", str(example))
    assert first.returncode == 0, first.stderr
    assert "Statistics imported for 2025: 2 added, 0 replaced, 0 removed." in first.stdout
    again = tori("area-statistics-import", str(example))
    assert "0 added, 2 replaced, 0 removed." in again.stdout


async def test_staff_set_an_area_s_class_by_hand_and_a_made_up_class_is_refused(client, db):
    kallio, _ = await two_areas(db)
    await signed_in_as(client, db, Role.STAFF)
    fields = {
        "_csrf_token": client.cookies["tori_csrf"],
        "name_fi": "Kallio",
        "rows": "0",
        "settlement_class": "semi_urban",
    }
    saved = await client.post(f"/staff/areas/{kallio.id}", data=fields)
    assert saved.status_code == 303, saved.text
    await db.refresh(kallio)
    assert kallio.settlement_class == "semi_urban"
    form = await client.get(f"/staff/areas/{kallio.id}")
    assert '<option value="semi_urban" selected>Semi-urban</option>' in form.text
    refused = await client.post(
        f"/staff/areas/{kallio.id}", data={**fields, "settlement_class": "<b>town</b>"}
    )
    assert refused.status_code == 400
    assert "Choose one of the options." in refused.text
    await db.refresh(kallio)
    assert kallio.settlement_class == "semi_urban"
