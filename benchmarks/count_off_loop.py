"""Benchmark: how late the event loop's turns come while a large count runs in a worker thread
(as publication counted before) and in a process of its own (as it counts now), beside the same
loop with nothing running, all in one run.

    .venv/bin/python -m benchmarks.count_off_loop [--ballots 75000] [--runs 2]

The loop sleeps 5 ms again and again and records how much later than asked each sleep ends;
meanwhile `count_for_publication` (every rule for every budget, the pabulib files and the
board's recount) counts a generated round of `--ballots` approval ballots, 7 districts of 40
proposals and 30 city-wide ones. A thread counting holds the interpreter lock that the loop
needs at each of its turns; a process shares only the cores. A figure under load shows the other
work on the cores too: compare the rows, not the figures with another run's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time

from app.off_loop import in_worker_process, in_worker_thread
from benchmarks.verify import CITY, DISTRICTS, PER_DISTRICT
from voting.published import count_for_publication
from voting.tally.board import FORMAT, canonical

SLEEP = 0.005


def generated(ballots: int) -> tuple[dict, dict, str]:
    """(data, definition, log) of a round as publication sends them to the count."""
    rng = random.Random(5)
    projects, next_id = [], 1
    for area in [*range(1, DISTRICTS + 1), None]:
        for _ in range(CITY if area is None else PER_DISTRICT):
            cost = rng.randrange(20_000, 400_000, 1000)
            projects.append({"id": next_id, "area": area, "cost": cost, "title": {"fi": "E"}})
            next_id += 1
    budgets = [{"area": a, "amount": 1_000_000} for a in range(1, DISTRICTS + 1)]
    budgets.append({"area": None, "amount": 2_000_000})
    common = {
        "round": "lag",
        "title": {"fi": "Lag"},
        "ballot_rule": "approval",
        "official_rule": "mes_cost",
        "max_choices": None,
        "points_total": None,
        "points_per_proposal": None,
        "voting_open_at": "2026-09-01T06:00:00+00:00",
        "voting_close_at": "2026-09-15T18:00:00+00:00",
        "projects": projects,
    }
    data = {
        **common,
        "budgets": [
            {**b, "area_name": {"fi": f"{b['area']}"} if b["area"] else None} for b in budgets
        ],
    }
    definition = {
        **common,
        "format": FORMAT,
        "budgets": [{**b, "name": None} for b in budgets],
        "changes": [],
    }
    weights = {p["id"]: rng.random() ** 2 for p in projects}
    lines = []
    for _ in range(ballots):
        area = rng.randint(1, DISTRICTS)
        chosen, spent = {}, 0
        for limit, options in ((1_000_000, area), (2_000_000, None)):
            own = [p for p in projects if p["area"] == options]
            for project in rng.sample(own, k=6):
                if spent + project["cost"] <= limit and rng.random() < weights[project["id"]]:
                    chosen[str(project["id"])] = 1
                    spent += project["cost"]
            spent = 0
        lines.append(canonical({"area": area, "selections": chosen}))
    return data, definition, "\n".join(lines)


async def lateness_while(work) -> tuple[int, float, float, float, float]:
    """(turns, p50, p99, max ms late, seconds) of the loop's sleeps while `work()` runs."""
    late: list[float] = []
    started = time.perf_counter()
    task = asyncio.ensure_future(work())
    while not task.done():
        asked = time.perf_counter()
        await asyncio.sleep(SLEEP)
        late.append((time.perf_counter() - asked - SLEEP) * 1000)
    await task
    late.sort()
    return (
        len(late),
        late[len(late) // 2],
        late[min(len(late) - 1, int(len(late) * 0.99))],
        late[-1],
        time.perf_counter() - started,
    )


async def measure(ballots: int, runs: int) -> None:
    data, definition, log = generated(ballots)
    await in_worker_process(os.getpid)  # the process is started before anything is measured
    counted = count_for_publication(data, definition, log)
    assert await in_worker_process(count_for_publication, data, definition, log) == counted
    print(f"{ballots:,} ballots; load average {' '.join(map(str, os.getloadavg()))}")
    print(f"{'':34}{'turns':>7}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}{'s':>7}")
    rows = {
        "nothing (baseline, 3 s)": lambda: asyncio.sleep(3),
        "count in a worker thread (before)": lambda: in_worker_thread(
            count_for_publication, data, definition, log
        ),
        "count in its own process (now)": lambda: in_worker_process(
            count_for_publication, data, definition, log
        ),
    }
    for _run in range(runs):
        for label, work in rows.items():
            turns, p50, p99, most, seconds = await lateness_while(work)
            print(f"{label:34}{turns:7}{p50:8.1f}{p99:8.1f}{most:8.1f}{seconds:7.1f}")
    print(f"load average {' '.join(map(str, os.getloadavg()))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, default=75_000)
    parser.add_argument("--runs", type=int, default=2)
    arguments = parser.parse_args()
    asyncio.run(measure(arguments.ballots, arguments.runs))


if __name__ == "__main__":  # the count's process imports this module again: only run here
    main()
