"""Taking a vote: every check and the storing, for the poll controller and its fast path.

The busiest write of polls: `take_vote` checks the form token, the ballot and the
per-address counter, and stores the vote with one statement on PostgreSQL. A
refusal says why, in the resident's language, and the controller shows the poll
again with the choices made. The fast path (app/fastpath.py) calls the same
`take_vote`; whatever it meets, the controller shows without checking again.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial
from zoneinfo import ZoneInfo

from litestar import Request
from litestar.datastructures import Cookie

from app.fastpath import Taken
from app.forms import translate_errors
from app.i18n import N_, content_languages, gettext
from app.ratelimit import Limit, address_block, counter_key
from app.requests import ascii_int
from app.security import form_token_accepted
from app.state import BURST_COUNTER, DATABASE, LIMITER, SETTINGS
from surveys.definitions import read_answers
from surveys.device import remember_cookie, remembered_ids
from surveys.polls import services
from surveys.polls.live import POLL_NOTIFIER
from surveys.polls.services import CastOutcome, PollChannel, PollStatus, VotingPoll

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
    CastOutcome.NOT_OPEN: (NOT_OPEN, 400),
    CastOutcome.KIOSK_REVOKED: (KIOSK_REVOKED, 403),
    CastOutcome.CHANGED: (CHANGED, 409),
}


log = logging.getLogger("tori.polls")


class Refusal(Exception):  # noqa: N818 - a vote refused, not a failure of the program
    """A vote that cannot be taken: a message in the voter's language and the status to send."""

    def __init__(self, message: str, status: int = 400, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.message, self.status, self.errors = message, status, errors


class FormExpired(Refusal):
    """The form token was refused (app/security.py); nothing was read further."""

    def __init__(self) -> None:
        super().__init__("", 403)


class AlreadyVoted(Refusal):
    """This device has voted in the poll (a double tap's late second request, or a stale form)."""

    def __init__(self) -> None:
        super().__init__(gettext("You have already voted in this poll. Thank you!"), 409)


def voted_ids(request: Request, secret: str) -> list[str]:
    return remembered_ids(request, secret, VOTED_COOKIE, VOTED_PURPOSE)


def is_kiosk(submitted: dict[str, list[str]]) -> bool:
    return (submitted.get("channel") or [""])[0] == PollChannel.KIOSK


async def take_vote(request: Request, submitted: dict[str, list[str]]) -> Taken:
    """Check and store a vote; where the browser goes next. Raises Refusal (FormExpired first,
    when the form token is refused); a double tap's second request is taken as the first."""
    if not form_token_accepted(request, submitted):
        raise FormExpired
    settings = SETTINGS.of(request)
    kiosk = is_kiosk(submitted)
    async with DATABASE.of(request).write_connection() as connection:
        load = partial(services.voting_poll, connection)
        poll = await load(request.path_params["slug"])
        ballot = await check_ballot(request, settings, poll, submitted, kiosk)
        outcome = await services.cast_vote(connection, ballot)
        if outcome == CastOutcome.CHANGED:
            # Staff edited the poll a moment ago: check the vote against the new wording.
            poll = await load(poll.slug, fresh=True)
            ballot = await check_ballot(request, settings, poll, submitted, kiosk, count=False)
            outcome = await services.cast_vote(connection, ballot)
    if outcome in OUTCOME_REFUSALS:
        message, status = OUTCOME_REFUSALS[outcome]
        raise Refusal(gettext(message), status)
    if outcome == CastOutcome.STORED:
        POLL_NOTIFIER.of(request).changed(poll.id)
    if kiosk:
        return Taken(f"/p/{poll.slug}/kiosk?voted=1")
    return Taken(f"/p/{poll.slug}/thanks", [voted_cookie(request, settings, poll.id)])


def voted_cookie(request: Request, settings, poll_id: int) -> Cookie:
    return remember_cookie(
        request,
        settings.secret_key,
        VOTED_COOKIE,
        VOTED_PURPOSE,
        poll_id,
        path="/p",
        https=settings.https,
    )


async def check_ballot(
    request: Request, settings, poll: VotingPoll, submitted, kiosk: bool, *, count: bool = True
) -> services.PollBallot:
    """The checked ballot; raises Refusal saying why it cannot be taken."""
    if not kiosk and str(poll.id) in voted_ids(request, settings.secret_key):
        raise AlreadyVoted
    token = (submitted.get("token") or [""])[0]
    if not services.vote_token_is_genuine(settings.secret_key, poll.slug, token):
        log.warning("vote refused: the form's token is not genuine on %s", request.url.path)
        raise Refusal(gettext("The form was not recognised. Reload the page and vote again."))
    language = (submitted.get("answer_language") or [""])[0]
    if language not in content_languages():
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
    if services.poll_status(poll) != PollStatus.OPEN:
        raise Refusal(gettext(NOT_OPEN))
    if count:
        if kiosk_parts:
            limit = KIOSK_LIMIT
            key = counter_key(settings.secret_key, "poll-kiosk", str(kiosk_parts[0]))
        else:
            limit = Limit(count=settings.votes_per_address, seconds=VOTE_WINDOW_SECONDS)
            address = request.client.host if request.client else "unknown"
            key = counter_key(settings.secret_key, "poll-address", address_block(address))
        counter = LIMITER.of(request) if kiosk_parts else BURST_COUNTER.of(request)
        if await counter.hit(key, limit) > limit.count:
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
        channel=channel if channel in services.POLL_CHANNELS else PollChannel.LINK,
        language=language,
        voted_on=dt.datetime.now(ZoneInfo(settings.timezone)).date(),
        rows=services.ballot_rows(poll.questions, answers),
        area_id=ascii_int(area, maximum=10**9),
        kiosk_id=kiosk_parts[0] if kiosk_parts else None,
        kiosk_secret_hash=services.kiosk_secret_hash(kiosk_parts[1]) if kiosk_parts else None,
    )
