"""Attacks on the attempt limits: bursts of concurrent guesses, each of which must be counted
before its (slow) check, so that no more than the limit is ever checked."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import threading
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select, text

from app import ratelimit
from app.accounts import passwords
from app.accounts.services import ACCOUNT_FAILURES, LoginThrottledError, SignInGuard
from app.database import utcnow
from app.ratelimit import (
    DatabaseRateLimiter,
    Limit,
    RedisRateLimiter,
    address_block,
    attempt,
    counter_key,
    waited_key,
)
from app.web import create_app
from tests.factories import PASSWORD, make_user
from tests.voting.factories import adult_birth_date, letter_codes, make_round, put_on_roll
from voting import roll
from voting.models import Resident, RollEntry
from voting.resident_accounts import REGISTRATIONS_PER_ADDRESS
from voting.roll import CODE_FAILURES

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
BURST = 40


class CountingHasher:
    """The test's argon2 hasher, counting every password it checks or hashes (from any thread)."""

    def __init__(self, hasher) -> None:
        self.hasher = hasher
        self.verified = self.hashed = 0
        self.lock = threading.Lock()

    def __getattr__(self, name):
        return getattr(self.hasher, name)

    def verify(self, password_hash, password):
        with self.lock:
            self.verified += 1
        return self.hasher.verify(password_hash, password)

    def hash(self, password, **kwargs):
        with self.lock:
            self.hashed += 1
        return self.hasher.hash(password, **kwargs)


