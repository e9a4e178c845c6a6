"""Benchmark: the public pages a crowd opens, beside a bare Litestar "hello" in the same run.

    .venv/bin/python -m benchmarks.public_pages [--seconds 10] [--connections 32] [--runs 3]

Tori runs with its demo data (`tori seed-demo`: events, a feedback questionnaire, polls, three
budgeting rounds, one of them published) under `tori serve --workers 2` on PostgreSQL; the
baseline is a bare Litestar application answering "hello" (benchmarks/bare_hello.py) under
uvicorn with 2 workers. Each page is loaded by `wrk -t2 -c32` as phones on a first visit do
(Finnish, gzip, no cookies: the poll and questionnaire pages then make a form token and its
cookie for every request). Goal: each page at least 10 % of the baseline's requests/s, p99 at
most 50 ms, in every run. TORI_SHARED_PAGES=0 in the environment measures the pages without the shared cache.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
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


def spread(values: list[float], digits: int = 1) -> str:
    """The median of the runs and their range."""
    ordered = sorted(values)
    middle = statistics.median(ordered)
    if len(ordered) == 1:
        return f"{middle:.{digits}f}"
    return f"{middle:.{digits}f} ({ordered[0]:.{digits}f}-{ordered[-1]:.{digits}f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
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
        for command in ("migrate", "seed-demo"):
            subprocess.run(
                [python(), "-m", "app.cli", command],
                env={**os.environ, **environment},
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
        paths = asyncio.run(page_paths(url))
        bare_port = free_port()
        bare_command = [
            python(),
            *("-m", "uvicorn", "benchmarks.bare_hello:app", "--port", str(bare_port)),
            *("--workers", "2", "--no-access-log", "--log-level", "warning"),
        ]
        port = free_port()
        command = [python(), "-m", "app.cli", "serve", "--port", str(port), "--workers", "2"]
        # Each run measures the baseline, then every page: the ratios are taken within a run.
        runs: list[tuple[WrkResult, dict[str, WrkResult]]] = []
        with (
            running(bare_command, {}, bare_port, health="/") as bare_base,
            running(command, environment, port, startup=120) as base,
        ):
            for _run in range(arguments.runs):
                bare = measure(bare_base, "/", seconds, connections)
                loads.append(load_average())
                results = {}
                for label, path in paths.items():
                    results[label] = measure(base, path, seconds, connections)
                    loads.append(load_average())
                runs.append((bare, results))
    shared = os.environ.get("TORI_SHARED_PAGES", "1") != "0"
    print(
        f"wrk -t2 -c{connections} -d{seconds}s, 2 workers each, PostgreSQL, {len(runs)} runs "
        f"(median, range); shared pages {'on' if shared else 'off (TORI_SHARED_PAGES=0)'}; load "
        f"average during the runs: {min(loads):.1f}-{max(loads):.1f}"
    )
    print(f"{'':32}{'req/s':>22}{'% of bare':>22}{'p99 ms':>26}{'errors':>8}")
    bares = [bare for bare, _ in runs]
    print(
        f"{'bare Litestar hello (baseline)':32}{spread([b.per_second for b in bares], 0):>22}"
        f"{'100':>22}{spread([b.p99_ms for b in bares]):>26}{sum(b.errors for b in bares):8}"
    )
    missed = []
    for label in paths:
        rates = [results[label].per_second for _, results in runs]
        shares = [results[label].per_second / bare.per_second * 100 for bare, results in runs]
        p99s = [results[label].p99_ms for _, results in runs]
        errors = sum(results[label].errors for _, results in runs)
        print(f"{label:32}{spread(rates, 0):>22}{spread(shares):>22}{spread(p99s):>26}{errors:8}")
        if min(shares) < GOAL_SHARE * 100 or max(p99s) > GOAL_P99_MS or errors:
            missed.append(label)
    print(
        f"goal: each page >= {GOAL_SHARE:.0%} of the baseline, p99 <= {GOAL_P99_MS:.0f} ms, no "
        f"errors, in every run: {'met' if not missed else 'missed by ' + ', '.join(missed)}"
    )


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


if __name__ == "__main__":
    main()
