"""The baseline of the page benchmark: a bare Litestar "hello" (no database, no template)."""

from __future__ import annotations

from litestar import Litestar, MediaType, get


@get("/", media_type=MediaType.TEXT)
async def hello() -> str:
    return "hello"


app = Litestar(route_handlers=[hello], openapi_config=None, logging_config=None)
