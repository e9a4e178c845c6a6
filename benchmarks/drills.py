"""Drill: a mixed load with faults, then two separate servers sharing Redis.

    .venv/bin/python -m benchmarks.drills [--seconds 60] [--clients 24]

Part 1. `tori serve --workers 2` on a PostgreSQL cluster of the drill's own (so that it can be
restarted without touching anything else) takes a mixed load from concurrent clients: poll
votes, questionnaire answers, budgeting ballots (each from a different voter on the roll) and
page views. A third of the way in one worker is killed with SIGKILL (uvicorn starts a new one);
at 60 % PostgreSQL is stopped with `-m immediate` (a crash: it recovers from its WAL), kept
down for a few seconds and started again. A client whose request broke or got a 503 sends the
same form again, as a resident taps again, until it is acknowledged. Afterwards every write the
clients saw acknowledged must be in the database exactly once, the ballot log one valid chain,
and `tori-verify` must pass on the published bulletin board.

Part 2. Two separate `tori serve` processes on one database and one Redis: a per-address vote
limit, a sign-in lockout and live poll results must hold across both.

The script prints acknowledged, stored, lost (must be 0), duplicated (must be 0) and the error
rate, and exits non-zero when a promise is broken. `make drills` runs it with the backup drill;
the test suite runs a short version (tests/test_drills.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx
from litestar.middleware.csrf import generate_csrf_token

from app.signing import unsign
from benchmarks import feedback_submit, pb_cast, poll_vote
from benchmarks.common import ROOT, SECRET, _connect, free_port, python, running, worker_pids
from tests.postgres import Cluster, PostgresUnavailableError, fresh_database, throwaway_cluster

OUTAGE_SECONDS = 4.0
REQUEST_TIMEOUT = 10.0
STAFF_EMAIL = "drill@example.org"
VOTE_LIMIT = 10
ANSWER_LIMIT = 200
# Each kind's share of the clients' requests.
MIX = {"vote": 0.3, "answer": 0.25, "ballot": 0.25, "page": 0.2}


@dataclass
class Item:
    kind: str
    path: str
    identity: str = ""
    cookies: str = ""
    fields: list = field(default_factory=list)
    attempts: int = 0
    due: float = 0.0


@dataclass
class Tally:
    requests: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    acknowledged: dict[str, set[str]] = field(
        default_factory=lambda: {"vote": set(), "answer": set(), "ballot": set(), "page": set()}
    )
    receipts: dict[str, str] = field(default_factory=dict)
    # Ballots whose first attempt broke and whose retry found the vote already recorded.
    recorded_on_retry: set[str] = field(default_factory=set)
    broken: int = 0
    timeouts: int = 0
    unavailable: int = 0
    unclear_unavailable: int = 0
    other_errors: Counter = field(default_factory=Counter)
    given_up: int = 0
    slowest: float = 0.0
    first_ack_after: dict[str, float] = field(default_factory=dict)
    acks_at: list[float] = field(default_factory=list)


@dataclass
class Scenario:
    poll_slugs: list[str]
    answer_slugs: list[str]
    pb_slug: str
    round_id: int
    voters: list[tuple[int, int]]
    proposals: dict
    staff_password: str


async def prepare(url: str, voters: int) -> Scenario:
    from app.accounts.models import Role
    from app.accounts.services import create_user
    from app.database import Database

    polls = await poll_vote.prepare(url)
    events = await feedback_submit.prepare(url)
    slug, round_id, roll, proposals = await pb_cast.prepare(url, voters=voters)
    database = Database(url)
    async with database.sessionmaker() as session:
        _user, password = await create_user(
            session, email=STAFF_EMAIL, display_name="Drill", role=Role.STAFF
        )
    await database.dispose()
    random.Random(5).shuffle(roll)
    return Scenario(polls, events, slug, round_id, roll, proposals, password)


class Load:
    """Concurrent clients sending the mixed load, retrying what broke, and their tally."""

    def __init__(self, base: str, scenario: Scenario, csrf: str, seconds: float, clients: int):
        self.base, self.scenario, self.csrf = base, scenario, csrf
        self.seconds, self.clients = seconds, clients
        self.tally = Tally()
        self.voters = iter(scenario.voters)
        self.started = 0.0

    def clock(self) -> float:
        return time.monotonic() - self.started

    def new_item(self, rng: random.Random) -> Item:
        kind = rng.choices(list(MIX), weights=list(MIX.values()))[0]
        csrf_cookie = f"tori_csrf={self.csrf}"
        if kind == "vote":
            path, fields = poll_vote.vote_form(rng, self.scenario.poll_slugs, self.csrf)
            return Item(kind, path, dict(fields)["token"], csrf_cookie, fields)
        if kind == "answer":
            path, fields = feedback_submit.answer_form(rng, self.scenario.answer_slugs, self.csrf)
            return Item(kind, path, dict(fields)["token"], csrf_cookie, fields)
        if kind == "ballot":
            voter = next(self.voters)
            s = self.scenario
            path, cookies, fields = pb_cast.ballot_form(
                rng, s.pb_slug, s.round_id, voter, s.proposals, self.csrf
            )
            return Item(kind, path, str(voter[0]), cookies, fields)
        page = rng.choice(
            [
                "/",
                f"/p/{rng.choice(self.scenario.poll_slugs)}/results",
                f"/f/{rng.choice(self.scenario.answer_slugs)}",
                f"/pb/{self.scenario.pb_slug}",
                f"/pb/{self.scenario.pb_slug}/log",
            ]
        )
        return Item("page", page)

    async def run(self) -> Tally:
        self.started = time.monotonic()
        limits = httpx.Limits(max_connections=self.clients, max_keepalive_connections=self.clients)
        async with httpx.AsyncClient(
            base_url=self.base, timeout=REQUEST_TIMEOUT, limits=limits
        ) as http:
            await asyncio.gather(*(self.client(http, n) for n in range(self.clients)))
        return self.tally

    async def client(self, http: httpx.AsyncClient, number: int) -> None:
        rng = random.Random(1000 + number)
        address = f"198.51.100.{number % 250 + 1}"
        retries: list[Item] = []
        # After the load, what broke is retried for a while longer, as a resident would.
        drain_until = self.seconds + 30
        while True:
            now = self.clock()
            if retries and retries[0].due <= now:
                item = retries.pop(0)
            elif now < self.seconds:
                item = self.new_item(rng)
            elif retries and now < drain_until:
                await asyncio.sleep(max(0.0, retries[0].due - now))
                continue
            else:
                self.tally.given_up += len(retries)
                return
            if not await self.send(http, item, address):
                item.attempts += 1
                item.due = self.clock() + min(0.25 * 2**item.attempts, 3.0)
                retries.append(item)

    async def send(self, http: httpx.AsyncClient, item: Item, address: str) -> bool:
        """True when the request is settled (acknowledged, or a page view answered)."""
        self.tally.requests[item.kind] += 1
        headers = {"X-Forwarded-For": address}
        if item.cookies:
            headers["Cookie"] = item.cookies
        began = time.monotonic()
        try:
            if item.kind == "page":
                response = await http.get(item.path, headers=headers)
            else:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
                response = await http.post(
                    item.path, content=urlencode(item.fields), headers=headers
                )
        except httpx.TimeoutException:
            self.tally.timeouts += 1
            return item.kind == "page"
        except httpx.TransportError:
            self.tally.broken += 1
            return item.kind == "page"
        self.tally.slowest = max(self.tally.slowest, time.monotonic() - began)
        return self.settle(item, response)

    def settle(self, item: Item, response: httpx.Response) -> bool:
        tally, status = self.tally, response.status_code
        tally.statuses[status] += 1
        if status == 503:
            tally.unavailable += 1
            if "retry-after" not in response.headers or "<h1" not in response.text:
                tally.unclear_unavailable += 1
            return item.kind == "page"
        if item.kind != "page" and status == 303:
            tally.acknowledged[item.kind].add(item.identity)
            tally.acks_at.append(self.clock())
            if item.kind == "ballot":
                signed = response.cookies.get("tori_receipt")
                value = unsign(SECRET, "pb-receipt", signed, 300) or ""
                tally.receipts[item.identity] = value.partition(".")[2]
        elif status == 409 and item.kind == "ballot" and item.attempts:
            # The earlier attempt was stored but its answer never arrived.
            tally.recorded_on_retry.add(item.identity)
        elif not (item.kind == "page" and status == 200):
            tally.other_errors[(item.kind, status)] += 1
        return True


@dataclass
class Faults:
    killed: int | None = None
    killed_at: float = 0.0
    worker_back_after: float | None = None
    database_down_at: float = 0.0
    database_up_at: float = 0.0


async def inject_faults(load: Load, server: subprocess.Popen, cluster: Cluster) -> Faults:
    faults = Faults()
    await asyncio.sleep(load.seconds * 0.3)
    pids = worker_pids(server.pid)
    if pids:
        os.kill(pids[0], signal.SIGKILL)
        faults.killed, faults.killed_at = pids[0], load.clock()
        for _ in range(100):
            await asyncio.sleep(0.1)
            now = worker_pids(server.pid)
            if len(now) == len(pids) and faults.killed not in now:
                faults.worker_back_after = load.clock() - faults.killed_at
                break
    await asyncio.sleep(max(0.0, load.seconds * 0.6 - load.clock()))
    faults.database_down_at = load.clock()
    await asyncio.to_thread(cluster.stop, "immediate")
    await asyncio.sleep(OUTAGE_SECONDS)
    await asyncio.to_thread(cluster.start)
    faults.database_up_at = load.clock()
    return faults


@dataclass
class Stored:
    tokens: dict[str, set[str]]
    duplicated: dict[str, int]
    ballots: int
    roll_marks: int
    log_entries: int
    voted: set[str]
    log_hashes: set[str]
    chain_problem: str | None


async def read_database(url: str, scenario: Scenario) -> Stored:
    from voting.tally.board import check_log

    connection = await _connect(url)
    try:
        votes = {row[0] for row in await connection.fetch("SELECT token FROM poll_vote")}
        answers = {
            row[0]
            for row in await connection.fetch("SELECT submission_token FROM feedback_response")
        }
        vote_duplicates = await connection.fetchval(
            "SELECT (SELECT count(*) - count(DISTINCT token) FROM poll_vote)"
            " + (SELECT count(*) FROM (SELECT vote_id FROM poll_choice"
            "    GROUP BY vote_id, question_key, value HAVING count(*) > 1) AS doubled)"
        )
        answer_duplicates = await connection.fetchval(
            "SELECT count(*) - count(DISTINCT submission_token) FROM feedback_response"
        )
        ballots = await connection.fetchval("SELECT count(*) FROM pb_ballot")
        voted = {
            str(row[0])
            for row in await connection.fetch(
                "SELECT id FROM voter_roll WHERE voted_via IS NOT NULL"
            )
        }
        rows = await connection.fetch(
            "SELECT seq, entry, hash, tracker FROM pb_log_entry ORDER BY seq"
        )
        log = [(row[0], row[1], row[2]) for row in rows]
        trackers = {row[3] for row in rows}
    finally:
        await connection.close()
    count, _head, problem = check_log(scenario.pb_slug, log)
    return Stored(
        tokens={"vote": votes, "answer": answers},
        duplicated={
            "vote": vote_duplicates,
            "answer": answer_duplicates,
            "ballot": max(0, ballots - len(voted)) + max(0, count - ballots),
        },
        ballots=ballots,
        roll_marks=len(voted),
        log_entries=count,
        voted=voted,
        # Receipts are trackers (what the entry carries), known when the ballot was cast.
        log_hashes=trackers,
        chain_problem=problem,
    )


async def publish(url: str, slug: str) -> None:
    """Voting closes and an admin publishes the results (the service the staff page calls)."""
    from app.database import Database
    from app.settings import Settings
    from voting import publication, rounds

    connection = await _connect(url)
    try:
        await connection.execute(
            "UPDATE pb_round SET voting_close_at = now() - interval '1 second' WHERE slug = $1",
            slug,
        )
    finally:
        await connection.close()
    database = Database(url)
    async with database.sessionmaker() as session:
        round_ = await rounds.round_by_slug(session, slug)
        await publication.publish(session, round_, Settings(secret_key=SECRET).signing_seed, None)
    await database.dispose()


def verify_board(base: str, slug: str, receipts: list[str]) -> tuple[int, str]:
    """Download the bulletin board and run tori-verify on it with some voters' receipts."""
    with tempfile.TemporaryDirectory() as directory:
        board = Path(directory) / "board.jsonl"
        with httpx.stream("GET", f"{base}/pb/{slug}/board.jsonl", timeout=60) as response:
            response.raise_for_status()
            with board.open("wb") as handle:
                for chunk in response.iter_bytes():
                    handle.write(chunk)
        keys = Path(directory) / "signing-key.json"
        keys.write_bytes(httpx.get(f"{base}/pb/signing-key.json", timeout=10).content)
        command = [python(), "-m", "voting.verify", str(board), "--public-key", str(keys)]
        for receipt in receipts[:200]:
            command += ["--receipt", receipt]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = (result.stdout + result.stderr).strip().splitlines()
    return result.returncode, lines[-1] if lines else ""


