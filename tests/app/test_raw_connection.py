"""`RawConnection` runs SQLAlchemy Core statements on a plain asyncpg connection (the busy
writes' PostgreSQL side): it must give what SQLAlchemy's own connection gives for the same
statement, processors included, or the two databases' write paths would drift apart."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Integer, String, bindparam, literal_column, select

from app.database import Database, PortableJSON, RawConnection, UTCDateTime

HELSINKI = ZoneInfo("Europe/Helsinki")

STATEMENT = select(
    bindparam("when", type_=UTCDateTime).label("when"),
    bindparam("data", type_=PortableJSON).label("data"),
    bindparam("n", type_=Integer).label("n"),
    (bindparam("n", type_=Integer) + 1).label("next"),  # the same parameter twice
    bindparam("text", type_=String).label("text"),
    literal_column("'fixed'").label("not an identifier"),
)
VALUES = {
    "when": dt.datetime(2026, 12, 6, 17, 30, tzinfo=HELSINKI),
    "data": {"ä": [1, 2.5, None, True], "nested": {"x": "<&>"}},
    "n": 41,
    "text": "Åbo – Turku",
}


async def test_a_statement_gives_the_same_row_as_through_sqlalchemy(database: Database) -> None:
    async with database.engine.connect() as connection:
        expected = (await connection.execute(STATEMENT, VALUES)).one()
    async with database.raw_connection() as plain:
        result = await RawConnection(plain).execute(STATEMENT, VALUES)
        got = result.one()
        assert await RawConnection(plain).scalar(STATEMENT, VALUES) == expected[0]
    assert tuple(got) == tuple(expected)
    # The UTC timestamp comes back in UTC, as UTCDateTime promises, the same instant.
    assert got.when == dt.datetime(2026, 12, 6, 15, 30, tzinfo=dt.UTC)
    assert got.when.tzinfo == dt.UTC
    assert got.data == VALUES["data"]
    assert got.next == 42
    assert result.mappings().first()["text"] == "Åbo – Turku"


async def test_bind_processors_run_a_naive_time_is_refused(database: Database) -> None:
    async with database.raw_connection() as plain:
        with pytest.raises(ValueError, match="naive"):
            await RawConnection(plain).execute(
                STATEMENT,
                {**VALUES, "when": dt.datetime(2026, 1, 1)},  # noqa: DTZ001
            )


async def test_no_row_and_many_rows(database: Database) -> None:
    nothing = select(bindparam("n", type_=Integer)).where(bindparam("n", type_=Integer) > 5)
    async with database.raw_connection() as plain:
        raw = RawConnection(plain)
        assert (await raw.execute(nothing, {"n": 1})).first() is None
        assert await raw.scalar(nothing, {"n": 1}) is None
        with pytest.raises(ValueError, match="one row expected"):
            (await raw.execute(nothing, {"n": 1})).one()
