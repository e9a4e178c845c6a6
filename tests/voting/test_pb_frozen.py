"""Nobody can steer a round once voting opens (issue 13, item 1), attacked over HTTP as staff and
as an administrator: every attempt is refused with a message in the reader's language, stores
nothing and writes no audit record; closing early and extending are an administrator's public,
recorded action that the bulletin board carries.

Only names that exist on the main branch before this work are imported at module level, so that
each test fails there for its own reason (a 303 where a refusal is due, a missing route, a board
without the voting times) rather than at import."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect, text

from app.accounts.models import Role
from app.database import utcnow
from tests.factories import make_area, signed_in_as
from tests.voting.factories import (
    add_proposal,
    adult_birth_date,
    make_round,
    move_to,
    put_on_roll,
)
from voting import publication, rounds
from voting.ballots import cast_ballot
from voting.forms import round_form

ZONE = ZoneInfo("Europe/Helsinki")
RULES_FIXED = "Voting has opened: the ballot rule, budgets, official rule, minimum age and voting times can no longer change."
BALLOT_FIXED = "The ballot is fixed once voting opens."
PUBLISHED = (
    "The results of this round have been published: nothing they were counted from can change."
)


def form(client, **fields):
    return {"_csrf_token": client.cookies["tori_csrf"], **fields}


def shown(response) -> str:
    return response.text.replace("&#39;", "'").replace("&#x27;", "'")


async def voting_round(db, phase: str = "voting"):
    """A round in voting with two proposals on the ballot, one waiting idea and one ballot cast
    (for the park), then moved to `phase`."""
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "voting", {kallio.id: 100_000, None: 50_000})
    park = await add_proposal(db, round_, kallio, "Park", 30_000)
    benches = await add_proposal(db, round_, kallio, "Benches", 10_000)
    idea = await add_proposal(db, round_, kallio, "Fountain", 5_000, status="submitted")
    await put_on_roll(
        db,
        round_,
        [("131052-308T", adult_birth_date(), kallio), ("010203A123B", adult_birth_date(), kallio)],
    )
    voter = await db.scalar(text("SELECT id FROM voter_roll ORDER BY id LIMIT 1"))
    await cast_ballot(db, round_, voter, "online", {park.id: 1})
    if phase != "voting":
        await move_to(db, round_, phase)
    return round_, kallio, {"park": park, "benches": benches, "idea": idea}


async def stored(db) -> dict:
    """Everything a steering attempt could change, read straight from the tables."""
    tables = {}
    for table in ("pb_round", "pb_budget", "pb_proposal"):
        tables[table] = list(
            await db.scalars(text(f"SELECT row_to_json(t)::text FROM {table} t ORDER BY id"))
        )
    tables["staff_audit"] = await db.scalar(text("SELECT count(*) FROM staff_audit"))
    return tables


def round_fields(round_, **changes) -> dict:
    """The edit form as the browser sends it back, with `changes`."""
    fields = {name: values[0] for name, values in round_form(round_, ZONE).data.items()}
    fields.update({k: str(v) for k, v in changes.items()})
    return fields


def local(moment: dt.datetime) -> tuple[str, str]:
    moment = moment.astimezone(ZONE)
    return moment.date().isoformat(), moment.strftime("%H.%M")


def round_attempts(round_, kallio) -> dict[str, dict]:
    """Each way of steering a round through its edit form (dates kept in the phases' order)."""
    now = utcnow()
    opens = local(min(now + dt.timedelta(hours=2), round_.voting_close_at - dt.timedelta(hours=1)))
    closes = local(
        now + dt.timedelta(hours=1)
        if round_.voting_close_at > now
        else round_.voting_close_at - dt.timedelta(hours=1)
    )
    return {
        "open later": {"voting_open_date": opens[0], "voting_open_time": opens[1]},
        "close earlier": {"voting_close_date": closes[0], "voting_close_time": closes[1]},
        "ballot rule": {"ballot_rule": "k_approval", "max_choices": "1"},
        "official rule": {"official_rule": "mes_cost"},
        "minimum age": {"min_age": "18"},
        "budget amount": {f"budget_{kallio.id}": "20000"},
        "budget removed": {"budget_city": ""},
    }


async def test_staff_cannot_steer_a_round_through_its_form_once_ballots_are_cast(client, db):
    round_, kallio, _ = await voting_round(db)
    await signed_in_as(client, db, Role.STAFF)
    before = await stored(db)
    for name, changes in round_attempts(round_, kallio).items():
        response = await client.post(
            f"/staff/pb/{round_.id}/edit", data=form(client, **round_fields(round_, **changes))
        )
        assert response.status_code == 400, (name, response.status_code)
        assert RULES_FIXED in shown(response), name
        assert await stored(db) == before, name


async def test_a_balloted_proposal_cannot_be_rejected_merged_or_re_costed(client, db):
    round_, _kallio, p = await voting_round(db)
    await signed_in_as(client, db, Role.STAFF)
    base = f"/staff/pb/{round_.id}/proposals"
    before = await stored(db)
    attempts = [
        (p["park"], {"action": "reject", "reason_en": "Too popular"}),
        (p["park"], {"action": "merge", "merge_into": str(p["benches"].id)}),
        (p["benches"], {"action": "merge", "merge_into": str(p["park"].id)}),
        (p["park"], {"action": "accept", "final_cost": "99000"}),
        (p["idea"], {"action": "accept", "final_cost": "5000"}),
    ]
    for proposal, fields in attempts:
        response = await client.post(f"{base}/{proposal.id}", data=form(client, **fields))
        assert response.status_code == 400, fields
        assert BALLOT_FIXED in shown(response), fields
        assert await stored(db) == before, fields
    page = await client.get(f"{base}/{p['park'].id}")
    assert 'value="reject"' not in page.text
    assert "is on the ballot, which is fixed" in page.text


async def test_a_roll_mark_freezes_the_rules_before_the_opening_time(client, db):
    """A ballot can exist before the ballot table holds it (waiting to be mixed into the log) or
    before the opening time (an import): the roll says that someone voted."""
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "review", {kallio.id: 100_000})
    park = await add_proposal(db, round_, kallio, "Park", 30_000)
    await put_on_roll(db, round_, [("131052-308T", adult_birth_date(), kallio)])
    await signed_in_as(client, db, Role.STAFF)
    await db.execute(text("UPDATE voter_roll SET voted_via = 'paper'"))
    await db.commit()
    before = await stored(db)
    response = await client.post(
        f"/staff/pb/{round_.id}/edit",
        data=form(client, **round_fields(round_, official_rule="mes_cost")),
    )
    assert response.status_code == 400
    assert RULES_FIXED in shown(response)
    rejected = await client.post(
        f"/staff/pb/{round_.id}/proposals/{park.id}",
        data=form(client, action="reject", reason_en="No"),
    )
    assert rejected.status_code == 400
    assert BALLOT_FIXED in shown(rejected)
    assert await stored(db) == before
    # With nobody marked on the roll the same changes are allowed, and recorded.
    await db.execute(text("UPDATE voter_roll SET voted_via = NULL"))
    await db.commit()
    response = await client.post(
        f"/staff/pb/{round_.id}/edit",
        data=form(client, **round_fields(round_, official_rule="mes_cost")),
    )
    assert response.status_code == 303
    assert await db.scalar(text("SELECT official_rule FROM pb_round")) == "mes_cost"
    assert await db.scalar(text("SELECT count(*) FROM staff_audit")) == before["staff_audit"] + 1


