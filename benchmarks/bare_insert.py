"""The baseline: a bare Litestar + asyncpg endpoint doing one INSERT per request."""

from __future__ import annotations

import os

import asyncpg
from litestar import Litestar, Request, get, post

DSN = os.environ["BARE_DSN"]
pool: asyncpg.Pool | None = None


async def connect() -> None:
    global pool  # noqa: PLW0603 - one pool per worker process
    pool = await asyncpg.create_pool(DSN, min_size=2, max_size=20)


async def disconnect() -> None:
    if pool:
        await pool.close()


@post("/insert", status_code=303)
async def insert_one(request: Request) -> None:
    body = await request.body()
    async with pool.acquire() as connection:
        await connection.execute("INSERT INTO bare_insert (body) VALUES ($1)", body.decode())


@get("/healthz")
async def health() -> dict:
    return {"status": "ok"}


app = Litestar([insert_one, health], on_startup=[connect], on_shutdown=[disconnect])