@pytest.fixture
async def concurrent(settings, db) -> AsyncIterator[httpx.AsyncClient]:
    """A client that really sends its requests at once: Litestar's test client hands each request
    to the application in turn, so a burst through it is never concurrent. Its own application:
    the database connections belong to this event loop."""
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, client=("192.0.2.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
        yield client
    await app.state.db.dispose()


async def token_from(client: httpx.AsyncClient, path: str) -> str:
    response = await client.get(path)
    assert response.status_code == 200
    return client.cookies["tori_csrf"]


@pytest.fixture
def counting_hasher(monkeypatch) -> CountingHasher:
    counting = CountingHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", counting)
    return counting


@pytest.mark.parametrize("make", [DatabaseRateLimiter, RedisRateLimiter])
async def test_a_burst_of_attempts_gets_exactly_the_limit_through(database, make):
    limiter = (
        DatabaseRateLimiter(database.sessionmaker)
        if make is DatabaseRateLimiter
        else RedisRateLimiter(REDIS_URL)
    )
    limit = Limit(count=5, seconds=3600)
    key = f"burst-{os.getpid()}-{make.__name__}"
    try:
        await limiter.reset(key, limit)
        results = await asyncio.gather(*(attempt(limiter, [(key, limit)]) for _ in range(50)))
        assert sum(not result.refused for result in results) == limit.count
        # The refused ones were taken back: hammering does not extend the lockout.
        assert await limiter.hits(key, limit) == limit.count
        # A taken-back attempt (a successful sign-in) frees its place.
        await next(result for result in results if not result.refused).take_back()
        assert not (await attempt(limiter, [(key, limit)])).refused
        assert (await attempt(limiter, [(key, limit)])).refused
        await limiter.reset(key, limit)
    finally:
        if isinstance(limiter, RedisRateLimiter):
            await limiter.close()
        else:
            async with database.engine.begin() as connection:
                await connection.execute(text("DELETE FROM rate_limit_counter"))


async def test_an_attempt_refused_by_one_counter_does_not_use_up_the_other(database):
    limiter = DatabaseRateLimiter(database.sessionmaker)
    account, network = Limit(count=2, seconds=3600), Limit(count=10, seconds=3600)
    try:
        for _ in range(6):
            await attempt(limiter, [("account", account), ("network", network)])
        # Two counted; the four refused by the account's counter left the network's alone.
        assert await limiter.hits("network", network) == 2
    finally:
        async with database.engine.begin() as connection:
            await connection.execute(text("DELETE FROM rate_limit_counter"))


def test_ipv6_clients_are_counted_by_their_64_and_networks_by_a_wider_block():
    assert address_block("2001:db8:1:2:aaaa::1") == address_block("2001:db8:1:2:ffff::9")
    assert address_block("2001:db8:1:2::1") != address_block("2001:db8:1:3::1")
    assert address_block("2001:db8:1:2::1", 24, 48) == address_block("2001:db8:1:9::1", 24, 48)
    assert address_block("192.0.2.7") != address_block("192.0.2.8")
    assert address_block("192.0.2.7", 24, 48) == address_block("192.0.2.200", 24, 48)
    assert address_block("testclient") == "testclient"


async def test_a_burst_of_wrong_staff_passwords_checks_no_more_than_the_limit(
    concurrent, db, counting_hasher
):
    client = concurrent
    user = await make_user(db)
    token = await token_from(client, "/staff/login?lang=en")

    async def guess(number: int):
        return await client.post(
            "/staff/login",
            data={"email": user.email, "password": f"guess {number}", "_csrf_token": token},
        )

    responses = await asyncio.gather(*(guess(n) for n in range(BURST)))
    statuses = [response.status_code for response in responses]
    assert counting_hasher.verified <= ACCOUNT_FAILURES.count
    assert statuses.count(400) == ACCOUNT_FAILURES.count
    assert statuses.count(429) == BURST - ACCOUNT_FAILURES.count
    # The right password is refused too until the window is over.
    response = await client.post(
        "/staff/login", data={"email": user.email, "password": PASSWORD, "_csrf_token": token}
    )
    assert response.status_code == 429


async def test_a_right_staff_password_does_not_count_against_the_account(concurrent, db):
    client = concurrent
    user = await make_user(db)
    token = await token_from(client, "/staff/login?lang=en")
    for _ in range(ACCOUNT_FAILURES.count + 3):
        response = await client.post(
            "/staff/login", data={"email": user.email, "password": PASSWORD, "_csrf_token": token}
        )
        assert response.status_code == 303


async def test_a_burst_of_birth_date_guesses_on_one_code_checks_no_more_than_the_limit(
    concurrent, db, monkeypatch
):
    client = concurrent
    from tests.factories import make_area

    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "voting", {kallio.id: 100_000, None: 300_000})
    await put_on_roll(db, round_, [("131052-308T", adult_birth_date(), kallio)])
    entry = await db.scalar(select(RollEntry))
    code = (await letter_codes(db, round_))[entry.id]
    checked = 0
    lock = threading.Lock()
    verify = roll._verify_code

    def counting_verify(hashed, secret):
        nonlocal checked
        with lock:
            checked += 1
        return verify(hashed, secret)

    monkeypatch.setattr(roll, "_verify_code", counting_verify)
    token = await token_from(client, f"/pb/{round_.slug}/vote?lang=en")

    async def guess(day: int):
        return await client.post(
            f"/pb/{round_.slug}/vote",
            data={
                "_csrf_token": token,
                "code": code,
                "birth_date": (dt.date(1990, 1, 1) + dt.timedelta(days=day)).isoformat(),
            },
        )

    responses = await asyncio.gather(*(guess(day) for day in range(BURST)))
    assert checked <= CODE_FAILURES.count
    locked = [r for r in responses if "Too many wrong attempts with this code" in r.text]
    assert len(locked) == BURST - CODE_FAILURES.count


async def resident(db, email: str) -> Resident:
    person = Resident(
        email=email,
        display_name="Asukas",
        password_hash=await passwords.hash_password(PASSWORD),
        session_generation=1,
        confirmed_at=utcnow(),
    )
    db.add(person)
    await db.commit()
    return person


async def test_a_burst_of_wrong_resident_passwords_checks_no_more_than_the_limit(
    concurrent, db, counting_hasher
):
    client = concurrent
    person = await resident(db, "asukas@example.fi")
    token = await token_from(client, "/account/sign-in?lang=en")
    before = counting_hasher.verified

    async def guess(number: int):
        return await client.post(
            "/account/sign-in",
            data={"email": person.email, "password": f"guess {number}", "_csrf_token": token},
        )

    responses = await asyncio.gather(*(guess(n) for n in range(BURST)))
    assert counting_hasher.verified - before <= ACCOUNT_FAILURES.count
    assert [r.status_code for r in responses].count(429) == BURST - ACCOUNT_FAILURES.count


