"""Fixed-window counters shared by every worker: Redis when REDIS_URL is set, else the database.

Used to slow down password guessing now, and vote bursts by the poll and
questionnaire features later. Keys never hold a clear identifier: callers pass
an HMAC of the e-mail address or client address (see `counter_key`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import ipaddress
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from redis.exceptions import RedisError
from sqlalchemy import Integer, String, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from app.database import Base, UTCDateTime

log = logging.getLogger("tori.ratelimit")


@dataclass(frozen=True)
class Limit:
    """At most `count` hits per `seconds` window."""

    count: int
    seconds: int


@dataclass(frozen=True)
class Backoff(Limit):
    """Progressive delays for guesses at one secret (a voting code, an account's password).

    Failures are remembered for `seconds`. The first `count - 1` attempts are checked at once;
    from then on each attempt must claim the secret's gate, which it holds for `first` * 2^k
    seconds (k = 0, 1, 2, ... attempts past those, at most `longest`): each next attempt waits
    twice as long as the one before (30 s, 1 min, 2 min, ...). An attempt that finds the gate
    held is refused without being checked, and is not remembered as a failure (hammering does
    not lengthen the wait). So a burst of any size checks at most `count` guesses, and a slow
    guesser only a few more a day; and since the delay is per secret, not per network, a crowd
    behind one shared address is not held back by the guesses of others (the per-address
    ceilings are generous, for that reason)."""

    longest: int = 3600
    first: int = 30

    def delay(self, past: int) -> int:
        return min(self.first * 2 ** min(past, 30), self.longest)


class RateLimitCounter(Base):
    __tablename__ = "rate_limit_counter"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    window: Mapped[int] = mapped_column(Integer, primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: Limit) -> int:
        """Count one hit and return the hits in the current window, this one included."""

    async def add(self, key: str, limit: Limit, amount: int) -> int:
        """Count `amount` hits at once and return the window's hits, these included."""

    async def hits(self, key: str, limit: Limit) -> int:
        """The hits in the current window, without counting one."""

    async def reset(self, key: str, limit: Limit) -> None: ...

    async def count(self, key: str, limit: Limit) -> tuple[int, int]:
        """Count one attempt in one atomic step and return the hits in the last `limit.seconds`,
        this one included, with the window it was counted in (to take it back from)."""

    async def take_back(self, key: str, limit: Limit, window: int) -> None:
        """Uncount one attempt counted in `window`."""

    async def claim(self, key: str, seconds: int) -> bool:
        """Hold `key` for `seconds` if no one holds it: True for exactly one of concurrent callers."""


@dataclass
class Attempt:
    """One attempt, already counted in each of its counters (see `attempt`)."""

    limiter: RateLimiter
    counted: list[tuple[str, Limit, int]] = field(default_factory=list)
    # The index of the first counter that was over its limit, or None when none was.
    refused_by: int | None = None

    @property
    def refused(self) -> bool:
        return self.refused_by is not None

    async def take_back(self) -> None:
        """Uncount this attempt everywhere it was counted (once, however often it is called)."""
        counted, self.counted = self.counted, []
        for key, limit, window in counted:
            await self.limiter.take_back(key, limit, window)


async def attempt(
    limiter: RateLimiter, counters: Sequence[tuple[str, Limit]], gates: Sequence[str] = ()
) -> Attempt:
    """Count one attempt in every counter BEFORE anything is checked, and say whether it may go on.

    Each counter is incremented in one atomic step (INCR with its expiry in Redis, an upsert in
    the database), so N concurrent attempts see N different totals and at most `limit.count` of
    them are let through: checking first and counting after the (slow) check let every attempt of
    a burst through. A refused attempt is taken back at once, so that hammering a locked counter
    does not extend the lockout, and a request refused by one counter (say, the account's) does
    not use up another (the address's). The caller takes back an attempt that should not count
    (a successful sign-in) with `Attempt.take_back`.

    A counter whose limit is a `Backoff` does not refuse past its count: the attempt must then
    claim that counter's gate (`gates[index]`, the key of the gate), held for the Backoff's delay.
    """
    result = Attempt(limiter)
    for index, (key, limit) in enumerate(counters):
        total, window = await limiter.count(key, limit)
        result.counted.append((key, limit, window))
        if isinstance(limit, Backoff):
            refused = total >= limit.count and not await limiter.claim(
                gates[index], limit.delay(total - limit.count)
            )
        else:
            refused = total > limit.count
        if refused:
            result.refused_by = index
            await result.take_back()
            if isinstance(limit, Backoff):
                # Not a failure (that would lengthen the wait), but every guess is counted.
                await limiter.hit(waited_key(key), limit)
            break
    return result


def waited_key(key: str) -> str:
    """The counter of the attempts a Backoff's gate refused unchecked (see `attempt`)."""
    return f"{key}:waited"


def address_block(address: str, ipv4_prefix: int = 32, ipv6_prefix: int = 64) -> str:
    """The block of addresses one client is counted by: an IPv6 client holds a whole /64 (it
    would rotate through it), a wider prefix groups a network. Not an address: returned as is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    prefix = ipv4_prefix if ip.version == 4 else ipv6_prefix
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def counter_key(secret: str, purpose: str, value: str) -> str:
    digest = hmac.new(secret.encode(), f"{purpose}\0{value}".encode(), hashlib.sha256)
    return f"{purpose}:{digest.hexdigest()[:40]}"


def _now() -> float:
    """The limits' clock (wall time, shared by every worker); tests move it forward."""
    return time.time()


def _window(limit: Limit, now: float | None = None) -> int:
    return math.floor((_now() if now is None else now) / limit.seconds)


def _sliding(current: int, previous: int, limit: Limit, now: float | None = None) -> int:
    """Hits in the last `limit.seconds`: this window's, plus the previous window's in proportion
    to how much of it still lies within that span (rounded up). With fixed windows alone, a
    burst just before and just after a boundary would get twice the limit through, and a
    lockout would end early at the boundary."""
    now = _now() if now is None else now
    elapsed = now / limit.seconds - _window(limit, now)
    return current + math.ceil(previous * (1 - elapsed))


class DatabaseRateLimiter:
    def __init__(self, sessionmaker: async_sessionmaker) -> None:
        self.sessionmaker = sessionmaker

    async def hit(self, key: str, limit: Limit) -> int:
        return await self.add(key, limit, 1)

    async def add(self, key: str, limit: Limit, amount: int, window: int | None = None) -> int:
        window = _window(limit) if window is None else window
        # Kept for one more window: `hits` counts part of the previous window.
        expires = dt.datetime.fromtimestamp((window + 2) * limit.seconds, dt.UTC)
        async with self.sessionmaker() as session:
            dialect = session.bind.dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            statement = insert(RateLimitCounter).values(
                key=key, window=window, hits=amount, expires_at=expires
            )
            statement = statement.on_conflict_do_update(
                index_elements=["key", "window"],
                set_={"hits": RateLimitCounter.hits + amount},
            ).returning(RateLimitCounter.hits)
            hits = (await session.execute(statement)).scalar_one()
            # Forget windows that are over, a few rows at a time, so the table stays small.
            now = dt.datetime.now(dt.UTC)
            await session.execute(delete(RateLimitCounter).where(RateLimitCounter.expires_at < now))
            await session.commit()
            return hits

    async def count(self, key: str, limit: Limit) -> tuple[int, int]:
        now = _now()
        window = _window(limit, now)
        # The upsert is atomic: concurrent attempts get different totals (the row is locked).
        current = await self.add(key, limit, 1, window)
        async with self.sessionmaker() as session:
            previous = await session.scalar(
                select(RateLimitCounter.hits).where(
                    RateLimitCounter.key == key, RateLimitCounter.window == window - 1
                )
            )
        return _sliding(current, previous or 0, limit, now), window

    async def take_back(self, key: str, limit: Limit, window: int) -> None:
        await self.add(key, limit, -1, window)

    async def claim(self, key: str, seconds: int) -> bool:
        # A row of its own (window -1): inserted, or taken over once expired, in one statement;
        # of concurrent claims the row lock lets one through and the others see it held.
        now = dt.datetime.fromtimestamp(_now(), dt.UTC)
        async with self.sessionmaker() as session:
            dialect = session.bind.dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            statement = insert(RateLimitCounter).values(
                key=key, window=-1, hits=1, expires_at=now + dt.timedelta(seconds=seconds)
            )
            statement = statement.on_conflict_do_update(
                index_elements=["key", "window"],
                set_={"hits": 1, "expires_at": statement.excluded.expires_at},
                where=RateLimitCounter.expires_at <= now,
            ).returning(RateLimitCounter.key)
            claimed = (await session.execute(statement)).first() is not None
            await session.commit()
            return claimed

    async def hits(self, key: str, limit: Limit) -> int:
        now = _now()
        window = _window(limit, now)
        async with self.sessionmaker() as session:
            rows = dict(
                (
                    await session.execute(
                        select(RateLimitCounter.window, RateLimitCounter.hits).where(
                            RateLimitCounter.key == key,
                            RateLimitCounter.window.in_((window, window - 1)),
                        )
                    )
                ).all()
            )
        return _sliding(rows.get(window, 0), rows.get(window - 1, 0), limit, now)

    async def reset(self, key: str, limit: Limit) -> None:
        window = _window(limit)
        async with self.sessionmaker() as session:
            await session.execute(
                delete(RateLimitCounter).where(
                    RateLimitCounter.key == key,
                    RateLimitCounter.window.in_((window, window - 1)),
                )
            )
            await session.commit()


class RedisRateLimiter:
    """The counters in Redis, through the storage of the `limits` library: a window's hits are
    added and its expiry set in one atomic script (one round trip). The windows and the sliding
    count are this module's, shared with the database fallback, because callers need the count
    itself (`hit` returns it), not only a yes or no."""

    def __init__(self, url: str) -> None:
        # Only needed when Redis is configured.
        from limits.aio.storage import RedisStorage  # noqa: PLC0415
        from redis.asyncio import ConnectionPool  # noqa: PLC0415

        # A Redis that does not answer must not hold a request for long (see FallbackRateLimiter).
        self.pool = ConnectionPool.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        self.storage = RedisStorage(
            f"async+{url}",
            implementation="redispy",
            key_prefix="tori:rl",
            connection_pool=self.pool,
        )
        from redis.asyncio import Redis  # noqa: PLC0415

        self.client = Redis(connection_pool=self.pool)

    def _key(self, key: str, limit: Limit, window: int | None = None) -> str:
        return f"{key}:{_window(limit) if window is None else window}"

    async def hit(self, key: str, limit: Limit) -> int:
        return await self.add(key, limit, 1)

    async def add(self, key: str, limit: Limit, amount: int, window: int | None = None) -> int:
        # Kept for one more window: `hits` counts part of the previous window.
        return await self.storage.incr(self._key(key, limit, window), 2 * limit.seconds + 1, amount)

    async def count(self, key: str, limit: Limit) -> tuple[int, int]:
        now = _now()
        window = _window(limit, now)
        # INCRBY and EXPIRE in one script: atomic, whatever other workers do meanwhile.
        current, previous = await asyncio.gather(
            self.add(key, limit, 1, window), self.storage.get(self._key(key, limit, window - 1))
        )
        return _sliding(current, previous, limit, now), window

    async def take_back(self, key: str, limit: Limit, window: int) -> None:
        await self.add(key, limit, -1, window)

    async def hits(self, key: str, limit: Limit) -> int:
        now = _now()
        window = _window(limit, now)
        current, previous = await asyncio.gather(
            self.storage.get(self._key(key, limit, window)),
            self.storage.get(self._key(key, limit, window - 1)),
        )
        return _sliding(current, previous, limit, now)

    async def reset(self, key: str, limit: Limit) -> None:
        window = _window(limit)
        await self.storage.clear(self._key(key, limit, window))
        await self.storage.clear(self._key(key, limit, window - 1))

    async def claim(self, key: str, seconds: int) -> bool:
        # SET NX with its expiry: one atomic command.
        return bool(await self.client.set(f"tori:rl:gate:{key}", 1, nx=True, ex=max(1, seconds)))

    async def ping(self) -> None:
        """Raises when Redis does not answer (the readiness check)."""
        if not await self.storage.check():
            raise ConnectionError("Redis does not answer")

    async def close(self) -> None:
        await self.pool.aclose()


class FallbackRateLimiter:
    """Redis, and the database's counters while Redis cannot be reached.

    With Redis down, sign-in and votes answered 500; counting in the database instead keeps every
    limit in force (each worker falls back on its own, so for a few seconds the two stores each
    hold part of a window's count). After a failure Redis is tried again after `retry_seconds`,
    so that an outage does not cost every request a failed connection first.
    """

    def __init__(
        self,
        primary: RedisRateLimiter,
        fallback: DatabaseRateLimiter,
        retry_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.retry_seconds = retry_seconds
        self.clock = clock
        self.down_until = 0.0

    async def _call(self, name: str, *args):
        if self.clock() >= self.down_until:
            try:
                return await getattr(self.primary, name)(*args)
            except (RedisError, OSError) as error:
                self.down_until = self.clock() + self.retry_seconds
                log.error("Redis unavailable, counting in the database: %s", type(error).__name__)
        return await getattr(self.fallback, name)(*args)

    async def hit(self, key: str, limit: Limit) -> int:
        return await self._call("hit", key, limit)

    async def add(self, key: str, limit: Limit, amount: int) -> int:
        return await self._call("add", key, limit, amount)

    async def hits(self, key: str, limit: Limit) -> int:
        return await self._call("hits", key, limit)

    async def reset(self, key: str, limit: Limit) -> None:
        await self._call("reset", key, limit)

    # The attempt limits (`attempt`: sign-in, voting codes, registration, mail forms) are counted
    # in the database too, always: when Redis goes down mid-attack the database already holds
    # every attempt, so nothing starts from zero (it used to: each code and account got its free
    # tries once more). While both answer the higher count rules, and a gate must be free in
    # both. Attempts are few next to votes, which stay in Redis alone (`hit`, `add`).

    async def _primary_too(self, name: str, *args):
        """The call in Redis, or None when Redis is down (it is then left alone for a while)."""
        if self.clock() < self.down_until:
            return None
        try:
            return await getattr(self.primary, name)(*args)
        except (RedisError, OSError) as error:
            self.down_until = self.clock() + self.retry_seconds
            log.error("Redis unavailable, counting in the database: %s", type(error).__name__)
            return None

    async def count(self, key: str, limit: Limit) -> tuple[int, int]:
        total, window = await self.fallback.count(key, limit)
        counted = await self._primary_too("count", key, limit)
        return (max(total, counted[0]) if counted else total), window

    async def take_back(self, key: str, limit: Limit, window: int) -> None:
        await self.fallback.take_back(key, limit, window)
        await self._primary_too("take_back", key, limit, window)

    async def claim(self, key: str, seconds: int) -> bool:
        held_here = await self.fallback.claim(key, seconds)
        held_there = await self._primary_too("claim", key, seconds)
        return held_here and held_there is not False

    async def ping(self) -> None:
        """Raises when Redis does not answer: readiness reports it, though the counts go on."""
        await self.primary.ping()

    async def close(self) -> None:
        await self.primary.close()


@dataclass
class _Tally:
    window: int
    shared: int = 0
    pending: int = 0
    synced_at: float = 0.0
    syncing: bool = False
    flush_due: bool = False


class BatchedCounter:
    """A per-process front to a shared limiter, for limits of hundreds per window (votes, answers).

    Hits are added to the shared counter at most every `sync_seconds` per key and process, and
    at every hit once the count nears the limit; in between, a hit is judged by the last shared
    total plus this process's own unsent hits. A burst thus costs one round trip per key every
    50 ms instead of one per request. Across N processes the count lags by at most what the
    others counted in their last `sync_seconds`, and a killed process loses at most that much of
    its own count. Not for sign-in throttling, where every attempt counts at once.

    Limits below `exact_below` are counted in the shared store at every hit: there the lag
    would be a large share of the limit (the two-server drill let 14 votes through a limit of
    10 when every hit was batched).
    """

    def __init__(
        self,
        limiter: RateLimiter,
        sync_seconds: float = 0.05,
        near: float = 0.8,
        exact_below: int = 100,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limiter = limiter
        self.clock = clock
        self.exact_below = exact_below
        self.sync_seconds = sync_seconds
        self.near = near
        self.tallies: dict[str, _Tally] = {}
        self._flushes: set[asyncio.Task] = set()

    async def hit(self, key: str, limit: Limit) -> int:
        if limit.count < self.exact_below:
            return await self.limiter.hit(key, limit)
        window = _window(limit)
        tally = self.tallies.get(key)
        if tally is None or tally.window != window:
            if len(self.tallies) > 10_000:
                self.tallies = {k: t for k, t in self.tallies.items() if t.window >= window}
            tally = self.tallies[key] = _Tally(window)
        tally.pending += 1
        estimate = tally.shared + tally.pending
        if tally.syncing or (
            self.clock() - tally.synced_at < self.sync_seconds
            and estimate < limit.count * self.near
        ):
            if not tally.flush_due:
                # Unsent hits reach the shared counter soon even if no further hit comes.
                tally.flush_due = True
                loop = asyncio.get_running_loop()
                loop.call_later(self.sync_seconds, self._schedule_flush, key, limit, tally)
            return estimate
        return await self._sync(key, limit, tally)

    def _schedule_flush(self, key: str, limit: Limit, tally: _Tally) -> None:
        tally.flush_due = False
        if tally.pending and not tally.syncing:
            task = asyncio.ensure_future(self._sync(key, limit, tally))
            self._flushes.add(task)
            task.add_done_callback(self._flushes.discard)

    async def _sync(self, key: str, limit: Limit, tally: _Tally) -> int:
        tally.syncing = True
        amount, tally.pending = tally.pending, 0
        try:
            shared = await self.limiter.add(key, limit, amount)
        except BaseException:
            tally.pending += amount
            raise
        finally:
            tally.syncing = False
        tally.shared, tally.synced_at = shared, self.clock()
        return shared + tally.pending
