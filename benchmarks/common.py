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
    command: list[str],
    env: dict[str, str],
    port: int,
    health: str = "/healthz",
    started: list[subprocess.Popen] | None = None,
    startup: float = 120,
) -> Iterator[str]:
    """A server for the length of the block; `started` receives its process, for fault drills;
    `startup` is how many seconds it may take to answer (longer on a busy machine)."""
    log = open(ROOT / "test-artifacts" / f"bench-server-{port}.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
    )
    if started is not None:
        started.append(process)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup
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


def tori_server(
    url: str, port: int, *, redis_db: int, workers: int = 2, **settings: str
) -> tuple[list[str], dict[str, str]]:
    """The command and the settings of `tori serve` as the benchmarks run it: 2 workers, the
    benchmark's database, a Redis database of its own (BENCH_REDIS_DB in the environment
    chooses another, when benchmarks run side by side), quiet logs; `settings` adds or replaces."""
    redis_db = int(os.environ.get("BENCH_REDIS_DB", redis_db))
    environment = {
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET,
        "TORI_ENV": "test",
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}",
        **settings,
    }
    command = [python(), "-m", "app.cli", "serve", "--port", str(port), "--workers", str(workers)]
    return command, environment


@dataclass(frozen=True)
class WrkResult:
    requests: int
    per_second: float
    p50_ms: float
    p99_ms: float
    # Responses other than 2xx/3xx, and connections that broke without a response.
    errors: int
    rejected: int = 0

    @property
    def acknowledged(self) -> int:
        """Requests the client saw succeed (wrk counts only completed responses as requests)."""
        return self.requests - self.rejected


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
    rejected = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    for pattern in (
        r"Non-2xx or 3xx responses: (\d+)",
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
    ):
        match = re.search(pattern, output)
        if match:
            errors += sum(int(value) for value in match.groups())
    return WrkResult(
        requests, per_second, p50, p99, errors, int(rejected.group(1)) if rejected else 0
    )


async def count_rows(url: str, table: str) -> int:
    connection = await _connect(url)
    try:
        return await connection.fetchval(f"SELECT count(*) FROM {table}")
    finally:
        await connection.close()


async def _connect(url: str):
    import asyncpg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return await asyncpg.connect(
        host=parsed.host, port=parsed.port, user=parsed.username, database=parsed.database
    )


def measure_bare(url: str, *, seconds: int, connections: int) -> tuple[WrkResult, int]:
    """The baseline in the same run: a bare Litestar + asyncpg endpoint, one INSERT per request,
    2 uvicorn workers, the same wrk settings. Returns wrk's figures and the rows stored."""
    import asyncio

    from sqlalchemy.engine import make_url

    async def create_table() -> None:
        connection = await _connect(url)
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS bare_insert"
            " (id bigserial PRIMARY KEY, body text NOT NULL, created timestamptz DEFAULT now())"
        )
        await connection.close()

    asyncio.run(create_table())
    parsed = make_url(url)
    dsn = f"postgresql://{parsed.username}@{parsed.host}:{parsed.port}/{parsed.database}"
    port = free_port()
    command = [
        python(),
        *("-m", "uvicorn", "benchmarks.bare_insert:app", "--port", str(port)),
        *("--workers", "2", "--no-access-log", "--log-level", "warning"),
    ]
    script = Path(__file__).resolve().parent / "bare.lua"
    with running(command, {"BARE_DSN": dsn}, port) as base:
        wrk(base + "/insert", script, seconds=3, connections=connections)
        before = asyncio.run(count_rows(url, "bare_insert"))
        result = wrk(base + "/insert", script, seconds=seconds, connections=connections)
    return result, asyncio.run(count_rows(url, "bare_insert")) - before


def worker_pids(parent: int) -> list[int]:
    """The uvicorn worker processes under a `--workers N` server (not multiprocessing helpers)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and "spawn_main" in command:
            pids.append(int(entry.name))
    return sorted(pids)


def python() -> str:
    return sys.executable
