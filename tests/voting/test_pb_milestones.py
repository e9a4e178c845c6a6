"""Milestones of carrying out the winning proposals (voting/milestones.py): staff add, change and
remove them on the proposal's staff page, each change in the staff audit log; bad input gets a
clear error in the reader's language and stores nothing; residents read them on the round's and
on the all-rounds "what happened to the winning proposals" pages, in the calendar and its feed;
the idea's author is mailed in their language, with a working unsubscribe link."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from urllib.parse import urlsplit

import icalendar
import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.audit import AuditRecord
from app.database import utcnow
from app.errors import DomainError
from app.events.ical import FeedEntry, render_calendar
from app.mail import OutboxMessage
from app.mail.sender import deliver_due
from tests.factories import signed_in_as
from tests.mailbox import html_part, text_part
from tests.voting.factories import add_proposal
from tests.voting.test_password_reset import make_resident
from tests.voting.test_pb_audit import published_round
from voting import milestones
from voting.milestones import MilestoneDraft
from voting.models import Milestone

SITE = "https://osallistu.example.fi"
TEXTS = {
    "text_fi": "Penkit tilattu, asennus maaliskuussa.",
    "text_sv": "Bänkarna är beställda, de monteras i mars.",
    "text_en": "Benches ordered, installed in March.",
}


def form(client, **fields):
    return {"_csrf_token": client.cookies["tori_csrf"], **fields}


def good_fields(**changes) -> dict:
    return {
        "date": "2027-03-15",
        **TEXTS,
        "progress": "40",
        "cost_so_far": "12 500 €",
        "status": "in_progress",
        **changes,
    }


async def selected_proposals(db):
    """A published round, and its proposals: the selected ones first."""
    round_, p, _receipts = await published_round(db)
    chosen = await milestones.selected_ids(db, round_.id)
    winners = [proposal for proposal in p.values() if proposal.id in chosen]
    others = [proposal for proposal in p.values() if proposal.id not in chosen]
    # An idea that never was on the ballot.
    others.append(await add_proposal(db, round_, None, "Tower", 5_000_000, "rejected"))
    assert winners
    return round_, winners, others


async def milestone_count(db) -> int:
    return await db.scalar(select(func.count()).select_from(Milestone))


async def audit_actions(db) -> list[str]:
    return list(
        await db.scalars(
            select(AuditRecord.action)
            .where(AuditRecord.action.like("milestone.%"))
            .order_by(AuditRecord.seq)
        )
    )


def milestone_path(round_, proposal) -> str:
    return f"/staff/pb/{round_.id}/proposals/{proposal.id}/milestones"


# --- staff add, change and remove; the audit log ----------------------------------------------


async def test_staff_add_change_and_remove_a_milestone_each_audited(client, db):
    round_, [winner, *_], _others = await selected_proposals(db)
    staff = await signed_in_as(client, db, Role.STAFF)
    page = await client.get(f"/staff/pb/{round_.id}/proposals/{winner.id}")
    assert page.status_code == 200
    assert "Add a milestone" in page.text

    added = await client.post(milestone_path(round_, winner), data=form(client, **good_fields()))
    assert added.status_code == 303, added.text
    assert added.headers["location"].endswith(f"/proposals/{winner.id}?done=milestone")
    milestone = await db.scalar(select(Milestone))
    assert (milestone.date, milestone.progress, milestone.cost_so_far, milestone.status) == (
        dt.date(2027, 3, 15),
        40,
        12_500,
        "in_progress",
    )
    assert milestone.text == {
        "fi": TEXTS["text_fi"],
        "sv": TEXTS["text_sv"],
        "en": TEXTS["text_en"],
    }
    record = await db.scalar(select(AuditRecord).where(AuditRecord.action == "milestone.add"))
    assert record.actor == staff.email
    assert record.target == f"proposal {winner.id} milestone {milestone.id}"
    assert record.before is None
    assert record.after["progress"] == 40
    assert record.after["text"]["sv"] == TEXTS["text_sv"]
    shown = await client.get(f"/staff/pb/{round_.id}/proposals/{winner.id}")
    assert TEXTS["text_en"] in shown.text

    # Changed: a new progress, no English text any more.
    edit = f"{milestone_path(round_, winner)}/{milestone.id}"
    assert (await client.get(edit)).status_code == 200
    changed = await client.post(
        edit, data=form(client, **good_fields(progress="100", status="done", text_en=""))
    )
    assert changed.status_code == 303, changed.text
    await db.refresh(milestone)
    assert (milestone.progress, milestone.status, "en" in milestone.text) == (100, "done", False)
    record = await db.scalar(select(AuditRecord).where(AuditRecord.action == "milestone.edit"))
    assert (record.before["progress"], record.after["progress"]) == (40, 100)
    # Sent again unchanged: nothing to record.
    again = await client.post(
        edit, data=form(client, **good_fields(progress="100", status="done", text_en=""))
    )
    assert again.status_code == 303
    assert await audit_actions(db) == ["milestone.add", "milestone.edit"]

    removed = await client.post(f"{edit}/remove", data=form(client))
    assert removed.status_code == 303
    assert await milestone_count(db) == 0
    record = await db.scalar(select(AuditRecord).where(AuditRecord.action == "milestone.remove"))
    assert record.before["text"]["fi"] == TEXTS["text_fi"]
    assert record.after is None
    assert await audit_actions(db) == ["milestone.add", "milestone.edit", "milestone.remove"]
    audit_page = await client.get("/staff/audit") if staff.role == "admin" else None
    assert audit_page is None or audit_page.status_code == 200


async def test_the_audit_log_page_names_milestone_actions(client, db):
    round_, [winner, *_], _others = await selected_proposals(db)
    await signed_in_as(client, db, Role.ADMIN)
    await client.post(milestone_path(round_, winner), data=form(client, **good_fields()))
    page = await client.get("/staff/audit")
    assert "Milestone added to a winning proposal" in page.text
    assert f"proposal {winner.id}, milestone" in page.text


# --- bad input: a clear error in the reader's language, nothing stored -------------------------

BAD = [
    ("progress", "150", "Enter a number from 0 to 100.", "Anna luku väliltä 0–100."),
    ("progress", "-1", "Enter a number from 0 to 100.", None),
    ("progress", "forty", "Enter a whole number, such as 120.", None),
    ("progress", "", "This field is required.", "Tämä kenttä on pakollinen."),
    ("cost_so_far", "-500", "Enter a number from 0 to 100000000.", None),
    ("cost_so_far", "1 000 000 000 000", "Enter whole euros, such as 30 000.", None),
    ("cost_so_far", "999 999 999", "Enter a number from 0 to 100000000.", None),
    ("cost_so_far", "12,50", "Enter whole euros, such as 30 000.", None),
    ("cost_so_far", "lots", "Enter whole euros, such as 30 000.", None),
    ("date", "2027-13-40", "Enter a date as year-month-day, such as 2026-05-31.", None),
    ("date", "15.3.2027", "Enter a date as year-month-day, such as 2026-05-31.", None),
    ("date", "1999-12-31", "Enter a date between the years 2000 and 2100.", None),
    ("date", "", "This field is required.", None),
    ("text_fi", "", "This field is required.", "Tämä kenttä on pakollinen."),
    ("text_sv", "   ", "This field is required.", None),
    ("text_sv", "å" * 1001, "Use at most 1000 characters.", None),
    ("text_en", "x" * 1001, "Use at most 1000 characters.", None),
    (
        "text_fi",
        "Penkit\x00\x1b[2J",
        "Remove the special control characters from this field.",
        None,
    ),
    ("status", "finished", "Choose one of the options.", None),
]


@pytest.mark.parametrize(("field", "value", "english", "finnish"), BAD, ids=repr)
async def test_a_bad_milestone_is_refused_with_the_reason_and_nothing_is_stored(
    client, db, field, value, english, finnish
):
    round_, [winner, *_], _others = await selected_proposals(db)
    await signed_in_as(client, db, Role.STAFF)
    answer = await client.post(
        milestone_path(round_, winner), data=form(client, **good_fields(**{field: value}))
    )
    assert answer.status_code == 400
    assert english in answer.text
    assert f'id="error-{field}"' in answer.text
    # The rest of what was written is kept in the form.
    kept = TEXTS["text_sv"] if field != "text_sv" else TEXTS["text_fi"]
    assert kept in answer.text
    if finnish:
        await client.get("/?lang=fi")
        in_finnish = await client.post(
            milestone_path(round_, winner), data=form(client, **good_fields(**{field: value}))
        )
        assert in_finnish.status_code == 400
        assert finnish.replace("–", "") in in_finnish.text.replace("–", "").replace("\xa0", " ")
    assert await milestone_count(db) == 0
    assert await audit_actions(db) == []
    assert await db.scalar(select(func.count()).select_from(OutboxMessage)) == 0


async def test_milestones_are_kept_only_for_selected_proposals(client, db):
    round_, _winners, [loser, *_] = await selected_proposals(db)
    await signed_in_as(client, db, Role.STAFF)
    page = await client.get(f"/staff/pb/{round_.id}/proposals/{loser.id}")
    assert "Add a milestone" not in page.text
    refused = await client.post(milestone_path(round_, loser), data=form(client, **good_fields()))
    assert refused.status_code == 400
    assert "selected in a round" in refused.text
    assert await milestone_count(db) == 0
    # Someone else's milestone id under this proposal does not exist.
    assert (await client.get(f"{milestone_path(round_, loser)}/1")).status_code == 404


async def test_the_service_refuses_what_no_form_should_let_through(db):
    _round, [winner, *_], _others = await selected_proposals(db)
    good = MilestoneDraft(
        dt.date(2027, 3, 15), {"fi": "Valmis", "sv": "Klar"}, 100, "done", cost_so_far=0
    )
    for bad in (
        dataclasses.replace(good, progress=101),
        dataclasses.replace(good, progress=-1),
        dataclasses.replace(good, progress=True),
        dataclasses.replace(good, cost_so_far=-1),
        dataclasses.replace(good, cost_so_far=10**12),
        dataclasses.replace(good, date=dt.date(1999, 1, 1)),
        dataclasses.replace(good, text={"fi": "Vain suomeksi"}),
        dataclasses.replace(good, text={"fi": "Valmis", "sv": "x" * 1001}),
        dataclasses.replace(good, text={"fi": "Valmis", "sv": "Klar", "de": "Fertig"}),
        dataclasses.replace(good, status="finished"),
    ):
        with pytest.raises(DomainError):
            await milestones.add_milestone(db, winner, bad)
    assert await milestone_count(db) == 0
    assert await audit_actions(db) == []
    await milestones.add_milestone(db, winner, good)
    assert await milestone_count(db) == 1


# --- what residents read -------------------------------------------------------------------------


async def test_the_public_pages_show_progress_and_milestones_escaped(client, db):
    round_, [winner, *_], _others = await selected_proposals(db)
    before = await client.get(f"/pb/{round_.slug}/implementation?lang=en")
    assert before.status_code == 200
    assert "No milestones yet." in before.text
    await milestones.add_milestone(
        db,
        winner,
        MilestoneDraft(
            dt.date(2027, 1, 10),
            {"fi": "Suunnittelu alkoi", "sv": "Planeringen började"},
            10,
            "done",
        ),
    )
    await milestones.add_milestone(
        db,
        winner,
        MilestoneDraft(
            dt.date(2027, 3, 15),
            {"fi": "Penkit <script>alert(1)</script>", "sv": "Bänkar <b>nu</b>"},
            40,
            "in_progress",
            cost_so_far=12_500,
        ),
    )
    # A cancelled step is listed but does not set the progress.
    await milestones.add_milestone(
        db,
        winner,
        MilestoneDraft(dt.date(2027, 4, 1), {"fi": "Peruttu", "sv": "Inställt"}, 90, "cancelled"),
    )
    page = await client.get(f"/pb/{round_.slug}/implementation?lang=sv")
    assert page.status_code == 200
    text = page.text
    assert "Bänkar &lt;b&gt;nu&lt;/b&gt;" in text
    assert "<b>nu</b>" not in text
    assert f'<progress class="progress-bar" id="progress-{winner.id}" max="100" value="40">' in text
    assert "40\xa0% klart (15.3.2027)" in text
    assert "12\xa0500\xa0€" in text
    assert "Inställt" in text
    finnish = await client.get(f"/pb/{round_.slug}/implementation?lang=fi")
    assert "Penkit &lt;script&gt;" in finnish.text
    assert "<script>alert" not in finnish.text
    every = await client.get("/pb/implementation?lang=en")
    assert every.status_code == 200
    assert f'href="/pb/{round_.slug}/implementation"' in every.text
    assert f'id="progress-{winner.id}"' in every.text
    # The proposal's own page lists them too.
    proposal_page = await client.get(f"/pb/{round_.slug}/proposals/{winner.id}?lang=sv")
    assert "Planeringen började" in proposal_page.text
    assert f"/pb/{round_.slug}/implementation#proposal-{winner.id}" in proposal_page.text
    # Linked from the results page, the round page and the list of rounds.
    for path in (f"/pb/{round_.slug}/results", f"/pb/{round_.slug}", "/pb"):
        assert "/implementation" in (await client.get(path)).text, path


async def test_a_round_without_published_results_has_no_such_page(client, db):
    from tests.factories import make_area
    from tests.voting.factories import make_round

    area = await make_area(db, "Kallio")
    round_ = await make_round(db, "voting", {area.id: 100_000})
    assert (await client.get(f"/pb/{round_.slug}/implementation")).status_code == 404
    every = await client.get("/pb/implementation?lang=en")
    assert "No round has published its results yet." in every.text


# --- the calendar and its feed ---------------------------------------------------------------


def test_a_whole_day_entry_is_written_as_dates_known_answer():
    entry = FeedEntry(
        uid="pb-milestone-7@tori.example",
        starts_at=dt.datetime(2027, 3, 15, 12, tzinfo=dt.UTC),
        ends_at=None,
        summary="Carrying out a winning proposal: Benches, by the shore",
        description="Benches ordered; installed in March.\nSecond line",
        location="",
        url="https://tori.example/pb/abc/implementation#proposal-3",
        updated_at=dt.datetime(2027, 3, 1, 8, 30, tzinfo=dt.UTC),
        day=dt.date(2027, 3, 15),
    )
    body = render_calendar("Tori", [entry], now=dt.datetime(2027, 3, 2, 9, 0, tzinfo=dt.UTC))
    assert body == (
        "BEGIN:VCALENDAR\r\n"
        "VERSION:2.0\r\n"
        "PRODID:-//Tori//Resident participation//EN\r\n"
        "CALSCALE:GREGORIAN\r\n"
        "METHOD:PUBLISH\r\n"
        "X-WR-CALNAME:Tori\r\n"
        "BEGIN:VEVENT\r\n"
        "UID:pb-milestone-7@tori.example\r\n"
        "DTSTAMP:20270302T090000Z\r\n"
        "LAST-MODIFIED:20270301T083000Z\r\n"
        "DTSTART;VALUE=DATE:20270315\r\n"
        "DTEND;VALUE=DATE:20270316\r\n"
        "SUMMARY:Carrying out a winning proposal: Benches\\, by the shore\r\n"
        "DESCRIPTION:Benches ordered\\; installed in March.\\nSecond line\r\n"
        "URL:https://tori.example/pb/abc/implementation#proposal-3\r\n"
        "END:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    )
    parsed = icalendar.Calendar.from_ical(body)
    [event] = parsed.walk("VEVENT")
    assert event["DTSTART"].dt == dt.date(2027, 3, 15)
    assert event["DTEND"].dt == dt.date(2027, 3, 16)


async def test_milestones_are_in_the_calendar_and_its_feed(client, db):
    round_, [winner, *_], _others = await selected_proposals(db)
    soon = utcnow().date() + dt.timedelta(days=10)
    cancelled_day = soon + dt.timedelta(days=1)
    await milestones.add_milestone(
        db,
        winner,
        MilestoneDraft(soon, {"fi": "Penkit paikalleen", "sv": "Bänkarna på plats"}, 80, "planned"),
    )
    await milestones.add_milestone(
        db, winner, MilestoneDraft(cancelled_day, {"fi": "Ei", "sv": "Nej"}, 0, "cancelled")
    )
    calendar = await client.get("/?lang=fi")
    assert "Voittaneen ehdotuksen toteutus" in calendar.text
    assert f"/pb/{round_.slug}/implementation#proposal-{winner.id}" in calendar.text
    feed = await client.get("/calendar.ics?lang=sv")
    assert feed.status_code == 200
    parsed = icalendar.Calendar.from_ical(feed.content)
    steps = [e for e in parsed.walk("VEVENT") if str(e["UID"]).startswith("pb-milestone-")]
    assert len(steps) == 1
    [step] = steps
    assert step["DTSTART"].dt == soon
    assert step["DTEND"].dt == soon + dt.timedelta(days=1)
    assert str(step["DESCRIPTION"]) == "Bänkarna på plats"
    assert str(step["SUMMARY"]).endswith(": Park") or str(step["SUMMARY"]).endswith(": Library")
    assert urlsplit(str(step["URL"])).fragment == f"proposal-{winner.id}"
    # Milestones are no events of a type: filtering by type leaves them out.
    typed = icalendar.Calendar.from_ical((await client.get("/calendar.ics?type=pop_up")).content)
    assert not [e for e in typed.walk("VEVENT") if str(e["UID"]).startswith("pb-milestone-")]


# --- the idea's author is told ---------------------------------------------------------------


@pytest.fixture
def mail_settings(settings, smtp_server):
    return dataclasses.replace(
        settings, smtp_url=smtp_server.url, mail_from="Tori <osallisuus@example.fi>"
    )


async def test_the_author_is_mailed_in_their_language_and_can_unsubscribe(
    client, db, database, mail_settings, smtp_server
):
    round_, [winner, *_], _others = await selected_proposals(db)
    aino = await make_resident(db, "aino@example.fi", language="sv")
    winner.author_id = aino.id
    await db.commit()
    await signed_in_as(client, db, Role.STAFF)
    added = await client.post(
        milestone_path(round_, winner), data=form(client, **good_fields(text_en=""))
    )
    assert added.status_code == 303, added.text
    # Sent twice (a double click): one milestone, one record, one message.
    twice = await client.post(
        milestone_path(round_, winner), data=form(client, **good_fields(text_en=""))
    )
    assert twice.status_code == 303
    assert await milestone_count(db) == 1
    assert await audit_actions(db) == ["milestone.add"]
    done = await deliver_due(database.sessionmaker, mail_settings)
    assert (done.sent, done.failed) == (1, 0)
    [message] = smtp_server.to("aino@example.fi")
    assert message["Subject"] == "Nyheter om hur din idé genomförs"
    text = text_part(message)
    assert TEXTS["text_sv"] in text
    assert TEXTS["text_fi"] not in text
    assert "15.3.2027" in text
    assert "40\xa0%" in text
    assert "12\xa0500\xa0€" in text
    assert f"/pb/{round_.slug}/implementation?lang=sv#proposal-{winner.id}" in text
    assert '<html lang="sv">' in html_part(message)

    # The unsubscribe link turns implementation news off: the next milestone is not mailed.
    url = re.fullmatch(r"<(\S+)>", message["List-Unsubscribe"]).group(1)
    parts = urlsplit(url)
    client.cookies.clear()
    unsubscribed = await client.post(
        f"{parts.path}?{parts.query}", data={"List-Unsubscribe": "One-Click"}
    )
    assert unsubscribed.status_code in (200, 303), unsubscribed.text
    await db.refresh(aino)
    assert "implementation" in aino.mail_opt_out or "all" in aino.mail_opt_out
    await signed_in_as(client, db, Role.STAFF)
    again = await client.post(
        milestone_path(round_, winner), data=form(client, **good_fields(date="2027-04-01"))
    )
    assert again.status_code == 303
    await deliver_due(database.sessionmaker, mail_settings)
    assert len(smtp_server.to("aino@example.fi")) == 1


# --- pictures of a milestone (the pictures component, owner kind "milestone") -----------------


async def test_a_milestone_gets_pictures_with_descriptions_shown_on_the_public_pages(
    client, db, settings
):
    from tests.pictures import jpeg
    from voting.models import Picture

    round_, [winner, *_], _others = await selected_proposals(db)
    await signed_in_as(client, db, Role.STAFF)
    added = await client.post(milestone_path(round_, winner), data=form(client, **good_fields()))
    assert added.status_code == 303
    milestone = await db.scalar(select(Milestone))
    page_path = f"{milestone_path(round_, winner)}/{milestone.id}"
    page = await client.get(page_path)
    assert 'enctype="multipart/form-data"' in page.text

    def send(**fields):
        return client.post(
            f"{page_path}/pictures",
            data={"_csrf_token": client.cookies["tori_csrf"], **fields},
            files={"picture": ("work.jpg", jpeg(800, 600), "image/jpeg")},
        )

    def media() -> set[str]:
        folder = settings.media_dir
        return {path.name for path in folder.iterdir()} if folder.exists() else set()

    # The usual mistake: no Swedish description. Refused on the milestone's page, nothing kept.
    before = media()
    refused = await send(alt_fi="Kaivinkone puistossa")
    assert refused.status_code == 400
    assert "Describe the picture in this language" in refused.text
    assert await db.scalar(select(func.count()).select_from(Picture)) == 0
    assert media() == before

    stored = await send(alt_fi="Kaivinkone puistossa", alt_sv="Grävmaskin i parken")
    assert stored.status_code == 303
    assert stored.headers["location"] == f"{page_path}?done=picture"
    picture = await db.scalar(select(Picture))
    assert (picture.owner_kind, picture.owner_id) == ("milestone", milestone.id)
    record = await db.scalar(select(AuditRecord).where(AuditRecord.action == "picture.add"))
    assert record.target == f"milestone {milestone.id}"

    for path in (
        f"/pb/{round_.slug}/implementation?lang=sv",
        "/pb/implementation?lang=sv",
        f"/pb/{round_.slug}/proposals/{winner.id}?lang=sv",
    ):
        public = await client.get(path)
        assert public.status_code == 200, path
        assert 'alt="Grävmaskin i parken"' in public.text, path
        assert picture.src in public.text, path

    # Removing the milestone takes its pictures along, rows and files.
    files = {f"{picture.file_key}-{width}.webp" for width in picture.widths}
    assert files <= media()
    removed = await client.post(f"{page_path}/remove", data=form(client))
    assert removed.status_code == 303
    assert await db.scalar(select(func.count()).select_from(Picture)) == 0
    assert not files & media()
