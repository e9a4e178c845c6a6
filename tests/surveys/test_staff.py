"""Staff create an event's questionnaire, add questions, compare events and export."""

import asyncio
import csv
import datetime as dt
import io
import threading

import openpyxl
import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.areas.services import list_areas
from app.database import Database
from app.events.models import EventType
from app.migrate import upgrade_to_head
from surveys import services
from surveys.comparison import ComparisonFilter, compare
from surveys.models import FeedbackPending, FeedbackResponse, Questionnaire
from tests import commands
from tests.conftest import csrf_token
from tests.factories import make_area, make_event, signed_in_as
from tests.surveys.factories import answer, open_questionnaire


async def test_staff_create_a_questionnaire_and_add_an_event_question(client, db):
    await signed_in_as(client, db, Role.STAFF)
    event = await make_event(db, starts_in=dt.timedelta(days=2))
    page = await client.get(f"/staff/events/{event.id}/feedback")
    assert "Create the questionnaire" in page.text
    token = await csrf_token(client, f"/staff/events/{event.id}/feedback")
    day = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).date().isoformat()
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=20)).date().isoformat()
    created = await client.post(
        f"/staff/events/{event.id}/feedback",
        data={
            "opens_date": day,
            "opens_time": "16.00",
            "closes_date": later,
            "closes_time": "23.00",
            "instrument_id": "",
            "_csrf_token": token,
        },
    )
    assert created.status_code == 303
    questionnaire = await db.scalar(select(Questionnaire))
    assert questionnaire.version.template.key == "standard_feedback"
    added = await client.post(
        f"/staff/events/{event.id}/feedback/questions",
        data={
            "type": "single",
            "text_fi": "Mikä teema kiinnostaa?",
            "options_fi": "Liikenne\nPuistot\nKoulut",
            "_csrf_token": token,
        },
    )
    assert added.status_code == 303
    await db.refresh(questionnaire)
    [extra] = questionnaire.extra_questions
    assert extra["key"] == f"x{event.id}_1"
    assert [o["label"]["fi"] for o in extra["options"]] == ["Liikenne", "Puistot", "Koulut"]
    page = await client.get(f"/staff/events/{event.id}/feedback")
    assert f"/f/{questionnaire.slug}" in page.text
    assert (
        (await client.get(f"/f/{questionnaire.slug}/qr.svg"))
        .headers["content-type"]
        .startswith("image/svg+xml")
    )
    poster = await client.get(f"/f/{questionnaire.slug}/poster?lang=en")
    assert "Kerro, mitä mieltä olit!" in poster.text  # the event is held in Finnish


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"opens_date": "", "opens_time": "", "closes_date": "", "closes_time": ""},
            "This field is required.",
        ),
        (
            {
                "opens_date": "2026-13-01",
                "opens_time": "10.00",
                "closes_date": "2026-12-01",
                "closes_time": "10.00",
            },
            "Enter a date",
        ),
        (
            {
                "opens_date": "2026-12-02",
                "opens_time": "10.00",
                "closes_date": "2026-12-01",
                "closes_time": "10.00",
            },
            "must close after it opens",
        ),
        (
            {
                "opens_date": "2026-12-01",
                "opens_time": "10.00",
                "closes_date": "2026-12-02",
                "closes_time": "10.00",
                "instrument_id": "999",
            },
            "Choose one of the options.",
        ),
    ],
)
async def test_bad_questionnaire_settings_store_nothing(client, db, fields, message):
    await signed_in_as(client, db, Role.STAFF)
    event = await make_event(db)
    token = await csrf_token(client, f"/staff/events/{event.id}/feedback")
    response = await client.post(
        f"/staff/events/{event.id}/feedback", data={**fields, "_csrf_token": token}
    )
    assert response.status_code == 400
    assert message in response.text
    assert await db.scalar(select(func.count()).select_from(Questionnaire)) == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"type": "single", "text_fi": "Kysymys", "options_fi": "Vain yksi"},
            "at least two options",
        ),
        (
            {"type": "single", "text_fi": "Kysymys", "options_fi": "A\nB", "options_sv": "A"},
            "same number of options",
        ),
        ({"type": "essay", "text_fi": "Kysymys"}, "Choose one of the options."),
        ({"type": "scale5"}, "Give this in at least one language."),
        (
            {"type": "multiple", "text_fi": "K", "options_fi": "A\nB", "max_choices": "0"},
            "Enter a number from 1 to 12.",
        ),
    ],
)
async def test_bad_extra_questions_are_refused(client, db, fields, message):
    await signed_in_as(client, db, Role.STAFF)
    questionnaire = await open_questionnaire(db, await make_event(db))
    token = await csrf_token(client, f"/staff/events/{questionnaire.event_id}/feedback")
    response = await client.post(
        f"/staff/events/{questionnaire.event_id}/feedback/questions",
        data={**fields, "_csrf_token": token},
    )
    assert response.status_code == 400
    assert message in response.text
    await db.refresh(questionnaire)
    assert questionnaire.extra_questions == []


