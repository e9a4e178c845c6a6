"""The bulletin board as the instance publishes it, on PostgreSQL: ballots stuffed into the
database log are named by the audit and by tori-verify with the genuine key; the database must
agree with the board (ballots, roll, staff audit log); signing keys rotate without
invalidating old boards."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from app.accounts.models import Role
from app.audit import audit_head, record_action
from tests.app.test_database import run_tori
from tests.conftest import TEST_SECRET
from tests.factories import make_area, signed_in_as
from tests.voting.factories import add_proposal, adult_birth_date, make_round, move_to, put_on_roll
from voting import board_keys
from voting.ballots import canonical_choices, cast_ballot
from voting.mixing import BallotLog, LogBallot, mix_round
from voting.models import Ballot, Publication, RollEntry, Round, SigningKey
from voting.publication import PublicationError, audit_round, board, publish, signing_keys
from voting.tally.board import check_board
from voting.verify import signature_checker

ROOT = Path(__file__).resolve().parents[2]
SEED = hashlib.sha256(b"tori signing key\0" + TEST_SECRET.encode()).digest()
OLD_SEED = hashlib.sha256(b"the key before the rotation").digest()


def verify(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "voting.verify", *arguments],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=ROOT,
    )


async def two_districts(db, voters=4):
    """Kallio and Vuosaari with a budget each, a city-wide budget, two proposals each."""
    kallio, vuosaari = await make_area(db, "Kallio"), await make_area(db, "Vuosaari")
    round_ = await make_round(
        db, "voting", {kallio.id: 100_000, vuosaari.id: 80_000, None: 300_000}
    )
    p = {
        "park": await add_proposal(db, round_, kallio, "Park", 60_000),
        "lights": await add_proposal(db, round_, kallio, "Lights", 30_000),
        "pool": await add_proposal(db, round_, kallio, "Pool", 50_000),
        "benches": await add_proposal(db, round_, vuosaari, "Benches", 50_000),
        "library": await add_proposal(db, round_, None, "Library", 200_000),
    }
    await put_on_roll(
        db,
        round_,
        [(f"KALLIO{n:04d}", adult_birth_date(), kallio) for n in range(voters)]
        + [(f"VUOSAARI{n:04d}", adult_birth_date(), vuosaari) for n in range(voters)],
    )
    roll = list(await db.scalars(select(RollEntry).order_by(RollEntry.id)))
    return round_, kallio, vuosaari, p, roll


async def cast_honestly(db, round_, p, roll, kallio, vuosaari):
    kallio_roll = [r for r in roll if r.area_id == kallio.id]
    vuosaari_roll = [r for r in roll if r.area_id == vuosaari.id]
    await cast_ballot(db, round_, kallio_roll[0].id, "online", {p["park"].id: 1}, kallio.id)
    await cast_ballot(
        db, round_, kallio_roll[1].id, "assisted", {p["lights"].id: 1, p["library"].id: 1}
    )
    await cast_ballot(db, round_, vuosaari_roll[0].id, "paper", {p["benches"].id: 1})
    # Voting closes and the honest ballots join the log (the mixer's last batch), so that a
    # forger's entry comes after them.
    await move_to(db, round_, "counting")
    await mix_round(db, round_, final=True)


async def stuff(db, round_, area_id, choices):
    """A database writer's forgery: a ballot appended to the log with the application's own
    writer (chain, head and ballot row all consistent), with no one's roll mark behind it."""
    await BallotLog.append(
        db, round_, [LogBallot(secrets.token_hex(16), area_id, canonical_choices(choices))]
    )
    await db.commit()


async def board_bytes(db, round_, seed=SEED) -> bytes:
    return b"".join([line async for line in board(db, round_, seed)])


def trusted(*seeds: bytes) -> dict:
    return {board_keys.key_id(s): board_keys.public_key_text(s) for s in seeds}


async def refused_publication(db, round_, *words: str) -> None:
    """Publication refuses the round, naming the verifier's problem; nothing is published."""
    round_id = round_.id
    with pytest.raises(PublicationError) as refused:
        await publish(db, round_, SEED, None)
    for word in words:
        assert word in refused.value.params["problem"], refused.value.params
    assert await db.scalar(select(Round.published_at).where(Round.id == round_id)) is None
    assert await db.scalar(select(func.count()).select_from(Publication)) == 0


async def test_a_stuffed_ballot_without_a_roll_mark_is_named_and_never_published(client, db):
    round_, kallio, vuosaari, p, roll = await two_districts(db)
    await cast_honestly(db, round_, p, roll, kallio, vuosaari)
    await stuff(db, round_, kallio.id, {p["lights"].id: 1})
    audit = await audit_round(db, round_, SEED)
    assert not audit.valid
    assert "(entry 4): area" in audit.problems[0]
    assert "without a roll mark" in audit.problems[0]
    await signed_in_as(client, db, Role.AUDITOR)
    page = await client.get(f"/staff/pb/{round_.id}/audit")
    assert page.status_code == 409
    assert "without a roll mark" in page.text
    # Publication runs tori-verify's check first: the stuffed board is never signed and
    # published. (A stuffed board signed with the genuine key, made outside Tori, is named by
    # tori-verify: tests/voting/test_board_checks.py.)
    await move_to(db, round_, "counting")
    await refused_publication(db, round_, "line 6 (entry 4)", "without a roll mark")


