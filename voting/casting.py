"""Taking a cast ballot: every check and the storing, for the fast path and the controller alike.

A round's voters cast in bursts (the last evening of voting, a letter campaign). The cast is
taken by `app.fastpath` in front of the controller: the same function the controller calls,
without dependency injection, a second parse of the form by the CSRF middleware and response
building (benchmarks/pb_cast.py). It checks the form token, the voter's cookie, the round's
phase and the ballot against the round's rule, then calls `cast_ballot` (the one write path of
a ballot) and asks the mixer to run after it. A ballot that breaks the rule is left to the
controller, which shows the ballot again with what to correct.
"""

from __future__ import annotations

from litestar import Request
from litestar.datastructures import Cookie
from litestar.exceptions import PermissionDeniedException

from app.cookies import private_cookie
from app.errors import CSRF_FAILURE_DETAIL, ForbiddenError
from app.fastpath import Taken
from app.i18n import N_
from app.security import form_token_accepted
from app.signing import sign
from app.state import DATABASE, SETTINGS, Slot
from voting import rounds
from voting.ballots import ALREADY_VOTED, AlreadyVotedError, BallotCache, cast_ballot, read_ballot
from voting.mixing import RoundRef
from voting.models import Round
from voting.pages import MIX_SCHEDULER
from voting.roll import has_ballot
from voting.voters import (
    RECEIPT_COOKIE,
    RECEIPT_SECONDS,
    VOTED_COOKIE,
    VOTER_COOKIE,
    Voter,
    signed_in_voter,
    voted_here,
)

# The rounds and ballot parts each worker keeps while voting is open.
BALLOT_CACHE: Slot[BallotCache] = Slot("ballot_cache", lambda _app: BallotCache())


def voter_of(request: Request, secret_key: str, round_: Round) -> Voter:
    """The voter signed in for this round, who may vote now; raises what the voter is told."""
    voter = signed_in_voter(request, secret_key, round_)
    if voter is None:
        if voted_here(request, secret_key, round_):
            raise AlreadyVotedError(ALREADY_VOTED)
        raise ForbiddenError(N_("Sign in to vote first. Your sign-in lasts 30 minutes."))
    if rounds.phase_of(round_) != "voting":
        raise ForbiddenError(N_("Voting is not open in this round."))
    if not has_ballot(round_, voter.area_id):
        # Refused at sign-in too (voting.roll.eligibility_problem); this also stops a
        # sign-in made before the round's budgets were what they are now.
        raise ForbiddenError(
            N_(
                "This round has no budget for your area, so there is nothing for you to "
                "vote on. If your area is wrong, contact the organisers."
            )
        )
    return voter


async def take_cast(request: Request, fields: dict[str, list[str]]) -> Taken | None:
    """Check and store the signed-in voter's ballot; where the browser goes next, with the
    receipt. None when the ballot breaks the round's rule (nothing is stored: the controller
    shows the ballot again). Raises what the voter is told otherwise."""
    if not form_token_accepted(request, fields):
        raise PermissionDeniedException(detail=CSRF_FAILURE_DETAIL)
    settings = SETTINGS.of(request)
    database = DATABASE.of(request)
    cache = BALLOT_CACHE.of(request)
    slug = request.path_params["slug"]
    async with database.sessionmaker() as session:
        round_ = await cache.round(session, slug)
        voter = voter_of(request, settings.secret_key, round_)
        parts = await cache.parts(session, round_, voter.area_id)
        read = read_ballot(round_, parts, fields)
        if not read.is_valid:
            return None
        receipt = await cast_ballot(
            session,
            round_,
            voter.roll_id,
            voter.channel,
            read.choices,
            voter.area_id,
            database=database,
            parts=parts,
        )
    # The ballot is pending: a mix attempt runs in the background (it never delays the voter,
    # and gives up at once when another worker is mixing).
    await MIX_SCHEDULER.of(request).after_cast(database, RoundRef(round_.id, round_.slug))
    return Taken(
        f"/pb/{slug}/voted",
        [
            # The receipt for the thank-you page only; it names the entry, not the voter.
            private_cookie(
                RECEIPT_COOKIE,
                sign(settings.secret_key, "pb-receipt", f"{round_.slug}.{receipt}"),
                secure=settings.https,
                max_age=RECEIPT_SECONDS,
                path=f"/pb/{slug}/voted",
            ),
            private_cookie(
                VOTED_COOKIE,
                sign(settings.secret_key, "pb-voted", round_.slug),
                secure=settings.https,
                max_age=RECEIPT_SECONDS,
                path=f"/pb/{slug}/",
            ),
            # The sign-in ends with the cast.
            Cookie(key=VOTER_COOKIE, path="/pb/", expires=0, max_age=0),
        ],
    )
