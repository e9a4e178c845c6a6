"""The busy writes of surveys behave alike on PostgreSQL and on SQLite (`make run`).

Voting in a poll and answering the questionnaire have one write path each (surveys/storing.py);
these tests run it on both databases: the service itself, and the HTTP route with the fast path
on and off on SQLite (the PostgreSQL HTTP tests are test_polls.py and test_answering.py).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from app.database import Database, utcnow
from app.errors import DomainError
from app.migrate import upgrade_to_head
from app.state import DATABASE
from app.web import create_app
from surveys import services
from surveys.models import FeedbackPending, FeedbackResponse, FeedbackTally
from surveys.polls import services as polls
from surveys.polls.models import PollChoice, PollVote
from tests.factories import make_area, make_event
from tests.surveys.factories import open_questionnaire
from tests.surveys.polls_factories import FRUIT, SPORTS, make_poll

TOKEN = re.compile(r'name="token" value="([^"]+)"')


@pytest.fixture(scope="session")
async def sqlite_template(tmp_path_factory) -> Path:
    """An SQLite file migrated once; each test gets a copy of its own."""
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    database = Database(f"sqlite+aiosqlite:///{path}")
    async with database.engine.begin() as connection:
        await upgrade_to_head(connection)
    await database.dispose()
    return path


@pytest.fixture(params=["postgresql", "sqlite"])
async def store(request, database, db, sqlite_template, tmp_path) -> AsyncIterator[Database]:
    """The database the write runs on (PostgreSQL's tables are emptied by `db` afterwards)."""
    if request.param == "postgresql":
        yield database
        return
    path = tmp_path / "tori.sqlite3"
    shutil.copy(sqlite_template, path)
    sqlite = Database(f"sqlite+aiosqlite:///{path}")
    yield sqlite
    await sqlite.dispose()


async def count(store: Database, model, *where) -> int:
    async with store.sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def ballot(poll: polls.VotingPoll, token: str, **changes) -> polls.PollBallot:
    values = {
        "poll": poll,
        "token": token,
        "channel": polls.PollChannel.QR,
        "language": "fi",
        "voted_on": utcnow().date(),
        "rows": [("__responses__", ""), ("q1", "o1")],
    }
    return polls.PollBallot(**{**values, **changes})


async def cast(store: Database, made: polls.PollBallot) -> polls.CastOutcome:
    async with store.write_connection() as connection:
        return await polls.cast_vote(connection, made)


async def voting(store: Database, slug: str) -> polls.VotingPoll:
    async with store.write_connection() as connection:
        return await polls.voting_poll(connection, slug, fresh=True)


# --- a vote ---------------------------------------------------------------------------------


async def test_a_vote_is_stored_once_with_its_choices_and_area(store):
    async with store.sessionmaker() as session:
        area = await make_area(session, "Tapiola")
        poll = await make_poll(session)
    live = await voting(store, poll.slug)
    token = polls.new_vote_token("s", poll.slug)
    assert await cast(store, ballot(live, token, area_id=area.id)) == polls.CastOutcome.STORED
    # A double tap: the same form again stores nothing more.
    assert await cast(store, ballot(live, token, area_id=area.id)) == polls.CastOutcome.DUPLICATE
    assert await count(store, PollVote) == 1
    async with store.sessionmaker() as session:
        rows = (
            await session.execute(
                select(PollChoice.question_key, PollChoice.value, PollChoice.area_id)
            )
        ).all()
        results = await polls.poll_results(session, await polls.get_poll(session, poll.id))
    assert sorted(rows) == [("__responses__", "", area.id), ("q1", "o1", area.id)]
    assert results.votes == 1
    assert [(o.key, o.count) for o in results.questions[0].options] == [("o1", 1), ("o2", 0)]


async def test_an_unknown_area_falls_back_to_the_polls_own(store):
    async with store.sessionmaker() as session:
        area = await make_area(session, "Leppävaara")
        poll = await make_poll(session, area_id=area.id)
    live = await voting(store, poll.slug)
    made = ballot(live, polls.new_vote_token("s", poll.slug), area_id=999_999)
    assert await cast(store, made) == polls.CastOutcome.STORED
    async with store.sessionmaker() as session:
        assert await session.scalar(select(PollVote.area_id)) == area.id


async def test_a_poll_edited_or_closed_after_the_check_takes_no_vote(store):
    async with store.sessionmaker() as session:
        poll = await make_poll(session, questions=(FRUIT, SPORTS))
    checked = await voting(store, poll.slug)
    async with store.sessionmaker() as session:
        fresh = await polls.get_poll(session, poll.id)
        await polls.update_poll(
            session,
            fresh,
            polls.PollDraft(
                title=fresh.title,
                questions=fresh.questions,
                opens_at=fresh.opens_at,
                closes_at=fresh.closes_at + dt.timedelta(hours=1),
                visibility=polls.Visibility.STAFF,
            ),
        )
    made = ballot(checked, polls.new_vote_token("s", poll.slug))
    assert await cast(store, made) == polls.CastOutcome.CHANGED
    async with store.sessionmaker() as session:
        await polls.close_poll_now(session, await polls.get_poll(session, poll.id))
    closed = await voting(store, poll.slug)
    assert polls.poll_status(closed) == polls.PollStatus.CLOSED
    made = ballot(closed, polls.new_vote_token("s", poll.slug))
    assert await cast(store, made) == polls.CastOutcome.NOT_OPEN
    assert await count(store, PollVote) == 0
    assert await count(store, PollChoice) == 0


async def test_a_kiosk_votes_with_its_area_until_revoked(store):
    async with store.sessionmaker() as session:
        area = await make_area(session, "Sello")
        poll = await make_poll(session)
        kiosk, token = await polls.create_kiosk(session, poll, "Sello library", area.id)
    live = await voting(store, poll.slug)
    kiosk_id, secret = polls.split_kiosk_token(token)
    from_kiosk = {"kiosk_id": kiosk_id, "kiosk_secret_hash": polls.kiosk_secret_hash(secret)}
    made = ballot(live, polls.new_vote_token("s", poll.slug), channel="kiosk", **from_kiosk)
    assert await cast(store, made) == polls.CastOutcome.STORED
    forged = {**from_kiosk, "kiosk_secret_hash": polls.kiosk_secret_hash("forged")}
    made = ballot(live, polls.new_vote_token("s", poll.slug), channel="kiosk", **forged)
    assert await cast(store, made) == polls.CastOutcome.KIOSK_REVOKED
    async with store.sessionmaker() as session:
        await polls.revoke_kiosk(session, kiosk.id, poll_id=poll.id)
    made = ballot(live, polls.new_vote_token("s", poll.slug), channel="kiosk", **from_kiosk)
    assert await cast(store, made) == polls.CastOutcome.KIOSK_REVOKED
    async with store.sessionmaker() as session:
        assert (await session.execute(select(PollVote.channel, PollVote.area_id))).all() == [
            ("kiosk", area.id)
        ]


# --- an answer sheet --------------------------------------------------------------------------


async def answer(store: Database, questionnaire, answers: dict, token: str, **options) -> bool:
    async with store.write_connection() as connection:
        form = await services.load_answering_form(connection, questionnaire.slug)
        areas = await services.current_area_options(connection)
        questions = services.questions_for(form, "fi", areas)
        return await services.submit_response(
            connection, form, questions=questions, answers=answers, language="fi", token=token
        )


async def test_an_answer_is_stored_once_with_its_counts(store):
    async with store.sessionmaker() as session:
        area = await make_area(session, "Matinkylä")
        questionnaire = await open_questionnaire(
            session, await make_event(session, area=area, starts_in=-dt.timedelta(hours=2))
        )
    answers = {"satisfaction": 4, "heard_from": ["friend"], "home_area": area.slug}
    token = services.new_submission_token("s", questionnaire.slug)
    assert await answer(store, questionnaire, answers, token) is True
    assert await answer(store, questionnaire, {"satisfaction": 1}, token) is False
    assert await count(store, FeedbackResponse) == 1
    async with store.sessionmaker() as session:
        row = await session.scalar(select(FeedbackResponse))
        pending = sorted(
            tuple(p)
            for p in await session.execute(
                select(FeedbackPending.question_key, FeedbackPending.value)
            )
        )
    assert row.answers == answers
    assert ("satisfaction", "4") in pending
    assert ("home_area", area.slug) in pending
    assert ("satisfaction", "1") not in pending


async def test_a_closed_questionnaire_takes_no_answer(store):
    async with store.sessionmaker() as session:
        questionnaire = await open_questionnaire(
            session, await make_event(session, starts_in=-dt.timedelta(hours=2))
        )
        questionnaire.closes_at = utcnow() - dt.timedelta(minutes=1)
        await session.commit()
    with pytest.raises(DomainError):
        await answer(store, questionnaire, {"satisfaction": 4}, "token-1")
    assert await count(store, FeedbackResponse) == 0
    assert await count(store, FeedbackPending) == 0


async def test_folding_moves_each_count_into_the_tally_exactly_once(store):
    async with store.sessionmaker() as session:
        questionnaire = await open_questionnaire(
            session, await make_event(session, starts_in=-dt.timedelta(hours=2))
        )
    for number, value in enumerate((4, 4, 5)):
        assert await answer(store, questionnaire, {"satisfaction": value}, f"t{number}")
    async with store.engine.connect() as connection:
        assert await services.fold_pending_counts(connection) == 6  # 3 × (satisfaction, voter)
        assert await services.fold_pending_counts(connection) == 0
    assert await answer(store, questionnaire, {"satisfaction": 4}, "t9")
    # The folding that answering does now and then, made certain here.
    services.FOLD_CHANCE = 1.0
    await services.fold_now_and_then(store.engine)
    async with store.sessionmaker() as session:
        rows = await session.execute(
            select(FeedbackTally.value, FeedbackTally.count).where(
                FeedbackTally.question_key == "satisfaction"
            )
        )
        tally = dict(rows.all())
    assert tally == {"4": 3, "5": 1}
    assert await count(store, FeedbackPending) == 0


# --- over HTTP, on SQLite (what `make run` serves), with the fast path on and off -------------


@pytest.fixture
async def sqlite_client(settings, sqlite_template, tmp_path, fast_path) -> AsyncIterator:
    path = tmp_path / "served.sqlite3"
    shutil.copy(sqlite_template, path)
    served = replace(
        settings, database_url=f"sqlite+aiosqlite:///{path}", fast_path=fast_path, redis_url=None
    )
    app = create_app(served)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        client.follow_redirects = False
        yield client, DATABASE.of(app)


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-path", "controller"], indirect=True)
async def test_voting_and_answering_on_sqlite_over_http(sqlite_client):
    client, store = sqlite_client
    async with store.sessionmaker() as session:
        poll = await make_poll(session)
        questionnaire = await open_questionnaire(
            session, await make_event(session, starts_in=-dt.timedelta(hours=2))
        )
    page = await client.get(f"/p/{poll.slug}?lang=sv")
    vote = {
        "_csrf_token": client.cookies["tori_csrf"],
        "token": TOKEN.search(page.text).group(1),
        "answer_language": "sv",
        "channel": "qr",
    }
    refused = await client.post(f"/p/{poll.slug}", data={**vote, "q_q1": "o9"})
    assert refused.status_code == 400
    assert "Välj bland alternativen som visas." in refused.text
    sent = await client.post(f"/p/{poll.slug}", data={**vote, "q_q1": "o2"})
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/p/{poll.slug}/thanks"
    client.cookies.delete("tori_voted")
    again = await client.post(f"/p/{poll.slug}", data={**vote, "q_q1": "o2"})
    assert again.status_code == 303  # a double tap counts once
    assert await count(store, PollVote) == 1
    page = await client.get(f"/f/{questionnaire.slug}?lang=en")
    sheet = {
        "_csrf_token": client.cookies["tori_csrf"],
        "token": TOKEN.search(page.text).group(1),
        "answer_language": "en",
    }
    refused = await client.post(f"/f/{questionnaire.slug}", data=sheet)
    assert refused.status_code == 400
    assert "Please answer this question." in refused.text
    sent = await client.post(f"/f/{questionnaire.slug}", data={**sheet, "q_satisfaction": "5"})
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/f/{questionnaire.slug}/thanks"
    assert "tori_answered=" in sent.headers["set-cookie"]
    assert await count(store, FeedbackResponse) == 1
    assert await count(store, FeedbackPending, FeedbackPending.value == "5") == 1
