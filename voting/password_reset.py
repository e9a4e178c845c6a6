"""A resident's forgotten password: a link by e-mail, then a new password.

The link is the signed token of app/accounts/password_reset.py (the account's id and a
fingerprint of its password hash): expiring after RESET_SECONDS; single-use, since setting a
password changes the hash (and voids every link asked for before); one account only.

Asking for a link answers the same whatever the address, and does the same work either way: an
address with an account gets the link, one without gets a message saying so (so that a resident
who forgot which address they used learns it), both written to the outbox in one transaction.
Asking is limited per requesting client and network, and per recipient by a cooldown that sends
nothing more within minutes of the last message but never refuses anyone (see `mail_allowed`):
the form can flood no one's mailbox, and no one can stop a resident from resetting.
"""

from __future__ import annotations

from urllib.parse import urlencode

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.password_reset import (
    MAIL_COOLDOWN,
    PER_NETWORK_ADDRESS,
    RESET_SECONDS,
    ResetLinkError,
    ResetThrottledError,
    mail_allowed,
    make_reset_token,
    matches,
    read_reset_token,
)
from app.accounts.passwords import hash_password
from app.accounts.services import normalise_email, password_problem
from app.database import utcnow
from app.errors import DomainError
from app.mail import enqueue
from app.ratelimit import RateLimiter
from voting.models import Resident
from voting.resident_accounts import end_every_resident_session

PURPOSE = "resident-reset"


def reset_token(secret: str, resident: Resident) -> str:
    return make_reset_token(secret, PURPOSE, resident.id, resident.password_hash)


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
    if not await mail_allowed(limiter, secret, "reset", email, network_address):
        # Within the recipient's cooldown: the same answer, and the message sent minutes ago
        # holds a link that still works.
        return
    site = site_url.rstrip("/")
    resident = await session.scalar(select(Resident).where(Resident.email == email))
    if resident is None:
        # The same work as below: a token is signed and one message written.
        make_reset_token(secret, PURPOSE, 0, "")
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
    read = read_reset_token(secret, PURPOSE, token)
    resident = await session.get(Resident, read[0]) if read else None
    if resident is None or not matches(read[1], resident.password_hash):
        raise ResetLinkError
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
    if not changed.rowcount:
        await session.rollback()
        raise ResetLinkError
    # Whoever held a session (perhaps the reason for the reset) is signed out everywhere.
    await end_every_resident_session(session, resident.id)
    await session.commit()
    await session.refresh(resident)
    return resident


__all__ = [
    "MAIL_COOLDOWN",
    "PER_NETWORK_ADDRESS",
    "RESET_SECONDS",
    "ResetLinkError",
    "ResetThrottledError",
    "mail_allowed",
]