async def test_a_burst_of_registrations_from_one_address_hashes_no_more_than_the_limit(
    concurrent, db, counting_hasher
):
    client = concurrent
    token = await token_from(client, "/account/register?lang=en")

    async def register(number: int):
        return await client.post(
            "/account/register",
            data={
                "display_name": "Asukas",
                "email": f"new{number}@example.fi",
                "password": "long enough secret",
                "password_again": "long enough secret",
                "_csrf_token": token,
            },
        )

    responses = await asyncio.gather(*(register(n) for n in range(20)))
    assert counting_hasher.hashed <= REGISTRATIONS_PER_ADDRESS.count
    assert await db.scalar(select(func.count()).select_from(Resident)) == (
        REGISTRATIONS_PER_ADDRESS.count
    )
    refused = [r for r in responses if r.status_code == 429]
    assert len(refused) == 20 - REGISTRATIONS_PER_ADDRESS.count
    assert "Too many new accounts from your network" in refused[0].text


async def test_mail_forms_count_an_ipv6_client_by_its_64_not_by_each_address(database):
    """An attacker with one IPv6 /64 rotating through its addresses (found by attack: 40
    addresses of one /64 got 40 reset mails queued against a limit of 20)."""
    from app.accounts.password_reset import (
        PER_NETWORK_ADDRESS,
        ResetThrottledError,
        mail_allowed,
    )

    limiter = DatabaseRateLimiter(database.sessionmaker)

    async def allowed(email: str, address: str) -> bool:
        try:
            return await mail_allowed(limiter, "s" * 40, "reset", email, address)
        except ResetThrottledError:
            return False

    try:
        answers = [
            await allowed(f"victim{n}@example.fi", f"2001:db8:1:2::{n:x}") for n in range(1, 41)
        ]
        assert answers.count(True) == PER_NETWORK_ADDRESS.count
        # Another /64 is another client.
        assert await allowed("a@example.fi", "2001:db8:1:3::1")
    finally:
        async with database.engine.begin() as connection:
            await connection.execute(text("DELETE FROM rate_limit_counter"))


# --- Progressive delays per code and per account; generous ceilings per address ------------


@pytest.mark.parametrize("make", [DatabaseRateLimiter, RedisRateLimiter])
async def test_of_concurrent_claims_of_a_gate_exactly_one_wins(database, make):
    limiter = (
        DatabaseRateLimiter(database.sessionmaker)
        if make is DatabaseRateLimiter
        else RedisRateLimiter(REDIS_URL)
    )
    key = f"gate-{os.getpid()}-{make.__name__}-{time.time()}"
    try:
        won = await asyncio.gather(*(limiter.claim(key, 60) for _ in range(30)))
        assert won.count(True) == 1
        assert not await limiter.claim(key, 60)
    finally:
        if isinstance(limiter, RedisRateLimiter):
            await limiter.close()
        else:
            async with database.engine.begin() as connection:
                await connection.execute(text("DELETE FROM rate_limit_counter"))


def later(monkeypatch, seconds: float) -> None:
    """Move the limits' clock forward by `seconds` from where it is."""
    current = ratelimit._now
    monkeypatch.setattr(ratelimit, "_now", lambda: current() + seconds)


