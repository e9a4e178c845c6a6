"""The one write path of a budgeting ballot, `cast_ballot`, run by the same tests on PostgreSQL
(one statement) and SQLite (three statements in one transaction), as `make run` uses."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from app.database import Database
from app.errors import DomainError
from app.migrate import upgrade_to_head
from app.settings import Settings
from tests.conftest import TEST_SECRET
from tests.factories import make_area
from tests.voting.factories import (
    ROLL_KEY,
    add_proposal,
    adult_birth_date,
    make_round,
    move_to,
    put_on_roll,
)
from voting.ballots import AlreadyVotedError, AreaChangedError, canonical_choices, cast_ballot
from voting.mixing import mix_round
from voting.models import LogEntry, PendingBallot, RollEntry, Round, VotingCode
from voting.roll import issue_assisted_code
from voting.tally.board import canonical, check_log, entry_body, tracker_of


@dataclass
class Case:
    """One way the cast runs: the database, and whether a voter's cast on PostgreSQL takes the
    plain asyncpg connection (the residents' cast page passes the app's Database)."""

    database: Database
    hot: bool = False

    def sessionmaker(self):
        return self.database.sessionmaker()

    async def cast(self, session, round_, roll_id, channel, choices, *area) -> str:
        if not self.hot:
            return await cast_ballot(session, round_, roll_id, channel, choices, *area)
        # As the cast page calls it: the voter's district given, nothing begun in the session.
        if not area:
            async with self.sessionmaker() as other:
                area = (
                    await other.scalar(select(RollEntry.area_id).where(RollEntry.id == roll_id)),
                )
        if session.in_transaction():
            await session.commit()
        return await cast_ballot(
            session, round_, roll_id, channel, choices, *area, database=self.database
        )


@pytest.fixture(params=["postgresql", "postgresql-asyncpg", "sqlite"])
async def both(request, database, db, tmp_path) -> AsyncIterator[Case]:
    """The test's database: the suite's PostgreSQL (emptied after the test by `db`), through
    the session or the plain asyncpg connection, or a fresh SQLite file migrated by the same
    Alembic history."""
    if request.param.startswith("postgresql"):
        yield Case(database, hot=request.param.endswith("asyncpg"))
        return
    sqlite = Database(f"sqlite+aiosqlite:///{tmp_path / 'cast.sqlite3'}")
    async with sqlite.engine.begin() as connection:
        await upgrade_to_head(connection)
    try:
        yield Case(sqlite)
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
        tracker = await both.cast(session, round_, entries[0].id, "online", choices)
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
        await both.cast(session, round_, entries[0].id, "online", {p["park"].id: 1})
        with pytest.raises(AlreadyVotedError):
            await both.cast(session, round_, entries[0].id, "paper", {p["library"].id: 1})
        assert len(await pending(session)) == 1
        entry = await session.get(RollEntry, entries[0].id, populate_existing=True)
    assert entry.voted_via == "online"


async def test_a_changed_district_an_unknown_voter_and_a_closed_round_are_refused(both):
    async with both.sessionmaker() as session:
        round_, _p, entries = await a_round(session)
        kallio_voter, vuosaari = entries[0], entries[2]
        with pytest.raises(AreaChangedError):
            await both.cast(session, round_, kallio_voter.id, "online", {}, vuosaari.area_id)
        with pytest.raises(DomainError, match="not on the voter roll"):
            await both.cast(session, round_, 999_999, "online", {}, None)
        await move_to(session, await session.get(Round, round_.id), "counting")
        with pytest.raises(DomainError, match="Voting is not open"):
            await both.cast(session, round_, kallio_voter.id, "online", {}, kallio_voter.area_id)
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
            await both.cast(session, round_, entries[0].id, "online", {})
        assert await pending(session) == []


async def test_an_assisted_cast_deletes_the_voters_one_time_code_and_no_other(both):
    async with both.sessionmaker() as session:
        round_, p, entries = await a_round(session)
        today = dt.datetime.now(dt.UTC).date()
        for who in ("131052-308T", "010203A123B"):
            await issue_assisted_code(session, round_, ROLL_KEY, who, adult_birth_date(), today)
        codes = await session.scalar(select(func.count()).select_from(VotingCode))
        assert codes == 2
        await both.cast(session, round_, entries[0].id, "assisted", {p["park"].id: 1})
        left = list(await session.scalars(select(VotingCode.roll_id)))
    assert left == [entries[1].id]


async def test_an_unknown_channel_is_a_programming_error(both):
    async with both.sessionmaker() as session:
        round_, _p, entries = await a_round(session)
        with pytest.raises(ValueError, match="telegram"):
            await both.cast(session, round_, entries[0].id, "telegram", {})
        assert await pending(session) == []


async def test_simultaneous_casts_by_one_voter_store_exactly_one_ballot(both):
    async with both.sessionmaker() as session:
        round_, p, entries = await a_round(session)

    async def attempt():
        async with both.sessionmaker() as session:
            try:
                await both.cast(session, round_, entries[0].id, "online", {p["park"].id: 1})
            except AlreadyVotedError:
                return "refused"
            return "stored"

    attempts = 100 if both.database.is_postgresql else 20
    outcomes = await asyncio.gather(*(attempt() for _ in range(attempts)))
    assert sorted(set(outcomes)) == ["refused", "stored"]
    assert outcomes.count("stored") == 1
    async with both.sessionmaker() as session:
        assert len(await pending(session)) == 1


async def test_cast_ballots_join_one_valid_log_through_the_mixer(both):
    async with both.sessionmaker() as session:
        round_, p, entries = await a_round(session)
        receipts = [
            await both.cast(session, round_, entry.id, "online", {p["library"].id: 1})
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


async def test_a_voters_cast_on_postgresql_takes_one_plain_connection(database, db, monkeypatch):
    round_, p, entries = await a_round(db)
    taken = []
    original = type(database).raw_connection

    def counted(self):
        taken.append(self)
        return original(self)

    monkeypatch.setattr(type(database), "raw_connection", counted)
    await db.commit()  # nothing begun in the session, as on the cast page
    tracker = await cast_ballot(
        db,
        round_,
        entries[0].id,
        "online",
        {p["park"].id: 1},
        entries[0].area_id,
        database=database,
    )
    assert taken == [database]
    assert [b.tracker for b in await pending(db)] == [tracker]


PABULIB = """META
key;value
budget;100
vote_type;approval
PROJECTS
project_id;cost;name
p1;60;Park
p2;50;Lights
p3;40;Sauna
VOTES
voter_id;vote
1;p1,p2
2;p2
3;p3,p1
"""


async def test_a_pabulib_import_writes_its_ballots_through_the_one_log_writer(
    database, db, monkeypatch
):
    """The import adds no log writer of its own: every entry comes through BallotLog.append,
    in the file's order, and the round's log is one valid chain the publication counted."""
    from voting.exports import import_pabulib
    from voting.mixing import BallotLog
    from voting.models import Proposal
    from voting.tally import parse_pabulib
    from voting.tally.board import GENESIS

    appended = []
    original = BallotLog.append

    async def spy(session, round_ref, ballots):
        appended.append(list(ballots))
        return await original(session, round_ref, ballots)

    monkeypatch.setattr(BallotLog, "append", spy)
    seed = Settings(secret_key=TEST_SECRET).signing_seed
    round_ = await import_pabulib(db, parse_pabulib(PABULIB), "Imported", seed)
    ids = {
        p.external_id: p.id
        for p in await db.scalars(select(Proposal).where(Proposal.round_id == round_.id))
    }
    assert len(appended) == 1
    assert [ballot.choices for ballot in appended[0]] == [
        {str(ids["p1"]): 1, str(ids["p2"]): 1},
        {str(ids["p2"]): 1},
        canonical_choices({ids["p3"]: 1, ids["p1"]: 1}),
    ]
    rows = [
        tuple(row)
        for row in await db.execute(
            select(LogEntry.seq, LogEntry.entry, LogEntry.hash)
            .where(LogEntry.round_id == round_.id)
            .order_by(LogEntry.seq)
        )
    ]
    count, head, problem = check_log(round_.slug, rows)
    assert (count, problem) == (3, None)
    assert head != GENESIS
    assert [json.loads(row[1])["selections"] for row in rows] == [
        ballot.choices for ballot in appended[0]
    ]
    assert (await db.get(Round, round_.id, populate_existing=True)).published_at is not None
