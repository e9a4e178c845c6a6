"""Benchmark: the staff review list and search over 2,000 ideas and 20,000 events on PostgreSQL,
beside /healthz and the staff home page measured in the same run against the same server.

    .venv/bin/python -m benchmarks.review_list [--ideas 2000] [--events 20000] [--requests 60]

The data is written with COPY: one round in review with 2,000 ideas (Helsinki's OmaStadi has
about 1,300 a round) in seven districts and city-wide, their titles and descriptions in Finnish
with inflected words, a third also in Swedish and English, some assigned, reported or waiting
for a check; 20,000 events over three years. A staff member signs in, and each page is then read
sequentially over one keep-alive connection by `tori serve` with 2 workers. Goal: every page's
p95 under 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import http.client
import json
import random
import statistics
import time
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from app.accounts.models import Role, User
from app.accounts.passwords import hash_password
from app.areas.services import AreaInput, create_area
from app.database import Database, utcnow
from app.demo import ESPOO_AREAS
from app.events.models import EventType
from app.migrate import upgrade_to_head
from benchmarks.common import ROOT, _connect, bench_database, free_port, running, tori_server
from voting import rounds

GOAL_MS = 200.0
EMAIL, PASSWORD = "reviewer@example.fi", "benchmark reviewer password"
HELSINKI = ZoneInfo("Europe/Helsinki")
# Words as residents write them: the same noun in different cases, so that the Finnish stemmer
# has work to do.
PLACES = [
    ("puistoon", "puistossa", "puisto", "parken", "park"),
    ("leikkipuistoon", "leikkipuistossa", "leikkipuisto", "lekparken", "playground"),
    ("kirjastoon", "kirjastossa", "kirjasto", "biblioteket", "library"),
    ("uimarannalle", "uimarannalla", "uimaranta", "badstranden", "beach"),
    ("kouluun", "koulussa", "koulu", "skolan", "school"),
    ("torille", "torilla", "tori", "torget", "market square"),
    ("metsään", "metsässä", "metsä", "skogen", "forest"),
    ("rantaan", "rannassa", "ranta", "stranden", "shore"),
]
THINGS = [
    ("Uusia penkkejä", "Nya bänkar", "New benches"),
    ("Parempi valaistus", "Bättre belysning", "Better lighting"),
    ("Ulkokuntosali", "Utegym", "Outdoor gym"),
    ("Koirapuisto", "Hundpark", "Dog park"),
    ("Skeittipaikka", "Skateplats", "Skate park"),
    ("Kukkaistutuksia", "Blomplanteringar", "Flower beds"),
    ("Grillipaikka", "Grillplats", "Barbecue place"),
    ("Lisää roska-astioita", "Fler papperskorgar", "More litter bins"),
    ("Pyöräteline", "Cykelställ", "Bicycle stand"),
    ("Katettu kokoontumispaikka", "Täckt mötesplats", "Covered meeting place"),
]
EVENT_NAMES = [
    ("Asukasilta", "Invånarkväll", "Resident evening"),
    ("Teemapaneeli liikenteestä", "Temapanel om trafik", "Theme panel on traffic"),
    ("Pop-up kirjastossa", "Pop-up i biblioteket", "Pop-up at the library"),
    ("Kaupunginosakävely", "Stadsdelsvandring", "Neighbourhood walk"),
    ("Town Hall -kokous", "Town Hall-möte", "Town Hall meeting"),
]


async def generate(url: str, ideas: int, events: int) -> tuple[int, int]:
    """The round and the events; returns (round id, the id of one district)."""
    database = Database(url)
    async with database.engine.begin() as connection:
        await upgrade_to_head(connection)
    async with database.sessionmaker() as session:
        areas = [
            await create_area(session, AreaInput(name=name, populations={2026: population}), slug)
            for slug, name, population, _venue in ESPOO_AREAS
        ]
        now = utcnow().replace(microsecond=0)
        round_ = await rounds.create_round(
            session,
            rounds.RoundDraft(
                title={"fi": "OmaStadi 2026", "sv": "OmaStadi 2026", "en": "OmaStadi 2026"},
                description={"fi": "Kuvaus"},
                ideas_open_at=now - dt.timedelta(days=40),
                review_at=now - dt.timedelta(days=10),
                voting_open_at=now + dt.timedelta(days=30),
                voting_close_at=now + dt.timedelta(days=44),
                results_at=now + dt.timedelta(days=50),
                min_age=12,
                ballot_rule="approval",
                official_rule="greedy",
                budgets={**{area.id: 1_000_000 for area in areas}, None: 2_000_000},
            ),
        )
        reviewers = []
        for number in range(6):
            user = User(
                email=EMAIL if number == 0 else f"staff{number}@example.fi",
                display_name=f"Käsittelijä {number}",
                role=Role.STAFF.value,
                password_hash=await hash_password(PASSWORD),
                must_change_password=False,
                is_active=True,
            )
            session.add(user)
            reviewers.append(user)
        await session.commit()
        area_ids = [area.id for area in areas]
        round_id, reviewer_ids = round_.id, [user.id for user in reviewers]
    await database.dispose()

    rng = random.Random(2026)
    connection = await _connect(url)
    now = utcnow()
    rows = []
    for number in range(ideas):
        to_place, at_place, _base, sv_place, en_place = rng.choice(PLACES)
        fi_thing, sv_thing, en_thing = rng.choice(THINGS)
        title = {"fi": f"{fi_thing} {to_place} {number}"}
        description = {
            "fi": f"Ehdotan, että {at_place} olisi {fi_thing.lower()}. Nyt {at_place} ei ole "
            f"mitään tällaista, ja moni asukas kaipaa sitä."
        }
        if number % 3 == 0:
            title |= {"sv": f"{sv_thing} i {sv_place} {number}", "en": f"{en_thing} {number}"}
            description |= {"sv": f"{sv_thing} i {sv_place}.", "en": f"{en_thing}, {en_place}."}
        rows.append(
            (
                round_id,
                rng.choice([*area_ids, None]),
                json.dumps(title),
                json.dumps(description),
                rng.randrange(5, 500) * 1000,
                "submitted" if number % 5 else rng.choice(["accepted", "rejected", "merged"]),
                "{}",
                "{}",
                "pending" if number % 17 == 0 else "published",
                "{}",
                rng.choice(["online"] * 6 + ["paper", "popup", "town_hall", "library"]),
                now - dt.timedelta(minutes=number * 20),
                rng.choice([None, "Kaupunkiympäristö", "Kulttuuri ja vapaa-aika", "Kasvatus"]),
                rng.choice([None, None, *reviewer_ids]),
            )
        )
    await connection.copy_records_to_table(
        "pb_proposal",
        records=rows,
        columns=[
            "round_id",
            "area_id",
            "title",
            "description",
            "estimated_cost",
            "status",
            "reason",
            "implementation_note",
            "moderation",
            "moderation_reason",
            "channel",
            "created_at",
            "department",
            "reviewer_id",
        ],
    )
    await connection.execute(
        "INSERT INTO pb_proposal_report (proposal_id, reason, created_at)"
        " SELECT id, 'Asiaton', now() FROM pb_proposal WHERE id % 41 = 0"
    )
    event_rows = []
    types = [event_type.value for event_type in EventType]
    for number in range(events):
        starts = now + dt.timedelta(hours=rng.randrange(-3 * 365 * 24, 365 * 24))
        fi_name, sv_name, en_name = rng.choice(EVENT_NAMES)
        _to, at_place, _base, sv_place, _en = rng.choice(PLACES)
        local = starts.astimezone(HELSINKI)
        event_rows.append(
            (
                json.dumps(
                    {"fi": f"{fi_name} {number}", "sv": f"{sv_name} {number}", "en": en_name}
                ),
                json.dumps({"fi": f"Tapaaminen {at_place}.", "sv": f"Träff i {sv_place}."}),
                "{}",
                rng.choice(types),
                rng.choice(area_ids),
                json.dumps({"fi": "Kirjasto"}),
                json.dumps(["fi", "sv"]),
                starts,
                starts + dt.timedelta(hours=2),
                True,
                local.strftime("%Y-%m"),
                local.year,
                now,
                now,
            )
        )
    await connection.copy_records_to_table(
        "event",
        records=event_rows,
        columns=[
            "title",
            "description",
            "theme",
            "event_type",
            "area_id",
            "venue",
            "languages",
            "starts_at",
            "ends_at",
            "is_public",
            "local_month",
            "local_year",
            "created_at",
            "updated_at",
        ],
    )
    await connection.execute("VACUUM ANALYZE")
    await connection.close()
    return round_id, area_ids[0]


class StaffClient:
    """One keep-alive connection that keeps the cookies a browser would."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None):
        headers = {
            "Accept-Language": "fi",
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
        }
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, data

    def sign_in(self) -> None:
        self.request("GET", "/staff/login")
        status, body = self.request(
            "POST",
            "/staff/login",
            urlencode(
                {"email": EMAIL, "password": PASSWORD, "_csrf_token": self.cookies["tori_csrf"]}
            ),
        )
        if status != 303:
            raise SystemExit(f"signing in: {status} {body[:300]!r}")

    def latencies(self, path: str, requests: int) -> list[float]:
        times = []
        for number in range(requests + 5):
            start = time.perf_counter()
            status, body = self.request("GET", path)
            elapsed = (time.perf_counter() - start) * 1000
            if status != 200:
                raise SystemExit(f"GET {path}: {status} {body[:300]!r}")
            if number >= 5:
                times.append(elapsed)
        return times


