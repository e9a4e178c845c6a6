"""Password hashing with argon2id, run in a worker thread so the event loop keeps serving, and
within a per-process memory budget so that a burst of sign-ins cannot exhaust the memory."""

from __future__ import annotations

import asyncio
import secrets
from collections import deque
from collections.abc import Callable
from typing import TypeVar

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from app.errors import ServiceBusyError

_hasher = PasswordHasher()
T = TypeVar("T")

# The memory all the argon2 hashes of one process may use at once, and how many requests may wait
# for their turn, how long: beyond that a request gets the "busy" page (503, Retry-After).
# 40 concurrent failed sign-ins took a worker from 198 MB to 1.5 GB before there was a budget.
HASH_MEMORY_BUDGET_KIB = 256 * 1024
HASH_QUEUE_LENGTH = 16
HASH_QUEUE_SECONDS = 5.0


class HashBudget:
    """A weighted semaphore over memory, first come first served, with a short bounded queue."""

    def __init__(
        self,
        budget_kib: int = HASH_MEMORY_BUDGET_KIB,
        queue_length: int = HASH_QUEUE_LENGTH,
        queue_seconds: float = HASH_QUEUE_SECONDS,
    ) -> None:
        self.budget_kib = budget_kib
        self.free_kib = budget_kib
        self.queue_length = queue_length
        self.queue_seconds = queue_seconds
        self.waiting: deque[tuple[int, asyncio.Future]] = deque()
        self.running = 0
        self.most_running = 0  # the most hashes that ran at once (for tests and figures)

    async def run(self, memory_kib: int, function: Callable[..., T], *args: object) -> T:
        memory = min(max(memory_kib, 1), self.budget_kib)
        await self._acquire(memory)
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            return await anyio.to_thread.run_sync(function, *args)
        finally:
            self.running -= 1
            self.free_kib += memory
            self._wake()

    async def _acquire(self, memory: int) -> None:
        if not self.waiting and self.free_kib >= memory:
            self.free_kib -= memory
            return
        if len(self.waiting) >= self.queue_length:
            raise ServiceBusyError(retry_after=int(self.queue_seconds) or 1)
        entry = (memory, asyncio.get_running_loop().create_future())
        self.waiting.append(entry)
        try:
            done, _ = await asyncio.wait({entry[1]}, timeout=self.queue_seconds)
        except BaseException:
            self._leave(entry)
            raise
        if not done:
            self._leave(entry)
            raise ServiceBusyError(retry_after=int(self.queue_seconds) or 1)

    def _leave(self, entry: tuple[int, asyncio.Future]) -> None:
        """Out of the queue without hashing: memory already granted goes back."""
        memory, future = entry
        if future.done() and not future.cancelled():
            self.free_kib += memory
        else:
            future.cancel()
            if entry in self.waiting:
                self.waiting.remove(entry)
        self._wake()

    def _wake(self) -> None:
        while self.waiting and self.waiting[0][0] <= self.free_kib:
            memory, future = self.waiting.popleft()
            if future.done():
                continue
            self.free_kib -= memory
            future.set_result(None)


HASH_BUDGET = HashBudget()


async def bounded_hash(function: Callable[..., T], *args: object, memory_kib: int) -> T:
    """`function(*args)` in a worker thread, within this process's budget for argon2 memory."""
    return await HASH_BUDGET.run(memory_kib, function, *args)


# Wordless one-time passwords: no ambiguous characters (0/O, 1/l/I), grouped for reading aloud.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def generate_one_time_password() -> str:
    groups = ["".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(4)]
    return "-".join(groups)


async def hash_password(password: str) -> str:
    return await bounded_hash(_hasher.hash, password, memory_kib=_hasher.memory_cost)


async def verify_password(password_hash: str, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await bounded_hash(verify, memory_kib=_hasher.memory_cost)


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


# A real hash to verify against when the account does not exist, so that timing
# does not tell which e-mail addresses have accounts.
DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