async def test_texts_can_still_be_corrected_during_voting_and_are_audited(client, db):
    round_, _kallio, _ = await voting_round(db)
    await signed_in_as(client, db, Role.STAFF)
    before = await stored(db)
    response = await client.post(
        f"/staff/pb/{round_.id}/edit",
        data=form(client, **round_fields(round_, title_en="Participatory budget 2027")),
    )
    assert response.status_code == 303, response.text
    after = await stored(db)
    assert after["pb_budget"] == before["pb_budget"]
    assert after["pb_proposal"] == before["pb_proposal"]
    assert after["staff_audit"] == before["staff_audit"] + 1
    title = await db.scalar(text("SELECT title->>'en' FROM pb_round"))
    assert title == "Participatory budget 2027"
    # The stored times (to the second) were sent back as minutes and kept unchanged.
    assert await db.scalar(text("SELECT voting_open_at FROM pb_round")) == round_.voting_open_at


async def test_a_refused_budget_change_answers_with_the_form_not_a_server_error(client, db):
    round_, kallio, _ = await voting_round(db)
    await signed_in_as(client, db, Role.STAFF)
    response = await client.post(
        f"/staff/pb/{round_.id}/edit",
        data=form(client, **round_fields(round_, **{f"budget_{kallio.id}": "1"})),
    )
    assert response.status_code == 400
    assert 'name="title_en"' in response.text


