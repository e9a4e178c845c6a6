"""Open data (app/opendata): the public files' known-answer vectors, what they must never show
(answers of small groups, poll results not yet public, unpublished counts), their headers, a
flood of downloads, and framing of the embeddable pages."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import update

from app.events.models import Event, EventType, OrganiserKind
from app.events.services import EventInput, create_events
from app.opendata import datasets
from app.opendata.controllers import forget_cached_files
from app.settings import Settings
from app.web import create_app
from tests.app.test_event_report import close, reopen
from tests.conftest import TEST_SECRET
from tests.factories import make_area
from tests.surveys.factories import answer, open_questionnaire
from tests.surveys.polls_factories import make_poll
from tests.voting.test_pb_audit import published_round

ZONE = ZoneInfo("Europe/Helsinki")


@pytest.fixture(autouse=True)
def fresh_files():
    forget_cached_files()
    yield
    forget_cached_files()


async def an_event(
    db,
    start: str,
    hours: float,
    *,
    area=None,
    kind=EventType.RESIDENT_EVENING,
    public=True,
    participants=None,
    visitors=None,
) -> Event:
    starts = dt.datetime.fromisoformat(start).replace(tzinfo=ZONE)
    [event] = await create_events(
        db,
        EventInput(
            title={"fi": "Tapahtuma", "sv": "Evenemang"},
            event_type=kind,
            starts_at=starts,
            ends_at=starts + dt.timedelta(hours=hours),
            languages=["fi"],
            area_id=area.id if area else None,
            organisers=[(OrganiserKind.CITY_UNIT, {"fi": "Osallisuus", "sv": "Delaktighet"})],
            participant_count=participants,
            visitor_count=visitors,
            is_public=public,
        ),
        zone=ZONE,
    )
    return event


def rows_of(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_events_csv_and_json_match_a_known_answer(client, db):
    kallio = await make_area(db, "Kallio", population=20_000, year=2025)
    await an_event(db, "2025-03-10T17:00", 2, area=kallio, participants=30, visitors=5)
    await an_event(db, "2025-03-20T17:00", 1.5, area=kallio)
    await an_event(db, "2025-04-02T12:00", 3, kind=EventType.POP_UP, participants=12, visitors=40)
    # A staff-only event is not open data.
    await an_event(db, "2025-03-11T17:00", 9, area=kallio, public=False, participants=99)

    response = await client.get("/open-data/events.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert (await client.get("/open-data/events.json")).headers[
        "content-type"
    ] == "application/json"
    assert response.text == (
        "month,area_id,area,event_type,event_type_name,events,hours,events_counted,participants,"
        "visitors\r\n"
        "2025-03,1,Kallio,resident_evening,Asukasilta,2,3.5,1,30,5\r\n"
        "2025-04,,,pop_up,Pop-up,1,3.0,1,12,40\r\n"
    )

    document = (await client.get("/open-data/events.json")).json()
    assert document["format"] == "tori-open-data/1"
    assert document["dataset"] == "events"
    assert document["licence"] == "CC-BY-4.0"
    assert document["licence_url"] == "https://creativecommons.org/licenses/by/4.0/"
    assert [c["name"] for c in document["columns"]] == response.text.split("\r\n")[0].split(",")
    assert document["rows"] == [
        {
            "month": "2025-03",
            "area_id": 1,
            "area": "Kallio",
            "event_type": "resident_evening",
            "event_type_name": "Asukasilta",
            "events": 2,
            "hours": 3.5,
            "events_counted": 1,
            "participants": 30,
            "visitors": 5,
        },
        {
            "month": "2025-04",
            "area_id": None,
            "area": None,
            "event_type": "pop_up",
            "event_type_name": "Pop-up",
            "events": 1,
            "hours": 3.0,
            "events_counted": 1,
            "participants": 12,
            "visitors": 40,
        },
    ]
    # The codebook speaks each official language.
    month = document["columns"][0]["description"]
    assert set(month) == {"fi", "sv", "en"}
    assert month["fi"] != month["en"]
    assert month["sv"] != month["en"]


async def test_satisfaction_of_fewer_than_five_answers_is_withheld(client, db):
    kallio = await make_area(db, "Kallio", population=20_000, year=2025)
    event = await an_event(db, "2025-05-05T17:00", 2, area=kallio, participants=40)
    form = await open_questionnaire(db, event)
    for score in (5, 4, 4):
        assert await answer(db, form, {"satisfaction": score})
    # While the questionnaire is open, the event is not in the figures at all.
    assert rows_of((await client.get("/open-data/feedback.csv")).text) == []
    forget_cached_files()
    await close(db, form)

    [row] = rows_of((await client.get("/open-data/feedback.csv")).text)
    assert row["year"] == "2025"
    assert row["area"] == "Kallio"
    assert row["responses"] == "3"
    assert row["satisfaction_mean"] == row["satisfaction_ci95_low"] == ""
    assert row["suppressed"] == "true"
    assert row["residents"] == "20000"
    assert row["participants_per_1000_residents"] == "2.0"
    json_row = (await client.get("/open-data/feedback.json")).json()["rows"][0]
    assert json_row["satisfaction_mean"] is None
    assert json_row["suppressed"] is True

    await reopen(db, form)
    for score in (4, 4):
        assert await answer(db, form, {"satisfaction": score})
    await close(db, form)
    forget_cached_files()
    [row] = rows_of((await client.get("/open-data/feedback.csv")).text)
    assert row["satisfaction_mean"] == "4.2"
    assert float(row["satisfaction_ci95_low"]) < 4.2 < float(row["satisfaction_ci95_high"])
    assert row["suppressed"] == "false"


async def test_poll_results_appear_only_when_the_poll_page_shows_them(client, db):
    hidden = await make_poll(db, visibility="after_close")
    shown = await make_poll(db, visibility="immediate")
    for poll in (hidden, shown):
        from tests.surveys.test_polls import vote

        voted = await vote(client, poll.slug, {"q_q1": "o1"})
        assert voted.status_code == 303, voted.text
    rows = rows_of((await client.get("/open-data/polls.csv")).text)
    assert {row["poll"] for row in rows} == {shown.slug}
    assert [(r["option"], r["count"], r["votes"]) for r in rows] == [
        ("o1", "1", "1"),
        ("o2", "0", "1"),
    ]
    assert rows[0]["option_label"] == "Omena"
    assert rows[0]["closed"] == "false"

    # Once it has closed, the "after close" poll is published too.
    await db.execute(
        update(type(hidden))
        .where(type(hidden).id == hidden.id)
        .values(closes_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    )
    await db.commit()
    forget_cached_files()
    rows = rows_of((await client.get("/open-data/polls.csv")).text)
    assert {row["poll"] for row in rows} == {shown.slug, hidden.slug}
    assert {r["closed"] for r in rows if r["poll"] == hidden.slug} == {"true"}


async def test_pb_results_hold_only_published_rounds(client, db):
    round_, _proposals, _receipts = await published_round(db)
    rows = rows_of((await client.get("/open-data/pb-results.csv")).text)
    assert {row["round"] for row in rows} == {round_.slug}
    by_title = {row["proposal_fi"]: row for row in rows}
    assert set(by_title) == {"Park", "Lights", "Library"}
    # Six voters: three chose park, three chose lights and library (tests/voting/test_pb_audit).
    assert by_title["Park"]["votes"] == "3"
    assert by_title["Park"]["cost_euros"] == "60000"
    assert by_title["Park"]["ballots"] == "6"
    assert {row["selected"] for row in rows} <= {"true", "false"}
    assert by_title["Park"]["selected"] == "true"


async def test_unknown_and_hostile_file_names_are_not_found(client, db):
    for name in (
        "nothing.csv",
        "events.xml",
        "EVENTS.csv",
        "events",
        "..%2F..%2Fetc%2Fpasswd",
        "events.csv%00.json",
        "e" * 500 + ".csv",
        "%D9%A7.csv",
    ):
        response = await client.get(f"/open-data/{name}")
        assert response.status_code == 404, name
        assert "text/html" in response.headers["content-type"]


async def test_files_are_cacheable_and_readable_from_any_site(client, db):
    response = await client.get("/open-data/events.csv")
    assert response.headers["cache-control"] == "public, max-age=300"
    assert response.headers["access-control-allow-origin"] == "*"
    assert "set-cookie" not in response.headers
    etag = response.headers["etag"]
    again = await client.get("/open-data/events.csv", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""


async def test_a_flood_of_downloads_reads_the_database_once(client, db, monkeypatch):
    calls = 0
    real = datasets.event_rows

    async def counted(session):
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        return await real(session)

    monkeypatch.setattr(datasets, "event_rows", counted)
    for _ in range(3):
        await asyncio.gather(*(client.get("/open-data/events.csv") for _ in range(20)))
    assert calls >= 1
    # At most once per concurrent wave, never once per request.
    assert calls <= 3


async def test_the_open_data_page_lists_every_dataset_with_its_codebook(client, db):
    page = await client.get("/open-data?lang=fi")
    assert page.status_code == 200
    for dataset in datasets.all_datasets():
        assert f'href="/open-data/{dataset.name}.csv"' in page.text
        assert f'href="/open-data/{dataset.name}.json"' in page.text
        for column in dataset.columns:
            assert f"<code>{column.name}</code>" in page.text
    assert "CC BY 4.0" in page.text


# --- Framing --------------------------------------------------------------------------------

FRAMED = ("/embed/calendar", "/p/{slug}/embed")


def frame_ancestors(response) -> str:
    policy = response.headers["content-security-policy"]
    return next(part.strip() for part in policy.split(";") if "frame-ancestors" in part)


async def test_without_listed_origins_no_page_may_be_framed(client, db):
    poll = await make_poll(db)
    for path in (*FRAMED, "/p/{slug}", "/open-data"):
        response = await client.get(path.format(slug=poll.slug))
        assert response.status_code == 200, path
        assert frame_ancestors(response) == "frame-ancestors 'none'"
        assert response.headers["x-frame-options"] == "DENY"


async def test_listed_origins_may_frame_the_embeds_and_nothing_else(db, migrated):
    settings = Settings(
        environment="test",
        secret_key=TEST_SECRET,
        database_url=migrated,
        log_level="WARNING",
        embed_origins=("https://www.example.fi",),
    )
    poll = await make_poll(db)
    async with AsyncTestClient(
        app=create_app(settings), base_url="http://testserver.local"
    ) as client:
        for path in FRAMED:
            response = await client.get(path.format(slug=poll.slug))
            assert response.status_code == 200, path
            assert frame_ancestors(response) == "frame-ancestors https://www.example.fi"
            assert "x-frame-options" not in response.headers
            # No form and no personal data: nothing to click-jack.
            assert (
                "<form" not in response.text.replace('class="logout"', "")
                or path == "/embed/calendar"
            )
            assert 'target="_blank"' in response.text
        # The poll itself, the staff sign-in and every other page still refuse every frame.
        for path in ("/p/{slug}", "/staff/login", "/calendar", "/pb"):
            response = await client.get(path.format(slug=poll.slug))
            assert frame_ancestors(response) == "frame-ancestors 'none'", path
            assert response.headers["x-frame-options"] == "DENY", path


def test_embed_origins_must_be_origins():
    for bad in (
        "www.example.fi",
        "https://example.fi/path",
        "javascript:alert(1)",
        "https://*.fi",
        "https://a.fi 'unsafe-inline'",
    ):
        with pytest.raises(Exception, match="TORI_EMBED_ORIGINS"):
            Settings.from_environment({"TORI_EMBED_ORIGINS": bad, "SECRET_KEY": TEST_SECRET})
    good = Settings.from_environment(
        {
            "TORI_EMBED_ORIGINS": "https://www.Example.fi/, https://kirjasto.example.fi:8443",
            "SECRET_KEY": TEST_SECRET,
        }
    )
    assert good.embed_origins == ("https://www.example.fi", "https://kirjasto.example.fi:8443")


async def test_staff_get_an_escaped_embed_code_only_when_a_site_may_frame(db, migrated):
    from app.accounts.models import Role
    from tests.factories import signed_in_as

    poll = await make_poll(db)
    poll.title = {"fi": '"><script>alert(1)</script>', "sv": "Enkät", "en": "Poll"}
    await db.commit()
    for origins, shown in (((), False), (("https://www.example.fi",), True)):
        settings = Settings(
            environment="test",
            secret_key=TEST_SECRET,
            database_url=migrated,
            log_level="WARNING",
            embed_origins=origins,
        )
        async with AsyncTestClient(
            app=create_app(settings), base_url="http://testserver.local"
        ) as client:
            client.follow_redirects = False
            await signed_in_as(client, db, Role.STAFF)
            await client.get("/?lang=fi")
            page = await client.get(f"/staff/polls/{poll.id}")
            assert page.status_code == 200
            assert ("/embed&quot;" in page.text or f"/p/{poll.slug}/embed" in page.text) is shown
            assert "<script>alert(1)" not in page.text