def pages(round_id: int, area_id: int) -> list[tuple[str, str]]:
    ideas = f"/staff/pb/{round_id}/ideas"
    return [
        ("ideas: first page (newest)", ideas),
        ("ideas: page 20", f"{ideas}?page=20"),
        ("ideas: costliest first, page 5", f"{ideas}?sort=cost_high&page=5"),
        ("ideas: district + status", f"{ideas}?area={area_id}&status=submitted"),
        ("ideas: no reviewer, paper", f"{ideas}?reviewer=none&channel=paper"),
        ("ideas: need attention", f"{ideas}?attention=on"),
        ("ideas: search 'puisto'", f"{ideas}?q=puisto"),
        ("ideas: search 'puistossa' (inflected)", f"{ideas}?q=puistossa"),
        ("ideas: search 'leikkip' (prefix)", f"{ideas}?q=leikkip"),
        ("ideas: search 2 words + filter", f"{ideas}?q=penkkej%C3%A4+koulu&status=submitted"),
        ("ideas: search Swedish 'parken'", f"{ideas}?q=parken"),
        ("needs attention overview", "/staff/pb/attention"),
        ("events: upcoming", "/staff/events"),
        ("events: past, page 100", "/staff/events?when=past&page=100"),
        ("events: search 'asukasilta'", "/staff/events?q=asukasilta"),
        ("events: search past 'kirjastossa'", "/staff/events?when=past&q=kirjastossa"),
    ]


