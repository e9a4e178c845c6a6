"""Benchmark: the public results page of a published round of 75,000 ballots, beside /healthz
and a bare Litestar "hello" measured in the same run.

    .venv/bin/python -m benchmarks.results_page [--round warszawa|generated] [--voters 60000]
        [--requests 200] [--seconds 10] [--runs 3]

By default the round is the real Warszawa 2024 instance (75,255 ballots, 118 projects; the
pabulib file `make test-data` fetches, tests/real_data.py), imported and published as
`tori pb-import` does (voting.exports.import_pabulib). Then the page is loaded by
`wrk -t2 -c32` as phones on a first visit (public_pages.py), `--runs` times beside the bare
hello (2 uvicorn workers): goal at least 10 % of the baseline's requests/s and p99 at most
50 ms in every run.

`--round generated` makes the cast benchmark's round instead: (7 districts of 40 proposals and 30 city-wide ones, equal
shares by cost as the official rule); its ballots enter the log through the same entry and
chain functions as casting, the roll is marked, voting is closed and the round is published
through `voting.publication.publish`. The page is then read sequentially over one keep-alive
connection (2 workers, PostgreSQL) and the latency of each request is measured: it must stay
under 50 ms, because the page reads the stored publication and counts nothing. For comparison,
the time the count itself takes (what the page spent in every request before) is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import http.client
import random
import statistics
import time
from urllib.parse import urlsplit

from sqlalchemy import text

from app.database import Database, utcnow
from app.migrate import upgrade_to_head
from app.settings import Settings
from benchmarks.common import (
    ROOT,
    SECRET,
    bench_database,
    free_port,
    python,
    running,
    tori_server,
)
from benchmarks.pb_cast import choose, prepare
from benchmarks.public_pages import GOAL_P99_MS, GOAL_SHARE, load_average, spread
from benchmarks.public_pages import measure as wrk_measure
from tests.real_data import folder, missing
from voting import published, rounds
from voting.ballots import canonical_choices
from voting.exports import import_pabulib
from voting.mixing import BallotLog, LogBallot
from voting.models import Round
from voting.publication import publish
from voting.tally import parse_pabulib

WARSZAWA = "poland_warszawa_2024_.pb"


async def import_warszawa(url: str) -> tuple[str, float, float]:
    """The real Warszawa 2024 round imported and published as `tori pb-import` does. Returns
    (slug, import and publication s, count s)."""

    if problem := missing():
        raise SystemExit(f"{problem}: run `make test-data` first (or use --round generated)")
    election = parse_pabulib((folder() / WARSZAWA).read_text(encoding="utf-8"))
    database = Database(url)
    async with database.engine.begin() as connection:
        await upgrade_to_head(connection)
    async with database.sessionmaker() as session:
        start = time.perf_counter()
        round_ = await import_pabulib(
            session, election, "Warszawa 2024", Settings(secret_key=SECRET).signing_seed
        )
        publishing = time.perf_counter() - start
        slug, round_id = round_.slug, round_.id
    async with database.sessionmaker() as session:
        data = await published.snapshot(session, await rounds.get_round(session, round_id))
        start = time.perf_counter()
        published.count_round(data)
        counting = time.perf_counter() - start
    await database.dispose()
    return slug, publishing, counting


async def cast_and_publish(url: str, voters: int) -> tuple[str, float, float]:
    """The round with `voters` ballots, published. Returns (slug, publish s, count s)."""
    slug, round_id, roll, proposals = await prepare(url, voters=voters)
    rng = random.Random(11)
    database = Database(url)
    async with database.sessionmaker() as session:
        # The ballots join the log through the one log writer, as the mixer's batches do.
        round_ = await session.get(Round, round_id)
        log_ballots = []
        for _roll_id, area_id in roll:
            choices = dict.fromkeys(choose(rng, proposals, area_id), 1)
            ballot_id = f"{rng.getrandbits(128):032x}"
            log_ballots.append(LogBallot(ballot_id, area_id, canonical_choices(choices)))
        for start in range(0, len(log_ballots), 5000):
            await BallotLog.append(session, round_, log_ballots[start : start + 5000])
        await session.execute(
            text("UPDATE voter_roll SET voted_via = 'online' WHERE round_id = :r"), {"r": round_id}
        )
        now = utcnow()
        await session.execute(
            text(
                "UPDATE pb_round SET voting_close_at = :closed, results_at = :closed WHERE id = :r"
            ),
            {"closed": now - dt.timedelta(seconds=1), "r": round_id},
        )
        await session.commit()
    async with database.sessionmaker() as session:
        round_ = await rounds.get_round(session, round_id)
        data = await published.snapshot(session, round_)
        start = time.perf_counter()
        published.count_round(data)
        counting = time.perf_counter() - start
        start = time.perf_counter()
        await publish(session, round_, Settings(secret_key=SECRET).signing_seed, None)
        publishing = time.perf_counter() - start
    await database.dispose()
    return slug, publishing, counting


def latencies(base: str, path: str, requests: int) -> list[float]:
    """Milliseconds per request, sequential, over one keep-alive connection (after a warm-up)."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    times = []
    for number in range(requests + 10):
        start = time.perf_counter()
        connection.request("GET", path, headers={"Accept-Language": "fi"})
        response = connection.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - start) * 1000
        if response.status != 200:
            raise SystemExit(f"GET {path}: {response.status} {body[:200]!r}")
        if number >= 10:
            times.append(elapsed)
    connection.close()
    return times


