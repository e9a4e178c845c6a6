"""Benchmark: the public pages a crowd opens, beside a bare Litestar "hello" in the same run.

    .venv/bin/python -m benchmarks.public_pages [--seconds 10] [--connections 32]

Tori runs with its demo data (`tori seed-demo`: events, a feedback questionnaire, polls, three
budgeting rounds, one of them published) under `tori serve --workers 2` on PostgreSQL; the
baseline is a bare Litestar application answering "hello" (benchmarks/bare_hello.py) under
uvicorn with 2 workers. Each page is loaded by `wrk -t2 -c32` as phones on a first visit do
(Finnish, gzip, no cookies: the poll and questionnaire pages then make a form token and its
cookie for every request). Goal: each page at least 10 % of the baseline's requests/s, p99 at
most 50 ms. TORI_SHARED_PAGES=0 in the environment measures the pages without the shared cache.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
from pathlib import Path

from benchmarks.common import (
    ROOT,
    SECRET,
    WrkResult,
    _connect,
    bench_database,
    free_port,
    python,
    running,
    wrk,
)

SCRIPT = Path(__file__).resolve().parent / "page.lua"
GOAL_SHARE = 0.10
GOAL_P99_MS = 50.0


async def page_paths(url: str) -> dict[str, str]:
    """The pages measured, found in the demo data."""
    connection = await _connect(url)
    try:
        event = await connection.fetchval(
            "SELECT id FROM event WHERE is_public AND starts_at > now() ORDER BY starts_at LIMIT 1"
        )
        poll = await connection.fetchval(
            "SELECT slug FROM poll WHERE opens_at < now() AND closes_at > now() ORDER BY id LIMIT 1"
        )
        questionnaire = await connection.fetchval(
            "SELECT slug FROM questionnaire"
            " WHERE opens_at < now() AND closes_at > now() ORDER BY id LIMIT 1"
        )
        voting = await connection.fetchval(
            "SELECT slug FROM pb_round WHERE voting_open_at < now() AND voting_close_at > now()"
            " ORDER BY id LIMIT 1"
        )
        published = await connection.fetchval(
            "SELECT slug FROM pb_round WHERE published_at IS NOT NULL ORDER BY id LIMIT 1"
        )
    finally:
        await connection.close()
    return {
        "home page": "/",
        "calendar, month": "/calendar?view=month",
        "event": f"/events/{event}",
        "poll": f"/p/{poll}",
        "questionnaire": f"/f/{questionnaire}",
        "PB round": f"/pb/{voting}",
        "PB results": f"/pb/{published}/results",
    }


def measure(base: str, path: str, seconds: int, connections: int) -> WrkResult:
    wrk(base + path, SCRIPT, seconds=2, connections=connections)  # warm-up
    return wrk(base + path, SCRIPT, seconds=seconds, connections=connections)


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    arguments = parser.parse_args()
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    seconds, connections = arguments.seconds, arguments.connections
    loads = [load_average()]
    with bench_database("pages") as url:
        environment = {
            "DATABASE_URL": url,
            "SECRET_KEY": SECRET,
            "TORI_ENV": "test",
            "LOG_LEVEL": "WARNING",
            "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"),
        }
        subprocess.run(
            [python(), "-m", "app.cli", "migrate"],
            env={**os.environ, **environment},
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [python(), "-m", "app.cli", "seed-demo"],
            env={**os.environ, **environment},
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        paths = asyncio.run(page_paths(url))
        port = free_port()
        bare_command = [
            python(),
            *("-m", "uvicorn", "benchmarks.bare_hello:app", "--port", str(port)),
            *("--workers", "2", "--no-access-log", "--log-level", "warning"),
        ]
        with running(bare_command, {}, port, health="/") as base:
            bare = measure(base, "/", seconds, connections)
        loads.append(load_average())
        port = free_port()
        command = [python(), "-m", "app.cli", "serve", "--port", str(port), "--workers", "2"]
        results: dict[str, WrkResult] = {}
        with running(command, environment, port, startup=120) as base:
            for label, path in paths.items():
                results[label] = measure(base, path, seconds, connections)
                loads.append(load_average())
    shared = os.environ.get("TORI_SHARED_PAGES", "1") != "0"
    print(
        f"wrk -t2 -c{connections} -d{seconds}s, 2 workers each, PostgreSQL; shared pages "
        f"{'on' if shared else 'off (TORI_SHARED_PAGES=0)'}; load average during the run: "
        + "; ".join(loads)
    )
    print(f"{'':30}{'req/s':>9}{'% of bare':>11}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    print(
        f"{'bare Litestar hello (baseline)':30}{bare.per_second:9,.0f}{100:10.0f}%"
        f"{bare.p50_ms:9.1f}{bare.p99_ms:9.1f}{bare.errors:8}"
    )
    missed = []
    for label, result in results.items():
        share = result.per_second / bare.per_second
        print(
            f"{label:30}{result.per_second:9,.0f}{share * 100:10.1f}%"
            f"{result.p50_ms:9.1f}{result.p99_ms:9.1f}{result.errors:8}"
        )
        if share < GOAL_SHARE or result.p99_ms > GOAL_P99_MS or result.errors:
            missed.append(label)
    print(
        f"goal: each page >= {GOAL_SHARE:.0%} of the baseline, p99 <= {GOAL_P99_MS:.0f} ms, no "
        f"errors: {'met' if not missed else 'missed by ' + ', '.join(missed)}"
    )


if __name__ == "__main__":
    main()
