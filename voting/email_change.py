"""Changing a resident account's e-mail address: the new address must confirm it.

The resident gives the new address and the password. A link goes to the new address (signed,
24 hours, naming the account, the old and the new address): it works only while the account still
has the old address, so once. When it is opened the address changes and the old address gets a
note, so that a resident whose session was taken over learns of it. An address that already has
an account gets no message, and the answer is the same.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlencode

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.password_reset import fingerprint
from app.database import utcnow
from app.errors import DomainError
from app.i18n import N_
from app.mail import enqueue
from app.signing import sign, unsign
from voting.models import Resident
from voting.resident_accounts import end_every_resident_session

PURPOSE = "resident-email-change"
CHANGE_SECONDS = 24 * 3600


class EmailChangeLinkError(DomainError):
    """Forged, expired, used, or the new address was taken meanwhile."""


async def request_email_change(
    session: AsyncSession,
    resident: Resident,
    *,
    new_email: str,
    secret: str,
    site_url: str,
    language: str,
    send_mail: bool = True,
) -> None:
    """The caller has checked the password (authenticate_resident, throttled), or the resident
    has none (identified strongly, voting/identified.py: this gives them their first address)."""
    if new_email == resident.email:
        raise DomainError(N_("This is already your e-mail address."))
    taken = await session.scalar(select(Resident.id).where(Resident.email == new_email))
    # `send_mail` False: the address had its share of messages (mail_allowed); the same answer.
    if taken is None and send_mail:
        token = sign(
            secret,
            PURPOSE,
            f"{resident.id}\n{resident.email or ''}\n{new_email}\n{_password_mark(resident)}",
        )
        link = f"{site_url.rstrip('/')}/account/email/confirm?{urlencode({'t': token})}"
        await enqueue(
            session, new_email, "email_change", language, name=resident.display_name, link=link
        )
    await session.commit()


def _password_mark(resident: Resident) -> str:
    """The link stops working when the password changes: a resident who took their account back
    from someone who knew the password (a new password, every session ended) is not then robbed
    of it by the change of address that person asked for."""
    return fingerprint(resident.password_hash or "", None)


async def confirm_email_change(
    session: AsyncSession, secret: str, token: str, site_url: str, keep_session: str | None = None
) -> Resident:
    """Set the new address; every other session of the account ends (whoever else was signed
    in – perhaps the reason for the change – must sign in again), the browser that opened the
    link keeps its own (`keep_session`, its session token) if it had one."""
    value = unsign(secret, PURPOSE, token, max_length=1200, max_age=CHANGE_SECONDS)
    parts = (value or "").split("\n")
    failure = EmailChangeLinkError(
        N_("This link has expired or has already been used. Ask for a new one.")
    )
    if len(parts) != 4 or not parts[0].isdecimal():
        raise failure
    resident_id, old_email, new_email, mark = int(parts[0]), parts[1], parts[2], parts[3]
    resident = await session.get(Resident, resident_id)
    if resident is None or not hmac.compare_digest(mark, _password_mark(resident)):
        raise failure
    try:
        # An empty old address: a resident identified strongly gives their first one.
        had = Resident.email == old_email if old_email else Resident.email.is_(None)
        changed = await session.execute(
            update(Resident)
            .where(Resident.id == resident_id, had)
            .values(email=new_email, confirmed_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if not changed.rowcount:
            raise failure
        if old_email:
            await enqueue(
                session,
                old_email,
                "email_changed",
                resident.language,
                name=resident.display_name,
                new_email=new_email,
                contact_page=f"{site_url.rstrip('/')}/account/sign-in",
            )
        await end_every_resident_session(session, resident_id, keep=keep_session)
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise failure from None
    await session.refresh(resident)
    return resident