async def test_auditor_reads_results_but_cannot_change_the_questionnaire(client, db):
    questionnaire = await open_questionnaire(db, await make_event(db))
    await signed_in_as(client, db, Role.AUDITOR)
    assert (await client.get(f"/staff/events/{questionnaire.event_id}/feedback")).status_code == 200
    token = await csrf_token(client, "/staff")
    refused = await client.post(
        f"/staff/events/{questionnaire.event_id}/feedback/questions",
        data={"type": "scale5", "text_fi": "K", "_csrf_token": token},
    )
    assert refused.status_code == 403


async def test_signed_out_visitor_cannot_see_results_or_exports(client, db):
    questionnaire = await open_questionnaire(db, await make_event(db))
    for path in (
        "/staff/feedback",
        f"/staff/events/{questionnaire.event_id}/feedback",
        "/staff/feedback/export/responses.csv",
    ):
        response = await client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/staff/login")


async def seed_two_types(db):
    area = await make_area(db, "Vanha-Espoo", population=39908)
    panel = await make_event(
        db, area=area, event_type=EventType.THEME_PANEL, starts_in=-dt.timedelta(days=3)
    )
    popup = await make_event(
        db, area=area, event_type=EventType.POP_UP, starts_in=-dt.timedelta(days=2)
    )
    panel.participant_count, popup.participant_count = 30, 50
    await db.commit()
    for event, scores in ((panel, [5, 4, 4, 5, 3]), (popup, [2, 3, 3, 4, 2, 3])):
        questionnaire = await open_questionnaire(db, event)
        for score in scores:
            await answer(
                db,
                questionnaire,
                {"satisfaction": score, "again": "yes", "comment": "=cmd|' /C calc'!A0"},
            )
    return area


async def test_staff_compare_two_event_types_and_export(client, db):
    await seed_two_types(db)
    await signed_in_as(client, db, Role.STAFF)
    page = await client.get("/staff/feedback?group=type&type=theme_panel&type=pop_up")
    assert page.status_code == 200
    assert "Theme panel" in page.text
    assert "Pop-up" in page.text
    assert "11 responses in 2 groups." in page.text
    assert "<svg" in page.text

    monitoring = list(
        csv.DictReader(
            io.StringIO((await client.get("/staff/feedback/export/monitoring.csv?group=type")).text)
        )
    )
    assert {row["group"]: row["participants"] for row in monitoring} == {
        "theme_panel": "30",
        "pop_up": "50",
    }
    answers = list(
        csv.DictReader(
            io.StringIO((await client.get("/staff/feedback/export/answers.csv?group=type")).text)
        )
    )
    satisfaction = {
        row["group"]: float(row["mean"]) for row in answers if row["question_key"] == "satisfaction"
    }
    assert satisfaction == {"theme_panel": 4.2, "pop_up": pytest.approx(17 / 6, abs=1e-4)}

    exported = await client.get("/staff/feedback/export/responses.csv?type=pop_up")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert len(rows) == 6
    assert {"response_id", "event_type", "language", "satisfaction", "again", "comment"} <= set(
        rows[0]
    )
    assert rows[0]["comment"].startswith("'=")  # a formula is never run by a spreadsheet

    workbook = openpyxl.load_workbook(
        io.BytesIO((await client.get("/staff/feedback/export/answers.xlsx?group=type")).content)
    )
    assert workbook.sheetnames == ["monitoring", "answers"]
    labels, keys = (
        [cell.value for cell in row] for row in workbook["answers"].iter_rows(max_row=2)
    )
    assert keys[:4] == ["group", "question_key", "option_key", "n"]
    assert labels[:4] == ["Group", "Question", "Option", "Number of answers"]
    responses_book = openpyxl.load_workbook(
        io.BytesIO((await client.get("/staff/feedback/export/responses.xlsx")).content)
    )
    assert responses_book["responses"].max_row == 13  # labels, keys and 11 responses


