"""A resident's forgotten password: what differs from a staff member's (the flow, its limits and
the per-recipient cooldown are app/accounts/password_reset.py). The mail goes in the account's
language; an address without an account is told how to register; setting the password ends
every session of the account on every device and counts the address as confirmed, since the
message reached it."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import password_reset
from app.accounts.password_reset import (
    MAIL_COOLDOWN,
    PER_NETWORK_ADDRESS,
    RESET_SECONDS,
    AccountKind,
    ResetLinkError,
    ResetThrottledError,
    mail_allowed,
    make_reset_token,
)
from app.database import utcnow
from voting.models import Resident
from voting.resident_accounts import RESIDENT_COOKIE, end_every_resident_session


async def _end_every_session(session: AsyncSession, resident: Resident) -> None:
    """Whoever held a session (perhaps the reason for the reset) is signed out everywhere."""
    await end_every_resident_session(session, resident.id)


RESIDENT = AccountKind(
    name="resident",
    model=Resident,
    path="/account",
    sign_in_path="/account/sign-in",
    session_cookie=RESIDENT_COOKIE,
    choice_field="password",
    mail="password_reset",
    unknown_mail="password_reset_unknown",
    mail_language=lambda resident, language: resident.language or language,
    # A resident identified strongly has no password to reset (voting/identified.py).
    can_reset=lambda resident: resident.password_hash is not None,
    unknown_context=lambda site: {"register": f"{site}/account/register"},
    new_values=lambda: {
        "session_generation": Resident.session_generation + 1,
        "confirmed_at": func.coalesce(Resident.confirmed_at, utcnow()),
    },
    after_reset=_end_every_session,
)


def reset_token(secret: str, resident: Resident) -> str:
    return make_reset_token(secret, RESIDENT, resident.id, resident.password_hash, resident.email)


async def reset_password(
    session: AsyncSession, secret: str, token: str, new_password: str
) -> Resident:
    return await password_reset.reset_password(session, RESIDENT, secret, token, new_password)


__all__ = [
    "MAIL_COOLDOWN",
    "PER_NETWORK_ADDRESS",
    "RESET_SECONDS",
    "ResetLinkError",
    "ResetThrottledError",
    "mail_allowed",
]
