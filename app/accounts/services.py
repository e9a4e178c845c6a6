"""Sign-in, sessions and user management. Services commit their own transactions."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role, StaffSession, User
from app.accounts.passwords import (
    DUMMY_HASH,
    generate_one_time_password,
    hash_password,
    needs_rehash,
    verify_password,
)
from app.audit import record_action
from app.database import release_connection, utcnow
from app.errors import DomainError, NotFoundError
from app.i18n import N_
from app.ratelimit import (
    Attempt,
    Backoff,
    Limit,
    RateLimiter,
    address_block,
    attempt,
    counter_key,
)

SESSION_LIFETIME = dt.timedelta(hours=12)
# Per account, progressive delays: four failures at once, then each try waits 30 s, 1, 2, 4 ...
# minutes after the one before, at most 15 minutes; failures are forgotten after an hour.
ACCOUNT_FAILURES = Backoff(count=5, seconds=60 * 60, longest=15 * 60)
# Per client address, a ceiling generous enough for a crowd behind one address (a library, a
# mobile operator): it bounds one client's spraying of many accounts, not a person's mistakes.
ADDRESS_FAILURES = Limit(count=300, seconds=15 * 60)
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256


async def _record(session: AsyncSession, action: str, user: User, before, after) -> None:
    """A record in the staff audit log, in this transaction (never a password or its hash)."""
    await session.flush()
    await record_action(session, None, action, f"user {user.id} {user.email}", before, after)


def user_snapshot(user: User) -> dict:
    return {
        "email": user.email,
        "display_name": user.display_name,
        "role": user.role,
        "active": user.is_active,
        "must_change_password": user.must_change_password,
    }


class LoginFailedError(DomainError):
    status_code = 400


class LoginThrottledError(DomainError):
    status_code = 429


# --- Server-side sessions, one mechanism for staff and residents ---------------------------
#
# The cookie holds a random token (256 bits); the database holds only its SHA-256, so that
# whoever reads the table (a backup, a replica, an injection) cannot present a session. A fast
# hash is enough: the token is random, not a password, so there is nothing to guess from it.
# A session ends when it expires, at sign-out, or when its row is deleted for every session of
# the person (password changed or reset, "sign out everywhere", a role changed).

MAX_SESSION_TOKEN_LENGTH = 100


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def session_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


@dataclass(frozen=True)
class SignInGuard:
    """Counts sign-in attempts per account and per client address, across workers.

    Every attempt is counted before its password is checked (see `app.ratelimit.attempt`); a
    successful one is taken back, so the counters hold the failures and the attempts in flight.
    """

    limiter: RateLimiter
    secret: str
    # Staff and resident accounts are counted apart.
    purpose: str = "login"

    def _keys(self, email: str, address: str) -> tuple[str, str]:
        return (
            counter_key(self.secret, f"{self.purpose}-account", normalise_email(email)),
            counter_key(self.secret, f"{self.purpose}-address", address_block(address)),
        )

    async def begin(self, email: str, address: str) -> Attempt:
        """Count this attempt; raise LoginThrottledError when it is one too many."""
        account_key, address_key = self._keys(email, address)
        gate = counter_key(self.secret, f"{self.purpose}-gate", normalise_email(email))
        counted = await attempt(
            self.limiter,
            [(account_key, ACCOUNT_FAILURES), (address_key, ADDRESS_FAILURES)],
            gates=[gate, ""],
        )
        if counted.refused_by == 0:
            raise LoginThrottledError(
                N_(
                    "Too many failed sign-ins for this account: each new try has to wait longer. "
                    "Wait a few minutes and try again."
                )
            )
        if counted.refused:
            raise LoginThrottledError(
                N_("Too many failed sign-ins from your network. Wait 15 minutes and try again.")
            )
        return counted

    async def succeeded(self, counted: Attempt, email: str) -> None:
        """The password was right: this attempt does not count, nor do the account's failures."""
        await counted.take_back()
        account_key, _ = self._keys(email, "")
        await self.limiter.reset(account_key, ACCOUNT_FAILURES)


async def authenticate(
    session: AsyncSession, guard: SignInGuard, email: str, password: str, address: str
) -> User:
    counted = await guard.begin(email, address)
    user = await session.scalar(select(User).where(User.email == normalise_email(email)))
    known = user is not None and user.is_active
    # The connection goes back to the pool while the password is checked.
    await release_connection(session)
    # An unknown account's answer takes as long as a wrong password's.
    genuine = await verify_password(user.password_hash if known else DUMMY_HASH, password)
    if not (known and genuine):
        raise LoginFailedError(N_("The e-mail address or password is wrong."))
    if needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
    await guard.succeeded(counted, email)
    return user


