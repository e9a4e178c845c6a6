"""Where the suite's time goes, when the machine is too busy for wall times to mean much: each
test's wall time and the CPU time it took, in the test process and in the processes it started
and waited for (commands, servers; the browser's only when the session ends), one JSON line per
test in test-artifacts/cpu-times-WORKER.jsonl.

Opt-in: `pytest -p tests.cpu_times ...`; then e.g.
`cat test-artifacts/cpu-times-*.jsonl | jq -s 'sort_by(-.cpu - .children) | .[:20]'`."""

from __future__ import annotations

import json
import os
import resource
import time
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def _children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    wall, cpu, children = time.perf_counter(), time.process_time(), _children()
    yield
    record = {
        "test": item.nodeid,
        "wall": round(time.perf_counter() - wall, 3),
        "cpu": round(time.process_time() - cpu, 3),
        "children": round(_children() - children, 3),
        "load": round(os.getloadavg()[0], 1),
    }
    ARTIFACTS.mkdir(exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with (ARTIFACTS / f"cpu-times-{worker}.jsonl").open("a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
