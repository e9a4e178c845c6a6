"""A round's change and its staff audit record commit together: the services write the record
inside the change's own transaction, so a change that fails – refused by a rule, or lost with
its database connection at the commit – leaves no record, and a record never stands for a
change that did not happen."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from app.audit import AuditRecord
from app.database import utcnow
from app.errors import DomainError
from app.settings import Settings
from tests.conftest import TEST_SECRET
from tests.factories import make_area
from tests.voting.factories import (
    add_proposal,
    adult_birth_date,
    draft_in_phase,
    make_round,
    move_to,
    put_on_roll,
)
from voting import publication, rounds
from voting.ballots import cast_ballot
from voting.models import Publication, RollEntry, Round, RoundChange

SEED = Settings(secret_key=TEST_SECRET).signing_seed


async def records(database, action: str) -> int:
    async with database.sessionmaker() as session:
        return await session.scalar(
            select(func.count()).select_from(AuditRecord).where(AuditRecord.action == action)
        )


def connection_lost_at_commit(monkeypatch, module, database):
    """Make `module`'s record_action write its record and then lose the session's database
    connection, so that the commit that follows fails."""
    original = module.record_action

    async def record_then_die(session, *args, **kwargs):
        written = await original(session, *args, **kwargs)
        backend = await session.scalar(text("SELECT pg_backend_pid()"))
        async with database.raw_connection() as killer:
            assert await killer.fetchval("SELECT pg_terminate_backend($1)", backend)
        return written

    monkeypatch.setattr(module, "record_action", record_then_die)


async def test_a_round_change_and_its_record_commit_together_or_not_at_all(
    database, db, monkeypatch
):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 1000})
    saved_before = await records(database, "round.save")
    renamed = draft_in_phase(
        "ideas", {kallio.id: 1000}, title={"fi": "Uusi nimi", "en": "New name"}
    )
    connection_lost_at_commit(monkeypatch, rounds, database)
    async with database.sessionmaker() as session:
        with pytest.raises(DBAPIError):
            await rounds.update_round(session, await rounds.get_round(session, round_.id), renamed)
    monkeypatch.undo()
    assert await records(database, "round.save") == saved_before
    async with database.sessionmaker() as session:
        assert (await session.get(Round, round_.id)).title["en"] != "New name"
    # A change refused by a rule leaves no record either.
    async with database.sessionmaker() as session:
        no_budget = draft_in_phase("ideas", {})
        with pytest.raises(DomainError):
            await rounds.update_round(
                session, await rounds.get_round(session, round_.id), no_budget
            )
    assert await records(database, "round.save") == saved_before
    # And the same change, with the connection kept, stores both.
    async with database.sessionmaker() as session:
        await rounds.update_round(session, await rounds.get_round(session, round_.id), renamed)
    assert await records(database, "round.save") == saved_before + 1
    async with database.sessionmaker() as session:
        assert (await session.get(Round, round_.id)).title["en"] == "New name"


async def test_closing_voting_early_and_its_record_commit_together_or_not_at_all(
    database, db, monkeypatch
):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "voting", {kallio.id: 1000})
    original_close = round_.voting_close_at
    soon = utcnow().replace(microsecond=0) + dt.timedelta(hours=2)
    reason = {"en": "The hall is needed for another event."}
    connection_lost_at_commit(monkeypatch, rounds, database)
    async with database.sessionmaker() as session:
        with pytest.raises(DBAPIError):
            await rounds.change_voting_close(
                session, await rounds.get_round(session, round_.id), soon, reason, None
            )
    monkeypatch.undo()
    assert await records(database, "round.close_early") == 0
    async with database.sessionmaker() as session:
        assert (await session.get(Round, round_.id)).voting_close_at == original_close
        assert await session.scalar(select(func.count()).select_from(RoundChange)) == 0
    async with database.sessionmaker() as session:
        await rounds.change_voting_close(
            session, await rounds.get_round(session, round_.id), soon, reason, None
        )
    assert await records(database, "round.close_early") == 1
    async with database.sessionmaker() as session:
        assert (await session.get(Round, round_.id)).voting_close_at == soon
        assert await session.scalar(select(func.count()).select_from(RoundChange)) == 1


async def test_publication_and_its_record_commit_together_or_not_at_all(database, db, monkeypatch):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "voting", {kallio.id: 100_000})
    park = await add_proposal(db, round_, kallio, "Park benches", 60_000)
    await put_on_roll(db, round_, [("131052-308T", adult_birth_date(), kallio)])
    entry = await db.scalar(select(RollEntry))
    await cast_ballot(db, round_, entry.id, "online", {park.id: 1}, kallio.id)
    await move_to(db, await db.get(Round, round_.id), "results")
    connection_lost_at_commit(monkeypatch, publication, database)
    async with database.sessionmaker() as session:
        with pytest.raises(DBAPIError):
            await publication.publish(
                session, await rounds.get_round(session, round_.id), SEED, None
            )
    monkeypatch.undo()
    assert await records(database, "round.publish") == 0
    async with database.sessionmaker() as session:
        assert (await session.get(Round, round_.id)).published_at is None
        assert await session.scalar(select(func.count()).select_from(Publication)) == 0
    async with database.sessionmaker() as session:
        await publication.publish(session, await rounds.get_round(session, round_.id), SEED, None)
    assert await records(database, "round.publish") == 1
    async with database.sessionmaker() as session:
        assert (await session.get(Round, round_.id)).published_at is not None
        assert await session.scalar(select(func.count()).select_from(Publication)) == 1