def describe(label: str, times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[max(int(len(ordered) * 0.95) - 1, 0)]
    return f"{label:42}{statistics.median(times):9.1f}{p95:9.1f}{max(times):9.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ideas", type=int, default=2_000)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=60)
    arguments = parser.parse_args()
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    with bench_database("review") as url:
        began = time.perf_counter()
        round_id, area_id = asyncio.run(generate(url, arguments.ideas, arguments.events))
        generated = time.perf_counter() - began
        port = free_port()
        command, environment = tori_server(url, port, redis_db=13)
        results = []
        with running(command, environment, port, startup=180) as base:
            client = StaffClient(base)
            results.append(
                ("/healthz (baseline)", client.latencies("/healthz", arguments.requests))
            )
            client.sign_in()
            results.append(
                ("staff home page (baseline)", client.latencies("/staff", arguments.requests))
            )
            for label, path in pages(round_id, area_id):
                results.append((label, client.latencies(path, arguments.requests)))
    print(
        f"{arguments.ideas:,} ideas in one round, {arguments.events:,} events (data written in "
        f"{generated:.0f} s); 2 workers, PostgreSQL; {arguments.requests} sequential requests per "
        "page after 5 warm-ups, signed in as staff"
    )
    print(f"{'':42}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    slow = []
    for label, times in results:
        print(describe(label, times))
        if sorted(times)[max(int(len(times) * 0.95) - 1, 0)] >= GOAL_MS:
            slow.append(label)
    print(
        f"goal: every page p95 < {GOAL_MS:.0f} ms: {'met' if not slow else 'MISSED by ' + ', '.join(slow)}"
    )
    if slow:
        raise SystemExit("some review pages are too slow")


if __name__ == "__main__":
    main()
