"""Taking a vote: every check and the storing, shared by the controller and the fast path.

The busiest write of polls. A plain form vote that is in order is taken by
`FastVoteMiddleware` in front of the controller, without the framework's
per-request machinery (dependency injection, response building); anything else
- a refusal to explain, an htmx request, a kiosk - goes to the controller, which
runs the same checks and renders the page in the resident's language.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from hmac import compare_digest
from zoneinfo import ZoneInfo

from litestar import Request
from litestar.exceptions import PermissionDeniedException
from litestar.middleware.csrf import CSRF_SECRET_LENGTH, generate_csrf_hash

from app.errors import CSRF_FAILURE_DETAIL, DomainError
from app.forms import FormReadError, parse_urlencoded
from app.i18n import LANGUAGES, N_, gettext
from app.ratelimit import Limit, counter_key
from surveys.controllers import translate_errors
from surveys.definitions import read_answers
from surveys.device import remember_header, remembered_ids
from surveys.polls import services

VOTED_COOKIE = "tori_voted"
VOTED_PURPOSE = "voted-polls"
KIOSK_COOKIE = "tori_kiosk"
CSRF_COOKIE = "tori_csrf"
VOTE_WINDOW_SECONDS = 600
# A kiosk serves one person at a time: a vote every two seconds is already a queue.
KIOSK_LIMIT = Limit(count=30, seconds=60)
KIOSK_REVOKED = N_("This kiosk is no longer allowed to collect votes. Ask the staff for help.")
NOT_OPEN = N_("This poll is not open for votes.")
CHANGED = N_("The poll was changed just now. Please answer again.")
OUTCOME_REFUSALS = {
    services.NOT_OPEN: (NOT_OPEN, 400),
    services.KIOSK_REVOKED: (KIOSK_REVOKED, 403),
    services.CHANGED: (CHANGED, 409),
}


class Refusal(Exception):  # noqa: N818 - a refusal, not a failure
    """A vote that cannot be taken: a message in the voter's language and the status to send."""

    def __init__(self, message: str, status: int = 400, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.message, self.status, self.errors = message, status, errors


def voted_ids(request: Request, secret: str) -> list[str]:
    return remembered_ids(request, secret, VOTED_COOKIE, VOTED_PURPOSE)


def _decode_csrf(token: str, secret: str) -> str | None:
    if len(token) < CSRF_SECRET_LENGTH + 1 or len(token) > 256:
        return None
    value, mac = token[:CSRF_SECRET_LENGTH], token[CSRF_SECRET_LENGTH:]
    return value if compare_digest(mac, generate_csrf_hash(token=value, secret=secret)) else None


def check_csrf(request: Request, settings, submitted: dict[str, list[str]]) -> None:
    """The framework's double-submit check, done here because the vote route is excluded from the
    CSRF middleware (which would parse the form a second time): the form's token must be the
    cookie's, and both must carry this instance's MAC."""
    sent = (submitted.get("_csrf_token") or [request.headers.get("x-csrftoken", "")])[0]
    cookie = request.cookies.get(CSRF_COOKIE, "")
    ours = _decode_csrf(sent, settings.secret_key)
    if ours is None or ours != _decode_csrf(cookie, settings.secret_key):
        raise PermissionDeniedException(CSRF_FAILURE_DETAIL)


async def store_vote(request: Request, settings, slug: str, submitted, *, kiosk: bool):
    """Check and store the vote; raises Refusal. A double tap's second request is DUPLICATE."""
    # On PostgreSQL the vote goes through raw asyncpg calls on a pooled connection, outside any
    # transaction: storing is one atomic statement. SQLite stores in one transaction.
    database = request.app.state.db
    async with database.hot_connection() as connection:
        load = partial(services.voting_poll, connection)
        store = services.cast_vote_pg if database.is_postgresql else services.cast_vote
        cast = partial(store, connection)
        poll = await load(slug)
        outcome = await cast(await check_ballot(request, settings, poll, submitted, kiosk))
        if outcome == services.CHANGED:
            # Staff edited the poll a moment ago: check the vote against the new wording.
            poll = await load(slug, fresh=True)
            ballot = await check_ballot(request, settings, poll, submitted, kiosk, count=False)
            outcome = await cast(ballot)
    if outcome in OUTCOME_REFUSALS:
        message, status = OUTCOME_REFUSALS[outcome]
        raise Refusal(gettext(message), status)
    return poll, outcome


async def check_ballot(request: Request, settings, poll, submitted, kiosk, *, count=True):
    """The checked ballot; raises Refusal saying why it cannot be taken."""
    if not kiosk and str(poll.id) in voted_ids(request, settings.secret_key):
        raise Refusal(gettext("You have already voted in this poll. Thank you!"), 409)
    token = (submitted.get("token") or [""])[0]
    if not services.vote_token_is_genuine(settings.secret_key, poll.slug, token):
        raise Refusal(gettext("The form was not recognised. Reload the page and vote again."))
    language = (submitted.get("answer_language") or [""])[0]
    if language not in LANGUAGES:
        raise Refusal(
            gettext(
                "The language of the answers was not recognised. Reload the page and vote again."
            )
        )
    kiosk_parts = None
    if kiosk:
        kiosk_parts = services.split_kiosk_token(request.cookies.get(KIOSK_COOKIE))
        if kiosk_parts is None:
            raise Refusal(gettext(KIOSK_REVOKED), 403)
    if services.status_of(poll) != "open":
        raise Refusal(gettext(NOT_OPEN))
    if count:
        if kiosk_parts:
            limit = KIOSK_LIMIT
            key = counter_key(settings.secret_key, "poll-kiosk", str(kiosk_parts[0]))
        else:
            limit = Limit(count=settings.votes_per_address, seconds=VOTE_WINDOW_SECONDS)
            address = request.client.host if request.client else "unknown"
            key = counter_key(settings.secret_key, "poll-address", address)
        # Counted once per request, though a refusal found by the fast path is checked again.
        hits = request.state.get("vote_hits")
        if hits is None:
            hits = request.state.vote_hits = await request.app.state.limiter.hit(key, limit)
        if hits > limit.count:
            raise Refusal(
                gettext(
                    "Too many votes are coming from your network just now. Please wait a moment and vote again."
                ),
                429,
            )
    answers, errors = read_answers(poll.questions, submitted)
    if errors:
        messages = translate_errors(errors)
        raise Refusal(next(iter(messages.values())), 400, messages)
    channel = (submitted.get("channel") or [""])[0]
    area = (submitted.get("area") or [""])[0]
    return services.Ballot(
        poll=poll,
        token=token,
        channel=channel if channel in services.CHANNELS else "link",
        language=language,
        voted_on=dt.datetime.now(ZoneInfo(settings.timezone)).date(),
        rows=services.ballot_rows(poll.questions, answers),
        area_id=int(area) if area.isdigit() and len(area) < 10 else None,
        kiosk_id=kiosk_parts[0] if kiosk_parts else None,
        kiosk_secret_hash=services.kiosk_secret_hash(kiosk_parts[1]) if kiosk_parts else None,
    )


class FastVoteMiddleware:
    """Takes a plain-form vote that is in order without the framework's per-request machinery.

    Route middleware of the vote handler: routing, the access log, security headers (a
    `before_send` hook) and the exception pages still apply. It answers only when the vote is
    stored (or was already, a double tap); anything else is passed on to the controller with
    the body replayed, which runs the same checks and explains the refusal in the resident's
    language. A vote is never counted twice by the rate limiter (`request.state.vote_hits`).
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
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
        settings = request.app.state.settings
        try:
            submitted = parse_urlencoded(body) if not more else None
            if submitted is None or (submitted.get("channel") or [""])[0] == "kiosk":
                raise Refusal("", 400)
            check_csrf(request, settings, submitted)
            poll, outcome = await store_vote(
                request, settings, scope["path_params"]["slug"], submitted, kiosk=False
            )
        except (Refusal, PermissionDeniedException, DomainError, FormReadError):
            await self.app(scope, replay, send)
            return
        if outcome == services.STORED:
            from surveys.polls.controllers import notifier_of  # noqa: PLC0415 - import cycle

            notifier_of(request).changed(poll.id)
        cookie = remember_header(
            request,
            settings.secret_key,
            VOTED_COOKIE,
            VOTED_PURPOSE,
            poll.id,
            path="/p",
            https=settings.https,
        )
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [
                    (b"location", f"/p/{poll.slug}/thanks".encode()),
                    (b"set-cookie", cookie.encode()),
                    (b"content-length", b"0"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})


# A vote's form is a few hundred bytes; anything much larger is left to the controller's limits.
MAX_FAST_BODY = 16 * 1024


async def _read_body(receive, *, limit: int) -> tuple[bytes, bool]:
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


def _replaying(body: bytes, more: bool, receive):
    """A receive callable that hands the body read so far to the next app, then the rest."""
    pending = [{"type": "http.request", "body": body, "more_body": more}]

    async def replay():
        if pending:
            return pending.pop()
        return await receive()

    return replay
