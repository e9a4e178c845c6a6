"""Privacy hygiene: nothing stored holds a network address or browser details, `tori retention`
removes what the privacy notice says it removes (and only that), and the notice states the
configured periods."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import replace

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, text

from app.accounts.models import Role, StaffSession
from app.audit import AuditRecord
from app.database import Base, utcnow
from app.ratelimit import RateLimitCounter
from app.retention import apply_retention, months_before
from app.settings import InsecureSettingsError, Settings
from app.web import create_app
from surveys import services as survey_services
from surveys.models import FeedbackResponse
from tests.app.test_database import run_tori
from tests.conftest import TEST_SECRET
from tests.factories import make_area, make_event, make_user, sign_in
from tests.surveys.factories import open_questionnaire
from tests.surveys.polls_factories import make_poll
from tests.surveys.test_answering import send
from tests.surveys.test_polls import vote
from tests.voting.factories import (
    add_proposal,
    adult_birth_date,
    letter_codes,
    make_round,
    put_on_roll,
    sign_in_to_vote,
)
from voting.ballots import cast_ballot
from voting.mixing import mix_round
from voting.models import (
    Ballot,
    LogEntry,
    PaperEntry,
    PendingBallot,
    Resident,
    ResidentSession,
    RollEntry,
    VotingCode,
)

HOUR = dt.timedelta(hours=1)
BROWSER = "TraceBrowser/9.9 (privacy-probe-7f3a)"
ADDRESS = "203.0.113.199"


async def test_nothing_stored_holds_an_address_or_a_browser(client, db):
    """A poll vote, a questionnaire answer, a budgeting vote, a resident registration and a
    staff sign-in, all sent with a recognisable browser and address; then every row of every
    table is searched for them."""
    client.headers.update({"User-Agent": BROWSER, "X-Forwarded-For": ADDRESS})
    area = await make_area(db, "Kallio")
    poll = await make_poll(db)
    assert (await vote(client, poll.slug, {"q_q1": "o1"})).status_code == 303
    questionnaire = await open_questionnaire(
        db, await make_event(db, area=area, starts_in=-dt.timedelta(hours=2))
    )
    answered = await send(client, questionnaire.slug, {"q_satisfaction": "5", "q_comment": "Hyvä"})
    assert answered.status_code == 303
    round_ = await make_round(db, "voting", {area.id: 100_000})
    benches = await add_proposal(db, round_, area, "Benches", 10_000)
    await put_on_roll(db, round_, [("131052-308T", adult_birth_date(), area)])
    [code] = (await letter_codes(db, round_)).values()
    await sign_in_to_vote(client, round_, code, adult_birth_date())
    cast = await client.post(
        f"/pb/{round_.slug}/cast",
        data={"_csrf_token": client.cookies["tori_csrf"], "proposal": [str(benches.id)]},
    )
    assert cast.status_code == 303
    registered = await client.post(
        "/account/register",
        data={
            "_csrf_token": client.cookies["tori_csrf"],
            "display_name": "Asukas",
            "email": "asukas@example.fi",
            "password": "long enough secret",
            "password_again": "long enough secret",
        },
    )
    assert registered.status_code == 200
    await sign_in(client, await make_user(db, Role.ADMIN))
    rows = 0
    for table in Base.metadata.sorted_tables:
        result = await db.execute(text(f'SELECT row_to_json(t)::text FROM "{table.name}" t'))
        for (row,) in result:
            rows += 1
            for trace in (BROWSER, "privacy-probe", ADDRESS, "testclient"):
                assert trace not in row, f"{table.name} stores {trace!r}: {row[:200]}"
    assert rows > 20
    # The searched rows include what was sent.
    assert await db.scalar(select(func.count()).select_from(PendingBallot)) == 1
    assert await db.scalar(select(func.count()).select_from(FeedbackResponse)) == 1
    # No column anywhere is meant for an address or a browser.
    suspicious = re.compile(r"(^|_)(ip|ip_address|remote_addr|user_agent|useragent|client)($|_)")
    columns = [f"{t.name}.{c.name}" for t in Base.metadata.sorted_tables for c in t.columns]
    assert [c for c in columns if suspicious.search(c.split(".")[1])] == []


def days_ago(days: int) -> dt.datetime:
    return utcnow() - dt.timedelta(days=days)


async def count(db, model, *conditions) -> int:
    return await db.scalar(select(func.count()).select_from(model).where(*conditions))


async def test_retention_removes_what_the_notice_says_and_keeps_the_rest(db):
    settings = Settings(secret_key=TEST_SECRET)
    area = await make_area(db, "Kallio")
    # Questionnaires: a comment older than the period loses its text, not its ratings.
    questionnaire = await open_questionnaire(
        db, await make_event(db, area=area, starts_in=-dt.timedelta(hours=2))
    )
    questions = survey_services.questions_for(questionnaire, "fi", [])
    for number in range(2):
        await survey_services.submit_response(
            db,
            questionnaire,
            questions=questions,
            answers={"satisfaction": 4, "comment": f"Kommentti {number}"},
            language="fi",
            token=f"token-{number}",
        )
    old_day = months_before(utcnow().date(), 25)
    await db.execute(
        text("UPDATE feedback_response SET submitted_on = :day WHERE submission_token = 'token-0'"),
        {"day": old_day},
    )
    # Budgeting: a round published 100 days ago, a round closed yesterday, a round voting now.
    published = await make_round(db, "results", {area.id: 100_000})
    counting = await make_round(db, "counting", {area.id: 100_000})
    voting = await make_round(db, "voting", {area.id: 100_000})
    for round_ in (published, counting, voting):
        await put_on_roll(db, round_, [("010101-0101", adult_birth_date(), area)])
        await letter_codes(db, round_)
    entry = await db.scalar(select(RollEntry).where(RollEntry.round_id == published.id))
    proposal = await add_proposal(db, published, area, "Benches", 10_000)
    # Cast into the round while its voting is open, then close it again.
    published.voting_open_at, published.voting_close_at = days_ago(3), utcnow() + HOUR
    await db.commit()
    await cast_ballot(db, published, entry.id, "online", {proposal.id: 1}, area.id)
    published.voting_close_at = days_ago(2)
    await db.commit()
    await mix_round(db, published, final=True)
    db.add(PaperEntry(round_id=published.id, slip="7", person_hash="x" * 64, status="flagged"))
    published.published_at = days_ago(100)
    # Accounts: unconfirmed for 8 days, unconfirmed for a day, confirmed long ago.
    for email, created, confirmed in (
        ("old@example.fi", days_ago(8), None),
        ("new@example.fi", days_ago(1), None),
        ("kept@example.fi", days_ago(400), days_ago(399)),
    ):
        db.add(
            Resident(
                email=email,
                display_name="x",
                password_hash="x",
                created_at=created,
                confirmed_at=confirmed,
            )
        )
    user = await make_user(db)
    for expires, token in ((days_ago(1), "a"), (utcnow() + dt.timedelta(hours=1), "b")):
        db.add(
            StaffSession(
                token_hash=hashlib.sha256(token.encode()).hexdigest(),
                user_id=user.id,
                expires_at=expires,
            )
        )
    db.add(RateLimitCounter(key="old", window=1, hits=3, expires_at=days_ago(1)))
    await db.flush()
    kept = await db.scalar(select(Resident).where(Resident.email == "kept@example.fi"))
    for expires, token in ((days_ago(1), "c"), (utcnow() + dt.timedelta(days=3), "d")):
        db.add(
            ResidentSession(
                token_hash=hashlib.sha256(token.encode()).hexdigest(),
                resident_id=kept.id,
                expires_at=expires,
            )
        )
    await db.commit()

    published_id, voting_id = published.id, voting.id  # the dry run's rollback expires objects
    expected = {
        "e-mail sent over 30 days ago": 0,
        "undeliverable e-mail written over 30 days ago": 0,
        "expired staff sessions": 1,
        "expired rate-limit counters": 1,
        "answers with free text older than 24 months (text removed)": 1,
        "voting codes of rounds whose voting has closed": 2,
        "voter-roll entries of rounds published over 90 days ago": 1,
        "paper-ballot typings of rounds published over 90 days ago": 1,
        "resident accounts not confirmed within 7 days": 1,
        "expired resident sessions": 1,
        "reports of ideas in rounds whose voting closed over 30 days ago": 0,
        "earlier texts of ideas in rounds published over 90 days ago": 0,
    }
    dry = await apply_retention(db, settings, utcnow(), dry_run=True)
    assert {item.what: item.count for item in dry} == expected
    assert await count(db, RollEntry) == 3  # the dry run changed nothing
    assert await count(db, VotingCode) == 3
    done = await apply_retention(db, settings, utcnow())
    assert {item.what: item.count for item in done} == expected

    rows = await db.execute(select(FeedbackResponse.submission_token, FeedbackResponse.answers))
    answers = dict(rows.all())
    assert answers["token-0"] == {"satisfaction": 4}
    assert answers["token-1"]["comment"] == "Kommentti 1"
    assert await count(db, RollEntry, RollEntry.round_id == published_id) == 0
    assert await count(db, RollEntry) == 2
    assert await count(db, VotingCode, VotingCode.round_id == voting_id) == 1
    assert await count(db, VotingCode) == 1
    assert await count(db, PaperEntry) == 0
    # The anonymous ballot and its log entry stay.
    assert await count(db, Ballot) == 1
    assert await count(db, LogEntry) == 1
    emails = set(await db.scalars(select(Resident.email)))
    assert emails == {"new@example.fi", "kept@example.fi"}
    assert await count(db, StaffSession) == 1
    assert await count(db, ResidentSession) == 1
    record = await db.scalar(select(AuditRecord).where(AuditRecord.action == "retention.apply"))
    assert record is not None
    assert "voter-roll entries" in record.record
    # A second run finds nothing more.
    again = await apply_retention(db, settings, utcnow())
    assert all(item.count == 0 for item in again)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2026, 11, 22), 24, dt.date(2024, 11, 22)),
        (dt.date(2026, 3, 31), 1, dt.date(2026, 2, 28)),
        (dt.date(2028, 3, 31), 1, dt.date(2028, 2, 29)),
        (dt.date(2026, 1, 15), 1, dt.date(2025, 12, 15)),
        (dt.date(2026, 12, 31), 12, dt.date(2025, 12, 31)),
    ],
)
def test_months_before_keeps_the_day_or_the_end_of_a_shorter_month(day, months, expected):
    assert months_before(day, months) == expected


def test_retention_periods_are_settings_and_bad_ones_are_refused():
    settings = Settings.from_environment(
        {"TORI_KEEP_COMMENTS_MONTHS": "6", "TORI_KEEP_ROLL_DAYS": "30"}
    )
    assert (settings.keep_comments_months, settings.keep_roll_days) == (6, 30)
    assert settings.keep_unconfirmed_days == 7
    for bad in ("0", "-3", "abc", "1201", "1.5", "9" * 40):
        with pytest.raises(InsecureSettingsError, match="TORI_KEEP_ROLL_DAYS must be a whole"):
            Settings.from_environment({"TORI_KEEP_ROLL_DAYS": bad})


def test_the_retention_command_counts_on_a_dry_run_and_refuses_bad_periods(migrated):
    dry = run_tori("retention", "--dry-run", database_url=migrated)
    assert dry.returncode == 0, dry.stderr
    assert "would remove 0: expired staff sessions" in dry.stdout
    assert "voter-roll entries of rounds published over 90 days ago" in dry.stdout
    done = run_tori("retention", database_url=migrated)
    assert done.returncode == 0, done.stderr
    assert "removed 0: resident accounts not confirmed within 7 days" in done.stdout


async def test_privacy_notice_states_the_configured_periods(settings):
    changed = create_app(replace(settings, keep_comments_months=18, keep_roll_days=60))
    async with AsyncTestClient(app=changed, base_url="http://testserver.local") as client:
        english = await client.get("/privacy?lang=en")
        finnish = await client.get("/privacy?lang=fi")
    assert "deleted 18 months after they were sent" in english.text
    assert "60 days after the results are published" in english.text
    assert "poistetaan 18 kuukauden kuluttua" in finnish.text
    assert "60 päivän kuluttua tulosten julkaisemisesta" in finnish.text
