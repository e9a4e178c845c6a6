"""Benchmark: the public results page of a published 60,000-voter round, beside /healthz
measured in the same run against the same server.

    .venv/bin/python -m benchmarks.results_page [--voters 60000] [--requests 200]

The round is the cast benchmark's (7 districts of 40 proposals and 30 city-wide ones, equal
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
from app.settings import Settings
from benchmarks.common import ROOT, SECRET, bench_database, free_port, running, tori_server
from benchmarks.pb_cast import choose, prepare
from voting import published, rounds
from voting.ballots import canonical_choices
from voting.mixing import BallotLog, LogBallot
from voting.models import Round
from voting.publication import publish


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
    parser.add_argument("--voters", type=int, default=60_000)
    parser.add_argument("--requests", type=int, default=200)
    arguments = parser.parse_args()
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    with bench_database("results") as url:
        slug, publishing, counting = asyncio.run(cast_and_publish(url, arguments.voters))
        port = free_port()
        command, environment = tori_server(url, port, redis_db=13)
        with running(command, environment, port, startup=180) as base:
            health = latencies(base, "/healthz", arguments.requests)
            page = latencies(base, f"/pb/{slug}/results", arguments.requests)
    print(f"{arguments.voters:,} ballots, 8 budgets, 310 proposals; 2 workers, PostgreSQL")
    print(f"{'':34}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'requests':>10}")
    print(describe("/healthz (baseline)", health))
    print(describe(f"/pb/{slug}/results", page))
    p95 = sorted(page)[int(len(page) * 0.95) - 1]
    print(
        f"results page p95 {p95:.1f} ms (goal < 50 ms): {'yes' if p95 < 50 else 'NO'}; "
        f"the count of every rule, done once at publication: {counting:.2f} s "
        f"(publication in all: {publishing:.2f} s)"
    )
    if p95 >= 50:
        raise SystemExit("the results page is too slow")


if __name__ == "__main__":
    main()
