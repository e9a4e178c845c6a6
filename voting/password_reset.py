"""A resident's forgotten password: a link by e-mail, then a new password.

The link carries a signed token (itsdangerous, its own purpose) of the account's id and a
fingerprint of the password hash at the time it was asked for:
- expiring: refused RESET_SECONDS after it was signed;
- single-use: setting a password changes the hash, so the same link (and every other link
  asked for before) no longer matches;
- one account only: the id and fingerprint are signed with SECRET_KEY.

Asking for a link answers the same whatever the address, and does the same work either way: an
address with an account gets the link, one without gets a message saying so (so that a resident
who forgot which address they used learns it), both written to the outbox in one transaction.
Asking is rate-limited by address and by network address, so the form cannot be used to flood
someone's mailbox.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlencode

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.passwords import hash_password
from app.accounts.services import normalise_email, password_problem
from app.database import utcnow
from app.errors import DomainError
from app.i18n import N_
from app.mail import enqueue
from app.ratelimit import Limit, RateLimiter, counter_key
from app.signing import sign, unsign
from voting.models import Resident

PURPOSE = "resident-reset"
RESET_SECONDS = 60 * 60
PER_EMAIL = Limit(count=3, seconds=60 * 60)
PER_NETWORK_ADDRESS = Limit(count=20, seconds=60 * 60)


class ResetThrottledError(DomainError):
    status_code = 429


class ResetLinkError(DomainError):
    """The link is forged, expired or already used."""


async def within_mail_limits(
    limiter: RateLimiter, secret: str, purpose: str, email: str, network_address: str
) -> bool:
    """Count one request that e-mails `email`; False once the address or the network address
    has made too many within the hour (a form must not flood someone's mailbox)."""
    by_email = await limiter.hit(counter_key(secret, f"{purpose}-email", email), PER_EMAIL)
    by_address = await limiter.hit(
        counter_key(secret, f"{purpose}-address", network_address), PER_NETWORK_ADDRESS
    )
    return by_email <= PER_EMAIL.count and by_address <= PER_NETWORK_ADDRESS.count


def _fingerprint(resident: Resident) -> str:
    return hashlib.sha256(resident.password_hash.encode()).hexdigest()[:24]


def reset_token(secret: str, resident: Resident) -> str:
    return sign(secret, PURPOSE, f"{resident.id}.{_fingerprint(resident)}")


async def request_reset(
    session: AsyncSession,
    limiter: RateLimiter,
    *,
    secret: str,
    email: str,
    network_address: str,
    site_url: str,
    language: str,
) -> None:
    """Write the reset message (or the "no account" message) for `email` into the outbox."""
    email = normalise_email(email)
    if not await within_mail_limits(limiter, secret, "reset", email, network_address):
        raise ResetThrottledError(
            N_("Too many requests for a new password. Wait an hour and try again.")
        )
    site = site_url.rstrip("/")
    resident = await session.scalar(select(Resident).where(Resident.email == email))
    if resident is None:
        # The same work as below: a token is signed and one message written.
        reset_token(secret, Resident(id=0, password_hash=""))
        await enqueue(
            session, email, "password_reset_unknown", language, register=f"{site}/account/register"
        )
    else:
        link = f"{site}/account/reset?{urlencode({'t': reset_token(secret, resident)})}"
        await enqueue(
            session,
            email,
            "password_reset",
            resident.language or language,
            name=resident.display_name,
            link=link,
        )
    await session.commit()


async def resident_for_token(session: AsyncSession, secret: str, token: str) -> Resident:
    value = unsign(secret, PURPOSE, token, max_length=300, max_age=RESET_SECONDS)
    resident_id, _, fingerprint = (value or "").partition(".")
    resident = await session.get(Resident, int(resident_id)) if resident_id.isdecimal() else None
    if resident is None or not hmac.compare_digest(fingerprint, _fingerprint(resident)):
        raise ResetLinkError(
            N_("This link has expired or has already been used. Ask for a new one.")
        )
    return resident


async def reset_password(
    session: AsyncSession, secret: str, token: str, new_password: str
) -> Resident:
    """Set the new password: the link stops working, every browser is signed out, and the
    address counts as confirmed (the message reached it)."""
    resident = await resident_for_token(session, secret, token)
    problem = password_problem(new_password, resident.email)
    if problem:
        raise DomainError(problem)
    new_hash = await hash_password(new_password)
    # Only while the hash is still the one the link was made for: of two uses of one link at
    # the same moment, one sets the password and the other is refused.
    changed = await session.execute(
        update(Resident)
        .where(Resident.id == resident.id, Resident.password_hash == resident.password_hash)
        .values(
            password_hash=new_hash,
            session_generation=Resident.session_generation + 1,
            confirmed_at=func.coalesce(Resident.confirmed_at, utcnow()),
        )
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    if not changed.rowcount:
        raise ResetLinkError(
            N_("This link has expired or has already been used. Ask for a new one.")
        )
    await session.refresh(resident)
    return resident
