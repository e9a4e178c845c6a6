"""Benchmark: poll votes per second with 2 workers on PostgreSQL, beside a bare INSERT endpoint.

    .venv/bin/python -m benchmarks.poll_vote [--seconds 15] [--connections 64]

Both servers run with 2 uvicorn workers and are loaded by wrk with the same
settings in the same run. Every request is a real vote: its own signed form token,
the CSRF cookie and field, the per-address counter in Redis, one storing statement.
The baseline is measured first; then Tori at full load (its throughput), Tori paced
so that the 64 connections together offer 55 % of the baseline's rate (the
latency residents see at that load), and a run that kills one Tori worker with
SIGKILL half-way. After each run every acknowledged vote (an HTTP 303 the client
received) must be in the database.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import signal
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

from litestar.middleware.csrf import generate_csrf_token

from app.database import Database, utcnow
from app.migrate import upgrade_to_head
from benchmarks.common import (
    ROOT,
    SECRET,
    bench_database,
    count_rows,
    free_port,
    measure_bare,
    running,
    tori_server,
    worker_pids,
    wrk,
)
from surveys.polls import services

HERE = Path(__file__).resolve().parent
POLLS = 20
QUESTION = {
    "key": "q1",
    "type": "single",
    "required": True,
    "text": {"fi": "Mikä parhaiten?"},
    "options": [{"key": f"o{n}", "label": {"fi": f"Vaihtoehto {n}"}} for n in range(1, 5)],
}


async def prepare(url: str) -> list[str]:
    database = Database(url)
    async with database.engine.begin() as connection:
        await upgrade_to_head(connection)
    slugs = []
    async with database.sessionmaker() as session:
        for number in range(POLLS):
            poll = await services.create_poll(
                session,
                services.PollDraft(
                    title={"fi": f"Kysely {number}"},
                    questions=[QUESTION],
                    opens_at=utcnow() - dt.timedelta(hours=1),
                    closes_at=utcnow() + dt.timedelta(days=1),
                    visibility="immediate",
                ),
            )
            slugs.append(poll.slug)
    await database.dispose()
    return slugs


def vote_form(rng: random.Random, slugs: list[str], csrf: str) -> tuple[str, list[tuple[str, str]]]:
    """A resident's vote in one of the polls: the path and the form fields."""
    slug = rng.choice(slugs)
    return f"/p/{slug}", [
        ("_csrf_token", csrf),
        ("token", services.new_vote_token(SECRET, slug)),
        ("answer_language", rng.choice(["fi", "fi", "sv", "en"])),
        ("channel", rng.choice(["qr", "link"])),
        ("q_q1", f"o{rng.randint(1, 4)}"),
    ]


def write_bodies(slugs: list[str], csrf: str, count: int, seed: int) -> Path:
    rng = random.Random(seed)
    path = Path(tempfile.mkstemp(prefix="tori-votes-", suffix=".txt")[1])
    with path.open("w") as handle:
        for _ in range(count):
            target, fields = vote_form(rng, slugs, csrf)
            handle.write(f"{target}|{urlencode(fields)}\n")
    return path


def load(base, bodies: Path, csrf: str, seconds: int, connections: int, delay_ms: int = 0):
    return wrk(
        base,
        HERE / "submit.lua",
        seconds=seconds,
        connections=connections,
        env={
            "TORI_BENCH_BODIES": str(bodies),
            "TORI_BENCH_CSRF": csrf,
            "TORI_BENCH_DELAY_MS": str(delay_ms),
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=64)
    arguments = parser.parse_args()
    seconds, connections = arguments.seconds, arguments.connections
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    with bench_database("polls") as url:
        slugs = asyncio.run(prepare(url))
        csrf = generate_csrf_token(SECRET)
        # Each run gets forms of its own: a form sent twice counts once, by design.
        files = [
            write_bodies(slugs, csrf, count=max(60_000, seconds * 5000), seed=seed)
            for seed in range(5)
        ]
        port = free_port()
        command, environment = tori_server(
            url, port, redis_db=14, TORI_VOTES_PER_ADDRESS=str(10**9)
        )
        bare, bare_stored = measure_bare(url, seconds=seconds, connections=connections)
        # Paced: each connection waits between votes so that all together offer 55 % of
        # the baseline's rate; the latency a resident sees at that load is the p99 goal's.
        target = 0.55 * bare.per_second
        delay_ms = max(1, round(1000 * connections / target) - 10)
        started: list = []
        with running(command, environment, port, started=started) as base:
            load(base, files[0], csrf, 3, connections)  # warm-up
            before = asyncio.run(count_rows(url, "poll_vote"))
            tori = load(base, files[1], csrf, seconds, connections)
            stored = asyncio.run(count_rows(url, "poll_vote")) - before
            # A short calibration run: the pause is set from the rate a first guess achieved.
            trial = load(base, files[4], csrf, 5, connections, delay_ms=delay_ms)
            cycle_ms = 1000 * connections / max(trial.per_second, 1)
            delay_ms = max(1, round(delay_ms + 1000 * connections / target - cycle_ms))
            before = asyncio.run(count_rows(url, "poll_vote"))
            paced = load(base, files[3], csrf, seconds, connections, delay_ms=delay_ms)
            paced_stored = asyncio.run(count_rows(url, "poll_vote")) - before
            # The drill: one worker is killed with SIGKILL half-way through a run.
            before = asyncio.run(count_rows(url, "poll_vote"))
            killed: list[int] = []

            def kill_one() -> None:
                time.sleep(seconds / 2)
                pids = worker_pids(started[0].pid)
                if pids:
                    os.kill(pids[0], signal.SIGKILL)
                    killed.append(pids[0])

            killer = threading.Thread(target=kill_one)
            killer.start()
            drill = load(base, files[2], csrf, seconds, connections)
            killer.join()
            drill_stored = asyncio.run(count_rows(url, "poll_vote")) - before
        for path in files:
            path.unlink()
    print(
        f"wrk -t2 -c{connections} -d{seconds}s, 2 workers each, PostgreSQL, Redis counters, "
        f"this machine ({os.cpu_count()} cores)"
    )
    print(
        f"{'':30}{'requests/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'acknowledged':>14}{'stored':>9}"
    )
    for label, result, rows in (
        ("bare INSERT (baseline)", bare, bare_stored),
        ("Tori poll vote", tori, stored),
        (f"Tori, paced ({delay_ms} ms pauses)", paced, paced_stored),
        ("Tori, a worker SIGKILLed", drill, drill_stored),
    ):
        print(
            f"{label:30}{result.per_second:12.0f}{result.p50_ms:9.1f}{result.p99_ms:9.1f}"
            f"{result.errors:8}{result.acknowledged:14}{rows:9}"
        )
    lost = sum(
        max(0, result.acknowledged - rows)
        for result, rows in ((tori, stored), (paced, paced_stored), (drill, drill_stored))
    )
    print(
        f"Tori / baseline: {tori.per_second / bare.per_second:.0%} at full load (goal >= 50%); "
        f"paced at {paced.per_second / bare.per_second:.0%} of the baseline: p99 {paced.p99_ms:.1f} ms "
        f"(goal <= 50 ms); killed worker: {killed or 'none found'}; lost acknowledged votes: {lost}"
    )
    if lost:
        raise SystemExit("acknowledged votes are missing from the database")


if __name__ == "__main__":
    main()
