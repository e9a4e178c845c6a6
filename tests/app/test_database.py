"""Schema, migrations, rate limits and commands on PostgreSQL and on the embedded SQLite default."""

import asyncio
import os
import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, text

from app.database import Database, create_engine
from app.events.models import Event
from app.migrate import upgrade_to_head
from app.models import metadata
from app.ratelimit import BatchedCounter, DatabaseRateLimiter, Limit, RedisRateLimiter
from app.search import include_in_comparison
from app.settings import Settings
from app.web import create_app
from tests import commands
from tests.conftest import TEST_SECRET
from tests.postgres import fresh_database

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def drift(connection) -> list:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": include_in_comparison}
    )
    return compare_metadata(context, metadata)


async def migrate_and_diff(url: str) -> list:
    engine = create_engine(url)
    async with engine.begin() as connection:
        await upgrade_to_head(connection)
        await upgrade_to_head(connection)  # a second run is a no-op
        differences = await connection.run_sync(drift)
    await engine.dispose()
    return differences


def test_postgres_upgrade_from_empty_matches_the_models(postgres_server_url):
    with fresh_database(postgres_server_url, "mig") as url:
        assert asyncio.run(migrate_and_diff(url)) == []


async def test_sqlite_upgrade_from_empty_matches_the_models(tmp_path):
    assert await migrate_and_diff(f"sqlite+aiosqlite:///{tmp_path / 'tori.sqlite3'}") == []


async def test_database_rate_limiter_counts_per_key_and_window(database):
    limiter = DatabaseRateLimiter(database.sessionmaker)
    limit = Limit(count=3, seconds=60)
    assert [await limiter.hit("k1", limit) for _ in range(4)] == [1, 2, 3, 4]
    assert await limiter.hits("k2", limit) == 0
    await limiter.reset("k1", limit)
    assert await limiter.hits("k1", limit) == 0
    async with database.engine.begin() as connection:
        await connection.execute(text("TRUNCATE rate_limit_counter"))


async def test_redis_rate_limiter_counts_across_clients():
    first, second = RedisRateLimiter(REDIS_URL), RedisRateLimiter(REDIS_URL)
    limit = Limit(count=5, seconds=60)
    key = f"test-{os.getpid()}"
    try:
        await first.reset(key, limit)
        assert await first.hit(key, limit) == 1
        assert await second.hit(key, limit) == 2
        assert await first.hits(key, limit) == 2
        await second.reset(key, limit)
    except OSError as error:
        pytest.fail(f"Redis is needed at {REDIS_URL} (set TEST_REDIS_URL): {error}")
    finally:
        await first.close()
        await second.close()


class CountingLimiter:
    """A real Redis limiter that also counts its round trips."""

    def __init__(self, limiter: RedisRateLimiter) -> None:
        self.limiter, self.calls = limiter, 0
        self.added = asyncio.Event()  # set when an `add` has reached Redis

    async def add(self, key, limit, amount):
        self.calls += 1
        total = await self.limiter.add(key, limit, amount)
        self.added.set()
        return total

    async def hit(self, key, limit):
        self.calls += 1
        return await self.limiter.hit(key, limit)