async def test_a_stuffed_ballot_for_another_district_s_project_is_named_and_never_published(db):
    round_, kallio, vuosaari, p, roll = await two_districts(db)
    await cast_honestly(db, round_, p, roll, kallio, vuosaari)
    # The forger also marks someone on the roll, so that the counts agree.
    spare = [r for r in roll if r.area_id == kallio.id][-1]
    await db.execute(text(f"UPDATE voter_roll SET voted_via = 'online' WHERE id = {spare.id}"))
    await stuff(db, round_, kallio.id, {p["benches"].id: 1})
    audit = await audit_round(db, round_, SEED)
    assert (
        f"(entry 4): project {p['benches'].id} belongs to area {vuosaari.id}" in (audit.problems[0])
    )
    await move_to(db, round_, "counting")
    await refused_publication(
        db, round_, f"project {p['benches'].id} belongs to area {vuosaari.id}"
    )


async def test_an_over_budget_ballot_in_the_database_log_is_named(db):
    round_, kallio, vuosaari, p, roll = await two_districts(db)
    await cast_honestly(db, round_, p, roll, kallio, vuosaari)
    spare = [r for r in roll if r.area_id == kallio.id][-1]
    await db.execute(text(f"UPDATE voter_roll SET voted_via = 'online' WHERE id = {spare.id}"))
    await stuff(db, round_, kallio.id, {p["park"].id: 1, p["pool"].id: 1, p["library"].id: 1})
    audit = await audit_round(db, round_, SEED)
    assert audit.problems == [
        f"line 6 (entry 4): area {kallio.id}: the choices cost 110000, the budget is 100000"
    ]


async def test_the_audit_finds_a_ballot_table_that_differs_from_the_log(db):
    round_, kallio, vuosaari, p, roll = await two_districts(db)
    await cast_honestly(db, round_, p, roll, kallio, vuosaari)
    await move_to(db, round_, "counting")
    await publish(db, round_, SEED, None)
    assert (await audit_round(db, round_, SEED)).valid
    ballot = await db.scalar(select(Ballot).where(Ballot.area_id == vuosaari.id))
    await db.execute(
        text(
            f"UPDATE pb_ballot SET choices = '{{\"{p['library'].id}\": 1}}' WHERE id = '{ballot.id}'"
        )
    )
    await db.commit()
    audit = await audit_round(db, round_, SEED)
    assert audit.problems == ["1 ballots differ from their log entries (area or choices)"]
    for junk in ('{"1": "x"}', "[1]", "null"):
        await db.execute(text(f"UPDATE pb_ballot SET choices = '{junk}' WHERE id = '{ballot.id}'"))
        await db.commit()
        audit = await audit_round(db, round_, SEED)
        assert audit.problems == ["1 ballots differ from their log entries (area or choices)"]
    await db.execute(text(f"DELETE FROM pb_ballot WHERE id = '{ballot.id}'"))
    await db.commit()
    audit = await audit_round(db, round_, SEED)
    assert f"area {vuosaari.id}: 0 ballots but 1 log entries" in audit.problems


async def test_the_audit_finds_roll_marks_changed_after_publication(db):
    round_, kallio, vuosaari, p, roll = await two_districts(db)
    await cast_honestly(db, round_, p, roll, kallio, vuosaari)
    await move_to(db, round_, "counting")
    await publish(db, round_, SEED, None)
    published = round_.published_roll
    assert [(r["area"], r["marks"], r["online"], r["assisted"], r["paper"]) for r in published] == [
        (kallio.id, 2, 1, 1, 0),
        (vuosaari.id, 1, 0, 0, 1),
    ]
    spare = [r for r in roll if r.area_id == vuosaari.id][-1]
    await db.execute(text(f"UPDATE voter_roll SET voted_via = 'paper' WHERE id = {spare.id}"))
    await db.commit()
    audit = await audit_round(db, round_, SEED)
    assert audit.problems == ["the roll's marks differ from those published in the board"]
    # After TORI_KEEP_ROLL_DAYS the roll is deleted: the published marks stand.
    await db.execute(text(f"DELETE FROM voter_roll WHERE round_id = {round_.id}"))
    await db.commit()
    assert (await audit_round(db, round_, SEED)).valid


