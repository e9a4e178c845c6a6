"""Who is signed in to vote: the short-lived voter cookie (after a letter code, an assisted
code or strong identification), the cookie that says a ballot was cast on this device, and
the day that eligibility by age is reckoned on."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from litestar import Request
from litestar.datastructures import Cookie

from app.cookies import private_cookie
from app.signing import sign, unsign
from voting.models import RollEntry, Round
from voting.tally.board import CHANNELS

VOTER_COOKIE = "tori_voter"
# Set when a ballot is cast on this device: the ballot pages then say "you have already voted"
# instead of "sign in first". It names the round only, not the voter, and does not stop
# the next person on a shared device from signing in with their own code.
VOTED_COOKIE = "tori_voted"
RECEIPT_COOKIE = "tori_receipt"
RECEIPT_SECONDS = 30 * 60
VOTER_SECONDS = 30 * 60


@dataclass(frozen=True)
class Voter:
    """Who is signed in to vote (from the signed cookie): their roll entry, how they signed
    in, and the district whose ballot they get."""

    roll_id: int
    channel: str
    area_id: int | None
    # Orders the proposals on this voter's ballot (see voting.ballots.in_voter_order): derived
    # from the signed cookie, so the same on every page of one sign-in and never stored.
    order_seed: bytes = field(default=b"", compare=False, repr=False)


def voter_cookie(settings, round_: Round, entry: RollEntry, channel: str) -> Cookie:
    """Signed with the time of signing: itsdangerous refuses it after VOTER_SECONDS."""
    area = entry.area_id if entry.area_id is not None else ""
    value = f"{round_.id}.{entry.id}.{channel}.{area}"
    return private_cookie(
        VOTER_COOKIE,
        sign(settings.secret_key, "pb-voter", value),
        secure=settings.https,
        max_age=VOTER_SECONDS,
        path="/pb/",
    )


def signed_in_voter(request: Request, secret: str, round_: Round) -> Voter | None:
    """The voter signed in to this round, or None."""
    cookie = request.cookies.get(VOTER_COOKIE)
    value = unsign(secret, "pb-voter", cookie, max_length=200, max_age=VOTER_SECONDS)
    if not value or value.count(".") != 3:
        return None
    round_id, roll_id, channel, area = value.split(".")
    if round_id != str(round_.id) or not roll_id.isdecimal():
        return None
    if channel not in CHANNELS or not (area == "" or area.isdecimal()):
        return None
    seed = hmac.new(secret.encode(), b"ballot-order:" + cookie.encode(), hashlib.sha256).digest()
    return Voter(int(roll_id), channel, int(area) if area else None, seed)


def voted_here(request: Request, secret: str, round_: Round) -> bool:
    """Whether a ballot of this round was cast in this browser in the last half hour."""
    return unsign(secret, "pb-voted", request.cookies.get(VOTED_COOKIE), max_length=200) == (
        round_.slug
    )


def today_in(settings) -> dt.date:
    return dt.datetime.now(ZoneInfo(settings.timezone)).date()
