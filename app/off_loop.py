"""Heavy work off the event loop: in a worker thread, with a database session of its own.

A worker's event loop serves every request of the process, so seconds of Python on it (a count
over 75,000 ballots, a spreadsheet of 100,000 answers, a voter roll of 100,000 lines) make
`/healthz` and every resident wait. `off_loop(database, work)` runs the coroutine function
`work(session)` on an event loop of its own in a worker thread (anyio's pool), with its own
engine and session: the requests' loop only waits for the result. `work` returns plain values
(bytes, numbers, frozen dataclasses), never ORM objects, which belong to its session. Pure CPU
work that needs no database goes through `in_worker_thread`.

The thread's engine is made for the work and disposed of after it: the work is seldom and long.

A thread busy with Python holds the interpreter lock until the event loop's thread asks for it
and `sys.getswitchinterval()` has passed (5 ms by default); an answer to /healthz needs the lock
a few times (the request, the database's reply, the response), so with the default a health
check took 20-30 ms while a count ran. The first work lowers the interval to 1 ms.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.database import Database, create_engine

T = TypeVar("T")
SWITCH_INTERVAL = 0.001


async def off_loop(
    database: Database, work: Callable[[AsyncSession], Awaitable[T]], *, audit_actor=None
) -> T:
    """`await work(session)` in a worker thread, on its own event loop and database session."""

    def run() -> T:
        return asyncio.run(_with_session(database.url, work, audit_actor))

    return await in_worker_thread(run)


async def in_worker_thread(function: Callable[..., T], *arguments: object) -> T:
    """`function(*arguments)` in a worker thread: pure work that needs no database."""
    if sys.getswitchinterval() > SWITCH_INTERVAL:
        sys.setswitchinterval(SWITCH_INTERVAL)
    return await anyio.to_thread.run_sync(function, *arguments)


async def _with_session(url: str, work: Callable[[AsyncSession], Awaitable[T]], actor) -> T:
    engine = create_engine(url, pool_size=1)
    try:
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        async with sessions(info={"audit_actor": actor}) as session:
            return await work(session)
    finally:
        await engine.dispose()
