"""The staff audit log attacked: emptied, cut short, rewritten, raced, and a crash between a
change and its record. It must hold every staff action, in one chain, with no secrets, and a
head written down earlier must expose any record removed from its end (issue 13, item 7)."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from app.accounts.models import Role, User
from app.areas.models import Area
from app.audit import (
    GENESIS,
    AuditRecord,
    audit_head,
    canonical,
    chain_hash,
    check_audit_chain,
)
from app.events.models import Event, EventType, Organiser
from app.events.services import EventInput, create_events
from surveys import services as survey_services
from surveys.polls.models import Poll, PollKiosk
from surveys.polls.services import create_kiosk
from tests.app.test_database import run_tori
from tests.app.test_events_and_areas import event_fields
from tests.conftest import TEST_SECRET
from tests.factories import PASSWORD, make_area, make_event, make_user, signed_in_as
from tests.surveys.factories import open_questionnaire
from tests.surveys.polls_factories import make_poll
from tests.surveys.test_polls import poll_form
from tests.voting.factories import add_proposal, make_round
from tests.voting.test_pb_rounds import round_fields
from voting.models import Proposal, VotingCode

HELSINKI = ZoneInfo("Europe/Helsinki")
ROOT = Path(__file__).resolve().parents[2]
HEX64 = re.compile(r"[0-9a-f]{64}")


def form(client, **fields):
    return {"_csrf_token": client.cookies["tori_csrf"], **fields}


async def records(db) -> list[AuditRecord]:
    statement = select(AuditRecord).order_by(AuditRecord.seq)
    return list(await db.scalars(statement.execution_options(populate_existing=True)))


async def count(db, model) -> int:
    return await db.scalar(select(func.count()).select_from(model))


async def some_staff_actions(client, db, how_many=6) -> None:
    """Real actions over HTTP by a signed-in staff member: events created."""
    await signed_in_as(client, db, Role.STAFF)
    for number in range(how_many):
        response = await client.post(
            "/staff/events/new", data=form(client, **event_fields(venue_fi=f"Sali {number}"))
        )
        assert response.status_code == 303, response.text


async def with_triggers_off(db, *statements: str | tuple[str, dict]) -> None:
    """What a database administrator can do: switch the append-only triggers off, act, and
    switch them on again."""
    await db.commit()  # a fresh transaction: no cursor of an earlier check still open
    await db.execute(text("ALTER TABLE staff_audit DISABLE TRIGGER USER"))
    for statement in statements:
        sql, parameters = statement if isinstance(statement, tuple) else (statement, {})
        await db.execute(text(sql), parameters)
    await db.execute(text("ALTER TABLE staff_audit ENABLE TRIGGER USER"))
    await db.commit()


# --- the database refuses to empty it -------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE staff_audit",
        "TRUNCATE TABLE ONLY staff_audit RESTART IDENTITY",
        # Emptying the accounts table cascades to the log (actor_id refers to it).
        "TRUNCATE staff_user CASCADE",
        "DELETE FROM staff_audit",
        "UPDATE staff_audit SET actor = 'nobody'",
    ],
)
async def test_the_database_refuses_to_empty_or_change_the_log(client, db, statement):
    await some_staff_actions(client, db, how_many=2)
    before = await count(db, AuditRecord)
    assert before >= 2
    with pytest.raises(Exception, match="append-only"):
        await db.execute(text(statement))
    await db.rollback()
    assert await count(db, AuditRecord) == before
    assert await check_audit_chain(db) == (before, None)


# --- a removed tail is found against the published head -------------------------------------------


async def test_the_head_is_public_in_plain_words_and_as_json(client, db):
    await some_staff_actions(client, db, how_many=3)
    number, head = await audit_head(db)
    assert number == await count(db, AuditRecord)
    assert head == (await records(db))[-1].hash
    anonymous = client
    await anonymous.post("/staff/logout", data=form(client))
    published = await anonymous.get("/audit-log.json")
    assert published.status_code == 200
    assert published.json() == {"type": "staff_audit", "count": number, "head": head}
    for lang, words in (
        ("en", "Audit log of staff actions"),
        ("fi", "Henkilökunnan toimien tarkastusloki"),
        ("sv", "Granskningslogg över personalens åtgärder"),
    ):
        page = await anonymous.get(f"/audit-log?lang={lang}")
        assert page.status_code == 200
        assert words in page.text
        assert f"{number}:{head}" in page.text
    home = await anonymous.get("/?lang=en")
    assert 'href="/audit-log"' in home.text


async def test_an_empty_log_has_the_genesis_head(db):
    assert await audit_head(db) == (0, GENESIS)
    assert await check_audit_chain(db, (0, GENESIS)) == (0, None)


@pytest.mark.parametrize(
    "attack",
    ["delete the last records", "truncate", "delete the tail and append new records"],
)
async def test_a_removed_tail_is_found_against_the_published_head(client, db, migrated, attack):
    await some_staff_actions(client, db, how_many=6)
    published = (await client.get("/audit-log.json")).json()
    saved = (published["count"], published["head"])
    if attack == "truncate":
        await with_triggers_off(db, "TRUNCATE staff_audit")
    else:
        await with_triggers_off(db, f"DELETE FROM staff_audit WHERE seq > {saved[0] - 2}")
    if attack == "delete the tail and append new records":
        # New actions continue the shortened chain, past the saved count.
        for number in range(4):
            response = await client.post(
                "/staff/events/new", data=form(client, **event_fields(venue_fi=f"Uusi {number}"))
            )
            assert response.status_code == 303
        assert (await audit_head(db))[0] > saved[0]
    # Without the head, a shortened chain is still one valid chain...
    assert (await check_audit_chain(db))[1] is None
    # ...against the head written down earlier, it is not.
    _checked, problem = await check_audit_chain(db, saved)
    assert problem is not None
    assert f"{saved[0]}:{saved[1]}" in problem
    # The command run after a restore, and the administrator's page, say so too.
    result = await asyncio.to_thread(
        run_tori,
        "audit",
        "--staff-head",
        f"{saved[0]}:{saved[1]}",
        database_url=migrated,
        SECRET_KEY=TEST_SECRET,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "staff audit log" in result.stdout
    assert "NOT VALID" in result.stdout
    await client.post("/staff/logout", data=form(client))
    await signed_in_as(client, db, Role.ADMIN)
    page = await client.get("/staff/audit", params={"head": f"{saved[0]}:{saved[1]}"})
    assert page.status_code == 200
    assert "Not valid." in page.text
    assert "removed" in page.text or "rewritten" in page.text


async def test_an_intact_log_passes_the_saved_head_check(client, db, migrated):
    await some_staff_actions(client, db, how_many=3)
    saved = await audit_head(db)
    await some_staff_actions(client, db, how_many=2)  # the log grows afterwards: fine
    assert (await check_audit_chain(db, saved))[1] is None
    result = await asyncio.to_thread(
        run_tori,
        "audit",
        "--staff-head",
        f"{saved[0]}:{saved[1]}",
        database_url=migrated,
        SECRET_KEY=TEST_SECRET,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "one valid chain" in result.stdout
    await client.post("/staff/logout", data=form(client))
    await signed_in_as(client, db, Role.AUDITOR)
    page = await client.get("/staff/audit", params={"head": f"{saved[0]}:{saved[1]}"})
    assert page.status_code == 200
    assert "nothing has been removed" in page.text
    bad = await client.get("/staff/audit", params={"head": "12:not-a-hash"})
    assert bad.status_code == 400


# --- a rewritten record -------------------------------------------------------------------------


async def test_a_rewritten_record_is_named_by_the_chain_check(client, db):
    await some_staff_actions(client, db, how_many=5)
    saved = await audit_head(db)
    target = (await records(db))[2]
    seq, original = target.seq, _fields(target)
    # Columns changed, the hashed text left alone.
    await with_triggers_off(
        db, f"UPDATE staff_audit SET actor = 'someone.else@example.fi' WHERE seq = {seq}"
    )
    assert (await check_audit_chain(db))[1] == (
        f"record {seq}: its columns differ from the record that was hashed"
    )
    # Columns and hashed text changed together, its hash recomputed: the next record names it.
    forged = canonical({**original, "target": "event 999"})
    previous = (await records(db))[seq - 2].hash
    await with_triggers_off(
        db,
        (
            (
                "UPDATE staff_audit SET actor = :actor, target = 'event 999', record = :record,"
                " hash = :hash WHERE seq = :seq"
            ),
            {
                "actor": original["actor"],
                "record": forged,
                "hash": chain_hash(previous, forged),
                "seq": seq,
            },
        ),
    )
    assert (await check_audit_chain(db))[1] == (
        f"record {seq + 1}: the hash does not match the record and the previous hash"
    )
    # The whole chain after it recomputed as well: only the head written down earlier holds.
    previous = chain_hash(previous, forged)
    for later in (await records(db))[seq:]:
        previous = chain_hash(previous, later.record)
        await with_triggers_off(
            db, f"UPDATE staff_audit SET hash = '{previous}' WHERE seq = {later.seq}"
        )
    assert (await check_audit_chain(db))[1] is None
    problem = (await check_audit_chain(db, saved))[1]
    assert problem is not None
    assert f"record {saved[0]}: its hash differs from the saved head" in problem


def _fields(record: AuditRecord) -> dict:
    return {
        "seq": record.seq,
        "at": record.at.isoformat(),
        "actor": record.actor,
        "action": record.action,
        "target": record.target,
        "before": record.before,
        "after": record.after,
    }


# --- concurrent actions -------------------------------------------------------------------------


async def test_thirty_concurrent_actions_form_one_chain(client, db, database):
    staff = await make_user(db, Role.STAFF)
    poll = await make_poll(db)
    start = await count(db, AuditRecord)
    moment = dt.datetime(2027, 5, 1, 15, 0, tzinfo=dt.UTC)

    async def one(number: int) -> None:
        async with database.sessionmaker(info={"audit_actor": staff}) as session:
            if number % 3 == 0:
                data = EventInput(
                    title={"fi": f"Tapahtuma {number}"},
                    event_type=EventType.RESIDENT_EVENING,
                    starts_at=moment,
                    ends_at=moment + dt.timedelta(hours=2),
                    languages=["fi"],
                )
                await create_events(session, data, zone=HELSINKI)
            elif number % 3 == 1:
                await make_poll(session)
            else:
                mine = await session.get(Poll, poll.id)
                await create_kiosk(session, mine, f"Kioski {number}", None)

    await asyncio.gather(*(one(number) for number in range(30)))
    everything = await records(db)
    assert len(everything) == start + 30
    assert [r.seq for r in everything] == list(range(1, start + 31))
    assert await check_audit_chain(db) == (start + 30, None)
    assert sum(r.actor == staff.email for r in everything) == 30


async def test_thirty_concurrent_requests_form_one_chain(client, db):
    """The same over HTTP: 30 staff requests at once, each its own transaction."""
    await signed_in_as(client, db, Role.STAFF)
    start = await count(db, AuditRecord)

    async def one(number: int):
        return await client.post(
            "/staff/events/new", data=form(client, **event_fields(venue_fi=f"Sali {number}"))
        )

    responses = await asyncio.gather(*(one(number) for number in range(30)))
    assert [r.status_code for r in responses] == [303] * 30
    assert await count(db, Event) == 30
    # The three organisers typed in each form joined the register once, each with its record.
    assert await count(db, Organiser) == 3
    assert await check_audit_chain(db) == (start + 30 + 3, None)


# --- a change and its record are stored together or not at all -----------------------------------


FAIL_FUNCTION = """
CREATE OR REPLACE FUNCTION test_simulated_crash() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'simulated crash'; END; $$
"""


@pytest.fixture
async def crash_on(db):
    """Makes the database fail at one moment of a transaction, as a crash would; undone after."""
    made: list[str] = []

    async def plant(sql: str, name: str, table: str) -> None:
        await db.execute(text(FAIL_FUNCTION))
        await db.execute(text(sql))
        await db.commit()
        made.append(f"DROP TRIGGER IF EXISTS {name} ON {table}")

    yield plant
    await db.rollback()
    for statement in made:
        await db.execute(text(statement))
    await db.execute(text("DROP FUNCTION IF EXISTS test_simulated_crash()"))
    await db.commit()


async def test_a_crash_while_writing_the_record_leaves_no_change(client, db, crash_on):
    """Writing the record fails (disk full, a crash): the change it records is not stored
    either. On the old code the change had been committed already, unlogged."""
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "review", {kallio.id: 100_000})
    idea = await add_proposal(db, round_, kallio, "Benches", 10_000, status="submitted")
    before = await count(db, AuditRecord)
    await signed_in_as(client, db, Role.STAFF)
    await crash_on(
        "CREATE TRIGGER test_crash_audit BEFORE INSERT ON staff_audit"
        " FOR EACH ROW EXECUTE FUNCTION test_simulated_crash()",
        "test_crash_audit",
        "staff_audit",
    )
    response = await client.post(
        f"/staff/pb/{round_.id}/proposals/{idea.id}",
        data=form(client, action="accept", final_cost="9000"),
    )
    assert response.status_code == 500
    proposal = await db.get(Proposal, idea.id, populate_existing=True)
    assert proposal.status == "submitted"
    assert await count(db, AuditRecord) == before


async def test_a_crash_at_commit_leaves_neither_the_change_nor_its_record(client, db, crash_on):
    """The change's own transaction fails at its very end, after the record was written in it:
    neither is stored, so no record exists without its change."""
    await signed_in_as(client, db, Role.STAFF)
    event = await make_event(db)
    before = await count(db, AuditRecord)
    await crash_on(
        "CREATE CONSTRAINT TRIGGER test_crash_commit AFTER UPDATE ON event"
        " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_simulated_crash()",
        "test_crash_commit",
        "event",
    )
    response = await client.post(
        f"/staff/events/{event.id}",
        data=form(client, **event_fields(venue_fi="Muutettu paikka")),
    )
    assert response.status_code == 500
    assert (await db.get(Event, event.id, populate_existing=True)).venue["fi"] == "Kirjasto"
    assert await count(db, AuditRecord) == before


async def test_a_refused_change_leaves_no_record(client, db):
    """A domain refusal rolls the record back with the change."""
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "voting", {kallio.id: 100_000})
    idea = await add_proposal(db, round_, kallio, "Benches", 10_000, status="submitted")
    before = await count(db, AuditRecord)
    await signed_in_as(client, db, Role.STAFF)
    refused = await client.post(
        f"/staff/pb/{round_.id}/proposals/{idea.id}",
        data=form(client, action="accept", final_cost="9000"),
    )
    assert refused.status_code == 400
    assert await count(db, AuditRecord) == before
    assert await check_audit_chain(db) == (before, None)


# --- every kind of staff action leaves a record, with no secret in it ------------------------------


@dataclass
class Secrets:
    found: list[str]


Action = Callable[..., Awaitable[list[str]]]


async def event_create(client, db, secrets):
    response = await client.post("/staff/events/new", data=form(client, **event_fields()))
    assert response.status_code == 303, response.text
    return ["event.create"]


async def event_edit(client, db, secrets):
    event = await make_event(db)
    response = await client.post(
        f"/staff/events/{event.id}", data=form(client, **event_fields(venue_fi="Toinen sali"))
    )
    assert response.status_code == 303, response.text
    return ["event.edit"]


async def event_delete(client, db, secrets):
    event = await make_event(db)
    response = await client.post(f"/staff/events/{event.id}/delete", data=form(client))
    assert response.status_code == 303, response.text
    return ["event.delete"]


def questionnaire_fields(client, **changes):
    day = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).date().isoformat()
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=20)).date().isoformat()
    fields = {
        "opens_date": day,
        "opens_time": "16.00",
        "closes_date": later,
        "closes_time": "23.00",
        "instrument_id": "",
    }
    return form(client, **{**fields, **changes})


async def questionnaire_create(client, db, secrets):
    event = await make_event(db)
    response = await client.post(
        f"/staff/events/{event.id}/feedback", data=questionnaire_fields(client)
    )
    assert response.status_code == 303, response.text
    return ["questionnaire.create"]


async def questionnaire_open_and_close(client, db, secrets):
    questionnaire = await open_questionnaire(db, await make_event(db))
    sooner = (dt.datetime.now(dt.UTC) + dt.timedelta(days=5)).date().isoformat()
    response = await client.post(
        f"/staff/events/{questionnaire.event_id}/feedback",
        data=questionnaire_fields(client, closes_date=sooner, closes_time="08.00"),
    )
    assert response.status_code == 303, response.text
    return ["questionnaire.edit"]


async def questionnaire_questions(client, db, secrets):
    questionnaire = await open_questionnaire(db, await make_event(db))
    path = f"/staff/events/{questionnaire.event_id}/feedback/questions"
    added = await client.post(path, data=form(client, type="scale5", text_fi="Kuinka hyvä?"))
    assert added.status_code == 303, added.text
    await db.refresh(questionnaire)
    [extra] = questionnaire.extra_questions
    removed = await client.post(f"{path}/{extra['key']}/delete", data=form(client))
    assert removed.status_code == 303, removed.text
    return ["questionnaire.add_question", "questionnaire.remove_question"]


async def template_and_instrument_import(client, db, secrets):
    """Imported from the command line: recorded with "system" as the actor."""
    data = {**survey_services.standard_definition(), "key": "made_up", "version": 1}
    await survey_services.import_template(db, data)
    raw = (ROOT / "tests" / "data" / "made_up_instrument.json").read_bytes()
    await survey_services.import_instrument(db, raw)
    return ["template.import", "instrument.import"]


def poll_fields(client, **changes):
    return poll_form(client, **changes)


async def poll_create_edit_close(client, db, secrets):
    created = await client.post("/staff/polls/new", data=poll_fields(client))
    assert created.status_code == 303, created.text
    poll = await db.scalar(select(Poll).order_by(Poll.id.desc()))
    edited = await client.post(
        f"/staff/polls/{poll.id}/edit", data=poll_fields(client, q1_text_en="Which hour?")
    )
    assert edited.status_code == 303, edited.text
    closed = await client.post(f"/staff/polls/{poll.id}/close", data=form(client))
    assert closed.status_code == 303, closed.text
    return ["poll.create", "poll.edit", "poll.close"]


async def kiosk_create_and_revoke(client, db, secrets):
    poll = await make_poll(db)
    response = await client.post(
        f"/staff/polls/{poll.id}/kiosks", data=form(client, name="Sello", area_id="")
    )
    assert response.status_code == 200, response.text
    token = re.search(r"/kiosk\?t=([\w.-]+)", response.text).group(1)
    kiosk = await db.scalar(select(PollKiosk).order_by(PollKiosk.id.desc()))
    secrets.found += [token, token.split(".", 1)[1], kiosk.secret_hash]
    revoked = await client.post(
        f"/staff/polls/{poll.id}/kiosks/{kiosk.id}/revoke", data=form(client)
    )
    assert revoked.status_code == 303, revoked.text
    return ["kiosk.create", "kiosk.revoke"]


ONE_TIME = re.compile(r'class="one-time-password"><code>([^<]+)</code>')


async def user_create_role_and_reset(client, db, secrets):
    created = await client.post(
        "/staff/users/new",
        data=form(client, email="uusi@example.fi", display_name="Uusi Ihminen", role="staff"),
    )
    assert created.status_code == 201, created.text
    secrets.found.append(ONE_TIME.search(created.text).group(1))
    user = await db.scalar(select(User).where(User.email == "uusi@example.fi"))
    promoted = await client.post(
        f"/staff/users/{user.id}",
        data=form(client, display_name="Uusi Ihminen", role="admin", is_active="on"),
    )
    assert promoted.status_code == 303, promoted.text
    reset = await client.post(f"/staff/users/{user.id}/reset-password", data=form(client))
    assert reset.status_code in (200, 201), reset.text
    secrets.found.append(ONE_TIME.search(reset.text).group(1))
    await db.refresh(user)
    secrets.found.append(user.password_hash)
    return ["user.create", "user.edit", "user.reset_password"]


async def own_password_change(client, db, secrets):
    new = "an entirely new passphrase 42"
    response = await client.post(
        "/staff/password",
        data=form(client, current_password=PASSWORD, new_password=new, new_password_again=new),
    )
    assert response.status_code == 303, response.text
    secrets.found += [new, PASSWORD]
    return ["user.change_password"]


async def round_create_and_edit(client, db, secrets):
    kallio = await make_area(db, "Kallio")
    created = await client.post("/staff/pb/new", data=form(client, **round_fields([kallio])))
    assert created.status_code == 303, created.text
    round_id = int(created.headers["location"].rsplit("/", 1)[1])
    edited = await client.post(
        f"/staff/pb/{round_id}/edit",
        data=form(client, **round_fields([kallio], title_en="OmaStadi 2027, edited")),
    )
    assert edited.status_code == 303, edited.text
    return ["round.create", "round.save"]


async def roll_codes_and_review(client, db, secrets):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "review", {kallio.id: 100_000})
    idea = await add_proposal(db, round_, kallio, "Benches", 10_000, status="submitted")
    csv = "identifier;birth_date;area;reference\n131052-308T;1952-10-13;Kallio;L-1\n"
    roll = await client.post(
        f"/staff/pb/{round_.id}/roll",
        data=form(client),
        files={"file": ("census.csv", csv.encode(), "text/csv")},
    )
    assert roll.status_code == 200, roll.text
    codes = await client.post(f"/staff/pb/{round_.id}/codes", data=form(client, format="csv"))
    assert codes.status_code == 200, codes.text
    secrets.found += re.findall(r"[A-Z0-9]{4}(?:-[A-Z0-9]{4}){3,}", codes.text)
    secrets.found += list(await db.scalars(select(VotingCode.secret_hash)))
    secrets.found += ["131052-308T"]
    reviewed = await client.post(
        f"/staff/pb/{round_.id}/proposals/{idea.id}",
        data=form(client, action="accept", final_cost="9000"),
    )
    assert reviewed.status_code == 303, reviewed.text
    return ["roll.import", "codes.letters", "proposal.accept"]


async def area_create_edit_delete(client, db, secrets):
    fields = {"name_fi": "Uusi alue", "rows": "1", "year_0": "2024", "population_0": "1000"}
    created = await client.post("/staff/areas/new", data=form(client, **fields))
    assert created.status_code == 303, created.text
    area = await db.scalar(select(Area).order_by(Area.id.desc()))
    edited = await client.post(
        f"/staff/areas/{area.id}", data=form(client, **{**fields, "name_fi": "Uudempi alue"})
    )
    assert edited.status_code == 303, edited.text
    deleted = await client.post(f"/staff/areas/{area.id}/delete", data=form(client))
    assert deleted.status_code == 303, deleted.text
    return ["area.create", "area.edit", "area.delete"]


CASES: list[tuple[Role, Action]] = [
    (Role.STAFF, event_create),
    (Role.STAFF, event_edit),
    (Role.STAFF, event_delete),
    (Role.STAFF, questionnaire_create),
    (Role.STAFF, questionnaire_open_and_close),
    (Role.STAFF, questionnaire_questions),
    (Role.ADMIN, template_and_instrument_import),
    (Role.STAFF, poll_create_edit_close),
    (Role.STAFF, kiosk_create_and_revoke),
    (Role.ADMIN, user_create_role_and_reset),
    (Role.STAFF, own_password_change),
    (Role.ADMIN, round_create_and_edit),
    (Role.STAFF, roll_codes_and_review),
    (Role.ADMIN, area_create_edit_delete),
]


@pytest.mark.parametrize(("role", "action"), CASES, ids=[case.__name__ for _, case in CASES])
async def test_every_kind_of_staff_action_is_recorded_without_secrets(client, db, role, action):
    actor = await signed_in_as(client, db, role)
    start = await count(db, AuditRecord)
    secrets = Secrets(found=[])
    expected = await action(client, db, secrets)
    new = (await records(db))[start:]
    done_by_actor = [r.action for r in new if r.actor_id == actor.id]
    if action is template_and_instrument_import:
        done_by_actor = [r.action for r in new if r.actor == "system"]
    assert [a for a in done_by_actor if a in expected] == expected, [r.action for r in new]
    # Who, what, when, and before/after for changes.
    for record in new:
        assert record.at is not None
        assert record.target
        if record.action.endswith((".edit", ".save", ".close", ".accept")):
            assert record.before is not None
            assert record.after is not None
            assert record.before != record.after
    assert await check_audit_chain(db) == (start + len(new), None)
    # No secret in any record: one-time and new passwords, password hashes, kiosk tokens
    # and their hashes, voting codes and their hashes, personal identifiers.
    dump = await db.scalar(text("SELECT string_agg(t::text, ' ') FROM staff_audit t"))
    for secret in secrets.found:
        assert secret not in dump
    assert "$argon2" not in dump
    assert "password_hash" not in dump
    assert "secret" not in dump


async def test_an_admin_made_from_the_command_line_is_recorded_without_a_password(db, migrated):
    """No one is signed in at the command line: the record names "system"."""
    result = await asyncio.to_thread(
        run_tori,
        "create-admin",
        "paakayttaja@example.fi",
        "--name",
        "Pää Käyttäjä",
        database_url=migrated,
        SECRET_KEY=TEST_SECRET,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    password = result.stdout.strip().rsplit(": ", 1)[1]
    [record] = await records(db)
    assert (record.actor, record.action) == ("system", "user.create")
    assert record.after["role"] == "admin"
    admin = await db.scalar(select(User).where(User.email == "paakayttaja@example.fi"))
    for secret in (password, admin.password_hash):
        assert secret not in record.record
