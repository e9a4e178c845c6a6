"""Taking a vote: every check and the storing, for the poll controller.

The busiest write of polls: a vote is checked and stored with one statement on a
pooled connection; a refusal says why, in the resident's language, and the
controller shows the poll again with the choices made.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial
from zoneinfo import ZoneInfo

from litestar import Request

from app.fastpath import HandOver, hit_once
from app.forms import translate_errors
from app.i18n import LANGUAGES, N_, gettext
from app.ratelimit import Limit, counter_key
from surveys.definitions import read_answers
from surveys.device import remember_header, remembered_ids
from surveys.polls import services

VOTED_COOKIE = "tori_voted"
VOTED_PURPOSE = "voted-polls"
KIOSK_COOKIE = "tori_kiosk"
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


log = logging.getLogger("tori.polls")


class Refusal(HandOver):
    """A vote that cannot be taken: a message in the voter's language and the status to send."""

    def __init__(self, message: str, status: int = 400, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.message, self.status, self.errors = message, status, errors


class AlreadyVoted(Refusal):
    """This device has voted in the poll (a double tap's late second request, or a stale form)."""

    def __init__(self) -> None:
        super().__init__(gettext("You have already voted in this poll. Thank you!"), 409)


def voted_ids(request: Request, secret: str) -> list[str]:
    return remembered_ids(request, secret, VOTED_COOKIE, VOTED_PURPOSE)


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
        raise AlreadyVoted
    token = (submitted.get("token") or [""])[0]
    if not services.vote_token_is_genuine(settings.secret_key, poll.slug, token):
        log.warning("vote refused: the form's token is not genuine on %s", request.url.path)
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
    if services.poll_status(poll) != "open":
        raise Refusal(gettext(NOT_OPEN))
    if count:
        if kiosk_parts:
            limit = KIOSK_LIMIT
            key = counter_key(settings.secret_key, "poll-kiosk", str(kiosk_parts[0]))
        else:
            limit = Limit(count=settings.votes_per_address, seconds=VOTE_WINDOW_SECONDS)
            address = request.client.host if request.client else "unknown"
            key = counter_key(settings.secret_key, "poll-address", address)
        counter = request.app.state.limiter if kiosk_parts else request.app.state.burst_counter
        hits = await hit_once(request, counter, key, limit)
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
    return services.PollBallot(
        poll=poll,
        token=token,
        channel=channel if channel in services.POLL_CHANNELS else "link",
        language=language,
        voted_on=dt.datetime.now(ZoneInfo(settings.timezone)).date(),
        rows=services.ballot_rows(poll.questions, answers),
        area_id=int(area) if area.isdecimal() and len(area) < 10 else None,
        kiosk_id=kiosk_parts[0] if kiosk_parts else None,
        kiosk_secret_hash=services.kiosk_secret_hash(kiosk_parts[1]) if kiosk_parts else None,
    )


async def vote_fast(request: Request, fields: dict[str, list[str]]) -> tuple[str, str] | None:
    """The fast path's attempt (app/fastpath.py): a plain-form vote that is in order."""
    if (fields.get("channel") or [""])[0] == "kiosk":
        return None
    settings = request.app.state.settings
    poll, outcome = await store_vote(
        request, settings, request.path_params["slug"], fields, kiosk=False
    )
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
    return f"/p/{poll.slug}/thanks", cookie
