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
import weakref
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any

from litestar import Request
from litestar.exceptions import HTTPException
from litestar.response import ServerSentEvent, ServerSentEventMessage

from app.database import Database
from app.errors import ServiceBusyError
from app.ratelimit import address_block
from app.requests import client_address
from app.state import DATABASE, Slot

CHANNEL = "tori_poll"
# A results page listens this long, then the browser reconnects; a heartbeat keeps it open.
LIVE_SECONDS = 600
LIVE_HEARTBEAT_SECONDS = 20.0
# Votes within this many seconds wake result pages once.
COALESCE_SECONDS = 0.3
RECONNECT_SECONDS = 2.0

# Open result streams a worker serves at once, and per client (an address, an IPv6 client by
# its /64): one client held 1,000 streams of ten minutes each open before there were caps. A
# screen at a stand and a few tabs fit well within the client's share.
LIVE_STREAMS_PER_WORKER = 1000
LIVE_STREAMS_PER_CLIENT = 10

log = logging.getLogger("tori.polls.live")


class TooManyStreamsError(HTTPException):
    """This client already holds as many live streams as one may."""

    status_code = 429


class StreamSlots:
    """Counts the live streams this worker serves, in all and per client."""

    def __init__(
        self, per_worker: int = LIVE_STREAMS_PER_WORKER, per_client: int = LIVE_STREAMS_PER_CLIENT
    ) -> None:
        self.per_worker = per_worker
        self.per_client = per_client
        self.open = 0
        self.by_client: dict[str, int] = defaultdict(int)

    def take(self, client: str) -> Callable[[], None]:
        """A slot for one stream, or an error page: 429 for the client, 503 for the worker.
        Returns the function that gives the slot back (it may be called more than once)."""
        if self.by_client[client] >= self.per_client:
            raise TooManyStreamsError
        if self.open >= self.per_worker:
            raise ServiceBusyError(retry_after=30)
        self.open += 1
        self.by_client[client] += 1
        given_back = False

        def give_back() -> None:
            nonlocal given_back
            if given_back:
                return
            given_back = True
            self.open -= 1
            self.by_client[client] -= 1
            if not self.by_client[client]:
                del self.by_client[client]

        return give_back


# Each worker's stream slots.
STREAM_SLOTS: Slot[StreamSlots] = Slot("stream_slots", lambda _app: StreamSlots())


def live_stream(request: Request, notifier: PollNotifier, poll_id: int) -> ServerSentEvent:
    """The live-updates stream of one poll, within this worker's caps."""
    give_back = STREAM_SLOTS.of(request).take(address_block(client_address(request)))
    updates = live_updates(notifier, poll_id, on_close=give_back)
    # A stream that never starts (the client left at once) gives its slot back when collected.
    weakref.finalize(updates, give_back)
    return ServerSentEvent(updates)


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
    notifier: PollNotifier,
    poll_id: int,
    *,
    lifetime: float = LIVE_SECONDS,
    on_close: Callable[[], None] | None = None,
) -> AsyncIterator[ServerSentEventMessage]:
    """`update` whenever the poll gets votes, a heartbeat meanwhile; the browser reconnects later."""
    loop = asyncio.get_running_loop()
    ends = loop.time() + lifetime
    try:
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
    finally:
        if on_close is not None:
            on_close()
