"""Fixed-window counters shared by every worker: Redis when REDIS_URL is set, else the database.

Used to slow down password guessing now, and vote bursts by the poll and
questionnaire features later. Keys never hold a clear identifier: callers pass
an HMAC of the e-mail address or client address (see `counter_key`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import time
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Integer, String, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from app.database import Base, UTCDateTime


@dataclass(frozen=True)
class Limit:
    """At most `count` hits per `seconds` window."""

    count: int
    seconds: int


class RateLimitCounter(Base):
    __tablename__ = "rate_limit_counter"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    window: Mapped[int] = mapped_column(Integer, primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: Limit) -> int:
        """Count one hit and return the hits in the current window, this one included."""

    async def hits(self, key: str, limit: Limit) -> int:
        """The hits in the current window, without counting one."""

    async def reset(self, key: str, limit: Limit) -> None: ...


def counter_key(secret: str, purpose: str, value: str) -> str:
    digest = hmac.new(secret.encode(), f"{purpose}\0{value}".encode(), hashlib.sha256)
    return f"{purpose}:{digest.hexdigest()[:40]}"


def _window(limit: Limit, now: float | None = None) -> int:
    return math.floor((time.time() if now is None else now) / limit.seconds)


class DatabaseRateLimiter:
    def __init__(self, sessionmaker: async_sessionmaker) -> None:
        self.sessionmaker = sessionmaker

    async def hit(self, key: str, limit: Limit) -> int:
        window = _window(limit)
        expires = dt.datetime.fromtimestamp((window + 1) * limit.seconds, dt.UTC)
        async with self.sessionmaker() as session:
            dialect = session.bind.dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            statement = insert(RateLimitCounter).values(
                key=key, window=window, hits=1, expires_at=expires
            )
            statement = statement.on_conflict_do_update(
                index_elements=["key", "window"],
                set_={"hits": RateLimitCounter.hits + 1},
            ).returning(RateLimitCounter.hits)
            hits = (await session.execute(statement)).scalar_one()
            # Forget windows that are over, a few rows at a time, so the table stays small.
            now = dt.datetime.now(dt.UTC)
            await session.execute(delete(RateLimitCounter).where(RateLimitCounter.expires_at < now))
            await session.commit()
            return hits

    async def hits(self, key: str, limit: Limit) -> int:
        async with self.sessionmaker() as session:
            row = await session.get(RateLimitCounter, (key, _window(limit)))
            return row.hits if row else 0

    async def reset(self, key: str, limit: Limit) -> None:
        async with self.sessionmaker() as session:
            await session.execute(
                delete(RateLimitCounter).where(
                    RateLimitCounter.key == key, RateLimitCounter.window == _window(limit)
                )
            )
            await session.commit()


class RedisRateLimiter:
    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis  # noqa: PLC0415 - only needed when Redis is configured

        self.redis = Redis.from_url(url)

    def _key(self, key: str, limit: Limit) -> str:
        return f"tori:rl:{key}:{_window(limit)}"

    async def hit(self, key: str, limit: Limit) -> int:
        # One round trip in the common case; the window's first hit also sets its expiry. Were
        # that second call lost, the key would still never be counted again: the next window
        # has a key of its own.
        redis_key = self._key(key, limit)
        hits = int(await self.redis.incr(redis_key))
        if hits == 1:
            await self.redis.expire(redis_key, limit.seconds + 1)
        return hits

    async def hits(self, key: str, limit: Limit) -> int:
        value = await self.redis.get(self._key(key, limit))
        return int(value or 0)

    async def reset(self, key: str, limit: Limit) -> None:
        await self.redis.delete(self._key(key, limit))

    async def close(self) -> None:
        await self.redis.aclose()
