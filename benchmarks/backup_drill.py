"""Drill: back up a budgeting round while it is being voted on, restore it into a fresh
database, and check both hash chains there.

    .venv/bin/python -m benchmarks.backup_drill [--ballots 2000]

The steps are the README's "Backup and restore": `pg_dump --format=custom` of the live
database while ballots keep arriving (pg_dump reads one consistent snapshot), `pg_restore`
into a new, empty database, then `tori audit` on the restored copy. The drill also checks that
the copy is consistent (ballots = roll marks = log entries = the log head's count), that the
staff audit log still refuses changes there, and that voting can go on: one more ballot chains
onto the restored head.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import subprocess
import tempfile
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from benchmarks import pb_cast
from benchmarks.common import ROOT, SECRET, _connect, bench_database, python
from tests.postgres import _find_tool, fresh_database

STAFF = ("first.typist@example.org", "second.typist@example.org")


def tool(name: str) -> str:
    found = _find_tool(name)
    if found is None:
        raise SystemExit(f"{name} is needed: apt-get install postgresql-client")
    return found


def connection_arguments(url: str) -> list[str]:
    parsed = make_url(url)
    return [
        *("--host", parsed.host or "127.0.0.1"),
        *("--port", str(parsed.port or 5432)),
        *("--username", parsed.username or "postgres"),
        *("--dbname", parsed.database or "postgres"),
    ]


async def paper_ballots(url: str, slug: str, proposals, count: int) -> set[int]:
    """Slips typed twice by two staff members: each joined pair casts a ballot and leaves
    two records in the staff audit log. Returns the roll entries that voted on paper."""
    from app.accounts.models import Role
    from app.accounts.services import create_user
    from app.database import Database
    from app.settings import Settings
    from voting import paper, rounds
    from voting.roll import find_on_roll

    database = Database(url)
    key = Settings(secret_key=SECRET).roll_key
    async with database.sessionmaker() as session:
        staff = [
            (await create_user(session, email=email, display_name=email, role=Role.STAFF))[0]
            for email in STAFF
        ]
        round_ = await rounds.round_by_slug(session, slug)
        rng = random.Random(3)
        voted = set()
        for number in range(count):
            identifier = f"B{number:08d}"  # as pb_cast.prepare wrote the roll
            entry = await find_on_roll(session, round_.id, key, identifier)
            voted.add(entry.id)
            choices = dict.fromkeys(pb_cast.choose(rng, proposals, entry.area_id), 1)
            for typist in staff:
                await paper.enter_paper_ballot(
                    session,
                    round_,
                    key,
                    f"slip-{number}",
                    identifier,
                    dt.date(1980, 1, 1),
                    choices,
                    dt.datetime.now(dt.UTC).date(),
                    typist,
                )
    await database.dispose()
    return voted


async def online_ballots(url: str, round_id: int, voters, proposals, stop: asyncio.Event) -> int:
    """Ballots cast one after another until `stop` is set; returns how many."""
    from app.database import Database
    from voting.ballots import cast_ballot
    from voting.models import Round

    database = Database(url)
    async with database.sessionmaker() as session:
        round_ = await session.get(Round, round_id)
    rng = random.Random(5)
    cast = 0
    try:
        for roll_id, area_id in voters:
            if stop.is_set():
                break
            choices = dict.fromkeys(pb_cast.choose(rng, proposals, area_id), 1)
            async with database.sessionmaker() as session:
                await cast_ballot(session, round_, roll_id, "online", choices, area_id)
            cast += 1
            await asyncio.sleep(0.002)  # a steady stream, not a burst that ends at once
    finally:
        await database.dispose()
    return cast


async def consistency(url: str, slug: str) -> tuple[int, int, int, int]:
    """(ballots, roll marks, log entries, the log head's count) in one database, each ballot
    still waiting for the mixer counted with the ballots, the entries and the head: consistent
    when all four agree."""
    connection = await _connect(url)
    try:
        pending, *counts = await connection.fetchrow(
            "SELECT (SELECT count(*) FROM pb_pending),"
            " (SELECT count(*) FROM pb_ballot),"
            " (SELECT count(*) FROM voter_roll WHERE voted_via IS NOT NULL),"
            " (SELECT count(*) FROM pb_log_entry),"
            " (SELECT count FROM pb_log_head JOIN pb_round ON pb_round.id = round_id"
            "  WHERE slug = $1)",
            slug,
        )
        ballots, marks, entries, head = counts
        return (ballots + pending, marks, entries + pending, head + pending)
    finally:
        await connection.close()


async def audit_refuses_changes(url: str) -> bool:
    import asyncpg

    connection = await _connect(url)
    try:
        await connection.execute("UPDATE staff_audit SET actor = 'someone else'")
    except asyncpg.PostgresError:
        return True
    finally:
        await connection.close()
    return False


def tori_audit(url: str) -> tuple[int, str]:
    environment = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET, "TORI_ENV": "test"}
    result = subprocess.run(
        [python(), "-m", "app.cli", "audit"],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    return result.returncode, (result.stdout + result.stderr).strip()


def main() -> None:  # noqa: PLR0915 - one drill, reported in order
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voters", type=int, default=10_000)
    parser.add_argument("--paper", type=int, default=20)
    arguments = parser.parse_args()
    pg_dump, pg_restore = tool("pg_dump"), tool("pg_restore")
    failures: list[str] = []
    with bench_database("backup") as url, tempfile.TemporaryDirectory() as directory:
        slug, round_id, voters, proposals = asyncio.run(
            pb_cast.prepare(url, voters=arguments.voters)
        )
        on_paper = asyncio.run(paper_ballots(url, slug, proposals, arguments.paper))
        voters = [voter for voter in voters if voter[0] not in on_paper]
        dump = Path(directory) / "tori.dump"
        plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

        async def dump_while_voting() -> tuple[int, float]:
            stop = asyncio.Event()
            casting = asyncio.create_task(online_ballots(url, round_id, voters, proposals, stop))
            await asyncio.sleep(2)
            began = time.monotonic()
            await asyncio.to_thread(
                subprocess.run,
                [pg_dump, *connection_arguments(plain), "--format=custom", "--file", str(dump)],
                check=True,
            )
            seconds = time.monotonic() - began
            await asyncio.sleep(1)
            stop.set()
            return await casting, seconds

        cast, dump_seconds = asyncio.run(dump_while_voting())
        live = asyncio.run(consistency(url, slug))
        with fresh_database(
            make_url(url).set(database="postgres").render_as_string(False), "restored"
        ) as copy:
            plain_copy = make_url(copy).set(drivername="postgresql").render_as_string(False)
            began = time.monotonic()
            subprocess.run(
                [
                    pg_restore,
                    *connection_arguments(plain_copy),
                    "--no-owner",
                    "--exit-on-error",
                    str(dump),
                ],
                check=True,
            )
            restore_seconds = time.monotonic() - began
            restored = asyncio.run(consistency(copy, slug))
            code, report = tori_audit(copy)
            refused = asyncio.run(audit_refuses_changes(copy))
            after_restore = voters[cast:]
            stop = asyncio.Event()

            async def one_more() -> int:
                # The restored round goes on: the next voter's ballot chains onto the head.
                task = asyncio.create_task(
                    online_ballots(copy, round_id, after_restore, proposals, stop)
                )
                await asyncio.sleep(0.2)
                stop.set()
                return await task

            more = asyncio.run(one_more())
            code_after, report_after = tori_audit(copy)
        size = dump.stat().st_size if dump.exists() else 0
    print(
        f"{arguments.paper} paper ballots typed twice, {cast} online ballots cast while pg_dump ran"
    )
    print(
        f"pg_dump --format=custom: {dump_seconds:.2f} s, {size / 1e6:.1f} MB; pg_restore into a fresh database: {restore_seconds:.2f} s"
    )
    print(f"live database afterwards: ballots, roll marks, log entries, head count = {live}")
    print(f"restored copy:            ballots, roll marks, log entries, head count = {restored}")
    if len(set(restored)) != 1 or not arguments.paper < restored[0] < live[0]:
        failures.append("the restored copy is not consistent")
    print("tori audit on the restored copy:")
    print("  " + report.replace("\n", "\n  "))
    if code != 0:
        failures.append("tori audit found a broken chain in the restored copy")
    print(f"the restored staff audit log refuses an UPDATE: {'yes' if refused else 'NO'}")
    if not refused:
        failures.append("the restored audit log accepts changes")
    print(f"voting went on in the restored copy: {more} more ballots; tori audit exit {code_after}")
    if code_after != 0 or more == 0:
        failures.append("the restored round did not go on with a valid chain")
        print(report_after)
    if failures:
        raise SystemExit("DRILL FAILED: " + "; ".join(failures))
    print("DRILL PASSED")


if __name__ == "__main__":
    main()
