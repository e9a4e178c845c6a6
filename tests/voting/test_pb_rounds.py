"""Participatory budgeting on PostgreSQL: staff set up rounds, residents propose, staff review,
the voter roll is imported, codes are issued, and rounds go out and come in as pabulib files."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select, text

from app.accounts.models import Role
from app.mail import OutboxMessage
from app.security import new_form_token
from app.settings import Settings
from tests.commands import run_tori
from tests.conftest import TEST_SECRET
from tests.factories import make_area, signed_in_as
from tests.voting.factories import (
    ROLL_KEY,
    add_proposal,
    adult_birth_date,
    make_round,
    move_to,
    put_on_roll,
    sign_in_to_vote,
)
from tests.voting.test_resident_confirmation import open_and_confirm
from voting.ballots import cast_ballot
from voting.models import (
    Ballot,
    Budget,
    PendingBallot,
    Proposal,
    Resident,
    RollEntry,
    Round,
    VotingCode,
)
from voting.publication import publish
from voting.roll import age_on, parse_roll, person_hash
from voting.tally.board import check_log


def form(client, **fields):
    return {"_csrf_token": client.cookies["tori_csrf"], **fields}


async def count(db, model) -> int:
    return await db.scalar(select(func.count()).select_from(model))


# --- eligibility -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "day", "age"),
    [
        (dt.date(2014, 6, 10), dt.date(2026, 6, 9), 11),  # the day before the birthday
        (dt.date(2014, 6, 10), dt.date(2026, 6, 10), 12),  # the birthday
        (dt.date(2012, 2, 29), dt.date(2024, 2, 28), 11),  # leap year: the birthday exists
        (dt.date(2012, 2, 29), dt.date(2024, 2, 29), 12),
        (dt.date(2012, 2, 29), dt.date(2025, 2, 27), 12),  # non-leap year: 28 Feb counts
        (dt.date(2013, 2, 28), dt.date(2025, 2, 27), 11),
        (dt.date(2013, 2, 28), dt.date(2025, 2, 28), 12),
        (dt.date(2014, 2, 28), dt.date(2026, 2, 28), 12),
        (dt.date(2014, 3, 1), dt.date(2026, 2, 28), 11),
    ],
)
def test_age_on_the_voting_day(born, day, age):
    assert age_on(born, day) == age


def test_a_leap_day_birth_turns_a_year_older_on_28_february():
    born = dt.date(2012, 2, 29)
    assert age_on(born, dt.date(2026, 2, 27)) == 13
    assert age_on(born, dt.date(2026, 2, 28)) == 14


# --- the voter roll --------------------------------------------------------------------------


async def test_roll_import_stores_keyed_hashes_never_identifiers(client, db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "review", {kallio.id: 1000})
    await signed_in_as(client, db, Role.STAFF)
    csv = "identifier;birth_date;area;reference\n131052-308T;1952-10-13;Kallio;L-1\n010203a123b;2003-02-01;kallio;\n"
    response = await client.post(
        f"/staff/pb/{round_.id}/roll",
        data={"_csrf_token": client.cookies["tori_csrf"]},
        files={"file": ("census.csv", csv.encode(), "text/csv")},
    )
    assert response.status_code == 200, response.text
    assert "Voter roll imported: 2 added, 0 updated, 0 removed" in response.text
    entries = (await db.scalars(select(RollEntry).order_by(RollEntry.id))).all()
    assert [e.person_hash for e in entries] == [
        person_hash(ROLL_KEY, "131052-308T"),
        person_hash(ROLL_KEY, "010203A123B"),
    ]
    assert entries[0].reference == "L-1"
    assert entries[1].reference is None
    # No table anywhere holds the identifier in clear.
    dump = await db.scalar(text("SELECT string_agg(t::text, ' ') FROM voter_roll t"))
    assert "131052" not in dump
    assert "010203" not in dump.upper()


async def test_a_file_with_bad_rows_names_every_line_and_imports_nothing(client, db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "review", {kallio.id: 1000})
    await signed_in_as(client, db, Role.STAFF)
    csv = (
        "131052-308T,1952-10-13,Kallio\n"
        "bad id!,1952-10-13,Kallio\n"
        "010203A123B,13.10.1952,Kallio\n"
        "010203A123C,1952-10-13,Atlantis\n"
        "131052-308t,1952-10-13,Kallio\n"
        "020202A222B,1952-10-13\n"
        "030303A333C,2999-01-01,Kallio\n"
    )
    response = await client.post(
        f"/staff/pb/{round_.id}/roll",
        data={"_csrf_token": client.cookies["tori_csrf"]},
        files={"file": ("census.csv", csv.encode(), "text/csv")},
    )
    assert response.status_code == 400
    for line, message in [
        (2, "The identifier must be 4–32 letters"),
        (3, "The birth date must be a date as year-month-day"),
        (4, "Unknown area: Atlantis"),
        (5, "The same person is already on line 1."),
        (6, "Expected 3 or 4 columns"),
        (7, "The birth date is not possible."),
    ]:
        assert (
            re.search(
                rf"Line {line}</?\w*>?: {re.escape(message)}", response.text.replace("&#39;", "'")
            )
            or f"Line {line}: {message}" in response.text
        ), (line, message)
    assert "Line 1:" not in response.text
    assert await count(db, RollEntry) == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file has no rows."),
        (b"\xff\xfe1\x00,\x00", "The file is not UTF-8 text."),
        (b'"unclosed,1952-10-13,Kallio\n', "Expected 3 or 4 columns"),
    ],
)
async def test_empty_and_malformed_roll_files_are_refused(client, db, data, message):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "review", {kallio.id: 1000})
    await signed_in_as(client, db, Role.STAFF)
    response = await client.post(
        f"/staff/pb/{round_.id}/roll",
        data={"_csrf_token": client.cookies["tori_csrf"]},
        files={"file": ("census.csv", data, "text/csv")},
    )
    assert response.status_code == 400
    assert message in response.text
    assert await count(db, RollEntry) == 0


async def test_re_import_updates_and_removes_only_those_who_have_not_voted(db):
    kallio, vallila = await make_area(db, "Kallio"), await make_area(db, "Vallila")
    round_ = await make_round(db, "voting", {kallio.id: 1000, vallila.id: 1000})
    await put_on_roll(
        db,
        round_,
        [
            ("AAAA1111", adult_birth_date(), kallio),
            ("BBBB2222", adult_birth_date(), kallio),
            ("CCCC3333", adult_birth_date(), kallio),
        ],
    )
    voted = await db.scalar(
        select(RollEntry).where(RollEntry.person_hash == person_hash(ROLL_KEY, "CCCC3333"))
    )
    await cast_ballot(db, round_, voted.id, "online", {})
    parsed = parse_roll(
        b"AAAA1111,1980-05-17,Vallila\nDDDD4444,1999-01-01,Kallio\n", [kallio, vallila], ROLL_KEY
    )
    from voting.roll import import_roll

    summary = await import_roll(db, round_, parsed.rows)
    assert (summary.added, summary.updated, summary.removed, summary.kept_voted) == (1, 1, 1, 1)
    moved = await db.scalar(
        select(RollEntry).where(RollEntry.person_hash == person_hash(ROLL_KEY, "AAAA1111"))
    )
    await db.refresh(moved)
    assert moved.area_id == vallila.id
    assert await count(db, RollEntry) == 3  # A (moved), D (new), C (voted, kept)


def test_a_large_roll_is_read_with_line_numbers_in_one_pass():
    from types import SimpleNamespace

    area = SimpleNamespace(id=1, slug="kallio", name={"fi": "Kallio"})
    rows = "".join(f"P{n:08d},1980-01-01,Kallio\n" for n in range(50_000))
    parsed = parse_roll(rows.encode(), [area], ROLL_KEY)
    assert not parsed.errors
    assert len(parsed.rows) == 50_000
    broken = parse_roll((rows + "P1,1980-01-01,Kallio\n").encode(), [area], ROLL_KEY)
    assert broken.rows == []
    assert broken.errors[0][0] == 50_001


async def test_the_roll_and_codes_commands_show_progress_and_refuse_bad_files(
    db, settings, tmp_path
):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "review", {kallio.id: 1000})
    env = {"DATABASE_URL": settings.database_url, "SECRET_KEY": TEST_SECRET}
    good = tmp_path / "census.csv"
    good.write_text("".join(f"P{n:06d},1980-01-01,Kallio,ref{n}\n" for n in range(3000)))
    result = run_tori("voter-roll", round_.slug, str(good), env=env)
    assert result.returncode == 0, result.stderr
    assert "Stored: 3,000 / 3,000" in result.stderr
    assert "3000 added" in result.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("P0000001,1980-01-01,Kallio\nP0000002,1980-02-30,Kallio\n")
    result = run_tori("voter-roll", round_.slug, str(bad), env=env)
    assert result.returncode == 2
    assert f"{bad}:2: The birth date must be a date" in result.stderr
    assert "Nothing was imported." in result.stderr
    assert run_tori("voter-roll", "nosuch", str(good), env=env).returncode == 2

    out = tmp_path / "codes.csv"
    for wrong in ("tori.example.fi", "https://tori.example.fi/?x=<b>", ""):
        result = run_tori("voting-codes", round_.slug, str(out), "--base-url", wrong, env=env)
        assert result.returncode == 2, result.stdout
        assert "--base-url" in result.stderr
        assert not out.exists()
    assert await count(db, VotingCode) == 0
    base = "https://tori.example.fi"
    result = run_tori("voting-codes", round_.slug, str(out), "--base-url", base, env=env)
    assert result.returncode == 0, result.stderr
    lines = out.read_text().splitlines()
    assert len(lines) == 3001
    assert lines[0] == "Reference,Area,Voting code,QR code address"
    found = re.fullmatch(
        r"ref\d+,Kallio,(([A-Z2-9]{4})-([A-Z2-9]{4})-[A-Z2-9-]{14}),(.*)", lines[1]
    )
    assert found, lines[1]
    public = f"{found[2]}-{found[3]}"
    assert found[4] == f"{base}/pb/{round_.slug}/vote?code={public}"
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    assert await count(db, VotingCode) == 3000
    # A second run makes codes only for those without one, and never overwrites a file.
    assert run_tori("voting-codes", round_.slug, str(out), env=env).returncode == 2


# --- staff: rounds ---------------------------------------------------------------------------


def round_fields(areas, **changes):
    fields = {
        "title_fi": "Omastadi 2027",
        "title_en": "OmaStadi 2027",
        "ideas_open_date": "2027-01-10",
        "ideas_open_time": "09.00",
        "review_date": "2027-02-10",
        "review_time": "09.00",
        "voting_open_date": "2027-03-10",
        "voting_open_time": "09.00",
        "voting_close_date": "2027-03-24",
        "voting_close_time": "20.00",
        "results_date": "2027-03-31",
        "results_time": "12.00",
        "min_age": "12",
        "ballot_rule": "approval",
        "official_rule": "mes_cost",
        f"budget_{areas[0].id}": "1 000 000",
        "budget_city": "2000000",
    }
    fields.update(changes)
    return fields


async def test_staff_create_a_round_with_phases_budgets_and_rules(client, db):
    kallio = await make_area(db, "Kallio")
    await signed_in_as(client, db, Role.STAFF)
    response = await client.post("/staff/pb/new", data=form(client, **round_fields([kallio])))
    assert response.status_code == 303, response.text
    round_ = await db.scalar(select(Round))
    assert round_.official_rule == "mes_cost"
    assert round_.min_age == 12
    budgets = {b.area_id: b.amount for b in (await db.scalars(select(Budget))).all()}
    assert budgets == {kallio.id: 1_000_000, None: 2_000_000}
    assert round_.voting_open_at == dt.datetime(2027, 3, 10, 7, 0, tzinfo=dt.UTC)
    public = await client.get(f"/pb/{round_.slug}")
    assert "OmaStadi 2027" in public.text
    assert "1\xa0000\xa0000\xa0€" in public.text


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title_fi": "", "title_en": ""}, "title_fi"),
        ({"title_fi": "x" * 201}, "title_fi"),
        ({"title_fi": "a\x00b"}, "title_fi"),
        ({"voting_close_date": "2027-03-01"}, "form"),
        ({"voting_open_date": "not a date"}, "voting_open_date"),
        ({"min_age": "-1"}, "min_age"),
        ({"ballot_rule": "ranked"}, "ballot_rule"),
        ({"ballot_rule": "k_approval"}, "max_choices"),
        ({"ballot_rule": "points", "points_total": "10"}, "points_per_proposal"),
        ({"official_rule": "dictator"}, "official_rule"),
        ({"budget_city": "", "budget_1": ""}, "budget_city"),
        ({"budget_city": "12e9"}, "budget_city"),
    ],
)
async def test_bad_round_forms_are_refused_and_store_nothing(client, db, changes, field):
    kallio = await make_area(db, "Kallio")
    fields = round_fields([kallio], **changes)
    if "budget_1" in changes:
        fields[f"budget_{kallio.id}"] = ""
    await signed_in_as(client, db, Role.STAFF)
    response = await client.post("/staff/pb/new", data=form(client, **fields))
    assert response.status_code == 400
    assert f'href="#field-{field}"' in response.text or (
        field == "form" and "error-summary" in response.text
    )
    assert await count(db, Round) == 0


async def test_staff_pages_are_guarded(client, db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "review", {kallio.id: 1000})
    anonymous = await client.get(f"/staff/pb/{round_.id}")
    assert anonymous.status_code in (302, 303)
    assert "/staff/login" in anonymous.headers["location"]
    await signed_in_as(client, db, Role.AUDITOR)
    assert (await client.get(f"/staff/pb/{round_.id}")).status_code == 200
    refused = await client.post("/staff/pb/new", data=form(client, **round_fields([kallio])))
    assert refused.status_code == 403
    refused = await client.post(f"/staff/pb/{round_.id}/codes", data=form(client, format="csv"))
    assert refused.status_code == 403
    assert await count(db, Round) == 1
    assert await count(db, VotingCode) == 0


# --- residents' accounts and proposals -------------------------------------------------------


async def register_and_sign_in(client, db, email="asukas@example.fi", lang="en"):
    await client.get(f"/account/register?lang={lang}")
    response = await client.post(
        "/account/register",
        data=form(
            client,
            display_name="Asukas",
            email=email,
            password="long enough secret",
            password_again="long enough secret",
        ),
    )
    assert response.status_code == 200
    # The link is in the message written to the outbox with the account (app/mail).
    mailed = await db.scalar(select(OutboxMessage).where(OutboxMessage.recipient == email))
    link = re.search(r"(/account/confirm\?t=\S+)", mailed.context["link"]).group(1)
    unconfirmed = await client.post(
        "/account/sign-in", data=form(client, email=email, password="long enough secret")
    )
    assert unconfirmed.status_code == 400
    assert "Confirm your e-mail address first" in unconfirmed.text
    confirmed = await open_and_confirm(client, link.split("&next=")[0])
    assert confirmed.status_code == 200
    assert "is confirmed" in confirmed.text
    signed = await client.post(
        "/account/sign-in",
        data=form(client, email=email, password="long enough secret", next="/pb"),
    )
    assert signed.status_code == 303
    return signed


async def test_a_resident_registers_confirms_and_sends_an_idea(client, db, caplog):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 100_000, None: 500_000})
    need_account = await client.get(f"/pb/{round_.slug}/propose")
    assert need_account.status_code == 303
    assert need_account.headers["location"].startswith("/account/sign-in")
    await register_and_sign_in(client, db)
    assert "long enough secret" not in caplog.text
    page = await client.get(f"/pb/{round_.slug}/propose")
    assert page.status_code == 200
    # Every field the idea needs says so (the description lacked the mark; found on a tour).
    assert 'id="field-description" name="description" rows="8" aria-required="true"' in page.text
    sent = await client.post(
        f"/pb/{round_.slug}/propose",
        data=form(
            client,
            language="fi",
            title="Penkkejä puistoon",
            description="Kallion puistoon\npenkkejä.",
            area=str(kallio.id),
            estimated_cost="12 000",
        ),
    )
    assert sent.status_code == 303, sent.text
    proposal = await db.scalar(select(Proposal))
    assert proposal.title == {"fi": "Penkkejä puistoon"}
    assert proposal.estimated_cost == 12_000
    assert proposal.status == "submitted"
    assert proposal.author_id is not None
    shown = await client.get(sent.headers["location"])
    assert "Thank you! Your idea has been sent." in shown.text
    assert "Penkkejä puistoon" in shown.text


@pytest.mark.parametrize(
    "changes",
    [
        {"title": ""},
        {"title": "x" * 121},
        {"description": "y" * 3001},
        {"title": "bell\x07"},
        {"area": "999"},
        {"area": ""},
        {"estimated_cost": "-5"},
        {"estimated_cost": "lots"},
        {"estimated_cost": "1" * 20},
        {"language": "de"},
    ],
)
async def test_bad_ideas_are_refused_and_store_nothing(client, db, caplog, changes):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 100_000})
    await register_and_sign_in(client, db)
    fields = {
        "language": "en",
        "title": "Benches",
        "description": "More benches",
        "area": str(kallio.id),
        "estimated_cost": "1000",
        **changes,
    }
    response = await client.post(f"/pb/{round_.slug}/propose", data=form(client, **fields))
    assert response.status_code == 400
    assert "error-summary" in response.text
    assert await count(db, Proposal) == 0


async def test_ideas_are_refused_outside_the_ideas_phase(client, db, caplog):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "review", {kallio.id: 100_000})
    await register_and_sign_in(client, db)
    fields = {
        "language": "en",
        "title": "Benches",
        "description": "More",
        "area": str(kallio.id),
        "estimated_cost": "1000",
    }
    response = await client.post(f"/pb/{round_.slug}/propose", data=form(client, **fields))
    assert response.status_code == 400
    assert "Ideas are not being collected in this round right now." in response.text
    assert await count(db, Proposal) == 0


async def test_registration_refuses_bad_input_and_does_not_reveal_existing_accounts(
    client, db, caplog
):
    await client.get("/account/register?lang=en")
    for fields in (
        {
            "display_name": "",
            "email": "a@example.fi",
            "password": "long enough secret",
            "password_again": "long enough secret",
        },
        {
            "display_name": "A",
            "email": "not-an-email",
            "password": "long enough secret",
            "password_again": "long enough secret",
        },
        {
            "display_name": "A",
            "email": "a@example.fi",
            "password": "short",
            "password_again": "short",
        },
        {
            "display_name": "A",
            "email": "a@example.fi",
            "password": "long enough secret",
            "password_again": "different secret",
        },
    ):
        response = await client.post("/account/register", data=form(client, **fields))
        assert response.status_code == 400
    assert await count(db, Resident) == 0
    await register_and_sign_in(client, db, email="taken@example.fi")
    again = await client.post(
        "/account/register",
        data=form(
            client,
            display_name="Other",
            email="taken@example.fi",
            password="another long secret",
            password_again="another long secret",
        ),
    )
    assert again.status_code == 200
    assert "We sent a confirmation link" in again.text
    assert await count(db, Resident) == 1


async def test_staff_review_accept_reject_merge_and_follow_implementation(client, db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "review", {kallio.id: 100_000})
    a = await add_proposal(db, round_, kallio, "Benches", 10_000, status="submitted")
    b = await add_proposal(db, round_, kallio, "More benches", 9_000, status="submitted")
    c = await add_proposal(db, round_, kallio, "Gold statue", 90_000, status="submitted")
    await signed_in_as(client, db, Role.STAFF)
    base = f"/staff/pb/{round_.id}/proposals"
    too_big = await client.post(
        f"{base}/{a.id}", data=form(client, action="accept", final_cost="150000")
    )
    assert too_big.status_code == 400
    assert "larger than the area" in too_big.text
    accepted = await client.post(
        f"{base}/{a.id}", data=form(client, action="accept", final_cost="12 500")
    )
    assert accepted.status_code == 303
    no_reason = await client.post(f"{base}/{c.id}", data=form(client, action="reject"))
    assert no_reason.status_code == 400
    rejected = await client.post(
        f"{base}/{c.id}",
        data=form(client, action="reject", reason_fi="Liian kallis", reason_en="Too costly"),
    )
    assert rejected.status_code == 303
    merged = await client.post(
        f"{base}/{b.id}", data=form(client, action="merge", merge_into=str(a.id))
    )
    assert merged.status_code == 303
    self_merge = await client.post(
        f"{base}/{a.id}", data=form(client, action="merge", merge_into=str(a.id))
    )
    assert self_merge.status_code == 400
    for proposal in (a, b, c):
        await db.refresh(proposal)
    assert (a.status, a.final_cost) == ("accepted", 12_500)
    assert (c.status, c.reason["en"]) == ("rejected", "Too costly")
    assert (b.status, b.merged_into_id) == ("merged", a.id)

    listing = await client.get(f"/pb/{round_.slug}/proposals?area={kallio.id}&status=rejected")
    assert "Gold statue" in listing.text
    assert "Benches" not in listing.text
    bad_filter = await client.get(f"/pb/{round_.slug}/proposals?area=<script>&status=zzz")
    assert bad_filter.status_code == 400
    assert "<script>" not in bad_filter.text
    reason = await client.get(f"/pb/{round_.slug}/proposals/{c.id}")
    assert "Too costly" in reason.text
    merged_page = await client.get(f"/pb/{round_.slug}/proposals/{b.id}")
    assert f"/pb/{round_.slug}/proposals/{a.id}" in merged_page.text

    # The ballot is fixed during voting; implementation is followed after the results.
    await move_to(db, round_, "voting")
    locked = await client.post(
        f"{base}/{c.id}", data=form(client, action="accept", final_cost="1000")
    )
    assert locked.status_code == 400
    assert "fixed once voting opens" in locked.text
    early = await client.post(
        f"{base}/{a.id}", data=form(client, action="implementation", implementation="done")
    )
    assert early.status_code == 400
    await move_to(db, round_, "results")
    done = await client.post(
        f"{base}/{a.id}",
        data=form(
            client, action="implementation", implementation="in_progress", note_en="Benches ordered"
        ),
    )
    assert done.status_code == 303
    page = await client.get(f"/pb/{round_.slug}/proposals/{a.id}")
    assert "Being carried out" in page.text
    assert "Benches ordered" in page.text


# --- staff-assisted voting ------------------------------------------------------------------


async def test_staff_issue_a_one_time_code_and_the_roll_records_the_channel(client, db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "voting", {kallio.id: 100_000})
    benches = await add_proposal(db, round_, kallio, "Benches", 10_000)
    await put_on_roll(db, round_, [("131052-308T", adult_birth_date(), kallio)])
    await signed_in_as(client, db, Role.STAFF)
    wrong = await client.post(
        f"/staff/pb/{round_.id}/assisted",
        data=form(client, identifier="131052-308T", birth_date="1980-05-18"),
    )
    assert wrong.status_code == 400
    assert "not on the voter roll" in wrong.text
    for bad in (
        {"identifier": "", "birth_date": ""},
        {"identifier": "x" * 33, "birth_date": "1980-05-17"},
    ):
        assert (
            await client.post(f"/staff/pb/{round_.id}/assisted", data=form(client, **bad))
        ).status_code == 400
    issued = await client.post(
        f"/staff/pb/{round_.id}/assisted",
        data=form(client, identifier="131052-308t", birth_date="1980-05-17"),
    )
    assert issued.status_code == 200
    code = re.search(r"<strong>((?:[A-Z2-9]{4}-){4}[A-Z2-9]{4})</strong>", issued.text).group(1)
    assert await db.scalar(select(VotingCode.kind)) == "assisted"
    await client.post("/staff/logout", data=form(client))
    signed = await sign_in_to_vote(client, round_, code, adult_birth_date())
    assert signed.status_code == 303
    cast = await client.post(
        f"/pb/{round_.slug}/cast", data=form(client, proposal=[str(benches.id)])
    )
    assert cast.status_code == 303
    assert await db.scalar(select(RollEntry.voted_via)) == "assisted"
    # The ballot itself names no channel (in a batch, a rare channel would single it out).
    assert "channel" not in {column.name for column in PendingBallot.__table__.columns}
    assert "channel" not in {column.name for column in Ballot.__table__.columns}


# --- pabulib out and in ---------------------------------------------------------------------


async def test_a_rounds_ballots_export_as_pabulib_that_the_checker_accepts(client, db):
    from pabulib.checker import Checker

    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "voting", {kallio.id: 100_000, None: 50_000})
    ps = [
        await add_proposal(db, round_, kallio, f"P{n}", cost)
        for n, cost in enumerate((60_000, 50_000, 30_000, 20_000))
    ]
    city = await add_proposal(db, round_, None, "City", 40_000)
    city_too = await add_proposal(db, round_, None, "City too", 30_000)
    people = [(f"PERSON{n:03d}", adult_birth_date(), kallio) for n in range(12)]
    await put_on_roll(db, round_, people)
    entries = (await db.scalars(select(RollEntry).order_by(RollEntry.id))).all()
    # Every ballot fits the budget (the service refuses one that does not).
    votes = [[0, 2], [0, 2], [0, 3], [1], [1, 3], [2, 3], [0], [1, 2], [2], [3], [1], []]
    for entry, chosen in zip(entries, votes, strict=True):
        choices = {ps[i].id: 1 for i in chosen}
        choices[city.id if len(chosen) % 2 else city_too.id] = 1
        await cast_ballot(db, round_, entry.id, "online", choices)
    await signed_in_as(client, db, Role.STAFF)
    assert (await client.get(f"/staff/pb/{round_.id}/ballots.pb")).status_code == 404
    await move_to(db, round_, "results")
    # No early tallies: before publication only the auditor may download the ballots.
    assert (await client.get(f"/staff/pb/{round_.id}/ballots.pb")).status_code == 403
    await publish(db, round_, Settings(secret_key=TEST_SECRET).signing_seed, None)
    for budget in (str(kallio.id), "city"):
        response = await client.get(f"/staff/pb/{round_.id}/ballots.pb?budget={budget}")
        assert response.status_code == 200
        assert "attachment" in response.headers["content-disposition"]
        results = Checker().process_files([response.text])
        assert results["summary"] == {}, results
    text_ = (await client.get(f"/staff/pb/{round_.id}/ballots.pb?budget={kallio.id}")).text
    assert "num_votes;11" in text_  # the voter who chose nothing in Kallio is not a Kallio ballot
    assert (await client.get(f"/staff/pb/{round_.id}/ballots.pb?budget=9999")).status_code == 404


async def test_tori_pb_import_turns_a_pabulib_file_into_a_round_with_results(
    client, db, settings, tmp_path
):
    from voting.tally import greedy, parse_pabulib

    text_ = (
        "META\nkey;value\ndescription;Test city 2024\nbudget;100\nvote_type;approval\nrule;greedy\n"
        "PROJECTS\nproject_id;cost;name\n1;60;Park\n2;50;Library\n3;40;Benches\n"
        "VOTES\nvoter_id;vote\n1;1,2\n2;1\n3;2,3\n4;3\n5;1,3\n"
    )
    path = tmp_path / "city.pb"
    path.write_text(text_)
    env = {"DATABASE_URL": settings.database_url, "SECRET_KEY": TEST_SECRET}
    result = run_tori("pb-import", str(path), env=env)
    assert result.returncode == 0, result.stderr
    round_ = await db.scalar(select(Round))
    assert round_.source == "pabulib"
    assert await count(db, Ballot) == 5
    expected = greedy(parse_pabulib(text_), "cost").selected
    proposals = {p.external_id: p for p in (await db.scalars(select(Proposal))).all()}
    page = await client.get(f"/pb/{round_.slug}/results?lang=en")
    assert page.status_code == 200
    for project in ("1", "2", "3"):
        assert proposals[project].title["fi"] in page.text
    assert expected == ["1", "3"]
    assert "Did not fit the remaining budget of 0\xa0€" in page.text
    bad = tmp_path / "bad.pb"
    bad.write_text("META\nkey;value\nbudget;x\n")
    refused = run_tori("pb-import", str(bad), env=env)
    assert refused.returncode == 2
    assert "no PROJECTS section" in refused.stderr
    assert await count(db, Round) == 1
    # A second election into the same instance: its ballots get ids of their own (the first
    # version numbered them from 1 in every import, and the second import failed).
    again = run_tori("pb-import", str(path), env=env)
    assert again.returncode == 0, again.stderr
    assert await count(db, Round) == 2
    assert await count(db, Ballot) == 10
    for imported in (await db.scalars(select(Round))).all():
        rows = list(
            await db.execute(
                text("SELECT seq, entry, hash FROM pb_log_entry WHERE round_id = :r ORDER BY seq"),
                {"r": imported.id},
            )
        )
        assert check_log(imported.slug, [tuple(r) for r in rows]) == (5, rows[-1][2], None)


# --- the public calendar and home page --------------------------------------------------------


async def test_phases_are_on_the_public_calendar_and_open_rounds_on_the_home_page(client, db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "review", {kallio.id: 1000})
    home = await client.get("/?lang=en")
    assert 'href="/pb"' in home.text
    assert "Dates to note" in home.text
    assert "Participatory budgeting: voting opens" in home.text
    assert f'href="/pb/{round_.slug}"' in home.text
    await move_to(db, round_, "voting")
    home = await client.get("/?lang=fi")
    assert "Osallistuva budjetointi: äänestä" in home.text
    month = round_.voting_close_at.strftime("%Y-%m")
    month_view = await client.get(f"/?view=month&month={month}&lang=en")
    assert "Participatory budgeting: voting closes" in month_view.text


async def test_a_resident_sees_downloads_and_deletes_their_account(client, db, caplog):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {kallio.id: 100_000})
    for path in ("/account", "/account/data.json"):
        anonymous = await client.get(path)
        assert anonymous.status_code == 303
        assert anonymous.headers["location"].startswith("/account/sign-in")
    await register_and_sign_in(client, db)
    for title in ("Penkit", "Valot"):
        sent = await client.post(
            f"/pb/{round_.slug}/propose",
            data=form(
                client,
                language="fi",
                title=title,
                description="Kuvaus",
                area=str(kallio.id),
                estimated_cost="1000",
            ),
        )
        assert sent.status_code == 303
    reviewed = next(p for p in await db.scalars(select(Proposal)) if p.title["fi"] == "Valot")
    reviewed.status, reviewed.final_cost = "accepted", 1000
    await db.commit()

    page = await client.get("/account?lang=en")
    assert page.status_code == 200
    for shown in ("asukas@example.fi", "Asukas", "Penkit", "Valot", "Download my data"):
        assert shown in page.text
    data = await client.get("/account/data.json")
    assert data.status_code == 200
    assert data.headers["content-disposition"].startswith("attachment")
    assert data.headers["cache-control"] == "no-store"
    body = data.json()
    assert body["account"]["email"] == "asukas@example.fi"
    assert sorted(idea["title"]["fi"] for idea in body["ideas"]) == ["Penkit", "Valot"]

    for bad, message in (
        ("", "This field is required."),
        ("wrong password", "The password is wrong."),
        ("x" * 300, "The password is wrong."),
        ("<script>alert(1)</script>", "The password is wrong."),
    ):
        refused = await client.post("/account/delete", data=form(client, password=bad))
        assert refused.status_code == 400
        assert message in refused.text
        assert "<script>alert(1)" not in refused.text
    forged = await client.post("/account/delete", data={"password": "long enough secret"})
    assert forged.status_code == 403
    assert await count(db, Resident) == 1

    deleted = await client.post("/account/delete", data=form(client, password="long enough secret"))
    assert deleted.status_code == 200
    assert "Your account has been deleted" in deleted.text
    assert "tori_resident=" in deleted.headers["set-cookie"]
    assert await count(db, Resident) == 0
    db.expire_all()
    # The idea nobody had reviewed went with the account; the reviewed one stays, nameless.
    remaining = [(p.title["fi"], p.author_id) for p in await db.scalars(select(Proposal))]
    assert remaining == [("Valot", None)]
    again = await client.get("/account")
    assert again.status_code == 303


# --- the census upload, read off the event loop (app/uploads.py) ------------------------------

CENSUS = b"identifier,birth_date,area\n131052-308T,1952-10-13,Kallio\n"


@pytest.mark.parametrize("token", ["missing", "forged", "another browser's"])
async def test_a_census_upload_without_this_browser_s_token_is_refused_and_stores_nothing(
    client, db, token
):
    """The route checks the form's token itself (the CSRF middleware would parse the body on
    the event loop): a cross-site upload is refused."""
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "review", {kallio.id: 1000})
    await signed_in_as(client, db, Role.STAFF)
    genuine = client.cookies["tori_csrf"]
    sent = {
        "missing": {},
        "forged": {"_csrf_token": "0" * 64 + "1" * 64},
        "another browser's": {"_csrf_token": new_form_token(TEST_SECRET)},
    }[token]
    response = await client.post(
        f"/staff/pb/{round_.id}/roll",
        data=sent,
        files={"file": ("census.csv", CENSUS, "text/csv")},
    )
    assert response.status_code == 403
    assert await count(db, RollEntry) == 0
    response = await client.post(
        f"/staff/pb/{round_.id}/roll",
        data={"_csrf_token": genuine},
        files={"file": ("census.csv", CENSUS, "text/csv")},
    )
    assert response.status_code == 200, response.text
    assert await count(db, RollEntry) == 1


@pytest.mark.parametrize("how", ["no file chosen", "not multipart", "malformed multipart"])
async def test_a_census_upload_that_is_not_a_file_says_choose_a_file(client, db, how):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "review", {kallio.id: 1000})
    await signed_in_as(client, db, Role.STAFF)
    token = client.cookies["tori_csrf"]
    path = f"/staff/pb/{round_.id}/roll"
    if how == "no file chosen":
        response = await client.post(
            path, data={"_csrf_token": token}, files={"file": ("", b"", "text/csv")}
        )
        assert response.status_code == 400
    elif how == "not multipart":
        response = await client.post(path, data={"_csrf_token": token})
        assert response.status_code == 400  # its token is read; the page says to choose a file
    else:
        response = await client.post(
            path,
            content=b'--b\r\nContent-Disposition: form-data; name="file"\r\n\r\nunfinished',
            headers={"Content-Type": "multipart/form-data; boundary=b", "x-csrftoken": token},
        )
        assert response.status_code == 400
    if response.status_code == 400:
        assert "Choose a CSV file." in response.text
    assert await count(db, RollEntry) == 0


async def test_a_census_upload_over_the_limit_is_refused_and_stores_nothing(
    client, db, monkeypatch
):
    from voting import staff as voting_staff

    monkeypatch.setattr(voting_staff, "MAX_ROLL_UPLOAD", 4096)
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "review", {kallio.id: 1000})
    await signed_in_as(client, db, Role.STAFF)
    response = await client.post(
        f"/staff/pb/{round_.id}/roll",
        data={"_csrf_token": client.cookies["tori_csrf"]},
        files={"file": ("census.csv", CENSUS * 200, "text/csv")},
    )
    assert response.status_code == 413
    assert await count(db, RollEntry) == 0
