"""A fast path for the busiest form posts: the happy path without the framework's per-request work.

Residents send votes and answer sheets in bursts (a QR code on a poster, a hall
full of phones). For such a route, `fast_path(attempt)` is route middleware: it
reads the URL-encoded body once, sets the resident's language, and calls
`attempt(request, fields)` - the very function the controller calls to take the
form (every check, the form token's included, and the storing). What the attempt
returns is sent at once: a 303 to where the browser goes next, with its cookies.

Anything else goes on to the controller, with the body replayed:
- the attempt returns None (not its kind of request: a language switch), or the
  request is not a plain form post (htmx, another encoding, too large), or the fast
  path is switched off (`TORI_FAST_PATH=0`): the controller takes the form itself;
- the attempt raised (a refusal, an error): the controller gets the very exception
  through `take_once` and shows it - nothing is checked or counted a second time.

Routing, the access log, security headers (a `before_send` hook) and the error
pages apply as for any route. The route is excluded from the CSRF middleware,
which would parse the form a second time; the attempt checks the form token with
`app.security.form_token_accepted`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from litestar import Request
from litestar.datastructures import Cookie
from litestar.middleware import DefineMiddleware

from app.errors import ForbiddenError, NotFoundError
from app.forms import FormReadError, parse_urlencoded
from app.security import FORM_EXPIRED, FORM_TOKEN_CHECKED_BY_HANDLER
from app.state import DATABASE, RENDERER, SETTINGS

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

# The forms taken this way are a few kilobytes; anything larger is left to the controller.
MAX_FAST_BODY = 32 * 1024
# Route options of a fast-path route: the form token is checked by the attempt.
FAST_PATH_OPTIONS = FORM_TOKEN_CHECKED_BY_HANDLER
# Request state: what the fast path's attempt raised, for the controller to show.
_RAISED = "fast_path_raised"


@dataclass(frozen=True)
class Taken:
    """A form taken: where the browser goes next, and the cookies it gets."""

    location: str
    cookies: list[Cookie] = field(default_factory=list)


T = TypeVar("T")
Attempt = Callable[[Request, dict[str, list[str]]], Awaitable[Taken | None]]


def fast_path(attempt: Attempt) -> DefineMiddleware:
    return DefineMiddleware(FastPathMiddleware, attempt=attempt)


async def take_once(request: Request, take: Callable[[], Awaitable[T]]) -> T:
    """`take()`, unless the fast path already tried this request and met an exception: then
    that exception, raised again, so that a refusal is checked (and counted) once."""
    raised = request.state.get(_RAISED)
    if raised is not None:
        raise raised
    return await take()


async def shown_again(
    request: Request,
    page: Callable[[AsyncSession], Awaitable[T]],
    *,
    expired: bool = False,
) -> T:
    """The form's page again after a refusal, read in a session of its own (a fast-path route's
    handler gets none injected). When the form's token was refused (`expired`) and the page does
    not exist, the answer is the expired form's refusal, not "not found"."""
    async with DATABASE.of(request).sessionmaker() as session:
        try:
            return await page(session)
        except NotFoundError:
            if expired:
                raise ForbiddenError(FORM_EXPIRED) from None
            raise


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
            or not SETTINGS.of(scope["litestar_app"]).fast_path
        ):
            await self.app(scope, receive, send)
            return
        body, more = await _read_body(receive, limit=MAX_FAST_BODY)
        replay = _replaying(body, more, receive)
        request = Request(scope, receive=replay)
        done = None
        try:
            fields = parse_urlencoded(body) if not more else None
        except FormReadError:
            fields = None  # the controller reads it again and explains
        if fields is not None:
            # The resident's language first: whatever the attempt writes is in it.
            RENDERER.of(request).choose_language(request)
            try:
                done = await self.attempt(request, fields)
            except Exception as error:
                request.state[_RAISED] = error
        if done is None:
            await self.app(scope, replay, send)
            return
        response_headers = [(b"location", done.location.encode()), (b"content-length", b"0")]
        response_headers += [
            (b"set-cookie", cookie.to_header(header="").encode()) for cookie in done.cookies
        ]
        await send({"type": "http.response.start", "status": 303, "headers": response_headers})
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