async def test_an_edit_racing_the_opening_time_is_refused(client, db, monkeypatch):
    """The form was loaded in the review phase; voting opens before it is sent."""
    round_, _kallio, _ = await voting_round(db, "review")
    await db.execute(text("UPDATE voter_roll SET voted_via = NULL"))
    await db.commit()
    await signed_in_as(client, db, Role.STAFF)
    page = await client.get(f"/staff/pb/{round_.id}/edit")
    assert page.status_code == 200
    fields = round_fields(round_, official_rule="mes_cost")
    opened = round_.voting_open_at + dt.timedelta(seconds=1)
    monkeypatch.setattr(rounds, "utcnow", lambda: opened)
    before = await stored(db)
    response = await client.post(f"/staff/pb/{round_.id}/edit", data=form(client, **fields))
    assert response.status_code == 400
    assert RULES_FIXED in shown(response)
    assert await stored(db) == before
    # Also just before the opening: the rules freeze a minute ahead, so a change checked before
    # the opening cannot commit after a ballot was cast at the opening.
    monkeypatch.setattr(rounds, "utcnow", lambda: opened - dt.timedelta(seconds=30))
    response = await client.post(f"/staff/pb/{round_.id}/edit", data=form(client, **fields))
    assert response.status_code == 400
    assert await stored(db) == before


@pytest.mark.parametrize("role", [Role.STAFF, Role.ADMIN])
async def test_after_close_the_official_rule_and_the_ballot_stay_fixed(client, db, role):
    round_, _kallio, p = await voting_round(db, "counting")
    await signed_in_as(client, db, role)
    before = await stored(db)
    response = await client.post(
        f"/staff/pb/{round_.id}/edit",
        data=form(client, **round_fields(round_, official_rule="mes_cardinality")),
    )
    assert response.status_code == 400
    assert RULES_FIXED in shown(response)
    rejected = await client.post(
        f"/staff/pb/{round_.id}/proposals/{p['park'].id}",
        data=form(client, action="reject", reason_en="Changed our minds"),
    )
    assert rejected.status_code == 400
    assert await stored(db) == before


async def publish_as_admin(client, db, round_):
    await signed_in_as(client, db, Role.ADMIN)
    published = await client.post(f"/staff/pb/{round_.id}/publish", data=form(client))
    assert published.status_code == 303, published.text


async def test_after_publication_nothing_the_board_contains_can_change(client, db):
    round_, kallio, p = await voting_round(db, "results")
    await publish_as_admin(client, db, round_)
    before = await stored(db)
    attempts = {
        **round_attempts(round_, kallio),
        "official rule again": {"official_rule": "mes_cardinality"},
        "title": {"title_en": "Another round"},
    }
    for name, changes in attempts.items():
        response = await client.post(
            f"/staff/pb/{round_.id}/edit", data=form(client, **round_fields(round_, **changes))
        )
        assert response.status_code == 400, name
        assert PUBLISHED in shown(response) or RULES_FIXED in shown(response), name
    for fields in (
        {"action": "reject", "reason_en": "No"},
        {"action": "accept", "final_cost": "1"},
    ):
        response = await client.post(
            f"/staff/pb/{round_.id}/proposals/{p['park'].id}", data=form(client, **fields)
        )
        assert response.status_code == 400
        assert PUBLISHED in shown(response)
    assert await stored(db) == before
    # How carrying out a project goes is not part of the count: it can still be followed.
    done = await client.post(
        f"/staff/pb/{round_.id}/proposals/{p['park'].id}",
        data=form(client, action="implementation", implementation="planned"),
    )
    assert done.status_code == 303