async def test_past_the_free_failures_each_try_waits_twice_as_long_and_waiting_tries_are_refused(
    database, monkeypatch
):
    limiter = DatabaseRateLimiter(database.sessionmaker)
    guard = SignInGuard(limiter=limiter, secret="s" * 40, purpose="resident")
    email, address = "victim@example.fi", "192.0.2.9"

    async def tries() -> bool:
        try:
            await guard.begin(email, address)
        except LoginThrottledError:
            return False
        return True

    try:
        # The free failures, and the one that takes the gate for 30 s.
        assert [await tries() for _ in range(ACCOUNT_FAILURES.count)] == [True] * 5
        # Within the wait: refused unchecked, however often, and not lengthening it.
        assert [await tries() for _ in range(20)] == [False] * 20
        later(monkeypatch, ACCOUNT_FAILURES.first + 1)
        assert await tries()  # takes the gate for twice as long: 60 s
        later(monkeypatch, ACCOUNT_FAILURES.first + 1)
        assert not await tries()
        later(monkeypatch, ACCOUNT_FAILURES.first)
        assert await tries()  # now 120 s
        later(monkeypatch, 2 * ACCOUNT_FAILURES.first + 1)
        assert not await tries()
        later(monkeypatch, 2 * ACCOUNT_FAILURES.first)
        counted = await guard.begin(email, address)
        # The right password: the failures are forgotten and the account is free again.
        await guard.succeeded(counted, email)
        assert [await tries() for _ in range(ACCOUNT_FAILURES.count - 1)] == [True] * 4
    finally:
        async with database.engine.begin() as connection:
            await connection.execute(text("DELETE FROM rate_limit_counter"))


async def test_the_longest_wait_is_bounded():
    assert ACCOUNT_FAILURES.delay(0) == 30
    assert ACCOUNT_FAILURES.delay(3) == 240
    assert ACCOUNT_FAILURES.delay(100) == ACCOUNT_FAILURES.longest == 15 * 60
    assert CODE_FAILURES.delay(100) == CODE_FAILURES.longest == 3600


@pytest.fixture
async def shared_app(settings) -> AsyncIterator:
    """One application, and clients at any address (each a browser of its own)."""
    app = create_app(settings)
    clients: list[httpx.AsyncClient] = []

    def at(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver.local")
        clients.append(client)
        return client

    yield at
    for client in clients:
        await client.aclose()
    await app.state.db.dispose()


async def vote_round(db):
    from tests.factories import make_area

    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "voting", {kallio.id: 100_000, None: 300_000})
    await put_on_roll(db, round_, [("131052-308T", adult_birth_date(), kallio)])
    entry = await db.scalar(select(RollEntry))
    return round_, (await letter_codes(db, round_))[entry.id]


def junk_code(number: int) -> str:
    """A code of the right form that was never issued."""
    alphabet = roll.CODE_ALPHABET
    digits = "".join(alphabet[(number * 7 + i) % len(alphabet)] for i in range(20))
    return "-".join(digits[i : i + 4] for i in range(0, 20, 4))


async def test_thirty_junk_codes_from_a_shared_address_do_not_lock_out_a_real_voter_there(
    shared_app, db
):
    """Found by attack: 30 wrong codes from a library's one address locked out every voter
    behind it for 15 minutes."""
    round_, code = await vote_round(db)
    prankster, voter = shared_app("192.0.2.50"), shared_app("192.0.2.50")
    token = await token_from(prankster, f"/pb/{round_.slug}/vote?lang=en")
    for number in range(30):
        wrong = await prankster.post(
            f"/pb/{round_.slug}/vote",
            data={"_csrf_token": token, "code": junk_code(number), "birth_date": "1990-01-01"},
        )
        assert wrong.status_code == 400
        assert "The code or the birth date is wrong" in wrong.text
    token = await token_from(voter, f"/pb/{round_.slug}/vote?lang=en")
    voted = await voter.post(
        f"/pb/{round_.slug}/vote",
        data={"_csrf_token": token, "code": code, "birth_date": adult_birth_date().isoformat()},
    )
    assert voted.status_code == 303, voted.text


async def test_tries_without_the_letter_cannot_hold_up_a_voters_code(shared_app, db):
    """Found by attack: the delays were counted per public part of the code, which the
    letter's QR code carries: six tries with the right public part and a made-up secret part,
    from anywhere, made the real voter wait up to an hour. They are counted per whole code."""
    round_, code = await vote_round(db)
    public_id, _secret = roll.split_code(code)
    stranger, voter = shared_app("203.0.113.7"), shared_app("192.0.2.80")
    token = await token_from(stranger, f"/pb/{round_.slug}/vote?lang=en")
    made_up = roll.format_code(public_id, "A" * roll.SECRET_LENGTH)
    for _ in range(CODE_FAILURES.count + 3):
        wrong = await stranger.post(
            f"/pb/{round_.slug}/vote",
            data={"_csrf_token": token, "code": made_up, "birth_date": "1990-01-01"},
        )
        assert wrong.status_code == 400
    assert "each new try has to wait longer" in wrong.text  # the made-up code itself waits
    token = await token_from(voter, f"/pb/{round_.slug}/vote?lang=en")
    voted = await voter.post(
        f"/pb/{round_.slug}/vote",
        data={"_csrf_token": token, "code": code, "birth_date": adult_birth_date().isoformat()},
    )
    assert voted.status_code == 303, voted.text


