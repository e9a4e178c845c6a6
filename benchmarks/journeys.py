"""Benchmark: whole journeys as a resident's browser makes them, beside a bare journey.

    .venv/bin/python -m benchmarks.journeys [--seconds 10] [--users 32] [--runs 3]

Each journey is what a real client does, with nothing forged: GET the page, read the form's
token and fields from its HTML, POST the answers, follow the 303, GET the thank-you page.

- questionnaire: GET /f/<slug>, POST the answers, GET the thanks page (3 requests);
- poll: GET /p/<slug>, POST a choice, GET the result page (3 requests);
- PB voter: GET the sign-in page, POST the letter's code and birth date, GET the ballot, POST
  "review" with some proposals within the budgets, POST "cast" from the review page, GET the
  thank-you page with the receipt (6 requests); every voter has a real letter code.

The baseline is a bare Litestar + asyncpg journey of the questionnaire's shape (GET a page
with a one-use token, POST it with one INSERT and a 303, GET a thank-you page), served by 2
uvicorn workers like Tori and loaded by the same client in the same run.

**Closed loop** (throughput): `--users` virtual users each run journeys back to back for
`--seconds`, a fresh cookie jar per journey; `--runs` runs, printed as the median and the
spread. **Open loop** (latency): journeys start on a fixed schedule at half of the median
closed-loop rate whatever the server does, and a journey's time is counted from its scheduled
start, so a server that falls behind shows it (no coordinated omission).

The client is asyncio + uvloop with httptools' parser, one keep-alive connection per user; it
shares the machine's cores with the servers and PostgreSQL, as wrk does in the other
benchmarks, so compare the ratios measured within one run. Every acknowledged answer, vote and
ballot is looked up in the database afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import httptools

from benchmarks import feedback_submit
from benchmarks.common import (
    ROOT,
    _connect,
    bench_database,
    count_rows,
    free_port,
    python,
    running,
    tori_server,
)

INPUT = re.compile(rb"<input\b[^>]*>")
ATTRIBUTE = re.compile(rb'\b(type|name|value)="([^"]*)"')


class JourneyError(Exception):
    """A step did not answer as a resident's browser expects."""


@dataclass
class _Reply:
    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)
    done: bool = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_body(self, chunk: bytes) -> None:
        self.body += chunk

    def on_message_complete(self) -> None:
        self.done = True


class Client:
    """One user's keep-alive connection and cookie jar (HTTP/1.1, what a browser sends)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.cookies: dict[str, str] = {}
        self.requests = 0

    async def close(self) -> None:
        if self.writer:
            self.writer.close()
            self.reader = self.writer = None

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(self, method: str, path: str, fields=None) -> tuple[int, str, bytes]:
        """(status, Location, body); cookies kept as a browser keeps them (path ignored)."""
        body = urlencode(fields).encode() if fields is not None else b""
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "Accept: text/html",
            "Accept-Language: fi",
        ]
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if fields is not None:
            lines += ["Content-Type: application/x-www-form-urlencoded"]
        lines.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        for attempt in (1, 2):
            if self.writer is None:
                await self._open()
            try:
                self.writer.write(data)
                reply = await self._read()
                break
            except (ConnectionError, asyncio.IncompleteReadError, JourneyError):
                await self.close()
                if attempt == 2:
                    raise
        self.requests += 1
        location = ""
        for name, value in reply.headers:
            if name == b"set-cookie":
                pair = value.decode().split(";", 1)[0]
                key, _, val = pair.partition("=")
                if "max-age=0" in value.decode().lower() or not val:
                    self.cookies.pop(key.strip(), None)
                else:
                    self.cookies[key.strip()] = val.strip()
            elif name == b"location":
                location = value.decode()
            elif name == b"connection" and value.lower() == b"close":
                await self.close()
        return reply.status, location, bytes(reply.body)

    async def _read(self) -> _Reply:
        reply = _Reply()
        parser = httptools.HttpResponseParser(reply)
        while not reply.done:
            chunk = await self.reader.read(65536)
            if not chunk:
                raise JourneyError("the server closed the connection")
            parser.feed_data(chunk)
        reply.status = parser.get_status_code()
        return reply

    async def expect(self, status: int, method: str, path: str, fields=None) -> tuple[str, bytes]:
        got, location, body = await self.request(method, path, fields)
        if got != status:
            raise JourneyError(f"{method} {path}: {got}, expected {status}: {body[:300]!r}")
        return urlsplit(location).path + (
            "?" + urlsplit(location).query if urlsplit(location).query else ""
        ), body


def hidden_fields(html: bytes, action: bytes | None = None) -> list[tuple[str, str]]:
    """The hidden inputs of the page's form (the first form, or the one posting to `action`)."""
    if action is not None:
        start = html.find(b'action="' + action + b'"')
        if start < 0:
            raise JourneyError(f"no form posts to {action!r}")
        html = html[start : html.find(b"</form>", start)]
    else:
        start = html.find(b"<form")
        html = html[start : html.find(b"</form>", start)]
    found = []
    for tag in INPUT.findall(html):
        attributes = dict(ATTRIBUTE.findall(tag))
        if attributes.get(b"type") == b"hidden":
            found.append((attributes[b"name"].decode(), attributes.get(b"value", b"").decode()))
    return found