async def test_staff_cannot_close_early_or_extend(client, db):
    round_, _kallio, _ = await voting_round(db)
    await signed_in_as(client, db, Role.STAFF)
    before = await stored(db)
    day, time = local(utcnow() + dt.timedelta(days=1))
    refused = await client.post(
        f"/staff/pb/{round_.id}/voting-close",
        data=form(client, close_date=day, close_time=time, close_reason_en="Lunch"),
    )
    assert refused.status_code == 403
    assert await stored(db) == before
    assert (
        "Close voting early or extend it" not in (await client.get(f"/staff/pb/{round_.id}")).text
    )


async def changes_of(db) -> list:
    return list(
        (
            await db.execute(
                text(
                    "SELECT kind, from_at, to_at, reason, changed_by FROM pb_round_change ORDER BY id"
                )
            )
        ).all()
    )


async def test_an_admin_extends_voting_with_a_public_reason(client, db):
    round_, _kallio, _ = await voting_round(db)
    admin = await signed_in_as(client, db, Role.ADMIN)
    old_close = round_.voting_close_at
    page = await client.get(f"/staff/pb/{round_.id}")
    assert "Close voting early or extend it" in page.text
    new_close = (old_close + dt.timedelta(days=2)).replace(second=0)
    day, time = local(new_close)
    before = await stored(db)
    no_reason = await client.post(
        f"/staff/pb/{round_.id}/voting-close",
        data=form(client, close_date=day, close_time=time),
    )
    assert no_reason.status_code == 400
    assert "Give this in at least one language." in shown(no_reason)
    assert await stored(db) == before
    assert await changes_of(db) == []

    extended = await client.post(
        f"/staff/pb/{round_.id}/voting-close",
        data=form(
            client,
            close_date=day,
            close_time=time,
            close_reason_fi="Tietoliikennehäiriö",
            close_reason_en="A network outage",
        ),
    )
    assert extended.status_code == 303, extended.text
    [(kind, from_at, to_at, reason, by)] = await changes_of(db)
    assert (kind, from_at, to_at, by) == ("extend", old_close, new_close, admin.id)
    assert reason == {"fi": "Tietoliikennehäiriö", "en": "A network outage"}
    assert await db.scalar(text("SELECT voting_close_at FROM pb_round")) == new_close
    action = await db.scalar(text("SELECT action FROM staff_audit ORDER BY seq DESC LIMIT 1"))
    assert action == "round.extend"

    public = await client.get(f"/pb/{round_.slug}?lang=en")
    assert "Voting extended" in public.text
    assert "A network outage" in public.text
    assert admin.email not in public.text

    await db.refresh(round_)
    definition = await publication.definition_of(db, round_)
    assert definition["voting_close_at"] == new_close.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert definition["voting_open_at"] == round_.voting_open_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert definition["changes"] == [
        {
            "at": definition["changes"][0]["at"],
            "kind": "extend",
            "from": old_close.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "to": new_close.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "reason": {"fi": "Tietoliikennehäiriö", "en": "A network outage"},
        }
    ]


async def test_an_admin_closes_voting_early_and_late_ballots_are_refused(client, db):
    round_, _kallio, _ = await voting_round(db)
    await signed_in_as(client, db, Role.ADMIN)
    past = local(utcnow() - dt.timedelta(hours=2))
    in_the_past = await client.post(
        f"/staff/pb/{round_.id}/voting-close",
        data=form(client, close_date=past[0], close_time=past[1], close_reason_en="Oops"),
    )
    assert in_the_past.status_code == 400
    assert "Voting can be closed now or later, not in the past." in shown(in_the_past)
    assert await changes_of(db) == []
    now = local(utcnow())
    closed = await client.post(
        f"/staff/pb/{round_.id}/voting-close",
        data=form(client, close_date=now[0], close_time=now[1], close_reason_en="Fraud found"),
    )
    assert closed.status_code == 303, closed.text
    # The round page confirms it, although the closing-time form is gone with the phase.
    confirmed = await client.get(closed.headers["location"] + "&lang=en")
    assert "Close voting early or extend it" not in confirmed.text
    assert '<p class="notice notice-success" role="status">Saved.</p>' in confirmed.text
    [(kind, *_rest)] = await changes_of(db)
    assert kind == "close_early"
    assert await db.scalar(text("SELECT voting_close_at <= clock_timestamp() FROM pb_round"))
    late = await db.scalar(text("SELECT id FROM voter_roll WHERE voted_via IS NULL"))
    slug, round_id = round_.slug, round_.id
    with pytest.raises(Exception, match="not open"):
        await cast_ballot(db, round_, late, "online", {})
    assert "Voting closed early" in (await client.get(f"/pb/{slug}?lang=en")).text
    # Closed: neither extending nor closing again.
    day, time = local(utcnow() + dt.timedelta(days=1))
    again = await client.post(
        f"/staff/pb/{round_id}/voting-close",
        data=form(client, close_date=day, close_time=time, close_reason_en="Reopen"),
    )
    assert again.status_code == 400
    assert "Voting has closed" in shown(again)
    assert len(await changes_of(db)) == 1