class StoppedClock:
    """The counter's clock, moved only by the test: no hit falls on either side of a 50 ms line
    by how busy the machine happens to be."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_batched_counters_share_one_count_and_save_round_trips():
    """Two processes' batched counters over one Redis: exact near the limit, batched far from it."""
    redis = RedisRateLimiter(REDIS_URL)
    key = f"batched-{os.getpid()}"
    try:
        shared = CountingLimiter(redis)
        clock = StoppedClock()
        first, second = BatchedCounter(shared, clock=clock), BatchedCounter(shared, clock=clock)
        far = Limit(count=10_000, seconds=60)
        await redis.reset(key, far)
        counts = [await first.hit(key, far) for _ in range(200)]
        assert counts == list(range(1, 201))
        # The first hit asks the shared store; the other 199 come within the same 50 ms.
        assert shared.calls == 1
        # The unsent hits reach the shared store without a further hit, in one round trip.
        shared.added.clear()
        await asyncio.wait_for(shared.added.wait(), timeout=10)
        assert shared.calls == 2
        assert await redis.hits(key, far) == 200
        assert await second.hit(key, far) == 201  # the other process sees the first one's hits
        near = Limit(count=10, seconds=60)
        other = key + "-near"
        await redis.reset(other, near)
        # A small limit is counted in the shared store at every hit, whichever process takes
        # it: batching would let a large share of the limit through twice.
        counts = [await (first if n % 2 else second).hit(other, near) for n in range(12)]
        assert counts == list(range(1, 13))
        assert await redis.hits(other, near) == 12
        await redis.reset(key, far)
        await redis.reset(other, near)
    except OSError as error:
        pytest.fail(f"Redis is needed at {REDIS_URL} (set TEST_REDIS_URL): {error}")
    finally:
        await redis.close()


def run_tori(*arguments: str, database_url: str, **settings: str) -> subprocess.CompletedProcess:
    """`tori ARGUMENTS` on that database, in this process (tests/commands.py); `settings` are
    more environment variables."""
    return commands.run_tori(
        *arguments, env={"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", **settings}
    )


def test_commands_are_idempotent_on_postgres(postgres_server_url):
    with fresh_database(postgres_server_url, "cli") as url:
        assert run_tori("migrate", database_url=url).returncode == 0
        assert run_tori("migrate", database_url=url).returncode == 0
        first = run_tori("seed-demo", database_url=url)
        assert first.returncode == 0, first.stderr
        assert "one-time password:" in first.stdout
        second = run_tori("seed-demo", database_url=url)
        assert "events created now: 0" in second.stdout
        assert "already exists" in second.stdout
        bad = run_tori("create-admin", "not-an-email", database_url=url)
        assert bad.returncode == 2
        assert "e-mail" in bad.stderr
        good = run_tori("create-admin", "boss@example.fi", "--name", "Boss", database_url=url)
        assert good.returncode == 0
        assert "One-time password" in good.stdout
        again = run_tori("create-admin", "boss@example.fi", database_url=url)
        assert again.returncode == 2


def test_production_mode_with_a_default_secret_refuses_to_start():
    environment = {**os.environ, "TORI_ENV": "production", "SECRET_KEY": ""}
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate"],
        check=False,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Refusing to start in production mode" in result.stderr


async def test_demo_site_runs_on_embedded_sqlite(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}"
    for command in ("migrate", "seed-demo"):
        result = run_tori(command, database_url=url)
        assert result.returncode == 0, result.stderr
    database = Database(url)
    async with database.sessionmaker() as session:
        public_events = await session.scalar(
            select(func.count()).select_from(Event).where(Event.is_public)
        )
    await database.dispose()
    assert public_events > 100
    app = create_app(Settings(environment="test", secret_key=TEST_SECRET, database_url=url))
    async with AsyncTestClient(app=app) as client:
        calendar = await client.get("/?lang=en&language=sv")
        assert calendar.status_code == 200
        assert "Upcoming events" in calendar.text
        assert (await client.get("/?view=month")).status_code == 200
        assert (await client.get("/healthz")).json() == {"status": "ok"}


def test_limits_count_a_sliding_span_not_fixed_windows():
    """A lockout does not end at a window boundary, and a burst across a boundary does not get
    twice the limit through."""
    from app.ratelimit import Limit, _sliding

    limit = Limit(count=50, seconds=900)
    boundary = 900.0 * 2_000_000
    # 50 failures just before the boundary still count right after it...
    assert _sliding(0, 50, limit, now=boundary + 1) >= 50
    # ...half of them halfway through the next window, none once it is over.
    assert _sliding(0, 50, limit, now=boundary + 450) == 25
    assert _sliding(0, 50, limit, now=boundary + 899.999) <= 1
    assert _sliding(7, 0, limit, now=boundary + 1) == 7
