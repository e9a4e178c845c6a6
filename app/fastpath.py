"""A fast path for the busiest form posts: the happy path without the framework's per-request work.

Residents send votes and answer sheets in bursts (a QR code on a poster, a hall
full of phones). For such a route, `fast_path(attempt)` is route middleware: it
reads the URL-encoded body once and calls `attempt(request, fields)`, which runs
the very same checks and storing as the controller and returns where to send the
browser next (and a cookie to set). Whenever the attempt cannot finish - a
refusal to explain, a language switch, an unusual request - it raises `HandOver`
(or returns None) and the request goes on to the controller with its body
replayed; the controller then explains, in the resident's language.

Routing, the access log, security headers (a `before_send` hook) and the error
pages apply as for any route. The route is excluded from the CSRF middleware,
which would parse the form a second time; `check_form_csrf` makes the same
double-submit check on the form both paths read anyway.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request
from litestar.middleware import DefineMiddleware

from app.errors import DomainError
from app.forms import FormReadError, parse_urlencoded
from app.security import FORM_TOKEN_CHECKED_BY_HANDLER, form_token_accepted

# The forms taken this way are a few kilobytes; anything larger is left to the controller.
MAX_FAST_BODY = 32 * 1024
# Route options of a fast-path route: the CSRF check is `check_form_csrf`.
FAST_PATH_OPTIONS = FORM_TOKEN_CHECKED_BY_HANDLER

Attempt = Callable[[Request, dict[str, list[str]]], Awaitable[tuple[str, str] | None]]


class HandOver(Exception):  # noqa: N818 - not a failure: the controller takes over
    """The fast path cannot finish this request; the controller will."""


async def hit_once(request: Request, counter: Any, key: str, limit: Any) -> int:
    """A rate-limit hit counted once per request: when the fast path hands a refusal over, the
    controller checks the same request again and must see the same count, not add another."""
    counted = request.state.get("rate_limit_hits")
    if counted is None:
        counted = request.state.rate_limit_hits = {}
    if key not in counted:
        counted[key] = await counter.hit(key, limit)
    return counted[key]


def fast_path(attempt: Attempt) -> DefineMiddleware:
    return DefineMiddleware(FastPathMiddleware, attempt=attempt)


def check_form_csrf(request: Request, fields: dict[str, list[str]]) -> None:
    """The form token check of app/security.py; a refusal goes on to the controller."""
    if not form_token_accepted(request, fields):
        raise HandOver


class FastPathMiddleware:
    def __init__(self, app: Any, attempt: Attempt) -> None:
        self.app = app
        self.attempt = attempt

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if (
            scope["method"] != "POST"
            or content_type != b"application/x-www-form-urlencoded"
            or headers.get(b"hx-request")
        ):
            await self.app(scope, receive, send)
            return
        body, more = await _read_body(receive, limit=MAX_FAST_BODY)
        replay = _replaying(body, more, receive)
        request = Request(scope, receive=replay)
        try:
            if more:
                raise HandOver
            fields = parse_urlencoded(body)
            check_form_csrf(request, fields)
            done = await self.attempt(request, fields)
        except (HandOver, DomainError, FormReadError):
            done = None
        if done is None:
            await self.app(scope, replay, send)
            return
        location, cookie = done
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [
                    (b"location", location.encode()),
                    (b"set-cookie", cookie.encode()),
                    (b"content-length", b"0"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})


async def _read_body(receive: Any, *, limit: int) -> tuple[bytes, bool]:
    """The body, and whether more is left unread (it was over the limit)."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body"):
            return b"".join(chunks), False
        if size > limit:
            return b"".join(chunks), True


def _replaying(body: bytes, more: bool, receive: Any) -> Callable[[], Awaitable[dict]]:
    """A receive callable that hands the body read so far to the next app, then the rest."""
    pending = [{"type": "http.request", "body": body, "more_body": more}]

    async def replay() -> dict:
        if pending:
            return pending.pop()
        return await receive()

    return replay
