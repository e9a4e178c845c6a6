"""Benchmark: questionnaire answers per second with 2 workers on PostgreSQL, beside a bare INSERT endpoint.

    .venv/bin/python -m benchmarks.feedback_submit [--seconds 15] [--connections 64]

Both servers run with 2 uvicorn workers on this machine and are loaded by wrk
with the same settings in the same run. Afterwards every acknowledged answer
(an HTTP 303) must be in the database.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import tempfile
from pathlib import Path
from urllib.parse import urlencode

from litestar.middleware.csrf import generate_csrf_token

from app.areas.services import AreaInput, create_area
from app.database import Database, utcnow
from app.events.models import EventType
from app.events.services import EventInput, create_events
from app.migrate import upgrade_to_head
from benchmarks.common import (
    ROOT,
    SECRET,
    bench_database,
    count_rows,
    free_port,
    measure_bare,
    running,
    tori_server,
    wrk,
)
from surveys import services

HERE = Path(__file__).resolve().parent
EVENTS = 50


async def prepare(url: str) -> list[str]:
    database = Database(url)
    async with database.engine.begin() as connection:
        await upgrade_to_head(connection)
    slugs = []
    async with database.sessionmaker() as session:
        area = await create_area(
            session, AreaInput(name={"fi": "Penkkilä"}, populations={2026: 10000})
        )
        from zoneinfo import ZoneInfo

        for number in range(EVENTS):
            starts = utcnow() - dt.timedelta(hours=2 + number)
            [event] = await create_events(
                session,
                EventInput(
                    title={"fi": f"Tapahtuma {number}"},
                    event_type=EventType.POP_UP,
                    starts_at=starts,
                    ends_at=starts + dt.timedelta(hours=1),
                    languages=["fi"],
                    area_id=area.id,
                ),
                zone=ZoneInfo("Europe/Helsinki"),
            )
            questionnaire = await services.create_questionnaire(
                session,
                event,
                services.QuestionnaireSettings(
                    opens_at=starts, closes_at=utcnow() + dt.timedelta(days=1)
                ),
            )
            slugs.append(questionnaire.slug)
    await database.dispose()
    return slugs


def answer_form(
    rng: random.Random, slugs: list[str], csrf: str
) -> tuple[str, list[tuple[str, object]]]:
    """A resident's answers to one event's questionnaire: the path and the form fields."""
    slug = rng.choice(slugs)
    fields = [
        ("_csrf_token", csrf),
        ("token", services.new_submission_token(SECRET, slug)),
        ("answer_language", "fi"),
        *answers(rng),
    ]
    return f"/f/{slug}", fields


def answers(rng: random.Random) -> list[tuple[str, object]]:
    """One resident's answers to the standard questionnaire (a comment now and then)."""
    fields: list[tuple[str, object]] = [
        ("q_satisfaction", rng.randint(1, 5)),
        ("q_heard", rng.randint(1, 5)),
        ("q_learned_met", rng.randint(1, 5)),
        ("q_wellbeing", rng.randint(1, 5)),
        ("q_again", rng.choice(["yes", "no"])),
        ("q_recommend", rng.randint(0, 10)),
        ("q_heard_from", "friend"),
        ("q_heard_from", "poster"),
        ("q_age_group", "age_30_44"),
        ("q_preferred_language", "fi"),
    ]
    if rng.random() < 0.3:
        fields.append(("q_comment", "Hyvä tilaisuus, kiitos järjestäjille!"))
    return fields


def write_bodies(slugs: list[str], csrf: str, count: int) -> Path:
    rng = random.Random(1)
    path = Path(tempfile.mkstemp(prefix="tori-bodies-", suffix=".txt")[1])
    with path.open("w") as handle:
        for _ in range(count):
            target, fields = answer_form(rng, slugs, csrf)
            handle.write(f"{target}|{urlencode(fields)}\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=64)
    arguments = parser.parse_args()
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    with bench_database("submit") as url:
        slugs = asyncio.run(prepare(url))
        csrf = generate_csrf_token(SECRET)
        # The warm-up gets its own forms: a form sent twice counts once, by design.
        warm_up = write_bodies(slugs, csrf, count=20_000)
        bodies = write_bodies(slugs, csrf, count=max(60_000, arguments.seconds * 4000))
        port = free_port()
        command, environment = tori_server(
            url, port, redis_db=14, TORI_ANSWERS_PER_ADDRESS=str(10**9)
        )
        with running(command, environment, port) as base:
            wrk(
                base,
                HERE / "submit.lua",
                seconds=3,
                connections=arguments.connections,
                env={"TORI_BENCH_BODIES": str(warm_up), "TORI_BENCH_CSRF": csrf},
            )  # warm-up, with forms of its own
            before = asyncio.run(count_rows(url, "feedback_response"))
            tori = wrk(
                base,
                HERE / "submit.lua",
                seconds=arguments.seconds,
                connections=arguments.connections,
                env={"TORI_BENCH_BODIES": str(bodies), "TORI_BENCH_CSRF": csrf},
            )
        after = asyncio.run(count_rows(url, "feedback_response"))
        stored = after - before
        bare, bare_stored = measure_bare(
            url, seconds=arguments.seconds, connections=arguments.connections
        )
        bodies.unlink()
        warm_up.unlink()
    acknowledged = tori.acknowledged
    print(
        f"wrk -t2 -c{arguments.connections} -d{arguments.seconds}s, 2 workers each, PostgreSQL, this machine ({_cpus()} cores)"
    )
    print(
        f"{'':28}{'requests/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'acknowledged':>14}{'stored':>9}"
    )
    print(
        f"{'Tori questionnaire answer':28}{tori.per_second:12.0f}{tori.p50_ms:9.1f}{tori.p99_ms:9.1f}{tori.errors:8}{acknowledged:14}{stored:9}"
    )
    print(
        f"{'bare INSERT (baseline)':28}{bare.per_second:12.0f}{bare.p50_ms:9.1f}{bare.p99_ms:9.1f}{bare.errors:8}{bare.acknowledged:14}{bare_stored:9}"
    )
    print(
        f"Tori / baseline: {tori.per_second / bare.per_second:.0%}; lost acknowledged answers: {max(0, acknowledged - stored)}"
    )
    if stored < acknowledged:
        raise SystemExit("acknowledged answers are missing from the database")


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


if __name__ == "__main__":
    main()
