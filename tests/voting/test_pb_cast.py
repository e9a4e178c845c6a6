"""The one write path of a budgeting ballot, `cast_ballot`, run by the same tests on PostgreSQL
(one statement) and SQLite (three statements in one transaction), as `make run` uses."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from app.database import Database
from app.errors import DomainError
from app.migrate import upgrade_to_head
from tests.factories import make_area
from tests.voting.factories import (
    ROLL_KEY,
    add_proposal,
    adult_birth_date,
    make_round,
    move_to,
    put_on_roll,
)
from voting.ballots import AlreadyVotedError, AreaChangedError, cast_ballot
from voting.mixing import mix_round
from voting.models import LogEntry, PendingBallot, RollEntry, Round, VotingCode
from voting.roll import issue_assisted_code
from voting.tally.board import canonical, check_log, entry_body, tracker_of


@pytest.fixture(params=["postgresql", "sqlite"])
async def both(request, database, db, tmp_path) -> AsyncIterator[Database]:
    """The test's database: the suite's PostgreSQL (emptied after the test by `db`) or a fresh
    SQLite file migrated by the same Alembic history."""
    if request.param == "postgresql":
        yield database
        return
    sqlite = Database(f"sqlite+aiosqlite:///{tmp_path / 'cast.sqlite3'}")
    async with sqlite.engine.begin() as connection:
        await upgrade_to_head(connection)
    try:
        yield sqlite
    finally:
        await sqlite.dispose()


async def a_round(session):
    """Voting: Kallio 100 000 € and city-wide 300 000 €; two Kallio voters, one in Vuosaari."""
    kallio, vuosaari = await make_area(session, "Kallio"), await make_area(session, "Vuosaari")
    round_ = await make_round(session, "voting", {kallio.id: 100_000, None: 300_000})
    park = await add_proposal(session, round_, kallio, "Park benches", 60_000)
    library = await add_proposal(session, round_, None, "Library hours", 200_000)
    await put_on_roll(
        session,
        round_,
        [
            ("131052-308T", adult_birth_date(), kallio),
            ("010203A123B", adult_birth_date(), kallio),
            ("311299-999E", adult_birth_date(), vuosaari),
        ],
    )
    entries = list(await session.scalars(select(RollEntry).order_by(RollEntry.id)))
    # Loaded copies that a refused cast's rollback does not expire (as the ballot cache keeps).
    session.expunge_all()
    return round_, {"park": park, "library": library}, entries


async def pending(session) -> list[PendingBallot]:
    return list(
        await session.scalars(select(PendingBallot).execution_options(populate_existing=True))
    )


async def test_a_cast_marks_the_roll_and_stores_one_pending_ballot_with_its_tracker(both):
    async with both.sessionmaker() as session:
        round_, p, entries = await a_round(session)
        choices = {p["library"].id: 1, p["park"].id: 1}
        tracker = await cast_ballot(session, round_, entries[0].id, "online", choices)
        (stored,) = await pending(session)
        entry = await session.get(RollEntry, entries[0].id, populate_existing=True)
    assert entry.voted_via == "online"
    assert stored.tracker == tracker
    assert stored.area_id == entries[0].area_id
    assert stored.choices == {str(p["park"].id): 1, str(p["library"].id): 1}
    # The receipt is the hash of the entry the log will carry: round, district, ballot, choices.
    assert tracker == tracker_of(entry_body(round_.slug, stored.area_id, stored.id, choices))
    assert len(stored.id) == 32


async def test_a_second_cast_by_the_same_voter_is_refused_and_stores_nothing(both):
    async with both.sessionmaker() as session:
        round_, p, entries = await a_round(session)
        await cast_ballot(session, round_, entries[0].id, "online", {p["park"].id: 1})
        with pytest.raises(AlreadyVotedError):
            await cast_ballot(session, round_, entries[0].id, "paper", {p["library"].id: 1})
        assert len(await pending(session)) == 1
        entry = await session.get(RollEntry, entries[0].id, populate_existing=True)
    assert entry.voted_via == "online"


async def test_a_changed_district_an_unknown_voter_and_a_closed_round_are_refused(both):
    async with both.sessionmaker() as session:
        round_, _p, entries = await a_round(session)
        kallio_voter, vuosaari = entries[0], entries[2]
        with pytest.raises(AreaChangedError):
            await cast_ballot(session, round_, kallio_voter.id, "online", {}, vuosaari.area_id)
        with pytest.raises(DomainError, match="not on the voter roll"):
            await cast_ballot(session, round_, 999_999, "online", {}, None)
        await move_to(session, await session.get(Round, round_.id), "counting")
        with pytest.raises(DomainError, match="Voting is not open"):
            await cast_ballot(session, round_, kallio_voter.id, "online", {}, kallio_voter.area_id)
        assert await pending(session) == []
        marked = await session.scalar(
            select(func.count()).select_from(RollEntry).where(RollEntry.voted_via.is_not(None))
        )
    assert marked == 0


async def test_a_cast_after_publication_is_refused(both):
    async with both.sessionmaker() as session:
        round_, _p, entries = await a_round(session)
        stored_round = await session.get(Round, round_.id)
        stored_round.published_at = stored_round.voting_open_at
        await session.commit()
        with pytest.raises(DomainError, match="Voting is not open"):
            await cast_ballot(session, round_, entries[0].id, "online", {})
        assert await pending(session) == []


async def test_an_assisted_cast_deletes_the_voters_one_time_code_and_no_other(both):
    async with both.sessionmaker() as session:
        round_, p, entries = await a_round(session)
        today = dt.datetime.now(dt.UTC).date()
        for who in ("131052-308T", "010203A123B"):
            await issue_assisted_code(session, round_, ROLL_KEY, who, adult_birth_date(), today)
        codes = await session.scalar(select(func.count()).select_from(VotingCode))
        assert codes == 2
        await cast_ballot(session, round_, entries[0].id, "assisted", {p["park"].id: 1})
        left = list(await session.scalars(select(VotingCode.roll_id)))
    assert left == [entries[1].id]


async def test_an_unknown_channel_is_a_programming_error(both):
    async with both.sessionmaker() as session:
        round_, _p, entries = await a_round(session)
        with pytest.raises(ValueError, match="telegram"):
            await cast_ballot(session, round_, entries[0].id, "telegram", {})
        assert await pending(session) == []


async def test_simultaneous_casts_by_one_voter_store_exactly_one_ballot(both):
    async with both.sessionmaker() as session:
        round_, p, entries = await a_round(session)

    async def attempt():
        async with both.sessionmaker() as session:
            try:
                await cast_ballot(session, round_, entries[0].id, "online", {p["park"].id: 1})
            except AlreadyVotedError:
                return "refused"
            return "stored"

    outcomes = await asyncio.gather(*(attempt() for _ in range(20)))
    assert sorted(set(outcomes)) == ["refused", "stored"]
    assert outcomes.count("stored") == 1
    async with both.sessionmaker() as session:
        assert len(await pending(session)) == 1


async def test_cast_ballots_join_one_valid_log_through_the_mixer(both):
    async with both.sessionmaker() as session:
        round_, p, entries = await a_round(session)
        receipts = [
            await cast_ballot(session, round_, entry.id, "online", {p["library"].id: 1})
            for entry in entries
        ]
        closed = await session.get(Round, round_.id)
        await move_to(session, closed, "counting")
        assert await mix_round(session, closed, final=True) == len(entries)
        rows = [
            tuple(row)
            for row in await session.execute(
                select(LogEntry.seq, LogEntry.entry, LogEntry.hash).order_by(LogEntry.seq)
            )
        ]
    count, _head, problem = check_log(round_.slug, rows)
    assert (count, problem) == (3, None)
    assert sorted(json.loads(row[1])["tracker"] for row in rows) == sorted(receipts)
    assert all(canonical(json.loads(row[1])) == row[1] for row in rows)