async def start_session(session: AsyncSession, user: User) -> str:
    """Sign the user in with a fresh token (a new one at every sign-in: no session fixation)."""
    token = new_session_token()
    now = utcnow()
    session.add(
        StaffSession(
            token_hash=session_token_hash(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    user.last_login_at = now
    await session.execute(delete(StaffSession).where(StaffSession.expires_at < now))
    await session.commit()
    return token


async def end_session(session: AsyncSession, token: str) -> None:
    await session.execute(
        delete(StaffSession).where(StaffSession.token_hash == session_token_hash(token))
    )
    await session.commit()


async def user_for_token(session: AsyncSession, token: str) -> User | None:
    row = await session.scalar(
        select(StaffSession).where(StaffSession.token_hash == session_token_hash(token))
    )
    if row is None or row.expires_at < utcnow():
        return None
    user = await session.get(User, row.user_id)
    return user if user is not None and user.is_active else None


async def create_user(
    session: AsyncSession, *, email: str, display_name: str, role: Role, is_active: bool = True
) -> tuple[User, str]:
    """Create an account with a one-time password, which the caller shows once. The admin's
    "add an account" page and `tori create-admin` both come here."""
    email = normalise_email(email)
    if await session.scalar(select(User.id).where(User.email == email)) is not None:
        raise DomainError(N_("An account with this e-mail address already exists."))
    password = generate_one_time_password()
    user = User(
        email=email,
        display_name=display_name,
        role=role.value,
        password_hash=await hash_password(password),
        must_change_password=True,
        is_active=is_active,
    )
    session.add(user)
    try:
        # The insert is flushed with the audit record: the unique index may refuse it there.
        await _record(session, "user.create", user, None, user_snapshot(user))
        await session.commit()
    except IntegrityError as error:
        # Two admins adding the same address at once: the unique index decides.
        await session.rollback()
        raise DomainError(N_("An account with this e-mail address already exists.")) from error
    return user, password


async def get_user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFoundError(N_("No such account."))
    return user


async def list_users(session: AsyncSession) -> list[User]:
    return list(await session.scalars(select(User).order_by(User.display_name, User.email)))


async def _active_admins(session: AsyncSession) -> int:
    """How many active admins there are, their rows locked until the caller commits: two admins
    demoting each other at the same moment queue here, and the second sees the first's change
    (PostgreSQL re-reads locked rows that changed), so one active admin always remains."""
    admins = await session.scalars(
        select(User.id).where(User.role == Role.ADMIN.value, User.is_active).with_for_update()
    )
    return len(admins.all())


async def update_user(
    session: AsyncSession, user: User, *, display_name: str, role: Role, is_active: bool
) -> User:
    losing_admin = (
        user.role == Role.ADMIN.value and user.is_active and (role != Role.ADMIN or not is_active)
    )
    if losing_admin and await _active_admins(session) <= 1:
        raise DomainError(N_("The last active administrator cannot be removed or demoted."))
    before = user_snapshot(user)
    user.display_name = display_name
    if user.role != role.value or (user.is_active and not is_active):
        # A changed role or a closed account signs that person out everywhere.
        await session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
    user.role = role.value
    user.is_active = is_active
    if user_snapshot(user) != before:
        await _record(session, "user.edit", user, before, user_snapshot(user))
    await session.commit()
    return user


async def reset_password(session: AsyncSession, user: User) -> str:
    password = generate_one_time_password()
    before = user_snapshot(user)
    user.password_hash = await hash_password(password)
    user.must_change_password = True
    await session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
    await _record(session, "user.reset_password", user, before, user_snapshot(user))
    await session.commit()
    return password


def password_problem(password: str, email: str) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return N_("The password must be at least 12 characters long.")
    if len(password) > MAX_PASSWORD_LENGTH:
        return N_("The password can be at most 256 characters long.")
    if password.strip().lower() == normalise_email(email):
        return N_("The password cannot be your e-mail address.")
    return None


async def change_password(
    session: AsyncSession, user: User, *, current: str, new: str, keep_token: str | None
) -> None:
    if not await verify_password(user.password_hash, current):
        raise DomainError(N_("The current password is wrong."))
    problem = password_problem(new, user.email)
    if problem:
        raise DomainError(problem)
    if new == current:
        raise DomainError(N_("Choose a new password that differs from the current one."))
    user.password_hash = await hash_password(new)
    user.must_change_password = False
    # Other browsers signed in as this user are signed out.
    other_sessions = delete(StaffSession).where(StaffSession.user_id == user.id)
    if keep_token:
        other_sessions = other_sessions.where(
            StaffSession.token_hash != session_token_hash(keep_token)
        )
    await session.execute(other_sessions)
    await _record(session, "user.change_password", user, None, None)
    await session.commit()


async def ensure_admin(
    session: AsyncSession, email: str, display_name: str
) -> tuple[User, str | None]:
    """Idempotent: the admin account, and its one-time password when it was just made."""
    user = await session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is not None:
        return user, None
    return await create_user(session, email=email, display_name=display_name, role=Role.ADMIN)
