"""The ballot log, receipts, publication, the bulletin board, tori-verify, tamper detection,
the staff audit log and paper ballots, on PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from app.accounts.models import Role
from app.audit import AuditRecord, check_audit_chain, record_action
from app.settings import Settings
from tests.app.test_database import run_tori
from tests.conftest import TEST_SECRET
from tests.factories import make_area, make_user, sign_in, signed_in_as
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
from voting.mixing import mix_round
from voting.models import (
    Ballot,
    Budget,
    LogEntry,
    LogHead,
    PaperEntry,
    PendingBallot,
    Proposal,
    RollEntry,
    Round,
)
from voting.publication import publish
from voting.tally.board import GENESIS, canonical, chain_hash, check_log, tracker_of

SEED = Settings(secret_key=TEST_SECRET).signing_seed
ROOT = Path(__file__).resolve().parents[2]


def form(client, **fields):
    return {"_csrf_token": client.cookies["tori_csrf"], **fields}


async def a_round(db, voters=4, phase="voting"):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, phase, {kallio.id: 100_000, None: 300_000})
    park = await add_proposal(db, round_, kallio, "Park", 60_000)
    lights = await add_proposal(db, round_, kallio, "Lights", 30_000)
    library = await add_proposal(db, round_, None, "Library", 200_000)
    await put_on_roll(
        db, round_, [(f"VOTER{n:05d}", adult_birth_date(), kallio) for n in range(voters)]
    )
    entries = list(
        await db.scalars(
            select(RollEntry).where(RollEntry.round_id == round_.id).order_by(RollEntry.id)
        )
    )
    return round_, kallio, {"park": park, "lights": lights, "library": library}, entries


async def log_rows(db, round_id):
    return list(
        await db.execute(
            select(LogEntry.seq, LogEntry.entry, LogEntry.hash)
            .where(LogEntry.round_id == round_id)
            .order_by(LogEntry.seq)
        )
    )


# --- the chain ------------------------------------------------------------------------------------


async def test_casts_by_every_channel_give_trackers_that_the_mixed_log_carries(database, db):
    round_, kallio, p, entries = await a_round(db)
    receipts = [
        await cast_ballot(
            db, round_, entries[0].id, "online", {p["park"].id: 1, p["library"].id: 1}, kallio.id
        )
    ]
    async with database.sessionmaker() as session:
        receipts.append(
            await cast_ballot(
                session, round_, entries[1].id, "assisted", {p["lights"].id: 1}, kallio.id
            )
        )
        receipts.append(await cast_ballot(session, round_, entries[2].id, "online", {}, kallio.id))
    assert await log_rows(db, round_.id) == []  # pending: fewer than 2k
    pending = set(await db.scalars(select(PendingBallot.tracker)))
    assert pending == set(receipts)
    await move_to(db, round_, "counting")
    assert await mix_round(db, round_, final=True) == 3
    rows = await log_rows(db, round_.id)
    previous = GENESIS
    for seq, entry_text, hashed in rows:
        entry = json.loads(entry_text)
        assert canonical(entry) == entry_text
        assert set(entry) == {"area", "ballot", "round", "selections", "seq", "tracker"}
        assert entry["seq"] == seq
        assert entry["round"] == round_.slug
        body = {k: entry[k] for k in ("area", "ballot", "round", "selections")}
        assert entry["tracker"] == tracker_of(canonical(body))
        assert hashed == chain_hash(previous, entry_text)
        previous = hashed
    assert {json.loads(r[1])["tracker"] for r in rows} == set(receipts)
    head = await db.get(LogHead, round_.id, populate_existing=True)
    assert (head.count, head.head_hash) == (3, previous)
    assert await db.scalar(select(func.count()).select_from(PendingBallot)) == 0


async def test_two_hundred_concurrent_casts_make_one_linear_chain(database, db):
    round_, kallio, p, entries = await a_round(db, voters=200)

    async def cast(entry):
        async with database.sessionmaker() as session:
            return await cast_ballot(
                session, round_, entry.id, "online", {p["park"].id: 1}, kallio.id
            )

    receipts = await asyncio.gather(*(cast(entry) for entry in entries))
    await move_to(db, round_, "counting")
    await mix_round(db, round_, final=True)
    rows = await log_rows(db, round_.id)
    assert [row[0] for row in rows] == list(range(1, 201))  # no gap, no duplicate
    assert sorted(receipts) == sorted(json.loads(row[1])["tracker"] for row in rows)
    count, head, problem = check_log(round_.slug, rows)
    assert (count, problem) == (200, None)
    assert (await db.get(LogHead, round_.id, populate_existing=True)).head_hash == head
    assert await db.scalar(select(func.count()).select_from(Ballot)) == 200


# --- receipts and the public log -----------------------------------------------------------------


async def test_the_voter_gets_a_receipt_that_anyone_can_check(client, db):
    round_, _kallio, p, _entries = await a_round(db)
    (code, *_rest) = (await letter_codes(db, round_)).values()
    await sign_in_to_vote(client, round_, code, adult_birth_date())
    cast = await client.post(
        f"/pb/{round_.slug}/cast", data=form(client, proposal=[str(p["park"].id)])
    )
    voted = await client.get(cast.headers["location"])
    receipt = await db.scalar(select(PendingBallot.tracker))
    grouped = " ".join(receipt[i : i + 8] for i in range(0, 64, 8))
    assert grouped in voted.text
    signed = re.search(r'name="receipt" value="([^"]+)"', voted.text).group(1)
    download = await client.post(
        f"/pb/{round_.slug}/voted/receipt.txt", data=form(client, receipt=signed)
    )
    assert download.status_code == 200
    assert grouped in download.text
    # Shown once: the next person on this device finds no receipt, by page or by file.
    assert "tori_receipt" not in client.cookies
    again = await client.get(f"/pb/{round_.slug}/voted")
    assert grouped not in again.text
    assert again.headers["cache-control"] == "no-store"
    nothing = await client.post(f"/pb/{round_.slug}/voted/receipt.txt", data=form(client))
    assert nothing.status_code == 404
    # Anyone, on another device, with the receipt typed in groups and capitals.
    client.cookies.clear()
    await client.get("/?lang=en")
    found = await client.get(f"/pb/{round_.slug}/receipt", params={"r": grouped.upper()})
    assert found.status_code == 200
    assert "Received; it joins the public log with the next batch." in found.text
    assert "Park" not in found.text  # the content only after publication
    for bad, status in (
        ("abc", 400),
        ("g" * 64, 400),
        ("<script>" + "a" * 56, 400),
        ("0" * 64, 404),
    ):
        response = await client.get(f"/pb/{round_.slug}/receipt", params={"r": bad})
        assert response.status_code == status
        assert "<script>" not in response.text
    await move_to(db, round_, "counting")
    closed = await client.get(f"/pb/{round_.slug}/receipt", params={"r": receipt})
    assert "Recorded: this ballot is entry 1 of the log." in closed.text  # the final mix ran
    assert "Park" not in closed.text
    await publish(db, round_, SEED, None)
    after = await client.get(f"/pb/{round_.slug}/receipt", params={"r": receipt})
    assert "Park" in after.text


async def test_the_public_log_shows_the_head_and_keeps_checkpoints(client, db):
    round_, _kallio, p, entries = await a_round(db)
    for entry in entries[:3]:
        await cast_ballot(db, round_, entry.id, "online", {p["park"].id: 1})
    # Fewer than 2k pending: the public log has not moved yet; after the close it has.
    assert (await db.get(LogHead, round_.id, populate_existing=True)).count == 0
    await move_to(db, round_, "counting")
    page = await client.get(f"/pb/{round_.slug}/log?lang=en")
    head = await db.get(LogHead, round_.id, populate_existing=True)
    assert page.status_code == 200
    assert head.head_hash[:8] in page.text
    saved = (await client.get(f"/pb/{round_.slug}/log.json")).json()
    assert saved["count"] == 3
    assert saved["head"] == head.head_hash
    assert saved["checkpoints"][-1] == {
        "count": 3,
        "head": head.head_hash,
        "at": saved["checkpoints"][-1]["at"],
    }


# --- publication and the board -------------------------------------------------------------------


def verify(*arguments, cwd=None, isolated=False):
    command = [
        sys.executable,
        *(["-S", "-E"] if isolated else []),
        "-m",
        "voting.verify",
        *arguments,
    ]
    return subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=120, cwd=cwd or ROOT
    )


def python(*arguments, cwd, text=True):
    return subprocess.run(
        [sys.executable, *arguments],
        capture_output=True,
        text=text,
        check=False,
        timeout=120,
        cwd=cwd,
    )


async def published_round(db, client=None, voters=6):
    round_, _kallio, p, entries = await a_round(db, voters=voters)
    receipts = []
    for n, entry in enumerate(entries):
        choices = {p["park"].id: 1} if n % 2 else {p["lights"].id: 1, p["library"].id: 1}
        receipts.append(await cast_ballot(db, round_, entry.id, "online", choices))
    await move_to(db, round_, "counting")
    await publish(db, round_, SEED, None)
    return round_, p, receipts


async def download_board(client, round_, path):
    response = await client.get(f"/pb/{round_.slug}/board.jsonl")
    assert response.status_code == 200
    path.write_bytes(response.content)
    return path


async def test_publication_signs_a_board_that_tori_verify_accepts(client, db, tmp_path):
    round_, _kallio, p, entries = await a_round(db)
    await cast_ballot(db, round_, entries[0].id, "online", {p["park"].id: 1})
    admin = await signed_in_as(client, db, Role.ADMIN)
    early = await client.post(f"/staff/pb/{round_.id}/publish", data=form(client))
    assert early.status_code == 409
    assert "only after voting has closed" in early.text
    assert (await client.get(f"/pb/{round_.slug}/board.jsonl")).status_code == 404
    await move_to(db, round_, "counting")
    published = await client.post(f"/staff/pb/{round_.id}/publish", data=form(client))
    assert published.status_code == 303
    again = await client.post(f"/staff/pb/{round_.id}/publish", data=form(client))
    assert again.status_code == 409
    assert "published already" in again.text
    audit = await client.get(f"/staff/pb/{round_.id}/audit")
    assert audit.status_code == 200
    assert "Valid." in audit.text
    board = await download_board(client, round_, tmp_path / "board.jsonl")
    receipt = await db.scalar(select(LogEntry.tracker))
    keys = tmp_path / "signing-key.json"
    keys.write_bytes((await client.get("/pb/signing-key.json")).content)
    result = verify(str(board), "--receipt", receipt, "--public-key", str(keys))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VALID: 1 entries" in result.stdout
    assert "Signature: valid" in result.stdout
    assert f"receipt {receipt}: in the log" in result.stdout
    # Without a key to trust, the chain and the count are checked, not who signed.
    unverified = verify(str(board))
    assert unverified.returncode == 3
    assert "chain and count valid, signer not verified" in unverified.stdout
    missing = verify(str(board), "--receipt", "f" * 64)
    assert missing.returncode == 1
    assert "NOT in the log" in missing.stdout
    key = (await client.get("/pb/signing-key")).text
    public_key = json.loads(board.read_text().splitlines()[-1])["public_key"]
    assert public_key in key
    assert verify(str(board), "--public-key", "AAAA" + public_key[4:]).returncode == 1
    records = list(await db.scalars(select(AuditRecord.action)))
    assert "round.publish" in records
    assert admin is not None


async def test_no_counts_before_publication_except_for_the_auditor(client, db):
    round_, _kallio, p, entries = await a_round(db)
    await cast_ballot(db, round_, entries[0].id, "online", {p["park"].id: 1})
    await move_to(db, round_, "results")
    await client.get("/?lang=en")
    for path in (
        f"/pb/{round_.slug}/results",
        f"/pb/{round_.slug}/board.jsonl",
        f"/pb/{round_.slug}/ballots.pb",
    ):
        assert (await client.get(path)).status_code == 404, path
    await signed_in_as(client, db, Role.ADMIN)
    assert (await client.get(f"/staff/pb/{round_.id}/results")).status_code == 403
    assert (await client.get(f"/staff/pb/{round_.id}/ballots.pb")).status_code == 403
    await client.post("/staff/logout", data=form(client))
    await signed_in_as(client, db, Role.AUDITOR)
    assert (await client.get(f"/staff/pb/{round_.id}/results")).status_code == 200
    assert (
        await client.post(f"/staff/pb/{round_.id}/publish", data=form(client))
    ).status_code == 403


# --- tamper detection ----------------------------------------------------------------------------


async def tamper_entry(db, round_id, seq, change):
    row = await db.get(LogEntry, (round_id, seq))
    entry = json.loads(row.entry)
    change(entry)
    row.entry = canonical(entry)
    await db.commit()


TAMPERING = {
    "change a choice": lambda db, r: tamper_entry(
        db, r.id, 2, lambda e: e["selections"].update({"999": 1})
    ),
    "change an entry and its hash": lambda db, r: _rehash(db, r.id, 2),
    "delete an entry": lambda db, r: _execute(
        db, f"DELETE FROM pb_log_entry WHERE round_id = {r.id} AND seq = 3"
    ),
    "insert an entry": lambda db, r: _insert(db, r.id),
    "reorder entries": lambda db, r: _swap(db, r.id),
    "change a cost": lambda db, r: _execute(
        db, f"UPDATE pb_proposal SET final_cost = final_cost + 1000 WHERE round_id = {r.id}"
    ),
    "change a budget": lambda db, r: _execute(
        db, f"UPDATE pb_budget SET amount = amount + 1 WHERE round_id = {r.id}"
    ),
    "edit the published result": lambda db, r: _execute(
        db, f"UPDATE pb_round SET published_tally = '[]' WHERE id = {r.id}"
    ),
    "forge the signature": lambda db, r: _execute(
        db, f"UPDATE pb_round SET board_signature = '{'A' * 86}==' WHERE id = {r.id}"
    ),
}


async def _execute(db, sql):
    await db.execute(text(sql))
    await db.commit()


async def _rehash(db, round_id, seq):
    """A careful forger: changes entry 2, recomputes its tracker and its hash (the next link
    then breaks)."""
    row = await db.get(LogEntry, (round_id, seq))
    previous = (await db.get(LogEntry, (round_id, seq - 1))).hash
    entry = json.loads(row.entry)
    entry["selections"] = {}
    body = {k: entry[k] for k in ("area", "ballot", "round", "selections")}
    entry["tracker"] = tracker_of(canonical(body))
    row.entry = canonical(entry)
    row.hash = chain_hash(previous, row.entry)
    await db.commit()


async def _insert(db, round_id):
    await db.execute(
        text(f"UPDATE pb_log_entry SET seq = seq + 100 WHERE round_id = {round_id} AND seq >= 3")
    )
    await db.execute(
        text(f"UPDATE pb_log_entry SET seq = seq - 99 WHERE round_id = {round_id} AND seq >= 103")
    )
    first = await db.get(LogEntry, (round_id, 1))
    db.add(LogEntry(round_id=round_id, seq=3, entry=first.entry, hash=first.hash))
    await db.commit()


async def _swap(db, round_id):
    await db.execute(
        text(f"UPDATE pb_log_entry SET seq = -1 WHERE round_id = {round_id} AND seq = 2")
    )
    await db.execute(
        text(f"UPDATE pb_log_entry SET seq = 2 WHERE round_id = {round_id} AND seq = 3")
    )
    await db.execute(
        text(f"UPDATE pb_log_entry SET seq = 3 WHERE round_id = {round_id} AND seq = -1")
    )
    await db.commit()


@pytest.mark.parametrize("how", list(TAMPERING))
async def test_tampering_in_the_database_is_found_by_the_audit_page_and_not_served(
    client, db, tmp_path, how
):
    """The audit page rebuilds the board from the tables and finds the change; the public board
    is the one stored at publication, byte for byte, and still verifies."""
    round_, _p, _receipts = await published_round(db)
    before = (await download_board(client, round_, tmp_path / "before.jsonl")).read_bytes()
    await TAMPERING[how](db, round_)
    db.expunge_all()
    await signed_in_as(client, db, Role.AUDITOR)
    audit = await client.get(f"/staff/pb/{round_.id}/audit")
    assert audit.status_code == 409, how
    assert "Not valid." in audit.text
    board = await download_board(client, round_, tmp_path / "board.jsonl")
    assert board.read_bytes() == before, how
    keys = tmp_path / "signing-key.json"
    keys.write_bytes((await client.get("/pb/signing-key.json")).content)
    result = verify(str(board), "--public-key", str(keys))
    assert result.returncode == 0, (how, result.stdout)


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        ("change", "entry 2"),
        ("delete", "entry 3"),
        ("insert", "entry 2"),
        ("reorder", "entry 1"),
        ("tally", "tally"),
        ("signature", "signature"),
        ("truncate", "truncated"),
    ],
)
async def test_tampering_with_the_exported_board_is_found(client, db, tmp_path, how, expected):
    round_, _p, _receipts = await published_round(db)
    board = await download_board(client, round_, tmp_path / "board.jsonl")
    lines = board.read_bytes().splitlines(keepends=True)
    if how == "change":
        lines[3] = lines[3].replace(b'\\"selections\\":{', b'\\"selections\\":{\\"7\\":1,', 1)
    elif how == "delete":
        del lines[4]
    elif how == "insert":
        lines.insert(3, lines[2])
    elif how == "reorder":
        lines[2], lines[3] = lines[3], lines[2]
    elif how == "tally":
        record = json.loads(lines[-3])
        record["budgets"][0]["selected"] = []
        lines[-3] = (canonical(record) + "\n").encode()
    elif how == "signature":
        record = json.loads(lines[-1])
        first = record["signature"][0]
        record["signature"] = ("A" if first != "A" else "B") + record["signature"][1:]
        lines[-1] = (canonical(record) + "\n").encode()
    elif how == "truncate":
        lines = lines[:4]
    board.write_bytes(b"".join(lines))
    result = verify(str(board))
    assert result.returncode == 1, result.stdout
    assert expected in result.stdout.splitlines()[1], result.stdout


async def test_a_rewritten_unpublished_log_differs_from_a_recorded_checkpoint(client, db):
    round_, _kallio, p, entries = await a_round(db)
    for entry in entries:
        await cast_ballot(db, round_, entry.id, "online", {p["park"].id: 1})
    await mix_round(db, round_, k=1)  # with k = 1, 4 pending: a batch of 3 joins the log
    await client.get(f"/pb/{round_.slug}/log")  # records a checkpoint of 3 entries
    # Rewrite entry 2 and every hash after it: a consistent chain, but not the one recorded.
    rows = await log_rows(db, round_.id)
    previous = rows[0][2]
    for seq, entry_text, _hash in rows[1:]:
        entry = json.loads(entry_text)
        if seq == 2:
            entry["selections"] = {str(p["lights"].id): 1}
            body = {k: entry[k] for k in ("area", "ballot", "round", "selections")}
            entry["tracker"] = tracker_of(canonical(body))
        new_text = canonical(entry)
        previous = chain_hash(previous, new_text)
        await db.execute(
            update(LogEntry)
            .where(LogEntry.round_id == round_.id, LogEntry.seq == seq)
            .values(entry=new_text, hash=previous)
        )
    await db.execute(
        update(LogHead).where(LogHead.round_id == round_.id).values(head_hash=previous)
    )
    await db.commit()
    await signed_in_as(client, db, Role.AUDITOR)
    audit = await client.get(f"/staff/pb/{round_.id}/audit")
    assert audit.status_code == 409
    assert "differs from the checkpoint" in audit.text


# --- the verifier on bad files ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "ends without the round"),
        (b"\xff\xfe\n", "not UTF-8"),
        (b"{not json}\n", "not valid JSON"),
        (b'{"type":"round"}', "truncated"),
        (b"[1,2]\n", "not a board record"),
        (b'{"entry":"{}","hash":"x","seq":1,"type":"entry"}\n', "must start with the round"),
        (b'{"type":"entry","seq":1,"entry":"{}","hash":"x"}\n', "not in canonical form"),
        (
            b'{"ballot_rule":"approval","budgets":[],"changes":[],"extra":1,"format":"tori-board/2","max_choices":null,"official_rule":"greedy","points_per_proposal":null,"points_total":null,"projects":[],"round":"x","title":{},"type":"round","voting_close_at":"2026-01-02T00:00:00+00:00","voting_open_at":"2026-01-01T00:00:00+00:00"}\n',
            "unknown field 'extra'",
        ),
        (b"x" * 1_000_001 + b"\n", "longer than"),
    ],
)
def test_the_verifier_refuses_bad_files_clearly(tmp_path, content, message):
    board = tmp_path / "bad.jsonl"
    board.write_bytes(content)
    result = verify(str(board))
    assert result.returncode == 1
    assert message in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_the_verifier_refuses_bad_arguments_clearly(tmp_path):
    missing = verify(str(tmp_path / "none.jsonl"))
    assert missing.returncode == 2
    assert "cannot be read" in missing.stderr
    bad_checkpoint = verify(str(tmp_path / "none.jsonl"), "--checkpoint", "12:xyz")
    assert bad_checkpoint.returncode == 2
    assert "COUNT:HEAD" in bad_checkpoint.stderr
    board = tmp_path / "b.jsonl"
    board.write_text("")
    bad_receipt = verify(str(board), "--receipt", "not-a-receipt")
    assert bad_receipt.returncode == 1
    assert "not 64 hexadecimal characters" in bad_receipt.stdout


async def test_the_downloaded_verifier_runs_with_only_the_standard_library(client, db, tmp_path):
    """What a resident gets from the "how to check" page – the board, the keys and the one-file
    verifier – run by a Python with no site-packages at all (no `cryptography`: the signature
    is checked by the standard-library Ed25519), in an empty folder outside the project."""
    round_, _p, receipts = await published_round(db)
    check_page = await client.get(f"/pb/{round_.slug}/check?lang=en")
    assert check_page.status_code == 200
    for link in (f"/pb/{round_.slug}/board.jsonl", "/pb/signing-key.json", "/pb/tori-verify.pyz"):
        assert f'href="{link}"' in check_page.text
    folder = tmp_path / "resident"
    folder.mkdir()
    board = await download_board(client, round_, folder / f"tori-board-{round_.slug}.jsonl")
    keys = folder / "signing-keys.json"
    keys.write_bytes((await client.get("/pb/signing-key.json")).content)
    archive = await client.get("/pb/tori-verify.pyz")
    assert archive.status_code == 200
    assert "attachment" in archive.headers["content-disposition"]
    verifier = folder / "tori-verify.pyz"
    verifier.write_bytes(archive.content)
    # The digest the page shows is the file's, and the source builds the same bytes.
    assert hashlib.sha256(archive.content).hexdigest() in check_page.text
    assert python("-m", "voting.verifier_archive", cwd=ROOT, text=False).stdout == archive.content

    def run(*arguments):
        return python("-S", "-E", "-I", str(verifier), *arguments, cwd=folder)

    probe = python("-S", "-E", "-I", "-c", "import cryptography", cwd=folder)
    assert probe.returncode != 0, "the isolated Python must not see cryptography"
    valid = run(board.name, "--public-key", keys.name, "--receipt", receipts[0])
    assert valid.returncode == 0, valid.stdout + valid.stderr
    assert "VALID: 6 entries" in valid.stdout
    assert "Signature: valid (Ed25519" in valid.stdout
    unsigned = run(board.name)
    assert unsigned.returncode == 3, unsigned.stdout + unsigned.stderr
    assert "signer not verified: 6 entries" in unsigned.stdout
    # A forged signature (one bit flipped) is caught without cryptography too.
    lines = board.read_bytes().splitlines(keepends=True)
    signature_line = json.loads(lines[-1])
    raw = bytearray(base64.b64decode(signature_line["signature"]))
    raw[10] ^= 0x01
    signature_line["signature"] = base64.b64encode(bytes(raw)).decode()
    forged = folder / "forged.jsonl"
    forged.write_bytes(b"".join(lines[:-1]) + canonical(signature_line).encode() + b"\n")
    refused = run(forged.name, "--public-key", keys.name)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "the signature does not match the board" in refused.stdout


# --- the staff audit log ---------------------------------------------------------------------------


async def test_staff_actions_are_logged_in_an_append_only_chain(client, db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "review", {kallio.id: 100_000})
    idea = await add_proposal(db, round_, kallio, "Benches", 10_000, status="submitted")
    await signed_in_as(client, db, Role.STAFF)
    await client.post(
        f"/staff/pb/{round_.id}/proposals/{idea.id}",
        data=form(client, action="accept", final_cost="9000"),
    )
    await client.post(f"/staff/pb/{round_.id}/codes", data=form(client, format="csv"))
    everything = list(await db.scalars(select(AuditRecord).order_by(AuditRecord.seq)))
    # The factories' own changes (round, proposal) are recorded too, by "system".
    records = [r for r in everything if r.actor_id is not None]
    assert [r.action for r in records] == ["proposal.accept", "codes.letters"]
    assert records[0].before["status"] == "submitted"
    assert records[0].after == {**records[0].before, "status": "accepted", "final_cost": 9000}
    assert await check_audit_chain(db) == (len(everything), None)
    tampered, total = records[1].seq, len(everything)
    # The database refuses changes and deletions.
    for sql in ("UPDATE staff_audit SET action = 'x'", "DELETE FROM staff_audit"):
        with pytest.raises(Exception, match="append-only"):
            await db.execute(text(sql))
        await db.rollback()
    # A database administrator who switches the trigger off is still caught by the chain.
    await db.execute(text("ALTER TABLE staff_audit DISABLE TRIGGER staff_audit_append_only"))
    await db.execute(
        text("UPDATE staff_audit SET target = 'round other' WHERE seq = :seq"),
        {"seq": tampered},
    )
    await db.execute(text("ALTER TABLE staff_audit ENABLE TRIGGER staff_audit_append_only"))
    await db.commit()
    assert (await check_audit_chain(db))[
        1
    ] == f"record {tampered}: its columns differ from the record that was hashed"
    # Staff members cannot read it; the auditor can, and exports it.
    assert (await client.get("/staff/audit")).status_code == 403
    await client.post("/staff/logout", data=form(client))
    await signed_in_as(client, db, Role.AUDITOR)
    page = await client.get("/staff/audit")
    assert page.status_code == 200
    # The page names the action; the export keeps its stable key.
    assert "Proposal accepted for the ballot" in page.text
    export = await client.get("/staff/audit/audit.jsonl")
    assert "proposal.accept" in export.text
    assert len(export.text.splitlines()) == total


def test_no_code_path_updates_or_deletes_audit_records():
    source = "\n".join(path.read_text() for path in (ROOT / "app").rglob("*.py"))
    source += "\n".join(path.read_text() for path in (ROOT / "voting").rglob("*.py"))
    assert not re.search(r"(update|delete)\(\s*AuditRecord", source)
    assert "UPDATE staff_audit" not in source.replace("BEFORE UPDATE OR DELETE ON staff_audit", "")


# --- paper ballots ---------------------------------------------------------------------------------


async def test_paper_ballots_join_the_log_after_two_matching_typings(client, db):
    round_, _kallio, p, entries = await a_round(db)
    first_staff = await signed_in_as(client, db, Role.STAFF)
    typing = {
        "slip": "P-0001",
        "identifier": "VOTER00001",
        "birth_date": adult_birth_date().isoformat(),
        "proposal": [str(p["park"].id), str(p["library"].id)],
    }
    first = await client.post(f"/staff/pb/{round_.id}/paper", data=form(client, **typing))
    assert first.status_code == 200
    assert "First typing saved" in first.text
    same_person = await client.post(f"/staff/pb/{round_.id}/paper", data=form(client, **typing))
    assert same_person.status_code == 400
    assert "Another staff member must type" in same_person.text
    await client.post("/staff/logout", data=form(client))
    second_staff = await make_user(db, Role.STAFF)
    await sign_in(client, second_staff)
    second = await client.post(f"/staff/pb/{round_.id}/paper", data=form(client, **typing))
    assert "The typings match" in second.text
    voter = await db.scalar(select(RollEntry).where(RollEntry.id == entries[1].id))
    await db.refresh(voter)
    assert voter.voted_via == "paper"
    # The paper ballot waits with the others for the mixer: its time, too, is mixed away.
    pending = await db.scalar(select(PendingBallot))
    assert pending.choices == {str(p["park"].id): 1, str(p["library"].id): 1}
    assert await db.scalar(select(func.count()).select_from(LogEntry)) == 0
    typings = list(await db.scalars(select(PaperEntry)))
    assert {(t.status, t.person_hash, t.choices) for t in typings} == {("joined", None, None)}
    # A mismatch is flagged and nothing is counted.
    mismatch = {**typing, "slip": "P-0002", "identifier": "VOTER00002"}
    await client.post(f"/staff/pb/{round_.id}/paper", data=form(client, **mismatch))
    await client.post("/staff/logout", data=form(client))
    await sign_in(client, first_staff)
    flagged = await client.post(
        f"/staff/pb/{round_.id}/paper",
        data=form(client, **{**mismatch, "proposal": [str(p["lights"].id)]}),
    )
    assert "The typings differ" in flagged.text
    assert await db.scalar(select(func.count()).select_from(PendingBallot)) == 1
    for bad in ({"slip": ""}, {"slip": "<b>"}, {"identifier": "NOBODY123"}, {"proposal": ["abc"]}):
        refused = await client.post(
            f"/staff/pb/{round_.id}/paper", data=form(client, **{**typing, "slip": "P-0009", **bad})
        )
        assert refused.status_code == 400
    assert await db.scalar(select(func.count()).select_from(PaperEntry)) == 4
    assert await db.scalar(select(func.count()).select_from(Budget)) == 2
    assert await db.scalar(select(func.count()).select_from(Proposal)) == 3
    assert await db.scalar(select(func.count()).select_from(Round)) == 1


async def test_tori_audit_checks_every_chain_and_fails_on_a_changed_entry(db, migrated):
    """The command run after a restore (README: Backup and restore)."""
    published, _p, _receipts = await published_round(db)
    live, *_rest = await a_round(db, voters=2)
    await record_action(db, None, "drill", "test")
    await db.commit()
    good = await asyncio.to_thread(run_tori, "audit", database_url=migrated, SECRET_KEY=TEST_SECRET)
    assert good.returncode == 0, good.stdout + good.stderr
    records = await db.scalar(select(func.count()).select_from(AuditRecord))
    assert f"staff audit log: {records} records, one valid chain" in good.stdout
    assert f"round {published.slug} (published): 6 ballots" in good.stdout
    assert f"round {live.slug} (not published): 0 ballots" in good.stdout
    await tamper_entry(db, published.id, 2, lambda e: e["selections"].update({"999": 1}))
    bad = await asyncio.to_thread(run_tori, "audit", database_url=migrated, SECRET_KEY=TEST_SECRET)
    assert bad.returncode == 1
    assert f"round {published.slug} (published)" in bad.stdout
    assert "NOT VALID" in bad.stdout
