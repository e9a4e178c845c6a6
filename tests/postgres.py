"""Finding a real PostgreSQL for the suite, or saying clearly how to get one.

Order: TEST_DATABASE_URL; otherwise a throwaway cluster made with initdb/pg_ctl
(from PATH or Debian's /usr/lib/postgresql/*/bin), run as the `postgres` user
when the suite runs as root. Each run gets a fresh database that is dropped at
the end.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

HOW_TO_GET_POSTGRES = (
    "The Tori test suite needs a real PostgreSQL server.\n"
    "  - Point TEST_DATABASE_URL at one, e.g. "
    "TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres make test\n"
    "  - or install PostgreSQL so that initdb and pg_ctl can start a throwaway cluster "
    "(Debian/Ubuntu: sudo apt-get install postgresql)."
)


class PostgresUnavailableError(RuntimeError):
    pass


def _find_tool(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Cluster:
    """A throwaway PostgreSQL cluster: its URL, and a restart for the fault drills."""

    url: str
    data: Path
    log: Path
    run_as: tuple[str, ...]
    pg_ctl: str
    options: str

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(
            [*self.run_as, self.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "stop"],
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        subprocess.run(
            [
                *(*self.run_as, self.pg_ctl, "-D", str(self.data), "-l", str(self.log)),
                *("-w", "-o", self.options, "start"),
            ],
            check=True,
            capture_output=True,
        )


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    initdb, pg_ctl = _find_tool("initdb"), _find_tool("pg_ctl")
    if not initdb or not pg_ctl:
        raise PostgresUnavailableError(HOW_TO_GET_POSTGRES)
    directory = Path(tempfile.mkdtemp(prefix="tori-pg-"))
    data = directory / "data"
    port = _free_port()
    run_as: list[str] = []
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError as error:
            raise PostgresUnavailableError(
                "Running as root needs a 'postgres' user to own the throwaway cluster.\n"
                + HOW_TO_GET_POSTGRES
            ) from error
        os.chown(directory, owner.pw_uid, owner.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [
            *run_as,
            initdb,
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300"
    subprocess.run(
        [
            *run_as,
            pg_ctl,
            "-D",
            str(data),
            "-l",
            str(directory / "log"),
            "-w",
            "-o",
            options,
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield Cluster(
            f"postgresql://postgres@127.0.0.1:{port}/postgres",
            data,
            directory / "log",
            tuple(run_as),
            pg_ctl,
            options,
        )
    finally:
        subprocess.run(
            [*run_as, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(directory, ignore_errors=True)


def _psql_admin(url: str, sql: str) -> None:

    import asyncpg

    parsed = make_url(url)

    async def run() -> None:
        connection = await asyncpg.connect(
            host=parsed.host or "127.0.0.1",
            port=parsed.port or 5432,
            user=parsed.username or "postgres",
            password=parsed.password,
            database=parsed.database or "postgres",
            timeout=10,
        )
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    run_in_own_loop(run)


def run_in_own_loop(coroutine_function) -> None:
    """Run a coroutine to completion on a fresh event loop in a helper thread.

    Fixtures call this from synchronous code that may itself be running under the
    test session's event loop, where asyncio.run() is not allowed.
    """
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as executor:
        executor.submit(asyncio.run, coroutine_function()).result()


@contextlib.contextmanager
def fresh_database(server_url: str, label: str = "") -> Iterator[str]:
    """A new empty database on that server, as an asyncpg SQLAlchemy URL; dropped afterwards."""
    name = f"tori_test_{label}{uuid.uuid4().hex[:10]}"
    try:
        _psql_admin(server_url, f'CREATE DATABASE "{name}"')
    except OSError as error:
        raise PostgresUnavailableError(
            f"Could not connect to PostgreSQL at {server_url}: {error}\n{HOW_TO_GET_POSTGRES}"
        ) from error
    parsed = make_url(server_url).set(drivername="postgresql+asyncpg", database=name)
    try:
        yield parsed.render_as_string(hide_password=False)
    finally:
        for _attempt in range(3):
            try:
                _psql_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                break
            except Exception:
                time.sleep(0.5)


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    with throwaway_cluster() as started:
        yield started.url