# --- the journeys ---------------------------------------------------------------------------


async def questionnaire(client: Client, rng: random.Random, data) -> str:
    path = f"/f/{rng.choice(data.questionnaires)}"
    _, page = await client.expect(200, "GET", path)
    fields = [*hidden_fields(page), *feedback_submit.answers(rng)]
    thanks, _ = await client.expect(303, "POST", path, fields)
    await client.expect(200, "GET", thanks)
    return "feedback_response"


async def poll(client: Client, rng: random.Random, data) -> str:
    path = f"/p/{rng.choice(data.polls)}"
    _, page = await client.expect(200, "GET", path)
    fields = [*hidden_fields(page), ("q_q1", f"o{rng.randint(1, 4)}")]
    after, _ = await client.expect(303, "POST", path, fields)
    await client.expect(200, "GET", after)
    return "poll_vote"


async def pb_voter(client: Client, rng: random.Random, data) -> str:
    code, choices = data.voters.pop()
    base = f"/pb/{data.round_slug}"
    _, page = await client.expect(200, "GET", f"{base}/vote")
    fields = [*hidden_fields(page), ("code", code), ("birth_date", "1980-01-01")]
    ballot, _ = await client.expect(303, "POST", f"{base}/vote", fields)
    _, page = await client.expect(200, "GET", ballot)
    fields = [*hidden_fields(page), *(("proposal", str(p)) for p in choices)]
    _, review = await client.expect(200, "POST", ballot, [*fields, ("action", "review")])
    cast = hidden_fields(review, action=f"{base}/cast".encode())
    voted, _ = await client.expect(303, "POST", f"{base}/cast", cast)
    _, page = await client.expect(200, "GET", voted)
    if b"receipt" not in page.lower() and b"kuitti" not in page.lower():
        raise JourneyError("the thank-you page shows no receipt")
    return "pb_ballot"


async def bare(client: Client, rng: random.Random, data) -> str:
    _, page = await client.expect(200, "GET", "/form")
    thanks, _ = await client.expect(
        303, "POST", "/form", [*hidden_fields(page), ("q_comment", "kiitos")]
    )
    await client.expect(200, "GET", thanks)
    return "bare_insert"


Journey = Callable[[Client, random.Random, object], Awaitable[str]]
STEPS = {"questionnaire": 3, "poll": 3, "PB voter": 6, "bare journey": 3}


# --- load -----------------------------------------------------------------------------------