async def test_the_dashboard_reads_pending_counts_and_folds_them_after_the_request(
    client, db, monkeypatch
):
    """The fold runs off the request (PostgreSQL): a fold that cannot finish yet does not hold
    the page, which counts the pending answers itself; the fold then empties the pending table."""
    await seed_two_types(db)
    await signed_in_as(client, db, Role.STAFF)
    release = threading.Event()
    fold = services.fold_pending_counts

    async def held_fold(session):
        await asyncio.to_thread(release.wait, 120)  # the app's loop is another thread's
        return await fold(session)

    monkeypatch.setattr(services, "fold_pending_counts", held_fold)
    try:
        page = await asyncio.wait_for(client.get("/staff/feedback?group=type"), timeout=30)
    finally:
        release.set()
    assert page.status_code == 200
    assert "11 responses in 2 groups." in page.text

    async def pending() -> int:
        return await db.scalar(select(func.count()).select_from(FeedbackPending))

    for _ in range(1000):  # waits for the background fold (at most 20 s), asserts no timing
        if await pending() == 0:
            break
        await asyncio.sleep(0.02)
    assert await pending() == 0
    assert (await client.get("/staff/feedback?group=type")).text.count(
        "11 responses in 2 groups."
    ) == 1


async def test_exports_for_spreadsheets_open_in_columns_with_labels_in_the_staff_language(
    client, db
):
    """Finnish and Swedish spreadsheet programs read ';' and a decimal comma; a comma-separated
    file with '.' decimals opened in one column. The machine CSV stays as open data expects."""
    await seed_two_types(db)
    await signed_in_as(client, db, Role.STAFF)
    machine = await client.get("/staff/feedback/export/answers.csv?group=type")
    assert not machine.text.startswith("\ufeff")
    assert machine.text.splitlines()[0].startswith("group,question_key,option_key,n,mean")
    for language, group_label, mean_label, panel in (
        ("fi", "Ryhmä", "Keskiarvo", "Teemapaneeli"),
        ("sv", "Grupp", "Medelvärde", "Temapanel"),
        ("en", "Group", "Mean", "Theme panel"),
    ):
        sheet = await client.get(
            f"/staff/feedback/export/answers.sheet.csv?group=type&lang={language}"
        )
        assert sheet.status_code == 200
        assert sheet.headers["content-type"].startswith("text/csv")
        assert 'spreadsheet.csv"' in sheet.headers["content-disposition"]
        assert sheet.text.startswith("\ufeff")
        rows = list(csv.reader(io.StringIO(sheet.text.lstrip("\ufeff")), delimiter=";"))
        header = rows[0]
        assert header[0] == group_label
        assert mean_label in header
        satisfaction = [row for row in rows[1:] if row[1] == "satisfaction"]
        means = {row[0]: row[header.index(mean_label)] for row in satisfaction}
        assert means[panel] == "4,2", (language, means)
        monitoring = await client.get(
            f"/staff/feedback/export/monitoring.sheet.csv?lang={language}"
        )
        assert monitoring.text.startswith("\ufeff")
        assert ";" in monitoring.text.splitlines()[0]
    responses = await client.get("/staff/feedback/export/responses.sheet.csv?type=pop_up&lang=fi")
    rows = list(csv.reader(io.StringIO(responses.text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:3] == ["Vastaus", "Tapahtuma", "Tapahtumatyyppi"]
    assert len(rows) == 7
    assert all(row[-1].startswith("'=") for row in rows[1:])  # no formula runs here either


@pytest.mark.parametrize(
    "query",
    [
        "start=yesterday",
        "type=rave",
        "area=99999",
        "language=de",
        "group=planet",
        "organiser_kind=aliens",
    ],
)
async def test_compare_page_explains_filters_it_did_not_understand(client, db, query):
    await signed_in_as(client, db, Role.STAFF)
    response = await client.get(f"/staff/feedback?{query}")
    assert response.status_code == 400
    assert "left out" in response.text


async def test_unknown_export_is_a_404(client, db):
    await signed_in_as(client, db, Role.STAFF)
    assert (await client.get("/staff/feedback/export/passwords.csv")).status_code == 404
    assert (await client.get("/staff/feedback/export/responses.pdf")).status_code == 404


async def test_written_answers_are_listed_and_searched_per_event(client, db):
    questionnaire = await open_questionnaire(
        db, await make_event(db, starts_in=-dt.timedelta(days=1))
    )
    await answer(db, questionnaire, {"satisfaction": 4, "comment": "Lisää penkkejä puistoon"})
    await answer(db, questionnaire, {"satisfaction": 4, "comment": "<b>Kiitos</b> hyvästä illasta"})
    await signed_in_as(client, db, Role.STAFF)
    page = await client.get(f"/staff/events/{questionnaire.event_id}/feedback")
    assert "Lisää penkkejä puistoon" in page.text
    assert "&lt;b&gt;Kiitos&lt;/b&gt;" in page.text
    searched = await client.get(f"/staff/events/{questionnaire.event_id}/feedback?q=penkk")
    assert "Lisää penkkejä puistoon" in searched.text
    assert "hyvästä illasta" not in searched.text


async def test_two_hundred_concurrent_sends_of_one_form_record_one_response(database, db):
    questionnaire = await open_questionnaire(
        db, await make_event(db, starts_in=-dt.timedelta(hours=2))
    )
    areas = await list_areas(db)
    questions = services.questions_for(questionnaire, "fi", areas)
    token = services.new_submission_token("secret", questionnaire.slug)

    async def send_once() -> bool:
        async with database.sessionmaker() as session:
            form = await services.get_questionnaire(session, questionnaire.id)
            return await services.submit_response(
                session,
                form,
                questions=questions,
                answers={"satisfaction": 5},
                language="fi",
                token=token,
            )

    results = await asyncio.gather(*[send_once() for _ in range(200)])
    assert results.count(True) == 1
    assert await db.scalar(select(func.count()).select_from(FeedbackResponse)) == 1


async def test_sqlite_aggregates_equal_postgresql_aggregates(db, tmp_path):
    await seed_two_types(db)
    areas = await list_areas(db)
    postgres = await compare(db, ComparisonFilter(), "type", zone="Europe/Helsinki", areas=areas)

    sqlite = Database(f"sqlite+aiosqlite:///{tmp_path / 'copy.sqlite3'}")
    async with sqlite.engine.begin() as connection:
        await upgrade_to_head(connection)
    async with sqlite.sessionmaker() as session:
        await seed_two_types(session)
        await services.fold_pending_counts(session)
        lite = await compare(
            session,
            ComparisonFilter(),
            "type",
            zone="Europe/Helsinki",
            areas=await list_areas(session),
        )
    await sqlite.dispose()

    def snapshot(comparison):
        return [
            (
                g.key,
                g.events,
                round(g.hours, 6),
                g.participants,
                g.responses,
                dict(g.counts),
                g.population,
            )
            for g in comparison.groups
        ]

    assert snapshot(postgres) == snapshot(lite)


async def test_extra_question_text_is_capped_and_hostile_text_is_escaped(client, db):
    await signed_in_as(client, db, Role.STAFF)
    questionnaire = await open_questionnaire(db, await make_event(db))
    token = await csrf_token(client, f"/staff/events/{questionnaire.event_id}/feedback")
    path = f"/staff/events/{questionnaire.event_id}/feedback/questions"
    too_long = await client.post(
        path, data={"type": "scale5", "text_fi": "K" * 301, "_csrf_token": token}
    )
    assert too_long.status_code == 400
    assert "Use at most 300 characters." in too_long.text
    hostile = "<script>alert('x')</script>"
    added = await client.post(
        path, data={"type": "yes_no", "text_fi": hostile, "_csrf_token": token}
    )
    assert added.status_code == 303
    page = await client.get(f"/f/{questionnaire.slug}?lang=fi")
    assert "&lt;script&gt;alert(" in page.text
    assert "<script>alert(" not in page.text


def run_tori(arguments: list[str], database_url: str):
    return commands.run_tori(*arguments, env={"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"})


def test_questionnaire_and_instrument_import_commands(tmp_path):
    import json
    from pathlib import Path

    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    assert run_tori(["migrate"], url).returncode == 0
    definition = services.standard_definition()
    source = tmp_path / "standard.json"
    source.write_text(json.dumps(definition), encoding="utf-8")
    first = run_tori(["questionnaire-import", str(source)], url)
    assert first.returncode == 0, first.stderr
    assert f"version {definition['version']}: stored as a new version" in first.stdout
    assert "unchanged" in run_tori(["questionnaire-import", str(source)], url).stdout
    definition["questions"][0]["text"]["fi"] = "Uusi sanamuoto"
    source.write_text(json.dumps(definition), encoding="utf-8")
    clash = run_tori(["questionnaire-import", str(source)], url)
    assert clash.returncode == 2
    assert "give a higher version" in clash.stderr
    for content, message in (
        (b"{", "not a UTF-8 JSON file"),
        (b'{"key": "x", "questions": []}', "non-empty list"),
    ):
        bad = tmp_path / "bad.json"
        bad.write_bytes(content)
        result = run_tori(["questionnaire-import", str(bad)], url)
        assert result.returncode == 2
        assert message in result.stderr
    assert run_tori(["questionnaire-import", str(tmp_path / "missing.json")], url).returncode == 2
    instrument = Path(__file__).resolve().parents[1] / "data" / "made_up_instrument.json"
    imported = run_tori(["instrument-import", str(instrument)], url)
    assert imported.returncode == 0
    assert "offered in: fi, en" in imported.stdout
