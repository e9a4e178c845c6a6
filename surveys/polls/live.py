"""Live results: telling every worker's open result pages that a poll has new votes.

A process that stores a vote calls `changed(poll_id)`; at most a few times a second
per poll it sends `NOTIFY tori_poll '<id>'` through PostgreSQL. Every process
LISTENs on one connection of its own and wakes the result pages it serves, so the
fan-out works across workers and machines without shared memory. On SQLite (one
process in development) the notice goes straight to this process's pages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

from litestar.response import ServerSentEventMessage

from app.database import Database
from app.state import DATABASE, Slot

CHANNEL = "tori_poll"
# A results page listens this long, then the browser reconnects; a heartbeat keeps it open.
LIVE_SECONDS = 600
LIVE_HEARTBEAT_SECONDS = 20.0
# Votes within this many seconds wake result pages once.
COALESCE_SECONDS = 0.3
RECONNECT_SECONDS = 2.0

log = logging.getLogger("tori.polls.live")


class PollNotifier:
    def __init__(self, database: Database) -> None:
        self.database = database
        self.postgres = database.is_postgresql
        self.subscribers: dict[int, set[asyncio.Queue[None]]] = defaultdict(set)
        self.pending: set[int] = set()
        self.flusher: asyncio.Task | None = None
        self.listener: asyncio.Task | None = None
        self.listening = asyncio.Event()
        # Set when no page watches any poll, so the listening connection can be closed.
        self.idle = asyncio.Event()

    # --- sending ---

    def changed(self, poll_id: int) -> None:
        """Called after a vote is stored; cheap, never waits for the database."""
        self.pending.add(poll_id)
        if self.flusher is None or self.flusher.done():
            self.flusher = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        # Polls that change while a notice is being sent are sent in the next round.
        while self.pending:
            await asyncio.sleep(COALESCE_SECONDS)
            poll_ids, self.pending = self.pending, set()
            if self.postgres:
                await self._notify(poll_ids)
            else:
                for poll_id in poll_ids:
                    self.wake(poll_id)

    async def _notify(self, poll_ids: set[int]) -> None:
        try:
            async with self.database.raw_connection() as connection:
                for poll_id in poll_ids:
                    await connection.execute("SELECT pg_notify($1, $2)", CHANNEL, str(poll_id))
        except Exception:
            log.warning("could not send a live-results notice", exc_info=True)

    # --- receiving ---

    def wake(self, poll_id: int) -> None:
        for queue in self.subscribers.get(poll_id, ()):
            if queue.empty():
                queue.put_nowait(None)

    @contextlib.asynccontextmanager
    async def subscription(self, poll_id: int) -> AsyncIterator[asyncio.Queue[None]]:
        queue: asyncio.Queue[None] = asyncio.Queue(maxsize=1)
        self.subscribers[poll_id].add(queue)
        if self.postgres and (self.listener is None or self.listener.done()):
            self.listener = asyncio.get_running_loop().create_task(self._listen())
        try:
            yield queue
        finally:
            self.subscribers[poll_id].discard(queue)
            if not self.subscribers[poll_id]:
                del self.subscribers[poll_id]
            if not self.subscribers:
                self.idle.set()

    async def _listen(self) -> None:
        """One LISTEN connection per process while anyone watches; reconnects after an outage."""
        import asyncpg  # noqa: PLC0415 - PostgreSQL only

        url = self.database.engine.url.set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)

        def received(_connection: Any, _pid: int, _channel: str, payload: str) -> None:
            if payload.isdecimal():
                self.wake(int(payload))

        while self.subscribers:
            connection = None
            try:
                connection = await asyncpg.connect(dsn)
                await connection.add_listener(CHANNEL, received)
                self.listening.set()
                # Pages may have missed votes while the connection was down.
                for poll_id in list(self.subscribers):
                    self.wake(poll_id)
                lost = asyncio.Event()
                connection.add_termination_listener(lambda _connection, lost=lost: lost.set())
                self.idle.clear()
                waits = [
                    asyncio.ensure_future(lost.wait()),
                    asyncio.ensure_future(self.idle.wait()),
                ]
                try:
                    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for wait in waits:
                        wait.cancel()
            except (OSError, asyncpg.PostgresError):
                log.warning("live results: no listening connection, retrying", exc_info=True)
                await asyncio.sleep(RECONNECT_SECONDS)
            finally:
                self.listening.clear()
                if connection is not None and not connection.is_closed():
                    await connection.close()

    async def close(self) -> None:
        for task in (self.flusher, self.listener):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task


# Each worker's notifier, made when a page first needs it.
POLL_NOTIFIER: Slot[PollNotifier] = Slot(
    "poll_notifier", lambda app: PollNotifier(DATABASE.of(app))
)


async def live_updates(
    notifier: PollNotifier, poll_id: int, *, lifetime: float = LIVE_SECONDS
) -> AsyncIterator[ServerSentEventMessage]:
    """`update` whenever the poll gets votes, a heartbeat meanwhile; the browser reconnects later."""
    loop = asyncio.get_running_loop()
    ends = loop.time() + lifetime
    async with notifier.subscription(poll_id) as queue:
        yield ServerSentEventMessage(comment="live", retry=5000)
        while (left := ends - loop.time()) > 0:
            try:
                async with asyncio.timeout(min(LIVE_HEARTBEAT_SECONDS, left)):
                    await queue.get()
            except TimeoutError:
                yield ServerSentEventMessage(comment="heartbeat")
            else:
                yield ServerSentEventMessage(event="update", data=str(poll_id))
