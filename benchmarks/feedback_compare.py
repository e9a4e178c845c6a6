"""Benchmark: the comparison dashboard over 1,000,000 responses from 10,000 events on PostgreSQL.

    .venv/bin/python -m benchmarks.feedback_compare [--responses 1000000] [--events 10000]

Generates the events with COPY (over three years in seven areas, the standard
questionnaire answered in three languages) and the responses as the storing path
stores them: each response and its pending counts (in bulk with COPY), folded by
the real fold batch by batch, and the last --pending responses sent one by one
through services.submit_response and left unfolded, the backlog a dashboard
meets. Then times full page renders of /staff/feedback through the application
(the first as a staff member opens it: no warm-up, the backlog there), beside
two baselines measured in the same run: a simple staff page, and a bare
COUNT(*) of the responses in PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import statistics
import time
from zoneinfo import ZoneInfo

import asyncpg
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import make_url

from app.accounts.models import Role, User
from app.accounts.passwords import hash_password
from app.areas.services import AreaInput, create_area
from app.database import Database
from app.demo import ESPOO_AREAS
from app.events.models import EventType
from app.migrate import upgrade_to_head
from app.settings import Settings
from app.web import create_app
from benchmarks.common import SECRET, bench_database
from surveys import services
from surveys.demo import demo_answers

HELSINKI = ZoneInfo("Europe/Helsinki")
PAGES = [
    ("group by event type", "/staff/feedback?group=type"),
    ("group by area", "/staff/feedback?group=area"),
    ("group by month", "/staff/feedback?group=month"),
    ("group by year", "/staff/feedback?group=year"),
    ("group by language", "/staff/feedback?group=language"),
    ("group by event (60 newest)", "/staff/feedback?group=event"),
    (
        "2 types, 1 year, by area",
        "/staff/feedback?group=area&type=theme_panel&type=pop_up&start=2025-01-01&end=2025-12-31",
    ),
]


async def generate(url: str, events: int, responses: int, pending: int) -> None:
    database = Database(url)
    async with database.engine.begin() as connection:
        await upgrade_to_head(connection)
    async with database.sessionmaker() as session:
        areas = [
            await create_area(
                session,
                AreaInput(
                    name=name, populations={2024: population, 2025: population, 2026: population}
                ),
                slug=slug,
            )
            for slug, name, population, _venue in ESPOO_AREAS
        ]
        version = await services.standard_version(session)
        questions = services.questions_for(
            services.AnsweringForm(
                0,
                "",
                0,
                None,
                None,
                services._version_questions(version.id, version.questions),
                (),
                None,
            ),
            "fi",
            areas,
        )
        session.add(
            User(
                email="bench@example.fi",
                display_name="Bench",
                role=Role.STAFF.value,
                password_hash=await hash_password("benchmark password"),
                must_change_password=False,
            )
        )
        await session.commit()
    await database.dispose()

    parsed = make_url(url)
    connection = await asyncpg.connect(
        host=parsed.host, port=parsed.port, user=parsed.username, database=parsed.database
    )
    rng = random.Random(2017)
    start = dt.datetime(2024, 1, 1, 15, tzinfo=dt.UTC)
    now = dt.datetime.now(dt.UTC)
    event_rows = []
    for number in range(events):
        begins = start + dt.timedelta(minutes=rng.randrange(0, 3 * 365 * 24 * 60 // 10) * 10)
        event_type = rng.choice(list(EventType)).value
        area = rng.choice(areas)
        participants = rng.randint(5, 200)
        event_rows.append(
            (
                number + 1,
                json.dumps({"fi": f"Tapahtuma {number + 1}"}),
                "{}",
                "{}",
                event_type,
                area.id,
                json.dumps({"fi": "Kirjasto", "sv": "Biblioteket"}),
                json.dumps(rng.choice([["fi"], ["fi", "sv"], ["fi", "en"], ["sv"], ["en", "fi"]])),
                begins,
                begins + dt.timedelta(hours=rng.choice([1.5, 2, 3])),
                participants,
                participants + rng.randint(0, 50),
                True,
                now,
                now,
                begins.astimezone(HELSINKI).strftime("%Y-%m"),
                begins.astimezone(HELSINKI).year,
            )
        )
    await connection.copy_records_to_table(
        "event",
        records=event_rows,
        columns=[
            "id",
            "title",
            "description",
            "theme",
            "event_type",
            "area_id",
            "venue",
            "languages",
            "starts_at",
            "ends_at",
            "participant_count",
            "visitor_count",
            "is_public",
            "created_at",
            "updated_at",
            "local_month",
            "local_year",
        ],
    )
    # One organiser in the register, organising every event (the monitoring counts it once).
    await connection.copy_records_to_table(
        "organiser",
        records=[(1, "city_unit", json.dumps({"fi": "Asukasosallisuus"}), False, now)],
        columns=["id", "kind", "name", "retired", "created_at"],
    )
    await connection.copy_records_to_table(
        "event_organiser",
        records=[(i, i, 1, 0) for i in range(1, events + 1)],
        columns=["id", "event_id", "organiser_id", "position"],
    )
    await connection.copy_records_to_table(
        "questionnaire",
        records=[
            (i, i, version.id, f"b{i:07d}", "[]", row[8], row[9] + dt.timedelta(days=14), now)
            for i, row in enumerate(event_rows, start=1)
        ],
        columns=[
            "id",
            "event_id",
            "version_id",
            "slug",
            "extra_questions",
            "opens_at",
            "closes_at",
            "created_at",
        ],
    )
    await store_responses(url, connection, rng, event_rows, areas, questions, responses, pending)
    for table in ("event", "organiser", "event_organiser", "questionnaire"):
        await connection.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
        )
    await connection.execute("VACUUM ANALYZE")
    tally = await connection.fetchval("SELECT count(*) FROM feedback_tally")
    backlog = await connection.fetchval("SELECT count(*) FROM feedback_pending")
    print(
        f"generated {events:,} events, {responses:,} responses, {tally:,} tally rows, "
        f"{pending:,} responses not yet folded ({backlog:,} pending rows)"
    )
    await connection.close()


async def store_responses(url, connection, rng, event_rows, areas, questions, responses, pending):
    """The responses as the storing path makes them (surveys/storing.py): each response row and
    its (question key, value) pairs in `feedback_pending`, here in bulk with COPY, folded into the
    tally by the real fold (services.fold_pending_counts) batch by batch. The last `pending`
    responses are sent one by one through services.submit_response, the storing path itself,
    and stay unfolded: the backlog a dashboard meets between two folds."""
    events = len(event_rows)
    area_slugs = [area.slug for area in areas]
    form = services.AnsweringForm(0, "", 0, None, None, questions, (), None)
    database = Database(url)
    bulk = responses - pending
    batch: list = []
    pairs: list = []

    async def flush() -> None:
        await connection.copy_records_to_table(
            "feedback_response",
            records=batch,
            columns=[
                "questionnaire_id",
                "event_id",
                "language",
                "submitted_on",
                "submission_token",
                "answers",
            ],
        )
        await connection.copy_records_to_table(
            "feedback_pending",
            records=pairs,
            columns=["event_id", "language", "question_key", "value"],
        )
        async with database.engine.connect() as folding:
            await services.fold_pending_counts(folding)
        # What autovacuum does over the hours these answers would take: the folded rows' space
        # is reused, so the pending table stays the size of a backlog, not of every answer.
        await connection.execute("VACUUM feedback_pending")
        batch.clear()
        pairs.clear()

    for number in range(bulk):
        event_number = rng.randrange(events)
        event = event_rows[event_number]
        language = rng.choice(json.loads(event[7]))
        answers = demo_answers(rng, (event_number % 7 - 3) / 6, area_slugs)
        rows, answers = services.counted_answers(form, questions, answers)
        pairs.extend((event_number + 1, language, key, value) for key, value in rows)
        batch.append(
            (
                event_number + 1,
                event_number + 1,
                language,
                event[9].date(),
                f"bench{number}",
                json.dumps(answers),
            )
        )
        if len(batch) == 50_000:
            await flush()
    if batch:
        await flush()
    slugs = {}
    async with database.write_connection() as writing:
        for _ in range(pending):
            event_number = rng.randrange(events)
            event = event_rows[event_number]
            slug = f"b{event_number + 1:07d}"
            answering = slugs.get(slug) or await services.load_answering_form(writing, slug)
            slugs[slug] = answering
            language = rng.choice(json.loads(event[7]))
            stored = await services.submit_response(
                writing,
                answering,
                questions=services.questions_for(answering, language, areas),
                answers=demo_answers(rng, (event_number % 7 - 3) / 6, area_slugs),
                language=language,
                token=services.new_submission_token(SECRET, slug),
                now=event[9] + dt.timedelta(hours=1),
            )
            assert stored
    await database.dispose()


async def measure(url: str, repeats: int) -> list[tuple[str, float, float]]:
    settings = Settings(
        environment="test", secret_key=SECRET, database_url=url, log_level="WARNING"
    )
    results = []
    async with AsyncTestClient(app=create_app(settings)) as client:
        client.follow_redirects = False
        await client.get("/staff/login?lang=en")
        response = await client.post(
            "/staff/login",
            data={
                "email": "bench@example.fi",
                "password": "benchmark password",
                "_csrf_token": client.cookies["tori_csrf"],
            },
        )
        assert response.status_code == 303, response.status_code

        async def timed(path: str, *, warm_up: bool = True) -> tuple[float, float]:
            if warm_up:
                (await client.get(path)).raise_for_status()
            seconds = []
            for _ in range(repeats):
                began = time.perf_counter()
                page = await client.get(path)
                seconds.append(time.perf_counter() - began)
                assert page.status_code == 200, (path, page.status_code)
            return statistics.median(seconds), max(seconds)

        results.append(("baseline: staff home page", *await timed("/staff")))
        # As a staff member first opens it: no warm-up, the backlog of unfolded answers there.
        results.append(
            ("as opened, with the backlog", *await timed("/staff/feedback", warm_up=False))
        )
        for label, path in PAGES:
            results.append((label, *await timed(path)))
    parsed = make_url(url)
    connection = await asyncpg.connect(
        host=parsed.host, port=parsed.port, user=parsed.username, database=parsed.database
    )
    seconds = []
    for _ in range(repeats):
        began = time.perf_counter()
        await connection.fetchval("SELECT count(*) FROM feedback_response")
        seconds.append(time.perf_counter() - began)
    await connection.close()
    results.insert(
        1, ("baseline: SELECT count(*) of responses", statistics.median(seconds), max(seconds))
    )
    return results


def copy_database(url: str, source: str, target: str) -> None:
    """Database `target` made anew as a copy of `source` (which nobody may be connected to)."""
    from tests.postgres import _psql_admin

    server = make_url(url).set(drivername="postgresql", database="postgres")
    server = server.render_as_string(hide_password=False)
    _psql_admin(server, f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
    _psql_admin(server, f'CREATE DATABASE "{target}" TEMPLATE "{source}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument(
        "--pending",
        type=int,
        default=5_000,
        help="responses sent last through the storing path and left unfolded",
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--keep",
        metavar="NAME",
        help="also keep a copy of the generated data as database NAME (for --from)",
    )
    parser.add_argument(
        "--from",
        dest="source",
        metavar="NAME",
        help="measure on a copy of database NAME (made by --keep) instead of generating",
    )
    arguments = parser.parse_args()
    with bench_database("compare") as url:
        began = time.perf_counter()
        if arguments.source:
            copy_database(url, arguments.source, make_url(url).database)
            print(f"copied {arguments.source} in {time.perf_counter() - began:.0f} s")
        else:
            asyncio.run(generate(url, arguments.events, arguments.responses, arguments.pending))
            print(f"data generated in {time.perf_counter() - began:.0f} s")
            if arguments.keep:
                copy_database(url, make_url(url).database, arguments.keep)
        results = asyncio.run(measure(url, arguments.repeats))
    print(
        f"/staff/feedback over {arguments.responses:,} responses from {arguments.events:,} events, PostgreSQL, "
        f"median and max of {arguments.repeats} renders"
    )
    print(f"{'':42}{'median ms':>11}{'max ms':>9}")
    for label, median, longest in results:
        print(f"{label:42}{median * 1000:11.0f}{longest * 1000:9.0f}")


if __name__ == "__main__":
    main()