@dataclass
class Run:
    journeys: int
    requests: int
    seconds: float
    errors: int
    latencies_ms: list[float]
    first_error: str = ""

    @classmethod
    def of(cls, clients: list[Client], seconds: float, latencies: list[float], errors: list[str]):
        requests = sum(c.requests for c in clients)
        first = errors[0] if errors else ""
        return cls(len(latencies), requests, seconds, len(errors), latencies, first)

    @property
    def per_second(self) -> float:
        return self.journeys / self.seconds

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def closed_loop(url: str, journey: Journey, data, users: int, seconds: float) -> Run:
    parsed = urlsplit(url)
    stop = time.perf_counter() + seconds
    latencies: list[float] = []
    errors: list[str] = []
    clients = [Client(parsed.hostname, parsed.port) for _ in range(users)]

    async def user(client: Client, seed: int) -> None:
        rng = random.Random(seed)
        while time.perf_counter() < stop:
            client.cookies = {}
            began = time.perf_counter()
            try:
                await journey(client, rng, data)
            except (JourneyError, OSError, IndexError) as error:
                errors.append(str(error))
                await client.close()
                continue
            latencies.append((time.perf_counter() - began) * 1000)

    began = time.perf_counter()
    await asyncio.gather(*(user(c, n) for n, c in enumerate(clients)))
    elapsed = time.perf_counter() - began
    for client in clients:
        await client.close()
    return Run.of(clients, elapsed, latencies, errors)


async def open_loop(url: str, journey: Journey, data, rate: float, seconds: float) -> Run:
    """Journeys started every 1/rate s, each on its own connection, timed from its schedule."""
    parsed = urlsplit(url)
    latencies: list[float] = []
    errors: list[str] = []
    clients: list[Client] = []
    rng = random.Random(99)
    tasks = []
    began = time.perf_counter()

    async def one(scheduled: float, client: Client) -> None:
        try:
            await journey(client, rng, data)
        except (JourneyError, OSError, IndexError) as error:
            errors.append(str(error))
        else:
            latencies.append((time.perf_counter() - scheduled) * 1000)
        finally:
            await client.close()

    count = int(rate * seconds)
    for n in range(count):
        scheduled = began + n / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        client = Client(parsed.hostname, parsed.port)
        clients.append(client)
        tasks.append(asyncio.create_task(one(scheduled, client)))
    await asyncio.gather(*tasks)
    return Run.of(clients, time.perf_counter() - began, latencies, errors)


# --- data -----------------------------------------------------------------------------------


@dataclass
class Data:
    questionnaires: list[str]
    polls: list[str]
    round_slug: str
    voters: list[tuple[str, list[int]]]
    database: str = ""


async def prepare(url: str, voters: int) -> Data:
    from app.database import Database
    from benchmarks import pb_cast, poll_vote
    from voting import rounds
    from voting.roll import issue_letter_codes

    questionnaires = await feedback_submit.prepare(url)
    polls = await poll_vote.prepare(url)
    slug, round_id, _roll, proposals = await pb_cast.prepare(url, voters=voters)
    database = Database(url)
    async with database.sessionmaker() as session:
        round_ = await rounds.get_round(session, round_id)
        issued = await issue_letter_codes(session, round_)
    await database.dispose()
    rng = random.Random(5)
    codes = [(code.code, pb_cast.choose(rng, proposals, code.area_id)) for code in issued]
    rng.shuffle(codes)
    return Data(questionnaires, polls, slug, codes, url)


async def count_acknowledged(url: str, table: str) -> int:
    if table == "pb_ballot":
        return await count_rows(url, "voter_roll WHERE voted_via IS NOT NULL")
    return await count_rows(url, table)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f} ({min(values):,.0f}–{max(values):,.0f})"


def measure(url: str, name: str, journey: Journey, data, arguments, table: str) -> dict:
    """Closed-loop runs, then one open-loop run at half the median rate; acknowledged = stored."""
    # Warm-up: templates compiled, pools filled.
    asyncio.run(closed_loop(url, journey, data, arguments.users, 2))
    runs = []
    for _ in range(arguments.runs):
        before = asyncio.run(count_acknowledged(data.database, table))
        run = asyncio.run(closed_loop(url, journey, data, arguments.users, arguments.seconds))
        stored = asyncio.run(count_acknowledged(data.database, table)) - before
        if stored < run.journeys:
            raise SystemExit(f"{name}: {run.journeys} acknowledged, only {stored} stored")
        runs.append(run)
    rate = statistics.median(r.per_second for r in runs) / 2
    paced = asyncio.run(open_loop(url, journey, data, rate, arguments.seconds))
    return {"name": name, "runs": runs, "rate": rate, "paced": paced}


