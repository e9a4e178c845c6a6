"""Password hashing with argon2id, run in a worker thread so the event loop keeps serving."""

from __future__ import annotations

import secrets

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()

# Wordless one-time passwords: no ambiguous characters (0/O, 1/l/I), grouped for reading aloud.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def generate_one_time_password() -> str:
    groups = ["".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(4)]
    return "-".join(groups)


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(verify)


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


# A real hash to verify against when the account does not exist, so that timing
# does not tell which e-mail addresses have accounts.
DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