async def test_the_board_names_the_staff_audit_head_and_the_audit_finds_a_cut_tail(db):
    round_, kallio, vuosaari, p, roll = await two_districts(db)
    await cast_honestly(db, round_, p, roll, kallio, vuosaari)
    for n in range(3):
        await record_action(db, None, "drill", f"record {n}")
    await db.commit()
    head = await audit_head(db)
    await move_to(db, round_, "counting")
    await publish(db, round_, SEED, None)
    lines = (await board_bytes(db, round_)).splitlines()
    assert json.loads(lines[-2]) == {"type": "staff_audit", "count": head[0], "head": head[1]}
    assert (await audit_round(db, round_, SEED)).valid
    # A database administrator removes the records from the published head on.
    await db.execute(text("ALTER TABLE staff_audit DISABLE TRIGGER USER"))
    await db.execute(text(f"DELETE FROM staff_audit WHERE seq >= {head[0]}"))
    await db.execute(text("ALTER TABLE staff_audit ENABLE TRIGGER USER"))
    await db.commit()
    audit = await audit_round(db, round_, SEED)
    assert any("staff audit log no longer has the head" in p for p in audit.problems)


async def test_rotating_the_signing_key_keeps_every_published_board_valid(
    client, db, migrated, tmp_path
):
    first, kallio, vuosaari, p, roll = await two_districts(db)
    await cast_honestly(db, first, p, roll, kallio, vuosaari)
    await move_to(db, first, "counting")
    await publish(db, first, OLD_SEED, None)  # signed before the rotation
    second = await make_round(db, "voting", {kallio.id: 50_000})
    park = await add_proposal(db, second, kallio, "Second park", 20_000)
    await put_on_roll(db, second, [("SECOND0001", adult_birth_date(), kallio)])
    second_roll = await db.scalar(select(RollEntry).where(RollEntry.round_id == second.id))
    await cast_ballot(db, second, second_roll.id, "online", {park.id: 1})
    await move_to(db, second, "counting")
    await publish(db, second, SEED, None)  # the instance's key now (the tests' settings)
    # Both keys are kept and published, the current one marked.
    keys = await signing_keys(db, SEED)
    assert [(k.key_id, k.current) for k in keys] == [
        (board_keys.key_id(OLD_SEED), False),
        (board_keys.key_id(SEED), True),
    ]
    assert all(
        k.fingerprint == hashlib.sha256(base64.b64decode(k.public_key)).hexdigest() for k in keys
    )
    listing = (await client.get("/pb/signing-key.json")).json()
    key_file = tmp_path / "signing-key.json"
    key_file.write_text(json.dumps(listing))
    page = await client.get("/pb/signing-key?lang=en")
    for key in keys:
        assert key.fingerprint in page.text
    for round_, seed in ((first, OLD_SEED), (second, SEED)):
        response = await client.get(f"/pb/{round_.slug}/board.jsonl")
        path = tmp_path / f"{round_.slug}.jsonl"
        path.write_bytes(response.content)
        assert json.loads(response.content.splitlines()[-1])["key_id"] == board_keys.key_id(seed)
        result = verify(str(path), "--public-key", str(key_file))
        assert result.returncode == 0, result.stdout + result.stderr
        only_other = verify(
            str(path),
            "--public-key",
            board_keys.public_key_text(SEED if seed == OLD_SEED else OLD_SEED),
        )
        assert only_other.returncode == 1
        audit = await audit_round(db, round_, SEED)
        assert audit.valid, audit.problems
        assert audit.key_id == board_keys.key_id(seed)
    # The command an administrator runs after a restore agrees, with the new key set.
    done = await asyncio.to_thread(
        run_tori,
        "audit",
        database_url=migrated,
        SECRET_KEY=TEST_SECRET,
        TORI_SIGNING_KEY=base64.b64encode(SEED).decode(),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"round {first.slug} (published): 3 ballots" in done.stdout
    assert f"signed by key {board_keys.key_id(OLD_SEED)}, valid" in done.stdout
    # A key nobody kept (its row deleted) no longer vouches for the board that names it.
    await db.execute(
        text(f"DELETE FROM pb_signing_key WHERE key_id = '{board_keys.key_id(OLD_SEED)}'")
    )
    await db.commit()
    db.expunge_all()
    audit = await audit_round(db, await db.get(type(first), first.id), SEED)
    assert not audit.valid
    assert await db.scalar(select(SigningKey.key_id)) == board_keys.key_id(SEED)


async def test_the_published_board_passes_the_checks_in_process_with_the_instance_key(db):
    round_, kallio, vuosaari, p, roll = await two_districts(db)
    await cast_honestly(db, round_, p, roll, kallio, vuosaari)
    await move_to(db, round_, "counting")
    await publish(db, round_, SEED, None)
    data = await board_bytes(db, round_)
    verdict = check_board(
        data.splitlines(keepends=True), verify_signature=signature_checker(trusted(SEED))
    )
    assert verdict.valid, verdict.problems
    assert verdict.signature == "valid"
    assert verdict.areas == {kallio.id: 2, vuosaari.id: 1}
    first_line = json.loads(data.splitlines()[0])
    assert first_line["changes"] == []
    assert first_line["voting_close_at"].endswith("Z")
    tally = json.loads(data.splitlines()[-3])["budgets"]
    assert set(tally[0]["rules"]) == {"greedy", "mes_cost", "mes_cardinality"}
    assert tally[0]["selected"] == tally[0]["rules"][round_.official_rule]