def report(results: list[dict], baseline: dict, arguments) -> None:
    print(
        f"{arguments.users} users, {arguments.seconds} s x {arguments.runs} runs each, 2 workers, "
        "PostgreSQL, this machine; median (min–max)"
    )
    header = (
        f"{'journey':16}{'journeys/s':>22}{'requests/s':>22}{'% of bare':>11}"
        f"{'p50 ms':>8}{'p99 ms':>8}{'errors':>8}"
    )
    print(header)
    bare_requests = statistics.median(r.requests / r.seconds for r in baseline["runs"])
    for result in [baseline, *results]:
        runs = result["runs"]
        per_request = [r.requests / r.seconds for r in runs]
        share = statistics.median(per_request) / bare_requests
        print(
            f"{result['name']:16}{spread([r.per_second for r in runs]):>22}"
            f"{spread(per_request):>22}{share:>11.0%}"
            f"{statistics.median(r.percentile(0.5) for r in runs):8.0f}"
            f"{statistics.median(r.percentile(0.99) for r in runs):8.0f}"
            f"{sum(r.errors for r in runs):8}"
        )
    print("\nopen loop at half the median closed-loop rate (latency from the scheduled start):")
    print(f"{'journey':16}{'offered/s':>10}{'done/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'errors':>8}")
    for result in [baseline, *results]:
        paced = result["paced"]
        print(
            f"{result['name']:16}{result['rate']:10.0f}{paced.per_second:8.0f}"
            f"{paced.percentile(0.5):8.0f}{paced.percentile(0.99):8.0f}{paced.errors:8}"
        )
    for result in [baseline, *results]:
        failed = [r.first_error for r in [*result["runs"], result["paced"]] if r.first_error]
        if failed:
            print(f"first error of {result['name']}: {failed[0]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--voters", type=int, default=12_000)
    arguments = parser.parse_args()
    import uvloop

    uvloop.install()
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    with bench_database("journeys") as url:
        data = asyncio.run(prepare(url, arguments.voters))
        asyncio.run(_create_bare_table(url))
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        dsn = f"postgresql://{parsed.username}@{parsed.host}:{parsed.port}/{parsed.database}"
        port = free_port()
        command = [
            python(),
            *("-m", "uvicorn", "benchmarks.bare_journey:app", "--port", str(port)),
            *("--workers", "2", "--no-access-log", "--log-level", "warning"),
        ]
        with running(command, {"BARE_DSN": dsn}, port) as base:
            baseline = measure(base, "bare journey", bare, data, arguments, "bare_insert")
        port = free_port()
        command, environment = tori_server(
            url,
            port,
            redis_db=9,
            TORI_ANSWERS_PER_ADDRESS=str(10**9),
            TORI_VOTES_PER_ADDRESS=str(10**9),
        )
        results = []
        with running(command, environment, port) as base:
            for name, journey, table in (
                ("questionnaire", questionnaire, "feedback_response"),
                ("poll", poll, "poll_vote"),
                ("PB voter", pb_voter, "pb_ballot"),
            ):
                results.append(measure(base, name, journey, data, arguments, table))
        if not data.voters:
            raise SystemExit("the run used up every voter: raise --voters")
    report(results, baseline, arguments)


async def _create_bare_table(url: str) -> None:
    connection = await _connect(url)
    await connection.execute(
        "CREATE TABLE IF NOT EXISTS bare_insert"
        " (id bigserial PRIMARY KEY, body text NOT NULL, created timestamptz DEFAULT now())"
    )
    await connection.close()


if __name__ == "__main__":
    main()
