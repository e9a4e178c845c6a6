"""Publication stores what it publishes, and the public pages serve only that: attacked through
PostgreSQL after publication, through concurrent clicks, a flagged paper slip, and every role's
view before publication."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import re

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from app.accounts.models import Role
from app.audit import AuditRecord
from app.settings import Settings
from tests.conftest import TEST_SECRET
from tests.factories import make_area, make_user, signed_in_as
from tests.voting.factories import (
    ROLL_KEY,
    add_proposal,
    adult_birth_date,
    make_round,
    move_to,
    put_on_roll,
)
from voting import published
from voting.ballots import cast_ballot
from voting.board_keys import public_key_text
from voting.models import LogEntry, PendingBallot, Publication, RollEntry, Round
from voting.paper import enter_paper_ballot
from voting.publication import PublicationError, publish
from voting.tally.board import entry_body, tracker_of

SEED = Settings(secret_key=TEST_SECRET).signing_seed


def form(client, **fields):
    return {"_csrf_token": client.cookies["tori_csrf"], **fields}


async def a_round(db, voters=6, phase="voting"):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, phase, {kallio.id: 100_000, None: 300_000})
    park = await add_proposal(db, round_, kallio, "Park", 60_000)
    lights = await add_proposal(db, round_, kallio, "Lights", 50_000)
    library = await add_proposal(db, round_, None, "Library", 200_000)
    pool = await add_proposal(db, round_, None, "Pool", 150_000)
    await put_on_roll(
        db, round_, [(f"VOTER{n:05d}", adult_birth_date(), kallio) for n in range(voters)]
    )
    entries = list(await db.scalars(select(RollEntry).order_by(RollEntry.id)))
    proposals = {"park": park, "lights": lights, "library": library, "pool": pool}
    return round_, kallio, proposals, entries


async def cast_all(db, round_, kallio, p, entries):
    receipts = []
    for n, entry in enumerate(entries):
        choices = (
            {p["park"].id: 1, p["library"].id: 1} if n % 3 else {p["lights"].id: 1, p["pool"].id: 1}
        )
        channel = ("online", "assisted", "paper")[n % 3]
        receipts.append(await cast_ballot(db, round_, entry.id, channel, choices, kallio.id))
    return receipts


async def execute(db, sql):
    await db.execute(text(sql))
    await db.commit()


def without_csrf(page: str) -> str:
    """A page without its per-request form token (the only thing allowed to differ)."""
    return re.sub(r'name="_csrf_token" value="[^"]*"', "", page)


async def served(client, round_, kallio, receipt):
    """Everything the public can read about a published round, as bytes."""
    paths = [
        f"/pb/{round_.slug}/results?lang=en",
        f"/pb/{round_.slug}/results?lang=fi",
        f"/pb/{round_.slug}/board.jsonl",
        f"/pb/{round_.slug}/ballots.pb?budget=city",
        f"/pb/{round_.slug}/ballots.pb?budget={kallio.id}",
        f"/pb/{round_.slug}/receipt?r={receipt}&lang=en",
    ]
    pages = {}
    for path in paths:
        response = await client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        body = response.content
        pages[path] = (
            without_csrf(body.decode()) if "results" in path or "receipt" in path else body
        )
    return pages


# --- one published truth --------------------------------------------------------------------------


async def test_tampering_after_publication_changes_nothing_that_is_served(client, db):
    round_, kallio, p, entries = await a_round(db)
    receipts = await cast_all(db, round_, kallio, p, entries)
    await move_to(db, round_, "counting")
    await signed_in_as(client, db, Role.ADMIN)
    assert (
        await client.post(f"/staff/pb/{round_.id}/publish", data=form(client))
    ).status_code == 303
    await client.post("/staff/logout", data=form(client))
    before = await served(client, round_, kallio, receipts[1])
    results = before[f"/pb/{round_.slug}/results?lang=en"]
    # Park and Library chosen by 4 of 6, Lights and Pool by 2: greedy funds Park, Library.
    assert "Park" in results
    assert "Most votes first, within the budget" in results
    seq = await db.scalar(select(LogEntry.seq).where(LogEntry.tracker == receipts[1]))
    assert (
        f"Recorded: this ballot is entry {seq} of the log."
        in before[f"/pb/{round_.slug}/receipt?r={receipts[1]}&lang=en"]
    )

    # A database writer changes every ballot, the log, the costs and the official rule.
    await execute(db, f"""UPDATE pb_ballot SET choices = '{{"{p["pool"].id}": 1}}'""")
    await db.execute(
        text("UPDATE pb_log_entry SET entry = replace(entry, :old, :new) WHERE round_id = :r"),
        {"old": f'"{p["park"].id}":1', "new": f'"{p["lights"].id}":1', "r": round_.id},
    )
    await db.commit()
    await execute(db, f"DELETE FROM pb_log_entry WHERE round_id = {round_.id} AND seq = 2")
    await execute(
        db,
        f"UPDATE pb_proposal SET final_cost = 1, estimated_cost = 1 WHERE round_id = {round_.id}",
    )
    await execute(db, f"UPDATE pb_round SET official_rule = 'mes_cost' WHERE id = {round_.id}")
    await execute(db, f"UPDATE pb_budget SET amount = 5 WHERE round_id = {round_.id}")
    db.expunge_all()

    after = await served(client, round_, kallio, receipts[1])
    for path, body in before.items():
        assert after[path] == body, path
    # Staff see the same stored publication (not a recount) after publication.
    await signed_in_as(client, db, Role.STAFF)
    staff = await client.get(f"/staff/pb/{round_.id}/results")
    assert staff.status_code == 200
    assert "Provisional" not in staff.text
    assert re.findall(r'class="number">([^<]*)<', staff.text) == re.findall(
        r'class="number">([^<]*)<', results
    )


async def test_publication_stores_the_signed_board_every_rule_and_the_exports(db):
    round_, kallio, p, entries = await a_round(db)
    await cast_all(db, round_, kallio, p, entries)
    await move_to(db, round_, "counting")
    stored = await publish(db, round_, SEED, None)
    row = await db.scalar(select(Publication).where(Publication.round_id == round_.id))
    board = await published.board_bytes(db, row.id)
    assert hashlib.sha256(board).hexdigest() == row.digest == stored.digest
    lines = board.decode().splitlines()
    assert json.loads(lines[-1])["type"] == "signature"
    assert row.key_id == published.key_id(public_key_text(SEED))
    assert row.count == 6
    assert row.version == 1
    assert row.corrects_id is None
    city = next(b for b in row.results["budgets"] if b["area"] is None)
    assert set(city["selected"]) == {"greedy", "mes_cost", "mes_cardinality"}
    assert city["voters"] == 6
    assert {r["id"]: r["votes"] for r in city["rows"]} == {p["library"].id: 4, p["pool"].id: 2}
    assert row.results["official_rule"] == "greedy"
    exports = await published.exports_of(db, row.id)
    assert set(exports) == {"city", str(kallio.id)}
    assert "num_votes;6" in exports["city"]


# --- the stored row cannot be changed --------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "refusal"),
    [
        ("UPDATE pb_publication SET results = '{}'", "immutable: UPDATE refused"),
        ("UPDATE pb_publication SET board = 'forged'::bytea", "immutable: UPDATE refused"),
        ("DELETE FROM pb_publication", "immutable: DELETE refused"),
        ("TRUNCATE pb_publication", "immutable: TRUNCATE refused"),
        ("TRUNCATE pb_round CASCADE", "immutable: TRUNCATE refused"),
        ("DELETE FROM pb_round", "foreign key"),
    ],
)
async def test_the_publication_cannot_be_updated_deleted_or_truncated(db, sql, refusal):
    round_, kallio, p, entries = await a_round(db, voters=2)
    await cast_all(db, round_, kallio, p, entries)
    await move_to(db, round_, "counting")
    stored = await publish(db, round_, SEED, None)
    digest, stored_id = stored.digest, stored.id
    with pytest.raises(DBAPIError, match=refusal):
        await db.execute(text(sql))
    await db.rollback()
    board = await published.board_bytes(db, stored_id)
    assert hashlib.sha256(board).hexdigest() == digest
    assert await db.scalar(select(func.count()).select_from(Publication)) == 1


# --- the confirmation page and the refusals --------------------------------------------------------


async def flag_a_slip(db, round_, p, slip="S-17"):
    """Two staff members type the same slip differently: it is flagged for review."""
    first, second = await make_user(db, Role.STAFF), await make_user(db, Role.STAFF)
    today = dt.datetime.now(dt.UTC).date()
    for staff, choice in ((first, p["park"]), (second, p["lights"])):
        await enter_paper_ballot(
            db,
            round_,
            ROLL_KEY,
            slip,
            "VOTER00005",
            adult_birth_date(),
            {choice.id: 1},
            today,
            staff,
        )


async def test_the_confirmation_page_shows_what_will_be_published(client, db):
    round_, kallio, p, entries = await a_round(db)
    await cast_all(db, round_, kallio, p, entries[:5])
    await flag_a_slip(db, round_, p)
    await signed_in_as(client, db, Role.ADMIN)
    during = await client.get(f"/staff/pb/{round_.id}/publish")
    assert during.status_code == 200
    assert "Voting has not closed yet." in during.text
    assert 'action="/staff/pb/' not in during.text  # no publish button while anything blocks
    await move_to(db, round_, "counting")
    page = await client.get(f"/staff/pb/{round_.id}/publish")
    text_ = " ".join(page.text.split())
    assert "Entries in the ballot log</dt><dd>5</dd>" in text_
    assert "5: online 2, with staff 2, on paper 1" in text_
    assert "Ballots waiting to join the log</dt><dd>0</dd>" in text_
    assert "Paper slips flagged for review: S-17." in text_
    assert "Most votes first, within the budget" in text_
    assert published.key_id(public_key_text(SEED)) in text_
    assert "Publish the results now" not in text_
    # Staff who are not admins cannot even look.
    await client.post("/staff/logout", data=form(client))
    await signed_in_as(client, db, Role.STAFF)
    assert (await client.get(f"/staff/pb/{round_.id}/publish")).status_code == 403


async def test_a_flagged_slip_refuses_publication_until_it_is_resolved(client, db):
    round_, kallio, p, entries = await a_round(db)
    await cast_all(db, round_, kallio, p, entries[:5])
    await flag_a_slip(db, round_, p)
    await move_to(db, round_, "counting")
    await signed_in_as(client, db, Role.ADMIN)
    refused = await client.post(f"/staff/pb/{round_.id}/publish", data=form(client))
    assert refused.status_code == 409
    assert "Paper slips flagged for review: S-17." in refused.text
    assert await db.scalar(select(func.count()).select_from(Publication)) == 0
    db.expunge_all()
    assert (await db.get(Round, round_.id)).published_at is None
    assert (await client.get(f"/pb/{round_.slug}/results")).status_code == 404
    discarded = await client.post(
        f"/staff/pb/{round_.id}/paper/discard", data=form(client, slip="S-17")
    )
    assert discarded.status_code == 303
    page = await client.get(f"/staff/pb/{round_.id}/publish")
    assert "Publish the results now" in page.text
    assert (
        await client.post(f"/staff/pb/{round_.id}/publish", data=form(client))
    ).status_code == 303
    assert (await client.get(f"/pb/{round_.slug}/results")).status_code == 200


async def test_publication_before_the_close_is_refused(db):
    round_, kallio, p, entries = await a_round(db)
    await cast_all(db, round_, kallio, p, entries[:2])
    with pytest.raises(PublicationError, match="only after voting has closed"):
        await publish(db, round_, SEED, None)
    await db.rollback()
    assert await db.scalar(select(func.count()).select_from(Publication)) == 0


async def test_two_concurrent_publications_publish_once(app, client, db):
    round_, kallio, p, entries = await a_round(db)
    await cast_all(db, round_, kallio, p, entries)
    await move_to(db, round_, "counting")
    await signed_in_as(client, db, Role.ADMIN)
    responses = await asyncio.gather(
        *(client.post(f"/staff/pb/{round_.id}/publish", data=form(client)) for _ in range(4))
    )
    assert sorted(r.status_code for r in responses) == [303, 409, 409, 409]
    assert await db.scalar(select(func.count()).select_from(Publication)) == 1
    actions = list(await db.scalars(select(AuditRecord.action)))
    assert actions.count("round.publish") == 1


# --- who sees a count before publication -----------------------------------------------------------


async def test_before_publication_only_the_auditor_sees_a_provisional_count(client, db):
    round_, kallio, p, entries = await a_round(db)
    await cast_all(db, round_, kallio, p, entries)
    public = (
        f"/pb/{round_.slug}/results",
        f"/pb/{round_.slug}/board.jsonl",
        f"/pb/{round_.slug}/ballots.pb",
    )
    staff = (f"/staff/pb/{round_.id}/results", f"/staff/pb/{round_.id}/ballots.pb")
    # During voting: nobody, not even the auditor.
    await signed_in_as(client, db, Role.AUDITOR)
    for path in staff:
        assert (await client.get(path)).status_code == 404, path
    await client.post("/staff/logout", data=form(client))
    await move_to(db, round_, "counting")
    for path in public:
        assert (await client.get(path)).status_code == 404, path
    for role in (Role.STAFF, Role.ADMIN):
        await signed_in_as(client, db, role)
        for path in staff:
            assert (await client.get(path)).status_code == 403, (role, path)
        await client.post("/staff/logout", data=form(client))
    await signed_in_as(client, db, Role.AUDITOR)
    # The provisional count is of the log (what will be published), not of the ballot table.
    await execute(db, f"""UPDATE pb_ballot SET choices = '{{"{p["pool"].id}": 1}}'""")
    page = await client.get(f"/staff/pb/{round_.id}/results")
    assert page.status_code == 200
    assert "Provisional count" in page.text
    assert "Not published" in page.text
    votes = re.findall(r'<td class="number">(\d+)</td>', page.text)
    assert sorted(votes) == ["2", "2", "4", "4"]
    assert (await client.get(f"/staff/pb/{round_.id}/ballots.pb?budget=city")).status_code == 200
    assert (await client.get(f"/staff/pb/{round_.id}/publish")).status_code == 403
    assert (
        await client.post(f"/staff/pb/{round_.id}/publish", data=form(client))
    ).status_code == 403
    for path in public:
        assert (await client.get(path)).status_code == 404, path


async def test_the_results_page_counts_nothing(client, db, monkeypatch):
    """No count in a public request: the counting functions are made to fail after publication."""
    round_, kallio, p, entries = await a_round(db)
    receipts = await cast_all(db, round_, kallio, p, entries)
    await move_to(db, round_, "counting")
    await publish(db, round_, SEED, None)

    def no_counting(*_args, **_kwargs):
        raise AssertionError("a public request counted")

    import voting.published as module
    import voting.tally.count as tally_rounds

    monkeypatch.setattr(module, "count_round", no_counting)
    monkeypatch.setattr(tally_rounds, "count_budget", no_counting)
    monkeypatch.setattr(tally_rounds, "budget_election", no_counting)
    await served(client, round_, kallio, receipts[0])
    await signed_in_as(client, db, Role.STAFF)
    assert (await client.get(f"/staff/pb/{round_.id}/results")).status_code == 200
    assert (await client.get(f"/staff/pb/{round_.id}/ballots.pb")).status_code == 200


async def test_the_receipt_page_after_publication_reads_the_stored_board(client, db):
    round_, kallio, p, entries = await a_round(db)
    receipts = await cast_all(db, round_, kallio, p, entries)
    await move_to(db, round_, "counting")
    await publish(db, round_, SEED, None)
    # The mixer shuffled the ballots: the receipt of the fourth cast names its own entry.
    seq = await db.scalar(select(LogEntry.seq).where(LogEntry.tracker == receipts[3]))
    await execute(db, f"DELETE FROM pb_log_entry WHERE round_id = {round_.id}")
    page = await client.get(f"/pb/{round_.slug}/receipt?r={receipts[3]}&lang=en")
    assert page.status_code == 200
    assert f"entry {seq} of the log" in page.text
    assert "Lights" in page.text
    assert "Pool" in page.text
    head = await db.scalar(select(Publication.head))
    missing = await client.get(f"/pb/{round_.slug}/receipt?r={'0' * 64}&lang=en")
    assert missing.status_code == 404
    # The log head's hash appears in the head line too; the receipt of the last entry is found
    # as that entry, not as the head.
    last = await client.get(f"/pb/{round_.slug}/receipt?r={head}&lang=en")
    assert "entry 6 of the log" in last.text
    assert await db.scalar(select(func.count()).select_from(LogEntry)) == 0


@pytest.mark.parametrize("rule", ["approval", "k_approval", "points"])
async def test_the_publication_count_in_a_process_of_its_own_is_the_count_in_this_one(rule):
    """Publication counts in a separate process (a thread would hold the interpreter lock that
    the event loop needs): the same results, pabulib files and board tally as in this one."""
    import os
    import random

    from app.off_loop import in_worker_process
    from tests.voting import board_vectors as vectors
    from voting.published import count_for_publication, count_round
    from voting.tally.board import canonical, recount

    definition = vectors.definition(rule)
    rng = random.Random(17)
    own = {1: ["1", "2"], 2: ["3", "4"], None: []}
    ballots = []
    for _ in range(3000):
        area = rng.choice([1, 2, None])
        chosen = rng.sample(own[area] + ["5", "6"], k=rng.randrange(0, len(own[area]) + 3))
        if rule == "k_approval":
            chosen = chosen[:1]
        # as in a log entry: the selections in the order of their keys
        ballots.append(
            (area, {p: rng.randint(1, 2) if rule == "points" else 1 for p in sorted(chosen)})
        )
    data = {
        **{k: definition[k] for k in ("title", "ballot_rule", "official_rule", "max_choices")},
        **{k: definition[k] for k in ("points_total", "points_per_proposal")},
        **{k: definition[k] for k in ("voting_open_at", "voting_close_at", "projects")},
        "round": definition["round"],
        "budgets": [
            {
                "area": b["area"],
                "area_name": {"fi": b["name"]} if b["name"] else None,
                "amount": b["amount"],
            }
            for b in definition["budgets"]
        ],
    }
    log = "\n".join(canonical({"area": area, "selections": chosen}) for area, chosen in ballots)
    assert await in_worker_process(os.getpid) != os.getpid()
    here = count_for_publication(data, definition, log)
    assert here == (*count_round({**data, "ballots": ballots}), recount(definition, ballots))
    assert here[0]["budgets"][2]["voters"] > 1000  # a count with something to count
    assert await in_worker_process(count_for_publication, data, definition, log) == here


async def test_a_board_the_verifier_would_refuse_is_never_published(client, db):
    """The attack: an over-budget ballot written straight into the tables, past `cast_ballot`'s
    own check (a defect elsewhere, or someone at the database), with the roll marked for it.
    Before this change the round was published with a signed board that `tori-verify` calls
    NOT VALID; publication now runs the verifier's check first, stores and records nothing."""
    round_, kallio, p, entries = await a_round(db)
    round_id, slug = round_.id, round_.slug
    await cast_ballot(db, round_, entries[1].id, "online", {p["park"].id: 1}, kallio.id)
    # Library and Pool together: 350 000 € against a city-wide budget of 300 000 €.
    stuffed = {str(p["library"].id): 1, str(p["pool"].id): 1}
    ballot_id = "ab" * 16
    db.add(
        PendingBallot(
            id=ballot_id,
            round_id=round_id,
            area_id=kallio.id,
            tracker=tracker_of(entry_body(slug, kallio.id, ballot_id, stuffed)),
            choices=stuffed,
        )
    )
    entries[0].voted_via = "online"
    await db.commit()
    audit_records = await db.scalar(select(func.count()).select_from(AuditRecord))
    await move_to(db, round_, "counting")
    with pytest.raises(PublicationError) as refused:
        await publish(db, round_, SEED, None)
    assert "does not pass the verifier's check" in str(refused.value.message)
    assert "the budget is 300000" in refused.value.params["problem"]
    assert await db.scalar(select(func.count()).select_from(Publication)) == 0
    assert await db.scalar(select(Round.published_at).where(Round.id == round_id)) is None
    assert await db.scalar(select(func.count()).select_from(AuditRecord)) == audit_records
    assert (await client.get(f"/pb/{slug}/results")).status_code == 404
