"""Password-reset links, for staff here and for residents (voting/password_reset.py).

A link carries a signed token (itsdangerous, a purpose of its own) of the account's id and a
fingerprint of its password hash when the link was asked for: refused after RESET_SECONDS,
and refused once the password has changed (so it works once, and a reset voids every other link).

Staff: `/staff/forgot` answers the same for every address and writes one message either way
(the link to an active account; to any other address a note that there is no staff account),
limited per requesting client and network, with a per-recipient cooldown that quietens repeats
but never refuses the recipient; `/staff/reset` sets the password, ends every staff
session of the account and records the change in the staff audit log.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlencode

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import StaffSession, User
from app.accounts.passwords import hash_password
from app.accounts.services import _record, normalise_email, password_problem, user_snapshot
from app.errors import DomainError
from app.i18n import N_
from app.mail import enqueue
from app.ratelimit import Limit, RateLimiter, address_block, attempt, counter_key
from app.signing import sign, unsign

RESET_SECONDS = 60 * 60
# Requests for mail per requesting client (an IPv4 address, an IPv6 /64) and per network (an
# IPv4 /24, an IPv6 /48) in an hour: past these the requester gets 429.
PER_NETWORK_ADDRESS = Limit(count=20, seconds=60 * 60)
PER_NETWORK = Limit(count=100, seconds=60 * 60)
# Per recipient, only a cooldown: one message in about 5 to 10 minutes (the counter slides over
# two windows). A request within it gets the same page and sends nothing. A recipient is never
# refused: three requests for someone's address used to answer 429 to that person for an hour,
# so anyone could stop them resetting their password. Within the cooldown the recipient already
# has a message, whose link is valid for an hour (any link works until the password changes).
MAIL_COOLDOWN = Limit(count=1, seconds=5 * 60)
STAFF_PURPOSE = "staff-reset"


class ResetThrottledError(DomainError):
    status_code = 429


class ResetLinkError(DomainError):
    """The link is forged, expired or already used."""

    def __init__(self) -> None:
        super().__init__(N_("This link has expired or has already been used. Ask for a new one."))


def fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:24]


def make_reset_token(secret: str, purpose: str, account_id: int, password_hash: str) -> str:
    return sign(secret, purpose, f"{account_id}.{fingerprint(password_hash)}")


def read_reset_token(secret: str, purpose: str, token: str) -> tuple[int, str] | None:
    """(account id, fingerprint) of a genuine, unexpired token; None otherwise."""
    value = unsign(secret, purpose, token, max_length=300, max_age=RESET_SECONDS)
    account_id, _, mark = (value or "").partition(".")
    return (int(account_id), mark) if account_id.isdecimal() else None


def matches(mark: str, password_hash: str) -> bool:
    return hmac.compare_digest(mark, fingerprint(password_hash))


async def mail_allowed(
    limiter: RateLimiter, secret: str, purpose: str, email: str, network_address: str
) -> bool:
    """Count one request that would e-mail `email`: raise ResetThrottledError when the requesting
    client or its network has made too many; False when `email` got a message within the
    cooldown (answer as if sent, send nothing); True to send.

    Each counter is counted before it is checked, in one atomic step, and a request that is
    refused or quietened is taken back everywhere (`app.ratelimit.attempt`): hammering does not
    extend anything, and a quietened request does not use up the requester's allowance."""
    counted = await attempt(
        limiter,
        [
            (
                counter_key(secret, f"{purpose}-address", address_block(network_address)),
                PER_NETWORK_ADDRESS,
            ),
            (
                counter_key(secret, f"{purpose}-network", address_block(network_address, 24, 48)),
                PER_NETWORK,
            ),
            (counter_key(secret, f"{purpose}-email", normalise_email(email)), MAIL_COOLDOWN),
        ],
    )
    if counted.refused_by in (0, 1):
        raise ResetThrottledError(
            N_("Too many requests for a new password. Wait an hour and try again.")
        )
    return not counted.refused


async def request_staff_reset(
    session: AsyncSession,
    limiter: RateLimiter,
    *,
    secret: str,
    email: str,
    network_address: str,
    site_url: str,
    language: str,
) -> None:
    email = normalise_email(email)
    if not await mail_allowed(limiter, secret, "staff-reset", email, network_address):
        return
    user = await session.scalar(select(User).where(User.email == email))
    site = site_url.rstrip("/")
    if user is None or not user.is_active:
        make_reset_token(secret, STAFF_PURPOSE, 0, "")  # the same work as below
        await enqueue(session, email, "staff_reset_unknown", language)
    else:
        token = make_reset_token(secret, STAFF_PURPOSE, user.id, user.password_hash)
        link = f"{site}/staff/reset?{urlencode({'t': token})}"
        await enqueue(session, email, "staff_reset", language, name=user.display_name, link=link)
    await session.commit()


async def staff_for_token(session: AsyncSession, secret: str, token: str) -> User:
    read = read_reset_token(secret, STAFF_PURPOSE, token)
    user = await session.get(User, read[0]) if read else None
    if user is None or not user.is_active or not matches(read[1], user.password_hash):
        raise ResetLinkError
    return user


async def reset_staff_password(
    session: AsyncSession, secret: str, token: str, new_password: str
) -> User:
    user = await staff_for_token(session, secret, token)
    problem = password_problem(new_password, user.email)
    if problem:
        raise DomainError(problem)
    before = user_snapshot(user)
    new_hash = await hash_password(new_password)
    changed = await session.execute(
        update(User)
        .where(User.id == user.id, User.password_hash == user.password_hash)
        .values(password_hash=new_hash, must_change_password=False)
        .execution_options(synchronize_session=False)
    )
    if not changed.rowcount:
        await session.rollback()
        raise ResetLinkError
    await session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
    await session.refresh(user)
    await _record(session, "user.reset_password_by_email", user, before, user_snapshot(user))
    await session.commit()
    return user
