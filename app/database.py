"""Engine, sessions and the column types shared by every feature package.

Only portable column types are used, so the one Alembic history serves both the
embedded SQLite default and PostgreSQL in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
from collections import namedtuple
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache
from litestar import Request
from sqlalchemy import JSON, DateTime, MetaData, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.expression import Executable
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


async def _json_as_sqlalchemy_does(connection: Any) -> None:
    """JSON in and out as on SQLAlchemy's own asyncpg connections: the statements' bind
    processors give the text, the codec reads it back into Python values."""
    for name in ("json", "jsonb"):
        await connection.set_type_codec(
            name, encoder=str, decoder=json.loads, schema="pg_catalog", format="text"
        )


async def release_connection(session: AsyncSession) -> None:
    """End the session's transaction (it has only read), so that its connection goes back to the
    pool before slow work such as a password hash: held through the hash, a burst of sign-ins
    emptied the pool and every other page waited for it. The loaded rows stay usable (the
    sessions do not expire them on commit); the next statement takes a connection again."""
    await session.commit()


class Database:
    """The engine and session factory of one process."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.pool_size = pool_size
        self.engine = create_engine(url, pool_size=pool_size)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self.is_postgresql = self.engine.dialect.name == "postgresql"
        self._raw_pool: Any = None
        self._raw_pool_lock = asyncio.Lock()

    async def dispose(self) -> None:
        if self._raw_pool is not None:
            await self._raw_pool.close()
            self._raw_pool = None
        await self.engine.dispose()

    @contextlib.asynccontextmanager
    async def write_connection(self) -> AsyncIterator[AsyncConnection | RawConnection]:
        """A connection for the busiest writes (a poll vote, a questionnaire answer), which
        commit what they store.

        On PostgreSQL a plain asyncpg connection from `raw_connection`'s pool that runs the
        same Core statements (`RawConnection`): a write there is one statement, atomic by
        itself, so it needs no BEGIN and COMMIT round trips, and SQLAlchemy's connection
        checkout and result machinery cost more than the statement (benchmarks/poll_vote.py,
        feedback_submit.py). SQLite runs the statements in a transaction of the main engine,
        committed by the write.
        """
        if self.is_postgresql:
            async with self.raw_connection() as connection:
                yield RawConnection(connection)
        else:
            async with self.engine.connect() as connection:
                yield connection

    @contextlib.asynccontextmanager
    async def raw_connection(self) -> AsyncIterator[Any]:
        """A plain asyncpg connection (PostgreSQL): the busy writes (`write_connection`, a PB
        cast) and the live results' notices.

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
                        init=_json_as_sqlalchemy_does,
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


# --- Core statements on a plain asyncpg connection ----------------------------------------------


@contextlib.asynccontextmanager
async def command_session(url: str) -> AsyncIterator[AsyncSession]:
    """A session for one run of a command-line command, on a database opened for the run and
    closed after it, however the run ends."""
    database = Database(url)
    try:
        async with database.sessionmaker() as session:
            yield session
    finally:
        await database.dispose()


@dataclass(frozen=True)
class _ForAsyncpg:
    """A Core statement compiled once for asyncpg: its text, its parameters in order with their
    defaults and bind processors, and its result columns with their result processors."""

    text: str
    names: tuple[str, ...]
    defaults: dict[str, Any]
    binds: tuple[Callable[[Any], Any] | None, ...]
    results: tuple[Callable[[Any], Any] | None, ...]
    row: type[tuple]

    @classmethod
    def compile(cls, statement: Executable) -> _ForAsyncpg:
        compiled = statement.compile(dialect=_ASYNCPG)
        names = tuple(compiled.positiontup or ())
        binds = tuple(
            compiled.binds[name].type.dialect_impl(_ASYNCPG).bind_processor(_ASYNCPG)
            for name in names
        )
        columns = list(getattr(statement, "exported_columns", ()))
        results = tuple(
            column.type.dialect_impl(_ASYNCPG).result_processor(_ASYNCPG, None)
            for column in columns
        )
        # rename: a label that is no identifier, or a repeated one, becomes _0, _1, …
        row = namedtuple("Row", [str(column.key) for column in columns], rename=True)
        return cls(compiled.string, names, dict(compiled.params), binds, results, row)

    def arguments(self, parameters: dict[str, Any]) -> list[Any]:
        given = {**self.defaults, **parameters}
        return [
            given[name] if process is None else process(given[name])
            for name, process in zip(self.names, self.binds, strict=True)
        ]

    def rows(self, records: list[Any]) -> list[Any]:
        if not any(self.results):
            return [self.row._make(record) for record in records]
        return [
            self.row._make(
                v if p is None else p(v) for v, p in zip(record, self.results, strict=True)
            )
            for record in records
        ]


_ASYNCPG = asyncpg_dialect()
_compiled_for_asyncpg: LRUCache[Executable, _ForAsyncpg] = LRUCache(maxsize=256)


def for_asyncpg(statement: Executable) -> _ForAsyncpg:
    """The statement compiled for asyncpg, once per process (the busy paths' statements are
    module constants)."""
    found = _compiled_for_asyncpg.get(statement)
    if found is None:
        found = _compiled_for_asyncpg[statement] = _ForAsyncpg.compile(statement)
    return found


class RawResult:
    """The rows of one statement, with the parts of SQLAlchemy's Result the busy paths use."""

    def __init__(self, rows: list[Any]) -> None:
        self._rows = rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def first(self) -> Any:
        return self._rows[0] if self._rows else None

    def one(self) -> Any:
        if len(self._rows) != 1:
            raise ValueError(f"one row expected, {len(self._rows)} found")
        return self._rows[0]

    def mappings(self) -> RawResult:
        return RawResult([row._asdict() for row in self._rows])


class RawConnection:
    """A plain asyncpg connection that runs Core statements with the surface of SQLAlchemy's
    AsyncConnection that the busy writes use (`execute`, `scalar`, `commit`).

    The statements are SQLAlchemy's, compiled once by SQLAlchemy's own asyncpg dialect with
    its bind and result processors (the UTC timestamps, JSON), so the same statement runs on
    SQLite through SQLAlchemy: one write path, with the per-statement cost of SQLAlchemy's
    connection checkout, greenlet hop and result machinery left out. Each statement commits by
    itself (no transaction is opened), so `commit` has nothing to do.
    """

    dialect = _ASYNCPG

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    async def execute(
        self, statement: Executable, parameters: dict[str, Any] | None = None
    ) -> RawResult:
        compiled = for_asyncpg(statement)
        records = await self.connection.fetch(compiled.text, *compiled.arguments(parameters or {}))
        return RawResult(compiled.rows(records))

    async def scalar(self, statement: Executable, parameters: dict[str, Any] | None = None) -> Any:
        row = (await self.execute(statement, parameters)).first()
        return None if row is None else row[0]

    async def commit(self) -> None:
        return None
