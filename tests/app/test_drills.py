"""The short versions of the drills that `make drills` runs in full (see benchmarks/drills.py and
benchmarks/backup_drill.py): each is a separate program that exits non-zero when a promise is
broken, so these tests run them as such and check their verdicts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_drill(*arguments: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", *arguments],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def test_mixed_load_with_a_killed_worker_and_a_database_crash_loses_nothing():
    output = run_drill(
        "benchmarks.drills", "--seconds", "15", "--clients", "12", "--voters", "4000"
    )
    assert "DRILL PASSED" in output
    for kind in ("poll votes", "questionnaire answers", "budgeting ballots"):
        row = re.search(rf"^{kind}\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", output, re.MULTILINE)
        assert row, output
        _requests, acknowledged, stored, lost, duplicated = map(int, row.groups())
        assert acknowledged > 0, output
        assert stored >= acknowledged, output
        assert (lost, duplicated) == (0, 0), output
    assert "anything else 0" in output
    assert "timeouts over 10 s 0" in output
    assert re.search(r"503 during the outage [1-9]\d* \(each a page with Retry-After\)", output)
    assert re.search(r"tori-verify on the published board .*: exit 0", output), output
    assert "10 accepted, 6 refused (429)" in output
    assert "gets 429 on one and 429 on the other" in output


def test_floods_with_redis_killed_and_the_pool_exhausted_give_no_500_and_let_the_real_voter_in():
    """The flood drill, short: sign-ins, registrations, junk codes, guesses on one code and live
    streams from many addresses and from one shared address; Redis killed and the pool
    exhausted midway (benchmarks/flood_drill.py)."""
    output = run_drill("benchmarks.flood_drill", "--seconds", "8", "--clients", "16")
    assert "DRILL PASSED" in output
    assert "5xx other than 503: 0; 503 without Retry-After: 0; unanswered: 0" in output
    assert re.search(r"Redis killed at [\d.]+ s", output), output
    assert re.search(
        r"real voters at the shared address at [\d.]+ s: 303, at [\d.]+ s: 303", output
    )
    peak = re.search(r"peaked at (\d+) MB \(bound (\d+) MB\)", output)
    assert peak, output
    assert int(peak.group(1)) <= int(peak.group(2)), output
    guesses = re.search(r"checked (\d+) \(at most (\d+) allowed\)", output)
    assert guesses, output
    assert int(guesses.group(1)) <= int(guesses.group(2)), output
    assert re.search(r"live streams: 200: \d+, 429: [5-9]", output), output


def test_a_live_round_restored_from_a_dump_has_valid_chains_and_goes_on():
    output = run_drill("benchmarks.backup_drill", "--voters", "4000", "--paper", "6")
    assert "DRILL PASSED" in output
    assert re.search(r"staff audit log: \d+ records, one valid chain", output), output
    assert "refuses an UPDATE: yes" in output


def test_health_check_answers_while_the_heavy_staff_work_runs():
    """The event-loop drill, small: every step of the heavy staff work succeeds with /healthz
    asked meanwhile (its 50 ms goal is checked on the full-size run; tests/app/test_off_loop.py
    shows, whatever the machine's load, that the work does not hold the event loop)."""
    output = run_drill(
        "benchmarks.event_loop_drill", "--ballots", "2000", "--pending", "5000", "--roll", "2000"
    )
    for step in (
        "publication",
        "round audit page",
        "staff audit log check",
        "dashboard, folding pending",
        "monitoring workbook",
        "roll import",
    ):
        row = re.search(rf"^{step}\s+(\d+)\s+[\d.]+\s+(\d+)", output, re.MULTILINE)
        assert row, output
        status, answered = map(int, row.groups())
        assert status == 200, output
        assert answered > 0, output
