"""The baseline for whole journeys: a bare Litestar + asyncpg form with the same shape as a
resident's journey – GET a page that carries a one-use token (and sets it as a cookie), POST the
form (token checked against the cookie, one INSERT, a 303), GET the thank-you page."""

from __future__ import annotations

import secrets

from litestar import Litestar, MediaType, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.response import Redirect

from benchmarks import bare_insert

PAGE = (
    '<!doctype html><html lang="fi"><head><meta charset="utf-8"><title>Lomake</title></head>'
    '<body><form method="post" action="/form"><input type="hidden" name="_csrf_token" '
    'value="{token}"><input name="q_comment"><button>Lähetä</button></form></body></html>'
)


@get("/form", media_type=MediaType.HTML)
async def form_page() -> Response:
    token = secrets.token_urlsafe(24)
    return Response(PAGE.format(token=token), cookies=[Cookie(key="bare", value=token)])


@post("/form")
async def send(request: Request) -> Response:
    fields = await request.form()
    if not fields.get("_csrf_token") or fields.get("_csrf_token") != request.cookies.get("bare"):
        return Response("expired", status_code=403, media_type=MediaType.TEXT)
    async with bare_insert.pool.acquire() as connection:
        await connection.execute(
            "INSERT INTO bare_insert (body) VALUES ($1)", fields.get("q_comment", "")
        )
    return Redirect("/thanks", status_code=303)


@get("/thanks", media_type=MediaType.HTML)
async def thanks() -> str:
    return '<!doctype html><html lang="fi"><head><title>Kiitos</title></head><body>Kiitos!</body></html>'


app = Litestar(
    [form_page, send, thanks, bare_insert.health],
    on_startup=[bare_insert.connect],
    on_shutdown=[bare_insert.disconnect],
)
