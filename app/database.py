"""Engine, sessions and the column types shared by every feature package.

Only portable column types are used, so the one Alembic history serves both the
embedded SQLite default and PostgreSQL in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

from litestar import Request
from sqlalchemy import JSON, DateTime, MetaData, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps no zone itself)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; give a timezone")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


# JSON everywhere, JSONB on PostgreSQL so that it can be indexed and compared.
PortableJSON = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url)
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        return engine
    # No ping before each use: that is a round trip on every request. After a database restart
    # the first statement on a stale connection fails (a 503 page) and SQLAlchemy then replaces
    # every pooled connection at once.
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800)


async def _nothing_to_reset(_connection: Any) -> None:
    return None


class Database:
    """The engine and session factory of one process."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.pool_size = pool_size
        self.engine = create_engine(url, pool_size=pool_size)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self.is_postgresql = self.engine.dialect.name == "postgresql"
        self._raw_pool: Any = None
        self._write_engine: AsyncEngine | None = None
        self._raw_pool_lock = asyncio.Lock()

    async def dispose(self) -> None:
        if self._raw_pool is not None:
            await self._raw_pool.close()
            self._raw_pool = None
        if self._write_engine is not None and self._write_engine is not self.engine:
            await self._write_engine.dispose()
        self._write_engine = None
        await self.engine.dispose()

    @contextlib.asynccontextmanager
    async def write_connection(self) -> AsyncIterator[AsyncConnection]:
        """A connection for the busiest writes, which commit what they store.

        On PostgreSQL it comes from a pool of its own in autocommit mode: a write that is one
        statement needs no BEGIN and COMMIT round trips, and a burst waits for one of
        `pool_size` connections instead of opening (and closing) overflow connections, which
        cost more than the writes. SQLite runs the statements in a transaction of the main
        engine, committed by the write.
        """
        if self._write_engine is None:
            self._write_engine = (
                create_async_engine(
                    self.url,
                    pool_size=self.pool_size,
                    max_overflow=0,
                    pool_recycle=1800,
                    isolation_level="AUTOCOMMIT",
                )
                if self.is_postgresql
                else self.engine
            )
        async with self._write_engine.connect() as connection:
            yield connection

    @contextlib.asynccontextmanager
    async def raw_connection(self) -> AsyncIterator[Any]:
        """A plain asyncpg connection (PostgreSQL): LISTEN for live results, and PB casting.

        A small pool of its own: checking a connection out of SQLAlchemy's pool and unwrapping
        it cost more than the one statement a vote needs. Each statement commits by itself.
        """
        if self._raw_pool is None:
            async with self._raw_pool_lock:
                if self._raw_pool is None:
                    import asyncpg  # noqa: PLC0415 - PostgreSQL only

                    url = self.engine.url.set(drivername="postgresql")
                    self._raw_pool = await asyncpg.create_pool(
                        url.render_as_string(hide_password=False),
                        min_size=1,
                        max_size=self.pool_size,
                        # These connections never set session state, listen or lock, so a returned
                        # connection needs no RESET ALL round trip (an open transaction is still
                        # rolled back by asyncpg itself).
                        reset=_nothing_to_reset,
                    )
        async with self._raw_pool.acquire() as connection:
            yield connection

    async def session(self, request: Request) -> AsyncIterator[AsyncSession]:
        """A session for one request; whatever a service did not commit is rolled back. It
        carries the signed-in staff member, whom the staff audit log names (app.audit)."""
        async with self.sessionmaker(info={"audit_actor": request.scope.get("user")}) as session:
            try:
                yield session
            finally:
                await session.rollback()
