"""Benchmark: budgeting ballots cast per second with 2 workers on PostgreSQL, beside a bare
INSERT endpoint measured in the same run.

    .venv/bin/python -m benchmarks.pb_cast [--seconds 15] [--connections 64]

Every request is a real, different voter casting a real ballot: a signed voter cookie for
their own roll entry, the CSRF cookie and field, a valid selection within the district and
city-wide budgets. Tori checks the ballot against the round's rule, marks the roll and stores
the ballot as pending in one statement; after the response a background task of the worker
tries the mixer (voting/mixing.py), which moves shuffled batches of at least TORI_MIX_BATCH
(20) per district into the ballot table and the hash-chained log. Afterwards voting is closed,
the final mix runs, and the ballots stored must equal the casts the client saw succeed (HTTP
303), the roll must be marked exactly as often, and the log must be one valid chain with one
entry per ballot. The run also reports how many ballots the mixer had already moved during the
measured seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import tempfile
from pathlib import Path
from urllib.parse import urlencode

from litestar.middleware.csrf import generate_csrf_token

from app.areas.services import AreaInput, create_area
from app.database import Database, utcnow
from app.migrate import upgrade_to_head
from app.settings import Settings
from app.signing import sign
from benchmarks.common import (
    ROOT,
    SECRET,
    bench_database,
    count_rows,
    free_port,
    measure_bare,
    running,
    tori_server,
    wrk,
)
from voting import rounds
from voting.models import Proposal, RollEntry
from voting.roll import RollRow, import_roll, person_hash

HERE = Path(__file__).resolve().parent
AREAS = 7
PROPOSALS_PER_AREA = 40
CITY_PROPOSALS = 30
VOTERS = 120_000
DISTRICT_BUDGET, CITY_BUDGET = 1_000_000, 2_000_000


async def prepare(url: str, voters: int = VOTERS):
    database = Database(url)
    async with database.engine.begin() as connection:
        await upgrade_to_head(connection)
    async with database.sessionmaker() as session:
        areas = [
            await create_area(session, AreaInput(name={"fi": f"Suurpiiri {n}"}, populations={}))
            for n in range(AREAS)
        ]
        now = utcnow()
        round_ = await rounds.create_round(
            session,
            rounds.RoundDraft(
                title={"fi": "Benchmark"},
                description={},
                ideas_open_at=now - dt.timedelta(days=3),
                review_at=now - dt.timedelta(days=2),
                voting_open_at=now - dt.timedelta(days=1),
                voting_close_at=now + dt.timedelta(days=14),
                results_at=now + dt.timedelta(days=15),
                min_age=12,
                ballot_rule="approval",
                official_rule="mes_cost",
                budgets={area.id: DISTRICT_BUDGET for area in areas} | {None: CITY_BUDGET},
            ),
        )
        rng = random.Random(7)
        proposals: dict[int | None, list[tuple[int, int]]] = {}
        for area_id in [*(a.id for a in areas), None]:
            count = CITY_PROPOSALS if area_id is None else PROPOSALS_PER_AREA
            for number in range(count):
                cost = rng.randrange(20_000, 400_000, 1000)
                proposal = Proposal(
                    round_id=round_.id,
                    area_id=area_id,
                    title={"fi": f"Ehdotus {number}", "sv": f"Förslag {number}"},
                    description={"fi": "Kuvaus " * 40, "sv": "Beskrivning " * 40},
                    estimated_cost=cost,
                    final_cost=cost,
                    status="accepted",
                    reason={},
                    implementation_note={},
                )
                session.add(proposal)
                await session.flush()
                proposals.setdefault(area_id, []).append((proposal.id, cost))
        await session.commit()
        key = Settings(secret_key=SECRET).roll_key
        rows = [
            RollRow(person_hash(key, f"B{n:08d}"), dt.date(1980, 1, 1), areas[n % AREAS].id, None)
            for n in range(voters)
        ]
        await import_roll(session, round_, rows)
        from sqlalchemy import select

        voters = list(
            (
                await session.execute(
                    select(RollEntry.id, RollEntry.area_id).where(RollEntry.round_id == round_.id)
                )
            ).all()
        )
        slug, round_id = round_.slug, round_.id
    await database.dispose()
    return slug, round_id, voters, proposals


async def close_and_mix(url: str, round_id: int) -> int:
    """Close voting and run the final mix (what publication does first); returns the number
    of ballots it moved."""
    from voting.mixing import mix_round

    database = Database(url)
    try:
        async with database.sessionmaker() as session:
            round_ = await rounds.get_round(session, round_id)
            round_.voting_close_at = utcnow() - dt.timedelta(seconds=1)
            await session.commit()
            return await mix_round(session, round_, final=True)
    finally:
        await database.dispose()


async def check_chain(url: str, slug: str) -> tuple[int, str | None]:
    """Every entry of the round's log, checked link by link as the verifier does."""
    from benchmarks.common import _connect
    from voting.tally.board import check_log

    connection = await _connect(url)
    try:
        rows = await connection.fetch("SELECT seq, entry, hash FROM pb_log_entry ORDER BY seq")
    finally:
        await connection.close()
    count, _head, problem = check_log(slug, [tuple(row) for row in rows])
    return count, problem