def server_command(port: int, workers: int) -> list[str]:
    return [python(), "-m", "app.cli", "serve", "--port", str(port), "--workers", str(workers)]


def flush_redis(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_timeout=5).flushdb()
    except redis.RedisError as error:
        raise SystemExit(
            f"The drills need Redis at {url} ({error}): apt-get install redis-server"
        ) from None


@dataclass
class SharedRedis:
    votes_accepted: int = 0
    votes_refused: int = 0
    answers_accepted: int = 0
    answers_refused: int = 0
    lockout: tuple[int, int] = (0, 0)
    correct_before: int = 0
    live_after: float | None = None


FORM = "application/x-www-form-urlencoded"


async def alternate(
    http: httpx.AsyncClient, servers: list[str], forms: list, csrf: str, address: str
) -> tuple[int, int]:
    """Send the forms from one address, alternating between the servers: (accepted, refused)."""
    statuses = Counter()
    headers = {"Cookie": f"tori_csrf={csrf}", "Content-Type": FORM, "X-Forwarded-For": address}
    for number, (path, fields) in enumerate(forms):
        response = await http.post(
            servers[number % 2] + path, content=urlencode(fields), headers=headers
        )
        statuses[response.status_code] += 1
    return statuses[303], statuses[429]


async def sign_in(http: httpx.AsyncClient, base: str, csrf: str, password: str, origin: str) -> int:
    fields = {"_csrf_token": csrf, "email": STAFF_EMAIL, "password": password}
    response = await http.post(
        base + "/staff/login",
        content=urlencode(fields),
        headers={"Cookie": f"tori_csrf={csrf}", "Content-Type": FORM, "X-Forwarded-For": origin},
    )
    return response.status_code


