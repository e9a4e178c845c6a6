"""Resident accounts for sending ideas (voting never uses them): registering and confirming
an address, signing in, the session cookie, and what an account holds, downloads and deletes."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlencode

from litestar import Request
from litestar.datastructures import Cookie
from litestar.response import Redirect
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.password_reset import ResetThrottledError, mail_allowed
from app.accounts.passwords import DUMMY_HASH, hash_password, needs_rehash, verify_password
from app.accounts.services import (
    MAX_SESSION_TOKEN_LENGTH,
    LoginFailedError,
    SignInGuard,
    new_session_token,
    normalise_email,
    session_token_hash,
)
from app.cookies import private_cookie
from app.database import release_connection, utcnow
from app.errors import DomainError
from app.i18n import N_
from app.mail import enqueue
from app.media import MediaStore
from app.ratelimit import Limit, RateLimiter, address_block, attempt, counter_key
from app.signing import sign, unsign
from app.state import LIMITER, SETTINGS
from voting import pictures
from voting.models import Proposal, Resident, ResidentSession, Round

log = logging.getLogger("tori.residents")
RESIDENT_COOKIE = "tori_resident"
SESSION_SECONDS = 14 * 24 * 3600
CONFIRM_SECONDS = 3 * 24 * 3600


def sign_in_first(then: str) -> Redirect:
    """To the resident sign-in, and back to `then` afterwards."""
    return Redirect(path="/account/sign-in", query_params={"next": then}, status_code=303)


def session_cookie(settings, token: str) -> Cookie:
    """The session's random token, signed: the database decides whether the session lives, the
    signature lets every page's header tell a genuine cookie from a made-up one without asking
    the database."""
    value = sign(settings.secret_key, "resident-session", token)
    return private_cookie(RESIDENT_COOKIE, value, secure=settings.https, max_age=SESSION_SECONDS)


def session_token(request: Request) -> str | None:
    """The token in this browser's session cookie, if the cookie is genuine and not too old."""
    token = unsign(
        SETTINGS.of(request).secret_key,
        "resident-session",
        request.cookies.get(RESIDENT_COOKIE),
        max_length=200,
        max_age=SESSION_SECONDS,
    )
    return token if token and len(token) <= MAX_SESSION_TOKEN_LENGTH else None


async def start_resident_session(session: AsyncSession, resident: Resident) -> str:
    """A new session row for this browser (a fresh token at every sign-in: no session fixation);
    the token goes into the cookie, only its hash into the database."""
    token = new_session_token()
    now = utcnow()
    session.add(
        ResidentSession(
            token_hash=session_token_hash(token),
            resident_id=resident.id,
            created_at=now,
            expires_at=now + dt.timedelta(seconds=SESSION_SECONDS),
        )
    )
    # Ended sessions go, a few at a time, so the table holds only live ones.
    await session.execute(delete(ResidentSession).where(ResidentSession.expires_at < now))
    await session.commit()
    return token


async def end_resident_session(session: AsyncSession, token: str | None) -> None:
    """Sign-out: this browser's session ends on the server, so a copy of its cookie opens nothing."""
    if token and len(token) <= MAX_SESSION_TOKEN_LENGTH:
        await session.execute(
            delete(ResidentSession).where(ResidentSession.token_hash == session_token_hash(token))
        )
        await session.commit()


async def end_every_resident_session(
    session: AsyncSession, resident_id: int, *, keep: str | None = None
) -> None:
    """Every browser signed in to the account is signed out, but the one whose session token is
    `keep` (the caller commits)."""
    statement = delete(ResidentSession).where(ResidentSession.resident_id == resident_id)
    if keep:
        statement = statement.where(ResidentSession.token_hash != session_token_hash(keep))
    await session.execute(statement)


async def current_resident(request: Request, session: AsyncSession) -> Resident | None:
    """The account of this browser's session: a live row for the hash of the cookie's token."""
    token = session_token(request)
    if token is None:
        return None
    return await session.scalar(
        select(Resident)
        .join(ResidentSession, ResidentSession.resident_id == Resident.id)
        .where(
            ResidentSession.token_hash == session_token_hash(token),
            ResidentSession.expires_at > utcnow(),
        )
    )


def account_menu(request: Request) -> tuple[str, str, str] | None:
    """The header's "Your account" link and sign-out, for a browser with a resident's session
    cookie. The cookie's signature and age are checked, not the database (every page asks): a
    session ended elsewhere still shows the link, which then leads to the sign-in."""
    signed_in = session_token(request) is not None
    return (N_("Your account"), "/account", "/account/sign-out") if signed_in else None


def confirmation_token(secret: str, resident: Resident) -> str:
    """Signed with the time of signing: itsdangerous refuses it after CONFIRM_SECONDS."""
    return sign(secret, "resident-confirm", f"{resident.id}.{resident.email}")