def pick(rng: random.Random, options: list[tuple[int, int]], budget: int) -> list[int]:
    chosen, spent = [], 0
    for proposal_id, cost in rng.sample(options, k=len(options)):
        if spent + cost <= budget and rng.random() < 0.3:
            chosen.append(proposal_id)
            spent += cost
    return chosen


def choose(rng: random.Random, proposals, area_id: int) -> list[int]:
    """A valid selection for a voter of the district: some of its proposals and some city-wide
    ones, each part within its budget."""
    return pick(rng, proposals[area_id], DISTRICT_BUDGET) + pick(rng, proposals[None], CITY_BUDGET)


def ballot_form(
    rng: random.Random, slug, round_id, voter: tuple[int, int], proposals, csrf: str
) -> tuple[str, str, list[tuple[str, str]]]:
    """One signed-in voter's ballot: the path, the cookies and the form fields."""
    roll_id, area_id = voter
    # Signed now: Tori refuses it 30 minutes later (itsdangerous's max_age), after any run.
    cookie = sign(SECRET, "pb-voter", f"{round_id}.{roll_id}.online.{area_id}")
    fields = [("_csrf_token", csrf)]
    fields += [("proposal", str(p)) for p in choose(rng, proposals, area_id)]
    return f"/pb/{slug}/cast", f"tori_csrf={csrf}; tori_voter={cookie}", fields


def write_casts(slug, round_id, voters, proposals, csrf: str) -> Path:
    rng = random.Random(11)
    path = Path(tempfile.mkstemp(prefix="tori-casts-", suffix=".txt")[1])
    with path.open("w") as handle:
        for voter in voters:
            target, cookies, fields = ballot_form(rng, slug, round_id, voter, proposals, csrf)
            handle.write(f"{target}|{cookies}|{urlencode(fields)}\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=64)
    arguments = parser.parse_args()
    seconds, connections = arguments.seconds, arguments.connections
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    with bench_database("ballots") as url:
        slug, round_id, voters, proposals = asyncio.run(prepare(url))
        csrf = generate_csrf_token(SECRET)
        random.Random(3).shuffle(voters)
        # Separate voters for the warm-up and the measured run: each can vote once.
        warm = write_casts(slug, round_id, voters[:10_000], proposals, csrf)
        measured = write_casts(slug, round_id, voters[10_000:], proposals, csrf)
        bare, bare_stored = measure_bare(url, seconds=seconds, connections=connections)
        port = free_port()
        command, environment = tori_server(url, port, redis_db=13)
        with running(command, environment, port) as base:
            env = {"TORI_BENCH_BODIES": str(warm)}
            wrk(base, HERE / "cast.lua", seconds=3, connections=connections, env=env)
            before = asyncio.run(count_rows(url, "voter_roll WHERE voted_via IS NOT NULL"))
            env = {"TORI_BENCH_BODIES": str(measured)}
            tori = wrk(base, HERE / "cast.lua", seconds=seconds, connections=connections, env=env)
        # Counted once the server has stopped: requests wrk gave up on may still have finished.
        mixed_live = asyncio.run(count_rows(url, "pb_ballot"))
        left = asyncio.run(close_and_mix(url, round_id))
        marked = asyncio.run(count_rows(url, "voter_roll WHERE voted_via IS NOT NULL"))
        total = asyncio.run(count_rows(url, "pb_ballot"))
        stored = total - before
        pending = asyncio.run(count_rows(url, "pb_pending"))
        chain_count, chain_problem = asyncio.run(check_chain(url, slug))
        if tori.requests >= VOTERS - 10_000:
            raise SystemExit("the run used up every voter: raise VOTERS")
        warm.unlink()
        measured.unlink()
    print(
        f"wrk -t2 -c{connections} -d{seconds}s, 2 workers each, PostgreSQL, this machine ({os.cpu_count()} cores)"
    )
    print(
        f"{'':26}{'requests/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'acknowledged':>14}{'stored':>9}"
    )
    for label, result, rows in (
        ("bare INSERT (baseline)", bare, bare_stored),
        ("Tori ballot cast", tori, stored),
    ):
        print(
            f"{label:26}{result.per_second:12.0f}{result.p50_ms:9.1f}{result.p99_ms:9.1f}"
            f"{result.errors:8}{result.acknowledged:14}{rows:9}"
        )
    print(
        f"Tori: {tori.per_second:.0f} ballots/s (goal >= 300), {tori.per_second / bare.per_second:.0%} of the "
        f"baseline; roll marks {marked} = ballots {total}: {'yes' if marked == total else 'NO'}; "
        f"lost acknowledged ballots: {max(0, tori.acknowledged - stored)}"
    )
    print(
        f"mixer: {mixed_live} ballots moved into the log in batches while casting, {left} by the "
        f"final mix at the close, {pending} left pending"
    )
    print(
        f"ballot log: {chain_count} entries, {'one valid chain' if chain_problem is None else chain_problem}"
    )
    if (
        marked != total
        or tori.acknowledged > stored
        or chain_count != total
        or chain_problem
        or pending
    ):
        raise SystemExit("the roll and the ballots disagree, or acknowledged ballots are missing")


if __name__ == "__main__":
    main()
