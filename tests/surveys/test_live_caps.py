"""Live-result streams are capped per client and per worker: beyond the caps a stream is refused
at once (429 for the client, 503 for the worker), and a closed stream gives its place back."""

from __future__ import annotations

import asyncio
import gc

import pytest

from app.web import create_app
from surveys.polls import live
from tests.surveys.polls_factories import make_poll


class OpenStream:
    """One live stream held open through the raw ASGI interface (a test client would wait for
    the end of a ten-minute body)."""

    def __init__(self, app, path: str, address: str) -> None:
        self.app, self.path, self.address = app, path, address
        self.left = asyncio.Event()
        self.status: asyncio.Future = asyncio.get_running_loop().create_future()
        self.asked = False
        self.task: asyncio.Task | None = None

    async def open(self) -> int:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": self.path,
            "raw_path": self.path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"testserver.local"), (b"accept", b"text/event-stream")],
            "client": (self.address, 40000),
            "server": ("testserver.local", 80),
        }
        self.task = asyncio.ensure_future(self.app(scope, self.receive, self.send))
        return await asyncio.wait_for(self.status, timeout=10)

    async def receive(self) -> dict:
        if not self.asked:
            self.asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.left.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict) -> None:
        if message["type"] == "http.response.start" and not self.status.done():
            self.status.set_result(message["status"])

    async def close(self) -> None:
        self.left.set()
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)


@pytest.fixture
async def capped_app(settings, db):
    slots = live.StreamSlots(per_worker=5, per_client=3)
    app = create_app(settings)
    live.STREAM_SLOTS.set(app, slots)
    yield app, slots
    await app.state.db.dispose()


async def test_one_client_cannot_hold_more_than_its_share_of_streams(capped_app, db):
    app, slots = capped_app
    poll = await make_poll(db)
    path = f"/p/{poll.slug}/live"
    streams = [OpenStream(app, path, "192.0.2.7") for _ in range(4)]
    try:
        statuses = [await stream.open() for stream in streams]
        assert statuses == [200, 200, 200, 429]
        # Another address of the same IPv6 /64 is the same client.
        six = [OpenStream(app, path, f"2001:db8::{n}") for n in range(1, 5)]
        streams += six
        assert [await stream.open() for stream in six[:2]] == [200, 200]
        # The worker is full (5): anyone else gets the busy page.
        assert await six[2].open() == 503
        assert slots.open == 5
        # A closed stream gives its place back.
        await streams[0].close()
        await asyncio.sleep(0)
        gc.collect()
        assert slots.open == 4
        streams.append(OpenStream(app, path, "198.51.100.1"))
        assert await streams[-1].open() == 200
    finally:
        for stream in streams:
            await stream.close()
    gc.collect()
    assert slots.open == 0
    assert not slots.by_client
