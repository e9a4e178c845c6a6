"""Forgotten passwords, one flow for every kind of account (staff here, residents in
voting/password_reset.py); an `AccountKind` holds all that differs between them.

A link carries a signed token (itsdangerous, a purpose per kind) of the account's id and a
fingerprint of its password hash when the link was asked for: refused after RESET_SECONDS, and
refused once the password has changed (so it works once, and a reset voids every other link).

Asking answers the same for every address: an account gets the link, any other address a note
that it has none. Asking is limited per requesting client and network (past the limit the
requester gets 429), with a per-recipient cooldown that quietens repeats (the same page, nothing
sent) but never refuses the recipient, so nobody can stop someone resetting their password.
Staff: a reset ends every staff session of the account and is recorded in the staff audit log.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.middleware import SESSION_COOKIE
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
# Per recipient across EVERY form that mails an address the requester types in (registration,
# a new confirmation link, forgotten passwords of residents and staff, an e-mail change): one
# shared counter. Each form's own cooldown let one client have ~36 messages an hour sent to one
# address by taking the forms in turn; now at most RECIPIENT_MAILS.count in a clock hour (the
# sliding count lets no more than twice that into any 60 minutes). Quietened like the
# cooldown: the same page, nothing sent, never a refusal.
RECIPIENT_MAILS = Limit(count=4, seconds=60 * 60)


async def _nothing_more(session: AsyncSession, account: Any) -> None:
    return None


@dataclass(frozen=True)
class AccountKind:
    """What differs between the kinds of account; the flow itself is the same for each."""

    name: str  # "staff", "resident": the route names and the token's purpose
    model: type  # a mapped class with id, email, password_hash and display_name
    path: str  # where the pages live: {path}/forgot and {path}/reset
    sign_in_path: str
    session_cookie: str  # deleted in the browser that sets the new password
    choice_field: str  # the reset form's field where the new password is chosen
    mail: str  # the mail template of the link, and of the note to an address without account
    unknown_mail: str
    password_hint: str = N_("At least 12 characters.")
    can_reset: Callable[[Any], bool] = lambda account: True
    mail_language: Callable[[Any, str], str] = lambda account, language: language
    unknown_context: Callable[[str], dict] = lambda site: {}
    # Columns set with the new password hash (SQL expressions allowed).
    new_values: Callable[[], dict] = dict
    # Run in the transaction that sets the password, before it commits.
    after_reset: Callable[[AsyncSession, Any], Awaitable[None]] = field(default=_nothing_more)

    @property
    def purpose(self) -> str:
        return f"{self.name}-reset"


class ResetThrottledError(DomainError):
    status_code = 429


class ResetLinkError(DomainError):
    """The link is forged, expired or already used."""

    def __init__(self) -> None:
        super().__init__(N_("This link has expired or has already been used. Ask for a new one."))


def fingerprint(password_hash: str, email: str | None) -> str:
    """The account's password hash and address when the link was asked for: a link stops
    working when either changes (a link mailed to the old address is void once the address has
    changed, so whoever still reads that mailbox cannot take the account back)."""
    return hashlib.sha256(f"{password_hash}\n{email or ''}".encode()).hexdigest()[:24]


def make_reset_token(
    secret: str, kind: AccountKind, account_id: int, password_hash: str, email: str | None
) -> str:
    return sign(secret, kind.purpose, f"{account_id}.{fingerprint(password_hash, email)}")


def read_reset_token(secret: str, kind: AccountKind, token: str) -> tuple[int, str] | None:
    """(account id, fingerprint) of a genuine, unexpired token; None otherwise."""
    value = unsign(secret, kind.purpose, token, max_length=300, max_age=RESET_SECONDS)
    account_id, _, mark = (value or "").partition(".")
    return (int(account_id), mark) if account_id.isdecimal() else None


async def mail_allowed(
    limiter: RateLimiter, secret: str, purpose: str, email: str, network_address: str
) -> bool:
    """Count one request that would e-mail `email`: raise ResetThrottledError when the requesting
    client or its network has made too many; False when `email` got a message from this form
    within its cooldown, or RECIPIENT_MAILS from all forms together (answer as if sent, send
    nothing); True to send. Every form that mails an address the requester typed calls this.

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
            (counter_key(secret, "mail-recipient", normalise_email(email)), RECIPIENT_MAILS),
        ],
    )
    if counted.refused_by in (0, 1):
        raise ResetThrottledError(
            N_("Too many requests for a new password. Wait an hour and try again.")
        )
    return not counted.refused


async def request_reset(
    session: AsyncSession,
    limiter: RateLimiter,
    kind: AccountKind,
    *,
    secret: str,
    email: str,
    network_address: str,
    site_url: str,
    language: str,
) -> None:
    """Write the link (or the note that there is no account) for `email` into the outbox."""
    email = normalise_email(email)
    if not await mail_allowed(limiter, secret, kind.purpose, email, network_address):
        return
    account = await session.scalar(select(kind.model).where(kind.model.email == email))
    site = site_url.rstrip("/")
    if account is None or not kind.can_reset(account):
        make_reset_token(secret, kind, 0, "", email)  # the same work as below
        await enqueue(session, email, kind.unknown_mail, language, **kind.unknown_context(site))
    else:
        token = make_reset_token(secret, kind, account.id, account.password_hash, account.email)
        await enqueue(
            session,
            email,
            kind.mail,
            kind.mail_language(account, language),
            name=account.display_name,
            link=f"{site}{kind.path}/reset?{urlencode({'t': token})}",
        )
    await session.commit()


async def account_for_token(session: AsyncSession, kind: AccountKind, secret: str, token: str):
    read = read_reset_token(secret, kind, token)
    account = await session.get(kind.model, read[0]) if read else None
    if (
        account is None
        or not kind.can_reset(account)
        or not hmac.compare_digest(read[1], fingerprint(account.password_hash, account.email))
    ):
        raise ResetLinkError
    return account


async def reset_password(
    session: AsyncSession, kind: AccountKind, secret: str, token: str, new_password: str
):
    """Set the new password; the link, and every other link asked for before, stops working."""
    account = await account_for_token(session, kind, secret, token)
    problem = password_problem(new_password, account.email)
    if problem:
        raise DomainError(problem)
    new_hash = await hash_password(new_password)
    # Only while the hash is still the one the link was made for: of two uses of one link at
    # the same moment, one sets the password and the other is refused.
    changed = await session.execute(
        update(kind.model)
        .where(kind.model.id == account.id, kind.model.password_hash == account.password_hash)
        .values(password_hash=new_hash, **kind.new_values())
        .execution_options(synchronize_session=False)
    )
    if not changed.rowcount:
        await session.rollback()
        raise ResetLinkError
    await kind.after_reset(session, account)
    await session.commit()
    await session.refresh(account)
    return account


async def _end_sessions_and_record(session: AsyncSession, user: User) -> None:
    """A staff reset signs the account out everywhere and goes into the staff audit log."""
    before = user_snapshot(user)
    await session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
    await session.refresh(user)
    await _record(session, "user.reset_password_by_email", user, before, user_snapshot(user))


STAFF = AccountKind(
    name="staff",
    model=User,
    path="/staff",
    sign_in_path="/staff/login",
    session_cookie=SESSION_COOKIE,
    choice_field="new_password",
    mail="staff_reset",
    unknown_mail="staff_reset_unknown",
    password_hint=N_(
        "At least 12 characters. A few unrelated words make a strong password that is easy to "
        "remember."
    ),
    can_reset=lambda user: user.is_active,
    new_values=lambda: {"must_change_password": False},
    after_reset=_end_sessions_and_record,
)
