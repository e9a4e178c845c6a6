"""Residents who identified strongly (OpenID Connect) send ideas without an e-mail account.

The provider's subject (its stable, per-client id of the person) is turned into a keyed hash at
once (HMAC with the roll key, a purpose of its own, so it matches nothing on the voter roll),
and only that hash is stored: not the subject, not the personal identity code, not a name. The
resident then holds the same server-side session as after a password sign-in
(`ResidentSession`: sign-out and "sign out on every device" end it), and sends, edits and
withdraws their ideas like any resident. An e-mail address is optional: given and confirmed
(voting/email_change.py, without a password, since the resident has none), notices about
their ideas go to it; without one, none do.
"""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voting.models import Resident


def identity_hash(key: str, issuer: str, subject: str) -> str:
    """The stored stand-in for the person: keyed, so the table alone names nobody."""
    message = f"resident-subject\0{issuer}\0{subject}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def is_identified(resident: Resident) -> bool:
    """Signed in through the identity provider, without a password of their own."""
    return resident.identity_hash is not None and resident.password_hash is None


async def identified_resident(
    session: AsyncSession, key: str, issuer: str, subject: str, language: str
) -> Resident:
    """The resident's account for this subject, made at the first identification (committed).
    Two first identifications at once make one account: the second finds the first's."""
    marker = identity_hash(key, issuer, subject)
    found = await session.scalar(select(Resident).where(Resident.identity_hash == marker))
    if found is not None:
        return found
    resident = Resident(
        email=None,
        display_name="",
        password_hash=None,
        identity_hash=marker,
        session_generation=1,
        language=language,
    )
    session.add(resident)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        return await session.scalar(select(Resident).where(Resident.identity_hash == marker))
    return resident
