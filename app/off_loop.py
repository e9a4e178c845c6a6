"""Heavy work off the event loop: in a worker thread, with a database session of its own.

A worker's event loop serves every request of the process, so seconds of Python on it (a count
over 75,000 ballots, a spreadsheet of 100,000 answers, a voter roll of 100,000 lines) make
`/healthz` and every resident wait. `off_loop(database, work)` runs the coroutine function
`work(session)` on an event loop of its own in a worker thread (anyio's pool), with its own
engine and session: the requests' loop only waits for the result. `work` returns plain values
(bytes, numbers, frozen dataclasses), never ORM objects, which belong to its session. Pure CPU
work that needs no database goes through `in_worker_thread`, and seconds of it (a count under
every rule) through `in_worker_process`.

The thread's engine is made for the work and disposed of after it: the work is seldom and long.

A thread busy with Python holds the interpreter lock until the event loop's thread asks for it
and `sys.getswitchinterval()` has passed (5 ms by default); an answer to /healthz needs the lock
a few times (the request, the database's reply, the response), so with the default a health
check took 20-30 ms while a count ran. The first work lowers the interval to 1 ms. Even so,
a thread counting for seconds takes the lock back at every switch, and each of the loop's turns
waits for it: `in_worker_process` runs such work in a process of its own (one per server
process, started at its first use with the "spawn" method, which copies no threads or open
connections), where it shares nothing with the event loop but the cores.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
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


_processes: ProcessPoolExecutor | None = None
_processes_lock = threading.Lock()


async def in_worker_process(function: Callable[..., T], *arguments: object) -> T:
    """`function(*arguments)` in a separate process: pure CPU work of seconds. The function is
    named by its module (a module-level function) and the arguments and the result are pickled,
    so they are plain data."""
    global _processes  # noqa: PLW0603 - one pool per server process, made at its first use
    with _processes_lock:
        if _processes is None:
            _processes = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn")
            )
        pool = _processes
    try:
        return await asyncio.wrap_future(pool.submit(function, *arguments))
    except BrokenProcessPool:
        # The process died (killed, out of memory): the next work starts a new one.
        with _processes_lock:
            if _processes is pool:
                _processes = None
        raise


async def _with_session(url: str, work: Callable[[AsyncSession], Awaitable[T]], actor) -> T:
    engine = create_engine(url, pool_size=1)
    try:
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        async with sessions(info={"audit_actor": actor}) as session:
            return await work(session)
    finally:
        await engine.dispose()