async def test_twenty_concurrent_guesses_on_one_code_from_twenty_addresses_check_at_most_five(
    shared_app, db, database, settings, monkeypatch
):
    round_, code = await vote_round(db)
    checked = 0
    lock = threading.Lock()
    verify = roll._verify_code

    def counting_verify(hashed, secret):
        nonlocal checked
        with lock:
            checked += 1
        return verify(hashed, secret)

    monkeypatch.setattr(roll, "_verify_code", counting_verify)
    guessers = [shared_app(f"198.51.100.{n}") for n in range(1, 21)]
    tokens = [await token_from(g, f"/pb/{round_.slug}/vote?lang=en") for g in guessers]

    async def guess(number: int):
        return await guessers[number].post(
            f"/pb/{round_.slug}/vote",
            data={
                "_csrf_token": tokens[number],
                "code": code,
                "birth_date": (dt.date(1990, 1, 1) + dt.timedelta(days=number)).isoformat(),
            },
        )

    responses = await asyncio.gather(*(guess(n) for n in range(20)))
    assert checked == CODE_FAILURES.count
    waiting = [r for r in responses if "each new try has to wait longer" in r.text]
    assert len(waiting) == 20 - CODE_FAILURES.count
    assert sum("The code or the birth date is wrong" in r.text for r in responses) == 5
    # Every guess was counted: the checked ones as failures, the refused ones as waited.
    limiter, secret = DatabaseRateLimiter(database.sessionmaker), settings.secret_key
    failures = counter_key(secret, "pb-code", "-".join(roll.split_code(code)))
    assert await limiter.hits(failures, CODE_FAILURES) == CODE_FAILURES.count
    assert await limiter.hits(waited_key(failures), CODE_FAILURES) == 20 - CODE_FAILURES.count


def made_up_code(number: int) -> str:
    """A different code of the right form for every number (junk_code repeats after 32)."""
    alphabet = roll.CODE_ALPHABET
    digits = ["Z"] * 20
    for place in range(4):
        digits[place], number = alphabet[number % len(alphabet)], number // len(alphabet)
    return "-".join("".join(digits[i : i + 4]) for i in range(0, 20, 4))


async def test_three_hundred_made_up_codes_hit_the_ceiling_and_the_real_voter_there_gets_in(
    shared_app, db
):
    """Found by attack: 300 made-up codes from a library's one address used up the per-address
    ceiling (300 in 15 min), and the real voter behind the same address was refused. Made-up
    codes (a public part never issued in the round) now have a ceiling of their own."""
    from voting.roll import ADDRESS_FAILURES, MADE_UP_FAILURES

    round_, code = await vote_round(db)
    prankster, voter = shared_app("192.0.2.60"), shared_app("192.0.2.60")
    token = await token_from(prankster, f"/pb/{round_.slug}/vote?lang=en")
    answers = []
    for number in range(MADE_UP_FAILURES.count + 1):
        wrong = await prankster.post(
            f"/pb/{round_.slug}/vote",
            data={"_csrf_token": token, "code": made_up_code(number), "birth_date": "1990-01-01"},
        )
        answers.append(wrong.status_code)
        assert wrong.status_code in (400, 429), wrong.status_code
    assert MADE_UP_FAILURES.count >= ADDRESS_FAILURES.count == 300
    # The 301st made-up code hit the ceiling.
    assert "Too many wrong attempts from your network" in wrong.text
    assert "The code or the birth date is wrong" not in wrong.text
    token = await token_from(voter, f"/pb/{round_.slug}/vote?lang=en")
    voted = await voter.post(
        f"/pb/{round_.slug}/vote",
        data={"_csrf_token": token, "code": code, "birth_date": adult_birth_date().isoformat()},
    )
    assert voted.status_code == 303, voted.text