class LinkState(StrEnum):
    """What a confirmation link is, or what using it did."""

    VALID = "valid"  # genuine, within its lifetime, the address not yet confirmed: ask
    CONFIRMED = "confirmed"  # the address is confirmed now
    ALREADY_CONFIRMED = "already_confirmed"  # it was before: the resident can sign in
    EXPIRED = "expired"  # a genuine link, too old, the address not confirmed: ask for a new one
    INVALID = "invalid"  # forged, altered, or its account gone or under another address


async def confirm(
    session: AsyncSession, secret: str, token: str, *, apply: bool = True
) -> tuple[LinkState, Resident | None]:
    """Confirm the address the link was sent to (with `apply=False` only say whether it would:
    opening the link shows a button, since a mail gateway that opens every link would
    otherwise confirm an account someone registered to another person's address). A link used
    again, or after its three days, says so rather than calling itself invalid; only a link
    within its lifetime confirms."""
    value = unsign(secret, "resident-confirm", token, max_length=600, max_age=CONFIRM_SECONDS)
    expired = value is None
    if expired:
        value = unsign(secret, "resident-confirm", token, max_length=600)
    resident_id, _, email = (value or "").partition(".")
    resident = await session.get(Resident, int(resident_id)) if resident_id.isdecimal() else None
    if resident is None or resident.email != email:
        return LinkState.INVALID, None
    if resident.confirmed_at is not None:
        return LinkState.ALREADY_CONFIRMED, resident
    if expired:
        return LinkState.EXPIRED, resident
    if not apply:
        return LinkState.VALID, resident
    resident.confirmed_at = utcnow()
    await session.commit()
    return LinkState.CONFIRMED, resident


class ConfirmationThrottledError(DomainError):
    status_code = 429


async def send_confirmation_again(
    session: AsyncSession,
    limiter: RateLimiter,
    *,
    secret: str,
    email: str,
    network_address: str,
    site_url: str,
    next_path: str,
    language: str,
) -> None:
    """A new confirmation link for an account not yet confirmed. An account already confirmed
    gets the "you already have an account" message (how to sign in or get a new password), an
    address without an account gets nothing; the caller answers the same in every case. The
    limits are the mail forms' (per requester, and a per-recipient cooldown), with a cooldown of
    its own: a resident whose first message did not arrive gets a new one at once, and asking
    again and again sends one message in the cooldown."""
    email = normalise_email(email)
    try:
        send = await mail_allowed(limiter, secret, "confirm-again-mail", email, network_address)
    except ResetThrottledError as error:
        raise ConfirmationThrottledError(
            N_("Too many tries. Wait an hour and try again.")
        ) from error
    if not send:
        return  # a message went to this address minutes ago: the same answer, nothing sent
    resident = await session.scalar(select(Resident).where(Resident.email == email))
    site = site_url.rstrip("/")
    if resident is None:
        sign(secret, "resident-confirm", f"0.{email}")  # the same work as below
    elif resident.confirmed_at is not None:
        await enqueue(
            session,
            email,
            "account_exists",
            resident.language or language,
            name=resident.display_name,
            sign_in=f"{site}/account/sign-in",
            forgot=f"{site}/account/forgot",
        )
    else:
        token = confirmation_token(secret, resident)
        link = f"{site}/account/confirm?{urlencode({'t': token, 'next': next_path})}"
        await enqueue(
            session,
            email,
            "account_confirm",
            resident.language or language,
            name=resident.display_name,
            link=link,
        )
    await session.commit()


def resident_guard(request: Request) -> SignInGuard:
    return SignInGuard(
        limiter=LIMITER.of(request), secret=SETTINGS.of(request).secret_key, purpose="resident"
    )


# Registrations let through per client address (an IPv6 client by its /64) and per network
# (an IPv4 /24, an IPv6 /48) in an hour: each costs a password hash and an e-mail.
REGISTRATIONS_PER_ADDRESS = Limit(count=3, seconds=60 * 60)
REGISTRATIONS_PER_NETWORK = Limit(count=30, seconds=60 * 60)


class RegistrationThrottledError(DomainError):
    status_code = 429


@dataclass(frozen=True)
class RegistrationGuard:
    limiter: RateLimiter
    secret: str

    async def begin(self, address: str) -> None:
        """Count this registration before anything is checked or hashed; refuse one too many."""
        counted = await attempt(
            self.limiter,
            [
                (
                    counter_key(self.secret, "register-address", address_block(address)),
                    REGISTRATIONS_PER_ADDRESS,
                ),
                (
                    counter_key(self.secret, "register-network", address_block(address, 24, 48)),
                    REGISTRATIONS_PER_NETWORK,
                ),
            ],
        )
        if counted.refused:
            raise RegistrationThrottledError(
                N_("Too many new accounts from your network. Try again in an hour.")
            )


