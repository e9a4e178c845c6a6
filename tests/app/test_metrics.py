"""Liveness, readiness and Prometheus metrics (app/metrics.py), tried as the city's IT would
rely on them: a readiness check that names what is down, metrics that need their token, and
figures that cover every worker whichever one answers the scrape."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from app.mail import enqueue
from app.settings import Settings
from app.web import create_app
from tests.conftest import TEST_SECRET
from tests.surveys.polls_factories import make_poll
from tests.surveys.test_polls import vote
from tests.surveys.test_polls import votes as stored_votes

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "metrics-token-that-is-long-enough-0123456789"


def _samples(text: str, name: str) -> list:
    return [
        sample
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


async def test_liveness_and_readiness_answer_while_everything_is_up(client):
    assert (await client.get("/livez")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok"}


async def test_readiness_names_a_database_that_does_not_answer_while_liveness_still_answers():
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(
        environment="test",
        secret_key=TEST_SECRET,
        database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{port}/none",
        log_level="WARNING",
    )
    async with AsyncTestClient(app=create_app(settings)) as client:
        assert (await client.get("/livez")).status_code == 200
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["down"] == ["database"]


async def test_readiness_names_redis_when_it_does_not_answer_but_stays_ready(settings):
    """Limits fall back to the database while Redis is down, so the worker still serves: a
    load balancer must not take every worker out, but the operator sees what is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = Settings(**{**settings.__dict__, "redis_url": f"redis://127.0.0.1:{port}/0"})
    async with AsyncTestClient(app=create_app(down)) as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "degraded", "down": ["redis"]}


async def test_metrics_are_off_unless_switched_on(client):
    assert (await client.get("/metrics")).status_code == 404


async def test_metrics_need_their_token_and_count_routes_and_stored_votes(settings, db):
    poll = await make_poll(db)
    await enqueue(db, "asukas@example.fi", "account_confirm", "fi", name="Asukas", link="x")
    await db.commit()
    on = Settings(**{**settings.__dict__, "metrics": True, "metrics_token": TOKEN})
    async with AsyncTestClient(app=create_app(on)) as client:
        client.follow_redirects = False
        for _ in range(3):
            client.cookies.clear()  # three residents, three devices
            sent = await vote(client, poll.slug, {"q_q1": "o1"})
            assert sent.status_code == 303
        stored = await stored_votes(db)
        for event_id in (1, 2, 3):
            await client.get(f"/events/{event_id}")
        assert (await client.get("/metrics")).status_code == 401
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer " + "x" * 44})
        assert wrong.status_code == 401
        response = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    [gauge] = _samples(response.text, "tori_poll_votes")
    assert gauge.value == stored == 3
    # One series for the route, not one per id (an id in the path would multiply series).
    paths = {s.labels["path"] for s in _samples(response.text, "tori_requests_total")}
    assert "/events/{event_id}" in paths
    assert not any(p.startswith("/events/1") for p in paths)
    assert "/metrics" not in paths
    assert _samples(response.text, "tori_db_pool_size")
    [queue] = _samples(response.text, "tori_mail_queue")
    assert queue.value == 1


def test_production_refuses_metrics_without_a_long_token():
    from app.settings import InsecureSettingsError

    environment = {
        "TORI_ENV": "production",
        "SECRET_KEY": "s" * 48,
        "TORI_ROLL_KEY": "r" * 48,
        "TORI_SIGNING_KEY": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "TORI_HTTPS": "1",
        "DATABASE_URL": "postgresql://tori@db/tori",
        "TORI_METRICS": "1",
        "TORI_METRICS_TOKEN": "short",
    }
    with pytest.raises(InsecureSettingsError, match="TORI_METRICS_TOKEN"):
        Settings.from_environment(environment).check()


def test_a_scrape_of_either_worker_counts_the_requests_of_both(migrated):
    """Two uvicorn workers, forty requests on new connections (the kernel spreads them over
    both), then scrapes: each must count all forty, whichever worker answers it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    environment = {
        **os.environ,
        "DATABASE_URL": migrated,
        "SECRET_KEY": TEST_SECRET,
        "TORI_ENV": "test",
        "LOG_LEVEL": "WARNING",
        "TORI_METRICS": "1",
        "TORI_METRICS_TOKEN": TOKEN,
    }
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(
        command, env=environment, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/livez", timeout=2).close()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        for _ in range(40):
            urllib.request.urlopen(base + "/accessibility", timeout=10).close()
        scrape = urllib.request.Request(
            base + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        seen = []
        for _ in range(6):
            with urllib.request.urlopen(scrape, timeout=10) as response:
                text = response.read().decode()
            seen.append(
                sum(
                    s.value
                    for s in _samples(text, "tori_requests_total")
                    if s.labels["path"] == "/accessibility"
                )
            )
    finally:
        server.terminate()
        server.wait(timeout=20)
    assert seen == [40] * 6