async def test_voting_times_cannot_change_after_publication(client, db):
    round_, _kallio, _ = await voting_round(db, "results")
    await publish_as_admin(client, db, round_)
    before = await stored(db)
    day, time = local(utcnow() + dt.timedelta(days=1))
    response = await client.post(
        f"/staff/pb/{round_.id}/voting-close",
        data=form(client, close_date=day, close_time=time, close_reason_en="More votes"),
    )
    assert response.status_code == 400
    assert PUBLISHED in shown(response)
    assert await stored(db) == before


async def test_concurrent_extensions_form_one_chain(db, database):
    """Two administrators extend at once: the row lock makes the second start from the first's
    new time, so the public record is one unbroken chain of changes."""
    round_, _kallio, _ = await voting_round(db)
    first = round_.voting_close_at

    async def extend(days: int) -> None:
        async with database.sessionmaker() as session:
            own = await rounds.get_round(session, round_.id)
            await rounds.change_voting_close(
                session, own, first + dt.timedelta(days=days), {"en": f"+{days}"}, None
            )

    await asyncio.gather(extend(1), extend(2))
    changes = await changes_of(db)
    assert len(changes) == 2
    assert changes[0][1] == first
    assert changes[1][1] == changes[0][2]
    assert await db.scalar(text("SELECT voting_close_at FROM pb_round")) == changes[1][2]


async def test_the_services_refuse_without_any_form(db):
    """The rules are kept by the services, so a command, a script or a second tab that calls
    them directly is refused the same way."""
    from app.errors import DomainError
    from tests.voting.factories import draft_in_phase

    round_, kallio, p = await voting_round(db)
    before = await stored(db)
    draft = draft_in_phase("voting", {kallio.id: 100_000, None: 50_000}, official_rule="mes_cost")
    draft.voting_open_at, draft.voting_close_at = round_.voting_open_at, round_.voting_close_at
    with pytest.raises(DomainError, match="Voting has opened"):
        await rounds.update_round(db, round_, draft)
    park_id = inspect(p["park"]).identity[0]
    for attempt in (
        lambda: rounds.accept_proposal(db, p["idea"], 5_000),
        lambda: rounds.reject_proposal(db, p["park"], {"en": "No"}),
        lambda: rounds.merge_proposal(db, p["benches"], park_id),
    ):
        with pytest.raises(DomainError, match="fixed once voting opens"):
            await attempt()
    assert await stored(db) == before


async def test_the_board_of_a_round_closed_early_is_valid(db):
    """A round whose voting was closed early, with the public reason in two languages, publishes
    a board that the audit and tori-verify's checks find valid. The board writes the reason per
    language, like the title; the checks once wanted a single text, so every round with a
    change of its voting time was published as "not valid"."""
    import io

    from app.settings import Settings
    from tests.conftest import TEST_SECRET
    from voting import published
    from voting.tally.board import check_board
    from voting.verify import signature_checker

    seed = Settings(secret_key=TEST_SECRET).signing_seed
    round_, _kallio, _ = await voting_round(db)
    reason = {"fi": "Äänestys päättyi", "en": "Voting ended"}
    await rounds.change_voting_close(db, round_, utcnow(), reason, None)
    round_ = await rounds.get_round(db, round_.id)
    stored = await publication.publish(db, round_, seed, None)
    verdict = await publication.audit_round(db, round_, seed)
    assert verdict.valid, verdict.problems
    board = await published.board_bytes(db, stored.id)
    assert json.loads(board.split(b"\n", 1)[0])["changes"][0]["reason"] == reason
    checked = check_board(io.BytesIO(board), [], [], signature_checker({}))
    assert checked.valid, checked.problems