def registration_guard(request: Request) -> RegistrationGuard:
    return RegistrationGuard(limiter=LIMITER.of(request), secret=SETTINGS.of(request).secret_key)


async def register_resident(
    session: AsyncSession,
    guard: RegistrationGuard,
    address: str,
    email: str,
    name: str,
    password: str,
    *,
    secret: str,
    site_url: str,
    next_path: str,
    language: str,
    mail_gate: Callable[[], Awaitable[bool]] | None = None,
) -> Resident | None:
    """A new, unconfirmed account, and the message with its confirmation link in the outbox,
        in one transaction. None when the address already has one: its owner gets a message saying
        so instead (with the way to a new password). The caller answers the same either way, and the
        work is the same (a password hashed, one message written), so that neither the answer nor
        its time tells anyone which addresses are registered. `mail_gate` (the mail forms' limits,
    `mail_allowed`) may raise ResetThrottledError for the requester, or say False when the address
    got a message minutes ago, or its share of messages this hour: then nothing is sent at all."""
    await guard.begin(address)
    # The mail limits are asked only for a registration within the registration limits: one
    # refused by them must not use up the address's share of messages.
    send_mail = await mail_gate() if mail_gate is not None else True
    password_hash = await hash_password(password)
    site = site_url.rstrip("/")
    existing = await session.scalar(select(Resident).where(Resident.email == email))
    if existing is not None and not send_mail:
        return None
    if existing is not None:
        await enqueue(
            session,
            email,
            "account_exists",
            existing.language or language,
            name=existing.display_name,
            sign_in=f"{site}/account/sign-in",
            forgot=f"{site}/account/forgot",
        )
        await session.commit()
        return None
    resident = Resident(
        email=email,
        display_name=name,
        password_hash=password_hash,
        session_generation=1,
        language=language,
    )
    session.add(resident)
    try:
        await session.flush()
        token = confirmation_token(secret, resident)
        link = f"{site}/account/confirm?{urlencode({'t': token, 'next': next_path})}"
        if send_mail:
            await enqueue(session, email, "account_confirm", language, name=name, link=link)
        # Else the address had its share of messages this hour (mail_allowed): the account waits
        # unconfirmed, and "send a new confirmation link" works once the hour has passed.
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


async def delete_account(
    session: AsyncSession, resident: Resident, store: MediaStore | None = None
) -> None:
    """Ideas not yet reviewed go with the account, and their pictures (the files from `store`);
    reviewed ones stay, no longer linked to anyone, since they are already part of a round's
    public record."""
    going = list(
        await session.scalars(
            select(Proposal.id).where(
                Proposal.author_id == resident.id,
                Proposal.status.in_(("submitted", "withdrawn")),
            )
        )
    )
    files = await pictures.forget_pictures_of(session, "proposal", going)
    await session.execute(
        delete(Proposal).where(
            Proposal.author_id == resident.id, Proposal.status.in_(("submitted", "withdrawn"))
        )
    )
    await session.execute(
        update(Proposal).where(Proposal.author_id == resident.id).values(author_id=None)
    )
    await session.delete(resident)
    await session.commit()
    if store is not None:
        await pictures.delete_files(store, files)
    log.info("a resident account was deleted at its owner's request")


async def change_resident_password(session: AsyncSession, resident: Resident, new: str) -> None:
    """The caller has checked the current password (authenticate_resident, throttled). Every
    session of the account ends, this browser's too: the caller starts a new one for it."""
    resident.password_hash = await hash_password(new)
    await end_every_resident_session(session, resident.id)
    await session.commit()


class UnconfirmedAddressError(LoginFailedError):
    """The password is right but the address is not confirmed yet (the sign-in page then
    offers a new confirmation link)."""


async def authenticate_resident(
    session: AsyncSession, guard: SignInGuard, email: str, password: str, address: str
) -> Resident:
    counted = await guard.begin(email, address)
    resident = await session.scalar(
        select(Resident).where(Resident.email == normalise_email(email))
    )
    # The connection goes back to the pool while the password is checked.
    await release_connection(session)
    # An unknown account's answer takes as long as a wrong password's.
    # A resident identified strongly has no password: theirs is checked as an unknown one.
    known_hash = resident.password_hash if resident is not None else None
    genuine = await verify_password(known_hash or DUMMY_HASH, password) and bool(known_hash)
    if resident is None or not genuine:
        raise LoginFailedError(N_("The e-mail address or password is wrong."))
    await guard.succeeded(counted, email)
    if resident.confirmed_at is None:
        raise UnconfirmedAddressError(
            N_("Confirm your e-mail address first: open the link in the message we sent.")
        )
    if needs_rehash(resident.password_hash):
        resident.password_hash = await hash_password(password)
        await session.commit()
    return resident
