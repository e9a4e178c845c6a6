"""Each signed value lives as long as its purpose needs, and the signing library (itsdangerous)
enforces that age: a value signed just inside its lifetime is taken, one signed just outside it
is refused, and so is one whose text was altered."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from tests.conftest import TEST_SECRET
from voting import identify, resident_accounts, voters

ROUND = SimpleNamespace(id=7, slug="kallio")
ENTRY = SimpleNamespace(id=42, area_id=3)
SETTINGS = SimpleNamespace(secret_key=TEST_SECRET, https=True)


@contextlib.contextmanager
def signed_ago(seconds: int) -> Iterator[None]:
    """Whatever is signed inside this block carries a time `seconds` in the past."""
    real = time.time
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(time, "time", lambda: real() - seconds)
        yield


def tampered(value: str) -> str:
    """The same value with one character of its payload changed."""
    at = value.index(".") // 2
    changed = "A" if value[at] != "A" else "B"
    return value[:at] + changed + value[at + 1 :]


def request_with(name: str, value: str) -> SimpleNamespace:
    return SimpleNamespace(cookies={name: value})


class OneResident:
    """The one query these functions make of the session: the resident by id."""

    def __init__(self, resident) -> None:
        self.resident = resident

    async def get(self, _model, resident_id: int):
        return self.resident if resident_id == self.resident.id else None

    async def commit(self) -> None:
        return None


RESIDENT = SimpleNamespace(
    id=5, email="asukas@example.fi", session_generation=2, confirmed_at=time.time()
)


# The voter cookie: half an hour ------------------------------------------------------------


def voter_from(value: str):
    return voters.signed_in_voter(request_with(voters.VOTER_COOKIE, value), TEST_SECRET, ROUND)


def test_the_voter_cookie_lives_half_an_hour():
    assert voters.VOTER_SECONDS == 30 * 60
    with signed_ago(voters.VOTER_SECONDS - 60):
        fresh = voters.voter_cookie(SETTINGS, ROUND, ENTRY, "online").value
    with signed_ago(voters.VOTER_SECONDS + 60):
        stale = voters.voter_cookie(SETTINGS, ROUND, ENTRY, "online").value
    assert voter_from(fresh) == voters.Voter(roll_id=42, channel="online", area_id=3)
    assert voter_from(stale) is None


def test_a_tampered_voter_cookie_is_refused():
    value = voters.voter_cookie(SETTINGS, ROUND, ENTRY, "online").value
    assert voter_from(value) is not None
    assert voter_from(tampered(value)) is None
    # Signed for another purpose (the "voted here" cookie) with the same key: refused too.
    assert voter_from(voters.sign(TEST_SECRET, "pb-voted", "7.42.online.3")) is None


# The resident's session is not a signed value but a row on the server, with its own lifetime
# and its attacks: tests/voting/test_resident_sessions.py.


# The address confirmation link: three days -------------------------------------------------


def unconfirmed() -> SimpleNamespace:
    return SimpleNamespace(id=5, email="asukas@example.fi", confirmed_at=None)


async def confirmed_by(token: str, resident=None) -> resident_accounts.LinkState:
    state, _ = await resident_accounts.confirm(
        OneResident(resident or unconfirmed()), TEST_SECRET, token
    )
    return state


async def test_the_confirmation_link_lives_three_days():
    assert resident_accounts.CONFIRM_SECONDS == 3 * 24 * 3600
    with signed_ago(resident_accounts.CONFIRM_SECONDS - 3600):
        fresh = resident_accounts.confirmation_token(TEST_SECRET, RESIDENT)
    with signed_ago(resident_accounts.CONFIRM_SECONDS + 3600):
        stale = resident_accounts.confirmation_token(TEST_SECRET, RESIDENT)
    assert await confirmed_by(fresh) == resident_accounts.LinkState.CONFIRMED
    # A stale link confirms nothing; it says it is too old rather than invalid, and to the
    # holder of an address confirmed meanwhile it says so.
    assert await confirmed_by(stale) == resident_accounts.LinkState.EXPIRED
    assert await confirmed_by(stale, RESIDENT) == resident_accounts.LinkState.ALREADY_CONFIRMED


async def test_a_tampered_confirmation_link_is_refused():
    token = resident_accounts.confirmation_token(TEST_SECRET, RESIDENT)
    assert await confirmed_by(token) == resident_accounts.LinkState.CONFIRMED
    assert await confirmed_by(tampered(token)) == resident_accounts.LinkState.INVALID
    assert await confirmed_by(tampered(token), RESIDENT) == resident_accounts.LinkState.INVALID


# The strong identification in progress: ten minutes ---------------------------------------

FLOW = {"round": "kallio", "state": "s", "nonce": "n", "verifier": "v"}


def test_the_identification_flow_lives_ten_minutes():
    assert identify.FLOW_SECONDS == 10 * 60
    with signed_ago(identify.FLOW_SECONDS - 30):
        fresh = identify.flow_cookie_value(TEST_SECRET, FLOW)
    with signed_ago(identify.FLOW_SECONDS + 30):
        stale = identify.flow_cookie_value(TEST_SECRET, FLOW)
    assert identify.read_flow(TEST_SECRET, fresh) == FLOW
    assert identify.read_flow(TEST_SECRET, stale) is None


def test_a_tampered_identification_flow_is_refused():
    value = identify.flow_cookie_value(TEST_SECRET, FLOW)
    assert identify.read_flow(TEST_SECRET, value) == FLOW
    assert identify.read_flow(TEST_SECRET, tampered(value)) is None
    assert identify.read_flow("another secret " * 4, value) is None
