"""Benchmark: `tori-verify` on a bulletin board of 1,000,000 ballots, beside a baseline in the
same run (reading the same file and computing SHA-256 over every line, which any check must do).

    .venv/bin/python -m benchmarks.verify [--ballots 1000000] [--before CHECKOUT]

`--before` also runs the `tori-verify` of another checkout (e.g. an older commit, made with
`git archive`) on the same board, after this one: a before and after in one run. CPU seconds
are printed beside the wall clock, since on a shared machine the wall clock also measures the
neighbours.

The board is made with the same code Tori publishes with: a round of 7 districts with 40
proposals each and 30 city-wide ones, approval ballots within the budgets, the chain, the
tally under every rule, the roll's marks and an Ed25519 signature. tori-verify checks every
entry against the round's rules and the roll, recounts under all three rules and checks the
signature with the key given.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from voting import board_keys
from voting.tally.board import (
    FORMAT,
    GENESIS,
    board_lines,
    chain_hash,
    entry_body,
    entry_text,
    recount,
    signature_line,
)

DISTRICTS, PER_DISTRICT, CITY = 7, 40, 30


def make_board(path: Path, ballots: int, seed: bytes) -> float:
    rng = random.Random(5)
    projects, next_id = [], 1
    for area in [*range(1, DISTRICTS + 1), None]:
        for _ in range(CITY if area is None else PER_DISTRICT):
            projects.append(
                {
                    "id": next_id,
                    "area": area,
                    "cost": rng.randrange(20_000, 400_000, 1000),
                    "title": {"fi": f"Ehdotus {next_id}"},
                }
            )
            next_id += 1
    budgets = [
        {"area": a, "name": f"Suurpiiri {a}", "amount": 1_000_000} for a in range(1, DISTRICTS + 1)
    ]
    budgets.append({"area": None, "name": None, "amount": 2_000_000})
    definition = {
        "format": FORMAT,
        "round": "bench1",
        "title": {"fi": "Benchmark"},
        "ballot_rule": "approval",
        "max_choices": None,
        "points_total": None,
        "points_per_proposal": None,
        "official_rule": "mes_cost",
        "budgets": budgets,
        "projects": projects,
        "voting_open_at": "2026-09-01T06:00:00+00:00",
        "voting_close_at": "2026-09-15T18:00:00+00:00",
        "changes": [],
    }
    by_area = {}
    for project in projects:
        by_area.setdefault(project["area"], []).append(project)
    # Voters favour some proposals, as real voters do: popularity weights per proposal.
    weights = {p["id"]: rng.random() ** 2 for p in projects}
    entries, ballots_seen, previous = [], [], GENESIS
    marks = dict.fromkeys(range(1, DISTRICTS + 1), 0)
    for seq in range(1, ballots + 1):
        area = rng.randint(1, DISTRICTS)
        chosen, spent = {}, 0
        for options, limit in ((by_area[area], 1_000_000), (by_area[None], 2_000_000)):
            for project in rng.sample(options, k=6):
                if spent + project["cost"] <= limit and rng.random() < weights[project["id"]]:
                    chosen[project["id"]] = 1
                    spent += project["cost"]
            spent = 0
        text = entry_text(entry_body("bench1", area, f"{seq:032x}", chosen), seq)
        marks[area] += 1
        previous = chain_hash(previous, text)
        entries.append((seq, text, previous))
        ballots_seen.append((area, {str(k): v for k, v in chosen.items()}))
    started = time.perf_counter()
    tally = recount(definition, ballots_seen)
    count_seconds = time.perf_counter() - started
    digest = hashlib.sha256()
    with path.open("wb") as handle:
        roll = [
            {"area": a, "marks": n, "online": n, "assisted": 0, "paper": 0}
            for a, n in marks.items()
        ]
        for line in board_lines(definition, roll, entries, tally, (0, GENESIS)):
            digest.update(line)
            handle.write(line)
        handle.write(
            signature_line(board_keys.public_key_text(seed), board_keys.sign(seed, digest.digest()))
        )
    return count_seconds


def baseline(path: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of reading every line and SHA-256 of each, and of the whole."""
    started, cpu = time.perf_counter(), time.process_time()
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for line in handle:
            hashlib.sha256(line).digest()
            digest.update(line)
    return time.perf_counter() - started, time.process_time() - cpu


def run_verify(path: Path, public_key: str, checkout: str | None) -> tuple[float, float, str, int]:
    """(wall, CPU seconds, first line of output, exit code) of tori-verify on the board."""
    environment = dict(os.environ)
    if checkout is not None:
        environment["PYTHONPATH"] = checkout
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(
        [sys.executable, "-m", "voting.verify", str(path), "--public-key", public_key],
        capture_output=True,
        text=True,
        check=False,
        env=environment,
        cwd=checkout,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if result.returncode != 0:
        raise SystemExit(result.stdout + result.stderr)
    return wall, cpu, result.stdout.strip().splitlines()[0], result.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, default=1_000_000)
    parser.add_argument("--before", help="another checkout whose tori-verify runs too")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "board.jsonl"
        started = time.perf_counter()
        seed = hashlib.sha256(b"bench").digest()
        public_key = board_keys.public_key_text(seed)
        count_seconds = make_board(path, arguments.ballots, seed)
        made = time.perf_counter() - started
        size = path.stat().st_size
        base = baseline(path)
        wall, cpu, verdict, code = run_verify(path, public_key, None)
        before = (
            None if arguments.before is None else run_verify(path, public_key, arguments.before)
        )
        again = baseline(path)
    print(
        f"board: {arguments.ballots:,} ballots, {size / 1e6:.0f} MB, made in {made:.1f} s"
        f" (the count alone: {count_seconds:.1f} s); load average"
        f" {' '.join(f'{n:.1f}' for n in os.getloadavg())}"
    )
    print(
        f"baseline: read every line and SHA-256 it: {base[0]:.1f} s, {base[1]:.1f} s of CPU"
        f" (again after: {again[0]:.1f} s, {again[1]:.1f} s of CPU)"
    )
    print(f"tori-verify: {wall:.1f} s, {cpu:.1f} s of CPU (goal < 15 s), exit {code}: {verdict}")
    if before is not None:
        print(
            f"tori-verify of {arguments.before}: {before[0]:.1f} s, {before[1]:.1f} s of CPU,"
            f" exit {before[3]}"
        )


if __name__ == "__main__":
    main()