async def test_a_redis_that_dies_mid_attack_gives_no_free_tries(database, db):
    """While Redis answered, the attempts were counted there only: when it died the database
    started from zero, and every account and code had its free tries once more. The attempt
    limits are now counted in the database too."""
    from app.ratelimit import FallbackRateLimiter

    redis = RedisRateLimiter(REDIS_URL)
    limiter = FallbackRateLimiter(redis, DatabaseRateLimiter(database.sessionmaker))
    # A secret of its own: keys from earlier runs left in Redis do not count here.
    guard = SignInGuard(limiter=limiter, secret=f"s{time.time_ns()}" * 4, purpose="resident")

    async def tries() -> bool:
        try:
            await guard.begin("victim@example.fi", "192.0.2.9")
        except LoginThrottledError:
            return False
        return True

    try:
        assert [await tries() for _ in range(ACCOUNT_FAILURES.count)] == [True] * 5
        assert not await tries()
        # Redis dies: nothing listens on its port any more.
        limiter.primary = RedisRateLimiter(f"redis://127.0.0.1:{closed_port()}/0")
        assert [await tries() for _ in range(10)] == [False] * 10
        await limiter.primary.close()
    finally:
        await redis.close()
        async with database.engine.begin() as connection:
            await connection.execute(text("DELETE FROM rate_limit_counter"))


def closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_with_redis_at_a_closed_port_every_limit_still_counts_and_nothing_is_a_500(
    settings, db, monkeypatch
):
    """Tori pointed at a Redis port where nothing listens: a burst of guesses on one code, a
    burst of registrations from one address and a burst of sign-ins on one account are each held
    to their limit, counted in the database, and no answer is a 500."""
    import dataclasses

    app = create_app(
        dataclasses.replace(settings, redis_url=f"redis://127.0.0.1:{closed_port()}/0")
    )
    opened: list[httpx.AsyncClient] = []

    def at(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        opened.append(httpx.AsyncClient(transport=transport, base_url="http://testserver.local"))
        return opened[-1]

    checked = 0
    lock = threading.Lock()
    verify = roll._verify_code

    def counting_verify(hashed, secret):
        nonlocal checked
        with lock:
            checked += 1
        return verify(hashed, secret)

    monkeypatch.setattr(roll, "_verify_code", counting_verify)
    try:
        round_, code = await vote_round(db)
        guessers = [at(f"198.51.100.{n}") for n in range(1, 16)]
        tokens = [await token_from(g, f"/pb/{round_.slug}/vote?lang=en") for g in guessers]
        guesses = await asyncio.gather(
            *(
                guessers[n].post(
                    f"/pb/{round_.slug}/vote",
                    data={
                        "_csrf_token": tokens[n],
                        "code": code,
                        "birth_date": (dt.date(1990, 1, 1) + dt.timedelta(days=n)).isoformat(),
                    },
                )
                for n in range(15)
            )
        )
        assert all(r.status_code < 500 for r in guesses)
        assert checked == CODE_FAILURES.count

        registrant = at("203.0.113.77")
        token = await token_from(registrant, "/account/register?lang=en")
        registrations = await asyncio.gather(
            *(
                registrant.post(
                    "/account/register",
                    data={
                        "display_name": "Asukas",
                        "email": f"closed{n}@example.fi",
                        "password": "long enough secret",
                        "password_again": "long enough secret",
                        "_csrf_token": token,
                    },
                )
                for n in range(8)
            )
        )
        assert all(r.status_code < 500 for r in registrations)
        assert await db.scalar(select(func.count()).select_from(Resident)) == (
            REGISTRATIONS_PER_ADDRESS.count
        )
        assert sum(r.status_code == 429 for r in registrations) == 8 - 3
    finally:
        for client in opened:
            await client.aclose()
        await app.state.limiter.close()
        await app.state.db.dispose()