async def live_across(http: httpx.AsyncClient, first: str, second: str, slug: str, csrf: str):
    """Seconds until a results page on the second server hears of a vote stored by the first."""
    async with http.stream("GET", f"{second}/p/{slug}/live") as stream:
        lines = stream.aiter_lines()
        async with asyncio.timeout(10):
            async for line in lines:
                if line.startswith(":"):
                    break
        # The page is woken once when the server's listening connection opens.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2):
                async for line in lines:
                    if line.startswith("event: update"):
                        break
        voted = time.monotonic()
        await alternate(
            http,
            [first],
            [poll_vote.vote_form(random.Random(1), [slug], csrf)],
            csrf,
            "203.0.113.99",
        )
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                async for line in lines:
                    if line.startswith("event: update"):
                        return time.monotonic() - voted
    return None


async def two_servers(first: str, second: str, scenario: Scenario, csrf: str) -> SharedRedis:
    result = SharedRedis()
    rng = random.Random(99)
    servers = [first, second]
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT) as http:
        # A small limit is counted in Redis at every hit: exact across the servers.
        votes = [
            poll_vote.vote_form(rng, scenario.poll_slugs, csrf)
            for _ in range(VOTE_LIMIT * 16 // 10)
        ]
        result.votes_accepted, result.votes_refused = await alternate(
            http, servers, votes, csrf, "203.0.113.77"
        )
        # A larger limit is counted in batches per process: at most a few hits of lag.
        answers = [
            feedback_submit.answer_form(rng, scenario.answer_slugs, csrf)
            for _ in range(ANSWER_LIMIT * 3 // 2)
        ]
        result.answers_accepted, result.answers_refused = await alternate(
            http, servers, answers, csrf, "203.0.113.78"
        )
        password = scenario.staff_password
        result.correct_before = await sign_in(http, second, csrf, password, "203.0.113.1")
        for number in range(5):
            await sign_in(
                http, servers[number % 2], csrf, "wrong password " * 2, f"203.0.113.{10 + number}"
            )
        result.lockout = (
            await sign_in(http, first, csrf, password, "203.0.113.30"),
            await sign_in(http, second, csrf, password, "203.0.113.31"),
        )
        result.live_after = await live_across(http, first, second, scenario.poll_slugs[0], csrf)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=24)
    parser.add_argument("--voters", type=int, default=30_000)
    arguments = parser.parse_args()
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    redis_url = os.environ.get("TORI_DRILL_REDIS_URL", "redis://127.0.0.1:6379/12")
    flush_redis(redis_url)
    csrf = generate_csrf_token(SECRET)
    with contextlib.ExitStack() as stack:
        try:
            cluster = stack.enter_context(throwaway_cluster())
        except PostgresUnavailableError as error:
            raise SystemExit(
                "The drill crashes a PostgreSQL cluster of its own and needs initdb and "
                f"pg_ctl:\n{error}"
            ) from None
        url = stack.enter_context(fresh_database(cluster.url, "drill"))
        scenario = asyncio.run(prepare(url, arguments.voters))
        environment = {
            "DATABASE_URL": url,
            "SECRET_KEY": SECRET,
            "TORI_ENV": "test",
            "LOG_LEVEL": "WARNING",
            "REDIS_URL": redis_url,
            "TORI_VOTES_PER_ADDRESS": str(10**9),
            # The load generator stands in for a proxy in front of many residents: it names
            # each one's address in X-Forwarded-For, which Tori believes only from a proxy it
            # was told to trust.
            "TORI_TRUSTED_PROXIES": "127.0.0.1",
        }
        port = free_port()
        started: list[subprocess.Popen] = []
        with running(server_command(port, 2), environment, port, started=started) as base:
            load = Load(base, scenario, csrf, arguments.seconds, arguments.clients)

            async def drill() -> tuple[Tally, Faults]:
                faults = asyncio.create_task(inject_faults(load, started[0], cluster))
                tally = await load.run()
                return tally, await faults

            tally, faults = asyncio.run(drill())
            # Publication closes voting and runs the mixer's last batch: only then is every
            # acknowledged ballot in the log (before, the last ones may still be pending).
            asyncio.run(publish(url, scenario.pb_slug))
            stored = asyncio.run(read_database(url, scenario))
            verdict = verify_board(base, scenario.pb_slug, list(tally.receipts.values()))
        flush_redis(redis_url)
        environment["TORI_VOTES_PER_ADDRESS"] = str(VOTE_LIMIT)
        environment["TORI_ANSWERS_PER_ADDRESS"] = str(ANSWER_LIMIT)
        first_port, second_port = free_port(), free_port()
        with (
            running(server_command(first_port, 1), environment, first_port) as first,
            running(server_command(second_port, 1), environment, second_port) as second,
        ):
            shared = asyncio.run(two_servers(first, second, scenario, csrf))
    failures = report(arguments, tally, faults, stored, verdict, shared)
    if failures:
        raise SystemExit("DRILL FAILED: " + "; ".join(failures))
    print("DRILL PASSED")


def report(arguments, tally: Tally, faults: Faults, stored: Stored, verdict, shared) -> list[str]:
    failures: list[str] = []
    print(
        f"Part 1: {arguments.clients} clients for {arguments.seconds:.0f} s against 2 workers "
        f"on PostgreSQL, this machine ({os.cpu_count()} cores)"
    )
    print(
        f"{'':22}{'requests':>10}{'acknowledged':>14}{'stored':>9}{'lost':>6}{'duplicated':>12}"
        f"{'stored, not acknowledged':>26}"
    )
    ballots_known = tally.acknowledged["ballot"] | tally.recorded_on_retry
    rows = {
        "poll votes": ("vote", tally.acknowledged["vote"], stored.tokens["vote"]),
        "questionnaire answers": ("answer", tally.acknowledged["answer"], stored.tokens["answer"]),
        "budgeting ballots": ("ballot", ballots_known, stored.voted),
    }
    for label, (kind, acknowledged, in_database) in rows.items():
        lost = len(acknowledged - in_database)
        if kind == "ballot":
            lost += len(set(tally.receipts.values()) - stored.log_hashes)
        duplicated = stored.duplicated[kind]
        print(
            f"{label:22}{tally.requests[kind]:10}{len(acknowledged):14}{len(in_database):9}"
            f"{lost:6}{duplicated:12}{len(in_database - acknowledged):26}"
        )
        if lost or duplicated:
            failures.append(f"{label}: {lost} lost, {duplicated} duplicated")
    answered = tally.requests["page"] - tally.timeouts
    print(f"{'page views':22}{tally.requests['page']:10}{answered:14}")
    total = sum(tally.requests.values())
    settled = sum(count for status, count in tally.statuses.items() if status < 400) + len(
        tally.recorded_on_retry
    )
    errors = total - settled
    other = sum(tally.other_errors.values())
    print(
        f"errors: {errors} of {total} requests ({errors / max(total, 1):.2%}): "
        f"503 during the outage {tally.unavailable} "
        f"({'each a page with Retry-After' if not tally.unclear_unavailable else f'{tally.unclear_unavailable} without the page'}), "
        f"connections cut {tally.broken}, timeouts over {REQUEST_TIMEOUT:.0f} s {tally.timeouts}, "
        f"anything else {other}{' ' + str(dict(tally.other_errors)) if other else ''}; "
        f"slowest answer {tally.slowest:.1f} s; forms given up after retrying: {tally.given_up}"
    )
    if other or tally.timeouts or tally.unclear_unavailable or tally.given_up:
        failures.append("unexpected errors, hangs or forms never acknowledged")
    back = (
        f"a new one was serving within {faults.worker_back_after:.1f} s"
        if faults.worker_back_after is not None
        else "NO new worker started"
    )
    recovered = next((at for at in tally.acks_at if at > faults.database_up_at), None)
    print(
        f"faults: worker {faults.killed} SIGKILLed at {faults.killed_at:.1f} s, {back}; "
        f"PostgreSQL crashed (stop -m immediate) at {faults.database_down_at:.1f} s and was back "
        f"at {faults.database_up_at:.1f} s; first acknowledged write "
        + (f"{recovered - faults.database_up_at:.1f} s later" if recovered is not None else "NEVER")
    )
    if faults.killed is None or faults.worker_back_after is None or recovered is None:
        failures.append("the server did not recover from a fault")
    print(
        f"ballot log: {stored.log_entries} entries for {stored.ballots} ballots and "
        f"{stored.roll_marks} roll marks, "
        f"{'one valid chain' if stored.chain_problem is None else stored.chain_problem}"
    )
    if stored.chain_problem or not stored.ballots == stored.roll_marks == stored.log_entries:
        failures.append("the ballot log, the ballots and the roll disagree")
    code, last_line = verdict
    print(
        f"tori-verify on the published board (with {min(200, len(tally.receipts))} receipts): exit {code}, {last_line}"
    )
    if code != 0:
        failures.append("tori-verify did not pass")
    print("Part 2: two tori serve processes, one database, one Redis")
    print(
        f"votes from one address, limit {VOTE_LIMIT}, alternating servers: "
        f"{shared.votes_accepted} accepted, {shared.votes_refused} refused (429)"
    )
    if (shared.votes_accepted, shared.votes_refused) != (VOTE_LIMIT, int(VOTE_LIMIT * 0.6)):
        failures.append("the vote limit did not hold across the servers")
    print(
        f"answers from one address, limit {ANSWER_LIMIT} (counted in 50-ms batches per process), "
        f"alternating servers: {shared.answers_accepted} accepted, {shared.answers_refused} "
        f"refused (429)"
    )
    tolerance = ANSWER_LIMIT // 20
    if not ANSWER_LIMIT <= shared.answers_accepted <= ANSWER_LIMIT + tolerance:
        failures.append("the answer limit did not hold across the servers")
    print(
        f"sign-in: correct password first {shared.correct_before}; after 5 failures spread over "
        f"both servers the correct password gets {shared.lockout[0]} on one and "
        f"{shared.lockout[1]} on the other"
    )
    if shared.correct_before != 303 or shared.lockout != (429, 429):
        failures.append("the sign-in lockout did not hold across the servers")
    print(
        "live results: a page on the second server heard of a vote on the first "
        + (f"{shared.live_after:.2f} s later" if shared.live_after is not None else "NEVER")
    )
    if shared.live_after is None:
        failures.append("live results did not cross servers")
    return failures


if __name__ == "__main__":
    main()
