"""Heavy work runs off the event loop (app/off_loop.py): while a staff member publishes a round,
opens an audit page, exports a workbook or imports a roll, the worker still answers /healthz.

Each heavy step is made to block its thread for two seconds (time.sleep, as seconds of Python
would): had it run on the event loop, every /healthz asked meanwhile would wait for it. The
full-size drill with real data is benchmarks/event_loop_drill.py.
"""

from __future__ import annotations

import asyncio
import itertools
import time

import httpx
import pytest

from app.accounts.models import Role
from app.audit import controllers as audit_controllers
from app.state import DATABASE
from app.web import create_app
from surveys import staff as survey_staff
from tests.conftest import csrf_token
from tests.factories import make_area, signed_in_as
from tests.voting.factories import make_round
from voting import publication
from voting import staff as voting_staff

BLOCKING = 2.0  # seconds; a gap of half of it fails, well above a loaded machine's hiccups


@pytest.fixture
async def client(settings, db):
    """The application on the test's own event loop (Litestar's test client runs it on a loop of
    its own in another thread, and serves one request at a time)."""
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
        yield client
    await DATABASE.of(app).dispose()


def blocking(function):
    """`function`, after holding its thread for BLOCKING seconds."""

    def slow(*arguments, **keywords):
        time.sleep(BLOCKING)
        return function(*arguments, **keywords)

    return slow


def blocking_async(function):
    async def slow(*arguments, **keywords):
        time.sleep(BLOCKING)  # noqa: ASYNC251 - the point: this blocks whatever loop runs it
        return await function(*arguments, **keywords)

    return slow


async def health_while(client, heavy) -> tuple[object, list[float]]:
    """The heavy request's response, and the gaps (s) between the moments the worker showed it
    was free: the start, each /healthz answered while the request ran, and its end."""
    started = time.perf_counter()
    task = asyncio.ensure_future(heavy)
    moments = [started]
    while not task.done():
        response = await client.get("/healthz")
        assert response.status_code == 200
        moments.append(time.perf_counter())
        await asyncio.sleep(0.01)
    response = await task
    moments.append(time.perf_counter())
    return response, [later - earlier for earlier, later in itertools.pairwise(moments)]


def assert_answered_meanwhile(gaps: list[float]) -> None:
    assert sum(gaps) >= BLOCKING, "the heavy step did not run"
    assert len(gaps) >= 4, f"/healthz was answered {len(gaps) - 1} times in {sum(gaps):.1f} s"
    assert max(gaps) < BLOCKING / 2, [round(gap, 3) for gap in gaps]


@pytest.mark.parametrize("page", ["round audit", "staff audit log check"])
async def test_audit_pages_check_off_the_event_loop(client, db, monkeypatch, page):
    await signed_in_as(client, db, Role.ADMIN)
    round_ = await make_round(db, "voting", {None: 100_000})
    await client.get(f"/staff/pb/{round_.id}/audit")  # warm: only the step itself is measured
    await client.get("/staff/audit")
    if page == "round audit":
        monkeypatch.setattr(publication, "audit_round", blocking_async(publication.audit_round))
        path = f"/staff/pb/{round_.id}/audit"
    else:
        monkeypatch.setattr(
            audit_controllers,
            "check_audit_chain",
            blocking_async(audit_controllers.check_audit_chain),
        )
        path = "/staff/audit/"
    response, latencies = await health_while(client, client.get(path))
    assert response.status_code in (200, 409), response.text
    assert_answered_meanwhile(latencies)


async def test_publication_runs_off_the_event_loop(client, db, monkeypatch):
    await signed_in_as(client, db, Role.ADMIN)
    round_ = await make_round(db, "counting", {None: 100_000})
    await client.get(f"/staff/pb/{round_.id}/publish")  # warm: only the step itself is measured
    monkeypatch.setattr(publication, "publish", blocking_async(publication.publish))
    token = await csrf_token(client)
    response, latencies = await health_while(
        client, client.post(f"/staff/pb/{round_.id}/publish", data={"_csrf_token": token})
    )
    assert response.status_code in (200, 303, 409), response.text
    assert_answered_meanwhile(latencies)


async def test_roll_import_runs_off_the_event_loop(client, db, monkeypatch):
    await signed_in_as(client, db, Role.ADMIN)
    area = await make_area(db, "Kallio")
    round_ = await make_round(db, "review", {area.id: 100_000, None: 100_000})
    await client.get(f"/staff/pb/{round_.id}")  # warm: only the step itself is measured
    monkeypatch.setattr(voting_staff, "parse_roll", blocking(voting_staff.parse_roll))
    token = await csrf_token(client)
    census = b"identifier,birth_date,area\n010190-123A,1990-01-01,Kallio\n"
    response, latencies = await health_while(
        client,
        client.post(
            f"/staff/pb/{round_.id}/roll",
            data={"_csrf_token": token},
            files={"file": ("roll.csv", census, "text/csv")},
        ),
    )
    assert response.status_code in (200, 400), response.text
    assert_answered_meanwhile(latencies)


async def test_workbook_export_is_zipped_off_the_event_loop(client, db, monkeypatch):
    await signed_in_as(client, db, Role.STAFF)
    # Warm (templates compiled, connections open): only the step itself is measured.
    assert (await client.get("/staff/feedback/export/monitoring.xlsx")).status_code == 200
    monkeypatch.setattr(survey_staff, "workbook", blocking(survey_staff.workbook))
    response, latencies = await health_while(
        client, client.get("/staff/feedback/export/monitoring.xlsx")
    )
    assert response.status_code == 200, response.text
    assert_answered_meanwhile(latencies)


async def test_the_census_upload_s_multipart_body_is_parsed_off_the_event_loop(
    client, db, monkeypatch
):
    from app import uploads

    await signed_in_as(client, db, Role.ADMIN)
    area = await make_area(db, "Kallio")
    round_ = await make_round(db, "review", {area.id: 100_000, None: 100_000})
    await client.get(f"/staff/pb/{round_.id}")  # warm: only the step itself is measured
    monkeypatch.setattr(uploads, "parse_multipart", blocking(uploads.parse_multipart))
    token = await csrf_token(client)
    census = b"identifier,birth_date,area\n010190-123A,1990-01-01,Kallio\n"
    response, latencies = await health_while(
        client,
        client.post(
            f"/staff/pb/{round_.id}/roll",
            data={"_csrf_token": token},
            files={"file": ("roll.csv", census, "text/csv")},
        ),
    )
    assert response.status_code == 200, response.text
    assert_answered_meanwhile(latencies)