def describe(label: str, times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"{label:34}{statistics.median(times):9.1f}{p95:9.1f}{max(times):9.1f}{len(times):10}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--round", choices=["warszawa", "generated"], default="warszawa")
    parser.add_argument("--voters", type=int, default=60_000, help="of the generated round")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    loads = [load_average()]
    with bench_database("results") as url:
        if arguments.round == "warszawa":
            slug, publishing, counting = asyncio.run(import_warszawa(url))
            described = "Warszawa 2024 (pabulib), 75,255 ballots, 118 projects"
        else:
            slug, publishing, counting = asyncio.run(cast_and_publish(url, arguments.voters))
            described = f"{arguments.voters:,} ballots, 8 budgets, 310 proposals"
        path = f"/pb/{slug}/results"
        port, bare_port = free_port(), free_port()
        command, environment = tori_server(url, port, redis_db=13)
        bare_command = [
            python(),
            *("-m", "uvicorn", "benchmarks.bare_hello:app", "--port", str(bare_port)),
            *("--workers", "2", "--no-access-log", "--log-level", "warning"),
        ]
        runs = []
        with (
            running(bare_command, {}, bare_port, health="/") as bare_base,
            running(command, environment, port, startup=180) as base,
        ):
            health = latencies(base, "/healthz", arguments.requests)
            page = latencies(base, path, arguments.requests)
            for _run in range(arguments.runs):
                bare = wrk_measure(bare_base, "/", arguments.seconds, arguments.connections)
                loads.append(load_average())
                result = wrk_measure(base, path, arguments.seconds, arguments.connections)
                loads.append(load_average())
                runs.append((bare, result))
    print(f"{described}; 2 workers, PostgreSQL")
    print("sequential, one keep-alive connection:")
    print(f"{'':34}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'requests':>10}")
    print(describe("/healthz (baseline)", health))
    print(describe(path, page))
    print(
        f"wrk -t2 -c{arguments.connections} -d{arguments.seconds}s, {len(runs)} runs (median, "
        f"range); load average during the runs: {min(loads):.1f}-{max(loads):.1f}"
    )
    print(f"{'':34}{'req/s':>22}{'% of bare':>22}{'p99 ms':>26}{'errors':>8}")
    bares = [bare for bare, _ in runs]
    print(
        f"{'bare Litestar hello (baseline)':34}{spread([b.per_second for b in bares], 0):>22}"
        f"{'100':>22}{spread([b.p99_ms for b in bares]):>26}{sum(b.errors for b in bares):8}"
    )
    rates = [result.per_second for _, result in runs]
    shares = [result.per_second / bare.per_second * 100 for bare, result in runs]
    p99s = [result.p99_ms for _, result in runs]
    errors = sum(result.errors for _, result in runs)
    print(
        f"{'results page':34}{spread(rates, 0):>22}{spread(shares):>22}{spread(p99s):>26}{errors:8}"
    )
    met = min(shares) >= GOAL_SHARE * 100 and max(p99s) <= GOAL_P99_MS and not errors
    print(
        f"goal: >= {GOAL_SHARE:.0%} of the baseline, p99 <= {GOAL_P99_MS:.0f} ms, no errors, in "
        f"every run: {'met' if met else 'MISSED'}; the count of every rule, done once at "
        f"publication: {counting:.2f} s (import and publication in all: {publishing:.2f} s)"
    )
    if not met:
        raise SystemExit("the results page is too slow")


if __name__ == "__main__":
    main()
