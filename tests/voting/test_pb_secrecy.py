"""Ballot secrecy against a database reader and a timing observer, attacked with a known ground
truth: real voters cast real ballots (through the one-statement PostgreSQL path, the generic
service, staff-assisted codes and over HTTP), and the tests remember which tracker each voter
got. An attacker then tries what worked against a log written in the casting transaction:

- the transaction-id join (xmin) between the roll and the ballots or the log;
- ordering the voted roll rows by transaction id or by physical place (ctid) and reading the
  log in the same order;
- the ids and creation times of staff-assisted codes;
- polling the public log head after every vote, as someone who saw a person vote would.

Each attack links every voter on a log written at casting (checked by running this file's attacks
against the code before the mixer; see the README, "Who can learn or change what") and at most what chance allows
among a batch of k here.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import random
import signal
import subprocess
import sys
import textwrap
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import DBAPIError

from tests.factories import make_area
from tests.voting.factories import (
    add_proposal,
    adult_birth_date,
    letter_codes,
    make_round,
    move_to,
    put_on_roll,
    sign_in_to_vote,
)
from voting.ballots import cast_ballot
from voting.mixing import BallotLog, mix_round
from voting.models import Ballot, LogHead, PendingBallot, RollEntry, VotingCode
from voting.pages import MIX_SCHEDULER
from voting.roll import issue_assisted_code, person_hash
from voting.tally.board import check_log

from .factories import ROLL_KEY

ROOT = Path(__file__).resolve().parents[2]
log_ = logging.getLogger(__name__)
K = 20  # the application's default TORI_MIX_BATCH, which the HTTP casts use
PER_AREA = 60


async def mix(session, round_, *, final=False):
    """What runs after each cast (a background attempt that gives up when another worker
    mixes) and, with `final`, after the close."""
    return await mix_round(session, round_, final, k=K, wait=final)


async def secrecy_round(db, per_area=PER_AREA):
    kallio, vuosaari = await make_area(db, "Kallio"), await make_area(db, "Vuosaari")
    round_ = await make_round(db, "voting", {kallio.id: 100_000, vuosaari.id: 100_000})
    proposals = {
        area.id: [await add_proposal(db, round_, area, f"P{n}", 20_000) for n in range(4)]
        for area in (kallio, vuosaari)
    }
    await put_on_roll(
        db,
        round_,
        [
            (f"SECRET{n:05d}", adult_birth_date(), area)
            for area in (kallio, vuosaari)
            for n in range(per_area * (area is vuosaari), per_area * (1 + (area is vuosaari)))
        ],
    )
    entries = list(await db.scalars(select(RollEntry).order_by(RollEntry.id)))
    return round_, proposals, entries


async def all_trackers(db, round_id) -> set[str]:
    pending = await db.scalars(
        select(PendingBallot.tracker).where(PendingBallot.round_id == round_id)
    )
    logged = await db.execute(
        text("SELECT entry FROM pb_log_entry WHERE round_id = :r"), {"r": round_id}
    )
    return set(pending) | {json.loads(row[0])["tracker"] for row in logged}


async def log_head_count(client, round_) -> int:
    response = await client.get(f"/pb/{round_.slug}/log.json")
    assert response.status_code == 200
    return response.json()["count"]


async def cast_everyone(client, database, db, round_, proposals, entries, rng):
    """Every voter votes once, in a random order, through one of four paths; after each cast
    a mix attempt runs (over HTTP the application's own background task), and an observer
    polls the public log head. Returns the ground truth (roll id -> tracker), the casting
    order and the log counts the observer saw after each cast."""
    order = list(entries)
    rng.shuffle(order)
    codes = await letter_codes(db, round_)
    identifier = {
        person_hash(ROLL_KEY, f"SECRET{n:05d}"): f"SECRET{n:05d}" for n in range(len(entries))
    }
    truth: dict[int, str] = {}
    seen: list[int] = []
    for number, entry in enumerate(order):
        chosen = {p.id: 1 for p in rng.sample(proposals[entry.area_id], 2)}
        way = number % 6
        if way == 0:  # over HTTP with the letter code, as a voter does
            before = await all_trackers(db, round_.id)
            signed = await sign_in_to_vote(client, round_, codes[entry.id], adult_birth_date())
            assert signed.status_code == 303
            cast = await client.post(
                f"/pb/{round_.slug}/cast",
                data={
                    "_csrf_token": client.cookies["tori_csrf"],
                    "proposal": [str(p) for p in chosen],
                },
            )
            assert cast.status_code == 303, cast.text
            await MIX_SCHEDULER.of(client.app).idle()  # the attempt the cast started
            (truth[entry.id],) = await all_trackers(db, round_.id) - before
        else:
            if way == 1:  # the generic service (SQLite's path, paper ballots)
                truth[entry.id] = await cast_ballot(
                    db, round_, entry.id, "online", chosen, entry.area_id
                )
            elif way == 2:  # staff-assisted: a one-time code issued just before voting
                await issue_assisted_code(
                    db,
                    round_,
                    ROLL_KEY,
                    identifier[entry.person_hash],
                    adult_birth_date(),
                    dt.datetime.now(dt.UTC).date(),
                )
                truth[entry.id] = await cast_ballot(
                    db, round_, entry.id, "assisted", chosen, entry.area_id
                )
            else:  # in a session of its own, as two workers do
                async with database.sessionmaker() as session:
                    truth[entry.id] = await cast_ballot(
                        session, round_, entry.id, "online", chosen, entry.area_id
                    )
            async with database.sessionmaker() as session:
                await mix(session, round_)
        seen.append(await log_head_count(client, round_))
    return truth, [e.id for e in order], seen


async def voted_roll(db, round_id, order_by: str) -> list[tuple[int, int | None]]:
    rows = await db.execute(
        text(
            "SELECT id, area_id FROM voter_roll WHERE round_id = :r AND voted_via IS NOT NULL "
            f"ORDER BY {order_by}"
        ),
        {"r": round_id},
    )
    return [tuple(row) for row in rows]


async def the_log(db, round_id) -> list[dict]:
    rows = await db.execute(
        text("SELECT seq, entry, xmin::text FROM pb_log_entry WHERE round_id = :r ORDER BY seq"),
        {"r": round_id},
    )
    return [{**json.loads(entry), "xid": xid} for _seq, entry, xid in rows]


def rank_alignment_hits(roll: list[tuple[int, int | None]], log: list[dict], truth) -> int:
    """The attacker's guess: within a district, the i-th voted roll row (in the order given) cast
    the i-th entry of the log. How many guesses are right."""
    voters, entries = defaultdict(list), defaultdict(list)
    for roll_id, area in roll:
        voters[area].append(roll_id)
    for entry in log:
        entries[entry["area"]].append(entry["tracker"])
    return sum(
        truth[roll_id] == tracker
        for area in voters
        for roll_id, tracker in zip(voters[area], entries[area], strict=False)
    )


def spearman(xs: list[int], ys: list[int]) -> float:
    def ranks(values):
        order = sorted(range(len(values)), key=values.__getitem__)
        result = [0] * len(values)
        for rank, index in enumerate(order):
            result[index] = rank
        return result

    rx, ry = ranks(xs), ranks(ys)
    n = len(xs)
    mean = (n - 1) / 2
    cov = sum((a - mean) * (b - mean) for a, b in zip(rx, ry, strict=True))
    var = sum((a - mean) ** 2 for a in rx)
    return cov / var


def batches(log: list[dict]) -> dict[tuple[str, int | None], list[dict]]:
    """The log's entries grouped by the transaction that wrote them and by district."""
    groups = defaultdict(list)
    for entry in log:
        groups[(entry["xid"], entry["area"])].append(entry)
    return groups


def order_correlations(roll_order: list[int], log: list[dict], truth) -> list[float]:
    """Per batch and district: the rank correlation between the order in which the batch's
    voters appear in `roll_order` and the order of their entries in the log."""
    position = {roll_id: n for n, roll_id in enumerate(roll_order)}
    voter_of = {tracker: roll_id for roll_id, tracker in truth.items()}
    return [
        spearman([position[voter_of[e["tracker"]]] for e in group], [e["seq"] for e in group])
        for group in batches(log).values()
    ]


@pytest.fixture
async def cast_round(client, database, db):
    round_, proposals, entries = await secrecy_round(db)
    rng = random.Random(20261130)
    truth, order, seen = await cast_everyone(client, database, db, round_, proposals, entries, rng)
    await move_to(db, round_, "counting")
    # The observer's poll after the close runs the final mix.
    seen.append(await log_head_count(client, round_))
    return round_, truth, order, seen


async def test_no_transaction_id_links_a_voted_roll_row_to_a_ballot_or_an_entry(db, cast_round):
    round_, truth, _order, _seen = cast_round
    assert len(truth) == 2 * PER_AREA
    for table in ("pb_log_entry", "pb_ballot", "pb_pending"):
        linked = await db.scalar(
            text(
                f"SELECT count(*) FROM voter_roll r JOIN {table} t ON r.xmin::text = t.xmin::text "
                "WHERE r.round_id = :r AND r.voted_via IS NOT NULL"
            ),
            {"r": round_.id},
        )
        assert linked == 0, table
    # No pending ballot survives the final mix; every cast ballot is in the log exactly once.
    assert await db.scalar(select(func.count()).select_from(PendingBallot)) == 0
    log = await the_log(db, round_.id)
    assert sorted(e["tracker"] for e in log) == sorted(truth.values())
    # Each ballot and log row shares its transaction id with at least k - 1 others of its district.
    assert all(len(group) >= K for group in batches(log).values())


@pytest.mark.parametrize("order_by", ["xmin::text::bigint, id", "ctid"])
async def test_the_order_of_the_roll_does_not_lead_to_entries(db, cast_round, order_by):
    round_, truth, order, _seen = cast_round
    log = await the_log(db, round_.id)
    roll = await voted_roll(db, round_.id, order_by)
    if order_by.startswith("xmin"):
        # The attacker's premise holds: the roll's transaction ids follow the casting order.
        assert [roll_id for roll_id, _area in roll] == order
    # Reading the log in the roll's order: a log written at casting gives all 120 voters;
    # chance gives about 120/k/2 = 3 (each guess is right with probability at most 1/k).
    hits = rank_alignment_hits(roll, log, truth)
    correlations = order_correlations([roll_id for roll_id, _area in roll], log, truth)
    log_.info(
        "order by %s: %d of %d linked; correlations %s", order_by, hits, len(truth), correlations
    )
    assert hits <= 15, hits
    # Within each batch the log's order does not follow the roll's (1.0 on a linked log; mean
    # of six correlations of 20 ranks: standard deviation about 0.09 by chance).
    assert len(correlations) >= 4
    assert abs(sum(correlations) / len(correlations)) < 0.45, correlations
    assert max(correlations) < 0.8, correlations


async def test_assisted_codes_leave_no_order_of_voting_behind(db, database, cast_round):
    _round, _truth, _order, _seen = cast_round
    # A used assisted code is deleted with the vote; codes have no creation time.
    async with database.engine.connect() as connection:
        columns = await connection.run_sync(
            lambda sync: {c["name"] for c in inspect(sync).get_columns("voting_code")}
        )
    assert not {"created_at", "used_at", "issued_at"} & columns
    left = await db.scalar(
        select(func.count())
        .select_from(VotingCode)
        .join(RollEntry, RollEntry.id == VotingCode.roll_id)
        .where(VotingCode.kind == "assisted", RollEntry.voted_via.is_not(None))
    )
    assert left == 0
    assisted = await db.scalar(
        select(func.count()).select_from(RollEntry).where(RollEntry.voted_via == "assisted")
    )
    assert assisted == 2 * PER_AREA // 6


async def test_a_timing_observer_sees_only_batches_in_an_order_unrelated_to_voting(db, cast_round):
    round_, truth, order, seen = cast_round
    steps = [after - before for before, after in zip([0, *seen], seen, strict=False)]
    assert all(step == 0 or step >= K for step in steps), steps
    assert seen[-1] == 2 * PER_AREA
    # The observer saw each person vote (the order) and polled the head right after: the
    # person's entry is among the next entries to appear, and they guess the last of those.
    log = await the_log(db, round_.id)
    hits = 0
    for number, roll_id in enumerate(order):
        later = next(
            n for n in range(number, len(seen)) if seen[n] > (seen[number - 1] if number else 0)
        )
        guess = log[seen[later] - 1]
        hits += guess["tracker"] == truth[roll_id]
    # A log that grows with every vote gives all 120; chance about 120/(2k) per district.
    log_.info(
        "timing observer: steps %s, %d of %d linked", [s for s in steps if s], hits, len(order)
    )
    assert hits <= 15, hits
    # The channel is gone from the entries (a rare channel at a service point named the entry).
    assert all("channel" not in entry for entry in log)


async def test_two_hundred_concurrent_casts_and_mixers_make_one_chain(database, db):
    round_, proposals, entries = await secrecy_round(db, per_area=100)

    async def vote(entry):
        async with database.sessionmaker() as session:
            tracker = await cast_ballot(
                session,
                round_,
                entry.id,
                "online",
                {proposals[entry.area_id][0].id: 1},
                entry.area_id,
            )
        async with database.sessionmaker() as session:
            await mix(session, round_)
        return tracker

    async def blocking_mixer():
        for _ in range(5):
            async with database.sessionmaker() as session:
                await mix_round(session, round_, k=K, wait=True)
            await asyncio.sleep(0.05)

    trackers, *_ = await asyncio.gather(
        asyncio.gather(*(vote(e) for e in entries)), blocking_mixer(), blocking_mixer()
    )
    await move_to(db, round_, "counting")
    await mix(db, round_, final=True)
    rows = list(
        await db.execute(
            text("SELECT seq, entry, hash FROM pb_log_entry WHERE round_id = :r ORDER BY seq"),
            {"r": round_.id},
        )
    )
    assert [row[0] for row in rows] == list(range(1, 201))  # no fork, gap or duplicate
    count, head, problem = check_log(round_.slug, [tuple(row) for row in rows])
    assert (count, problem) == (200, None)
    assert (await db.get(LogHead, round_.id, populate_existing=True)).head_hash == head
    entries_seen = [json.loads(row[1]) for row in rows]
    assert sorted(e["tracker"] for e in entries_seen) == sorted(trackers)
    ballot_ids = set(await db.scalars(select(Ballot.id).where(Ballot.round_id == round_.id)))
    assert ballot_ids == {e["ballot"] for e in entries_seen}
    per_area_entries = defaultdict(int)
    for entry in entries_seen:
        per_area_entries[entry["area"]] += 1
    per_area_ballots = dict(
        (await db.execute(select(Ballot.area_id, func.count()).group_by(Ballot.area_id))).all()
    )
    per_area_marks = dict(
        (
            await db.execute(
                select(RollEntry.area_id, func.count())
                .where(RollEntry.voted_via.is_not(None))
                .group_by(RollEntry.area_id)
            )
        ).all()
    )
    assert (
        dict(per_area_entries)
        == per_area_ballots
        == per_area_marks
        == dict.fromkeys(proposals, 100)
    )


CRASHING_VOTER = """
import asyncio, json, os, signal, sys
from app.database import Database
from voting.ballots import cast_ballot
from voting.rounds import get_round

async def main():
    database = Database(os.environ["DATABASE_URL"])
    async with database.sessionmaker() as session:
        round_ = await get_round(session, int(sys.argv[1]))
    voters = json.loads(sys.argv[2])
    for roll_id, area_id, proposal_id in voters:
        async with database.sessionmaker() as session:
            tracker = await cast_ballot(
                session, round_, roll_id, "online", {proposal_id: 1}, area_id
            )
        print(tracker, flush=True)
    # Acknowledged, then the worker dies before any mix could run.
    os.kill(os.getpid(), signal.SIGKILL)

asyncio.run(main())
"""


async def test_a_crash_between_cast_and_mix_or_during_a_mix_loses_nothing(
    database, db, migrated, monkeypatch
):
    round_, proposals, entries = await secrecy_round(db, per_area=25)
    voters = [(e.id, e.area_id, proposals[e.area_id][1].id) for e in entries]
    process = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", textwrap.dedent(CRASHING_VOTER), str(round_.id), json.dumps(voters)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": migrated},
        check=False,
    )
    assert process.returncode == -signal.SIGKILL, process.stderr
    acknowledged = process.stdout.split()
    assert len(acknowledged) == 50
    assert await db.scalar(select(func.count()).select_from(PendingBallot)) == 50

    # A mixer whose database connection dies after it has written the batch, before commit.
    original = BallotLog.append

    async def dying_append(session, round_ref, ballots):
        written = await original(session, round_ref, ballots)
        backend = await session.scalar(text("SELECT pg_backend_pid()"))
        async with database.raw_connection() as killer:
            assert await killer.fetchval("SELECT pg_terminate_backend($1)", backend)
        return written

    monkeypatch.setattr(BallotLog, "append", dying_append)
    with pytest.raises(DBAPIError):  # the commit finds the connection gone
        async with database.sessionmaker() as session:
            await mix_round(session, round_, k=5)  # 25 pending per district: a batch of 20 each
    monkeypatch.undo()
    assert await db.scalar(select(func.count()).select_from(PendingBallot)) == 50
    assert (await db.get(LogHead, round_.id, populate_existing=True)).count == 0

    await move_to(db, round_, "counting")
    assert await mix(db, round_, final=True) == 50
    log = await the_log(db, round_.id)
    assert sorted(e["tracker"] for e in log) == sorted(acknowledged)
