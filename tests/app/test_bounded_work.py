"""Expensive work stays bounded under a flood, and a lost Redis or an empty pool is a 503 or a
fallback, never a 500."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from litestar import get
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import func, select
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from app.accounts import passwords
from app.accounts.services import ACCOUNT_FAILURES
from app.errors import ServiceBusyError
from app.ratelimit import FallbackRateLimiter
from app.web import create_app
from surveys.polls.models import PollVote
from tests.factories import PASSWORD, make_user
from tests.surveys.polls_factories import make_poll
from tests.surveys.test_polls import TOKEN


@get("/test/pool-timeout")
async def pool_timeout() -> str:
    raise PoolTimeoutError("QueuePool limit of size 10 overflow 10 reached")


@get("/test/redis-refused")
async def redis_refused() -> str:
    raise RedisConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")


async def client_of(app) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("192.0.2.7", 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver.local")


@pytest.fixture
async def concurrent(settings, db) -> AsyncIterator[tuple]:
    app = create_app(settings, extra_route_handlers=(pool_timeout, redis_refused))
    async with await client_of(app) as client:
        yield app, client
    await app.state.db.dispose()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
async def without_redis(settings, db) -> AsyncIterator[tuple]:
    """Redis configured but not there: nothing listens on its port."""
    stopped = dataclasses.replace(settings, redis_url=f"redis://127.0.0.1:{closed_port()}/0")
    app = create_app(stopped)
    async with await client_of(app) as client:
        yield app, client
    await app.state.limiter.close()
    await app.state.db.dispose()


async def sign_in(client, email, password):
    await client.get("/staff/login?lang=en")
    return await client.post(
        "/staff/login",
        data={"email": email, "password": password, "_csrf_token": client.cookies["tori_csrf"]},
    )


class SlowHasher:
    """The test's hasher, made slow, noting how many database connections are out meanwhile."""

    def __init__(self, hasher, app, seconds: float = 0.3) -> None:
        self.hasher, self.app, self.seconds = hasher, app, seconds
        self.connections_out: list[int] = []

    def __getattr__(self, name):
        return getattr(self.hasher, name)

    def verify(self, password_hash, password):
        self.connections_out.append(self.app.state.db.engine.pool.checkedout())
        time.sleep(self.seconds)
        return self.hasher.verify(password_hash, password)


async def test_no_database_connection_is_held_while_a_password_is_checked(
    concurrent, db, monkeypatch
):
    app, client = concurrent
    user = await make_user(db)
    slow = SlowHasher(passwords._hasher, app)
    monkeypatch.setattr(passwords, "_hasher", slow)
    # One at a time: a concurrent request's own connection would be counted too.
    assert (await sign_in(client, user.email, "wrong password")).status_code == 400
    assert (await sign_in(client, "nobody@example.fi", "wrong password")).status_code == 400
    assert (await sign_in(client, user.email, PASSWORD)).status_code == 303
    assert slow.connections_out == [0, 0, 0]


async def test_a_flood_of_sign_ins_hashes_within_the_budget_and_the_rest_get_503(
    concurrent, db, monkeypatch
):
    app, client = concurrent
    slow = SlowHasher(passwords._hasher, app, seconds=0.4)
    monkeypatch.setattr(passwords, "_hasher", slow)
    # Room for two hashes at once, two more waiting, for at most half a second.
    budget = passwords.HashBudget(
        budget_kib=2 * slow.memory_cost, queue_length=2, queue_seconds=0.5
    )
    monkeypatch.setattr(passwords, "HASH_BUDGET", budget)
    responses = await asyncio.gather(
        *(sign_in(client, f"guess{n}@example.fi", "wrong password") for n in range(12))
    )
    statuses = [r.status_code for r in responses]
    assert budget.most_running == 2
    assert set(statuses) == {400, 503}
    assert 2 <= statuses.count(400) <= 6
    busy = next(r for r in responses if r.status_code == 503)
    assert busy.headers["retry-after"].isdigit()
    assert "Service temporarily unavailable" in busy.text
    # The budget is whole again afterwards.
    assert budget.free_kib == budget.budget_kib
    assert not budget.waiting


async def test_a_waiting_hash_that_is_cancelled_gives_its_place_back():
    budget = passwords.HashBudget(budget_kib=1, queue_length=5, queue_seconds=5)
    first = asyncio.ensure_future(budget.run(1, time.sleep, 0.3))
    await asyncio.sleep(0.05)
    second = asyncio.ensure_future(budget.run(1, time.sleep, 0))
    await asyncio.sleep(0.05)
    second.cancel()
    await first
    with pytest.raises(asyncio.CancelledError):
        await second
    assert budget.free_kib == 1
    assert not budget.waiting
    full = passwords.HashBudget(budget_kib=1, queue_length=0, queue_seconds=5)
    running = asyncio.ensure_future(full.run(1, time.sleep, 0.2))
    await asyncio.sleep(0.05)
    with pytest.raises(ServiceBusyError):
        await full.run(1, time.sleep, 0)
    await running


async def test_an_empty_pool_and_a_lost_redis_are_the_busy_page_not_a_500(concurrent):
    _app, client = concurrent
    for path in ("/test/pool-timeout?lang=fi", "/test/redis-refused?lang=fi"):
        response = await client.get(path)
        assert response.status_code == 503
        assert response.headers["retry-after"].isdigit()
        assert '<html lang="fi">' in response.text


async def test_without_redis_staff_sign_in_works_and_is_still_limited(without_redis, db):
    app, client = without_redis
    assert isinstance(app.state.limiter, FallbackRateLimiter)
    user = await make_user(db)
    assert (await sign_in(client, user.email, PASSWORD)).status_code == 303
    for _ in range(ACCOUNT_FAILURES.count):
        assert (await sign_in(client, user.email, "wrong password")).status_code == 400
    # The failures were counted in the database: the account waits, the page is no 500.
    assert (await sign_in(client, user.email, PASSWORD)).status_code == 429


async def test_without_redis_a_poll_vote_is_recorded(without_redis, db):
    _app, client = without_redis
    poll = await make_poll(db)
    page = await client.get(f"/p/{poll.slug}?lang=en")
    assert page.status_code == 200
    response = await client.post(
        f"/p/{poll.slug}",
        data={
            "_csrf_token": client.cookies["tori_csrf"],
            "token": TOKEN.search(page.text).group(1),
            "answer_language": "en",
            "channel": "qr",
            "q_q1": "o1",
        },
    )
    assert response.status_code == 303
    assert await db.scalar(select(func.count()).select_from(PollVote)) == 1
    results = await client.get(f"/p/{poll.slug}/results?lang=en")
    assert results.status_code < 500
