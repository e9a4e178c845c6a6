"""Shared pieces of the benchmark scripts: a fresh PostgreSQL database, servers, wrk."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.postgres import fresh_database, postgres_server

ROOT = Path(__file__).resolve().parent.parent
SECRET = "benchmark-secret-key-that-is-long-enough-0123456789"


def server_url() -> str:
    return (
        os.environ.get("BENCH_DATABASE_URL")
        or os.environ.get("TEST_DATABASE_URL")
        or "postgresql://postgres@127.0.0.1:5432/postgres"
    )


@contextlib.contextmanager
def bench_database(label: str) -> Iterator[str]:
    os.environ.setdefault("TEST_DATABASE_URL", server_url())
    with postgres_server() as server, fresh_database(server, label) as url:
        yield url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running(
    command: list[str], env: dict[str, str], port: int, health: str = "/healthz"
) -> Iterator[str]:
    log = open(ROOT / "test-artifacts" / f"bench-server-{port}.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + health, timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"server did not start: see {log.name}") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@dataclass(frozen=True)
class WrkResult:
    requests: int
    per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


def _milliseconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"wrk printed a latency this script cannot read: {text!r}")
    number, unit = match.groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(
    url: str,
    script: Path,
    *,
    seconds: int,
    connections: int,
    threads: int = 2,
    env: dict[str, str] | None = None,
) -> WrkResult:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    output = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
    ).stdout
    if os.environ.get("TORI_BENCH_VERBOSE"):
        print(output)
    if "requests in" not in output:
        raise SystemExit(f"wrk did not finish a run:\n{output}")
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    per_second = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = _milliseconds(re.search(r"^\s*50%\s+(\S+)", output, re.MULTILINE).group(1))
    p99 = _milliseconds(re.search(r"^\s*99%\s+(\S+)", output, re.MULTILINE).group(1))
    errors = 0
    for pattern in (
        r"Non-2xx or 3xx responses: (\d+)",
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
    ):
        match = re.search(pattern, output)
        if match:
            errors += sum(int(value) for value in match.groups())
    return WrkResult(requests, per_second, p50, p99, errors)


def python() -> str:
    return sys.executable
