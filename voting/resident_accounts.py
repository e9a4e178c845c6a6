"""Resident accounts for sending ideas (voting never uses them): registering and confirming
an address, signing in, the session cookie, and what an account holds, downloads and deletes."""

from __future__ import annotations

import logging

from litestar import Request
from litestar.datastructures import Cookie
from litestar.response import Redirect
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.passwords import DUMMY_HASH, hash_password, needs_rehash, verify_password
from app.accounts.services import LoginFailedError, SignInGuard, normalise_email
from app.cookies import private_cookie
from app.database import utcnow
from app.i18n import N_
from app.signing import sign, unsign
from app.state import LIMITER, SETTINGS
from voting.models import Proposal, Resident, Round

log = logging.getLogger("tori.residents")
RESIDENT_COOKIE = "tori_resident"
SESSION_SECONDS = 14 * 24 * 3600
CONFIRM_SECONDS = 3 * 24 * 3600


def sign_in_first(then: str) -> Redirect:
    """To the resident sign-in, and back to `then` afterwards."""
    return Redirect(path="/account/sign-in", query_params={"next": then}, status_code=303)


def session_cookie(settings, resident: Resident) -> Cookie:
    """Signed with the time of signing: itsdangerous refuses it after SESSION_SECONDS."""
    value = sign(settings.secret_key, "resident", f"{resident.id}.{resident.session_generation}")
    return private_cookie(
        RESIDENT_COOKIE,
        value,
        secure=settings.https,
        max_age=SESSION_SECONDS,
    )


async def current_resident(request: Request, session: AsyncSession, secret: str) -> Resident | None:
    value = unsign(
        secret,
        "resident",
        request.cookies.get(RESIDENT_COOKIE),
        max_length=200,
        max_age=SESSION_SECONDS,
    )
    if not value:
        return None
    try:
        resident_id, generation = (int(part) for part in value.split("."))
    except ValueError:
        return None
    resident = await session.get(Resident, resident_id)
    if resident is None or resident.session_generation != generation:
        return None
    return resident


def confirmation_token(secret: str, resident: Resident) -> str:
    """Signed with the time of signing: itsdangerous refuses it after CONFIRM_SECONDS."""
    return sign(secret, "resident-confirm", f"{resident.id}.{resident.email}")


async def confirm(session: AsyncSession, secret: str, token: str) -> Resident | None:
    value = unsign(secret, "resident-confirm", token, max_length=600, max_age=CONFIRM_SECONDS)
    if not value:
        return None
    resident_id, _, email = value.partition(".")
    if not resident_id.isdecimal():
        return None
    resident = await session.get(Resident, int(resident_id))
    if resident is None or resident.email != email:
        return None
    if resident.confirmed_at is None:
        resident.confirmed_at = utcnow()
        await session.commit()
    return resident


def resident_guard(request: Request) -> SignInGuard:
    return SignInGuard(
        limiter=LIMITER.of(request), secret=SETTINGS.of(request).secret_key, purpose="resident"
    )


async def register_resident(
    session: AsyncSession, email: str, name: str, password: str
) -> Resident | None:
    """A new, unconfirmed account; None when the address already has one (the caller answers
    the same either way, so that no one can probe which addresses are registered)."""
    if await session.scalar(select(Resident).where(Resident.email == email)) is not None:
        return None
    resident = Resident(
        email=email,
        display_name=name,
        password_hash=await hash_password(password),
        session_generation=1,
    )
    session.add(resident)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        return None
    return resident


async def ideas_of(session: AsyncSession, resident: Resident) -> list[tuple[Proposal, Round]]:
    rows = await session.execute(
        select(Proposal, Round)
        .join(Round, Round.id == Proposal.round_id)
        .where(Proposal.author_id == resident.id)
        .order_by(Proposal.id)
    )
    return [(proposal, round_) for proposal, round_ in rows.all()]


async def account_data(session: AsyncSession, resident: Resident) -> dict:
    """The account and every idea sent from it, as the resident may download them."""

    def moment(value):
        return value.isoformat() if value else None

    return {
        "account": {
            "email": resident.email,
            "name": resident.display_name,
            "created": moment(resident.created_at),
            "confirmed": moment(resident.confirmed_at),
        },
        "ideas": [
            {
                "round": round_.slug,
                "round_title": round_.title,
                "title": proposal.title,
                "description": proposal.description,
                "area_id": proposal.area_id,
                "estimated_cost": proposal.estimated_cost,
                "status": proposal.status,
            }
            for proposal, round_ in await ideas_of(session, resident)
        ],
        "note": "Votes are not linked to accounts: the service cannot show how or whether you voted.",
    }


async def delete_account(session: AsyncSession, resident: Resident) -> None:
    """Ideas not yet reviewed go with the account; reviewed ones stay, no longer linked to
    anyone, since they are already part of a round's public record."""
    await session.execute(
        delete(Proposal).where(Proposal.author_id == resident.id, Proposal.status == "submitted")
    )
    await session.execute(
        update(Proposal).where(Proposal.author_id == resident.id).values(author_id=None)
    )
    await session.delete(resident)
    await session.commit()
    log.info("a resident account was deleted at its owner's request")


async def authenticate_resident(
    session: AsyncSession, guard: SignInGuard, email: str, password: str, address: str
) -> Resident:
    await guard.check(email, address)
    resident = await session.scalar(
        select(Resident).where(Resident.email == normalise_email(email))
    )
    if resident is None:
        await verify_password(DUMMY_HASH, password)
    if resident is None or not await verify_password(resident.password_hash, password):
        await guard.record_failure(email, address)
        raise LoginFailedError(N_("The e-mail address or password is wrong."))
    if resident.confirmed_at is None:
        raise LoginFailedError(
            N_("Confirm your e-mail address first: open the link in the message we sent.")
        )
    if needs_rehash(resident.password_hash):
        resident.password_hash = await hash_password(password)
        await session.commit()
    await guard.clear_account(email)
    return resident
