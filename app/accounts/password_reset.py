"""Password-reset links, for staff here and for residents (voting/password_reset.py).

A link carries a signed token (itsdangerous, a purpose of its own) of the account's id and a
fingerprint of its password hash when the link was asked for: refused after RESET_SECONDS,
and refused once the password has changed (so it works once, and a reset voids every other link).

Staff: `/staff/forgot` answers the same for every address and writes one message either way
(the link to an active account; to any other address a note that there is no staff account),
rate-limited per address and network address; `/staff/reset` sets the password, ends every staff
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
from app.ratelimit import Limit, RateLimiter, address_block, counter_key
from app.signing import sign, unsign

RESET_SECONDS = 60 * 60
PER_EMAIL = Limit(count=3, seconds=60 * 60)
PER_NETWORK_ADDRESS = Limit(count=20, seconds=60 * 60)
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


async def within_mail_limits(
    limiter: RateLimiter, secret: str, purpose: str, email: str, network_address: str
) -> bool:
    """Count one request that e-mails `email`; False once the address or the network address
    has made too many within the hour (a form must not flood someone's mailbox)."""
    by_email = await limiter.hit(counter_key(secret, f"{purpose}-email", email), PER_EMAIL)
    by_address = await limiter.hit(
        counter_key(secret, f"{purpose}-address", address_block(network_address)),
        PER_NETWORK_ADDRESS,
    )
    return by_email <= PER_EMAIL.count and by_address <= PER_NETWORK_ADDRESS.count


async def refuse_reset_flood(
    limiter: RateLimiter, secret: str, purpose: str, email: str, network_address: str
) -> None:
    """Count one request for a reset mail; raise ResetThrottledError past the limits."""
    if not await within_mail_limits(limiter, secret, purpose, email, network_address):
        raise ResetThrottledError(
            N_("Too many requests for a new password. Wait an hour and try again.")
        )


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
    await refuse_reset_flood(limiter, secret, "staff-reset", email, network_address)
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
