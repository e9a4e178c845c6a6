"""Bad input everywhere, generated from the routes.

For every route of the application (from the router, as in the authorization matrix) the fields
it takes are found by rendering the application's own pages and reading their forms (a form's
action names the route it posts to), plus the query parameters the code reads. Hypothesis then
sends random, oversized, wrong-type, hostile and malformed values for them – as a client that
is at once an admin, a signed-in resident, a signed-in voter and a kiosk, so that every handler
gets past its gate and reads the input. Every answer must be a page, never a 500 or a
traceback; a refusal (4xx) must be the localized error or form page and must store nothing.

Time-boxed for the suite: a fixed number of examples per route, derandomized (the same examples
on every run, so a failure reproduces), no shrinking (which ran for minutes per failure here).
A failure prints the route and the values.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from app.database import Base
from tests.app.test_authorization import SKIP, TABLE, make_world
from tests.conftest import csrf_token

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = 12
FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.DOTALL | re.IGNORECASE)
FIELD = re.compile(r'<(?:input|select|textarea)\b[^>]*?\bname="([^"]+)"', re.IGNORECASE)
ATTRIBUTE = re.compile(r'\b(action|method)="([^"]*)"', re.IGNORECASE)
QUERY = re.compile(r'query_params\.get(?:all)?\(\s*"(\w+)"')
# Rows a refused request may add: counted failures (rate limits) and log-page checkpoints.
MAY_CHANGE_ON_REFUSAL = {"rate_limit_counter", "pb_checkpoint"}
HOSTILE = [
    "",
    " ",
    "\x00",
    "\x00abc",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' OR '1'='1' --",
    "'; DROP TABLE event; --",
    "../../../etc/passwd",
    "%00%0d%0a",
    "\r\nSet-Cookie: x=1",
    "{{ 7*7 }}",
    "${7*7}",
    "=cmd|' /C calc'!A0",
    "¹",
    "٣",
    "９",
    "Ⅻ",
    "-1",
    "0",
    "-0",
    "1e309",
    "NaN",
    "Infinity",
    "9" * 40,
    "0x1F",
    "2026-02-30",
    "2026-13-01",
    "9999-12-31T23:59",
    "\u202eevil",
    "😀" * 20,
    "a" * 100_001,
]
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
VALUE = st.one_of(
    st.sampled_from(HOSTILE),
    TEXT,
    st.text(st.characters(exclude_categories=("Cs",)), min_size=500, max_size=3000),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats().map(str),
    st.dates().map(str),
    st.binary(max_size=30).map(lambda raw: raw.decode("latin-1")),
)


def route_pattern(path: str) -> re.Pattern:
    parts = re.split(r"(\{\w+:\w+\})", path)
    return re.compile(
        "^" + "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts) + "$"
    )


PATTERNS = {key: route_pattern(key.split(" ", 1)[1]) for key in TABLE}


def route_of(method: str, path: str) -> str | None:
    for key, pattern in PATTERNS.items():
        if key.startswith(method + " ") and pattern.match(path):
            return key
    return None


def code_query_names() -> set[str]:
    names = set()
    for package in ("app", "surveys", "voting"):
        for source in (ROOT / package).rglob("*.py"):
            names |= set(QUERY.findall(source.read_text(encoding="utf-8")))
    return names


async def harvest(client, world) -> dict[str, set[str]]:
    """Field names per route: every form on every page the client can open, by its action."""
    fields: dict[str, set[str]] = {key: set() for key in TABLE}
    for key in sorted(TABLE):
        if not key.startswith("GET ") or key in SKIP or key.endswith("/live"):
            continue
        path = world.path(key)
        page = await client.get(path)
        if "text/html" not in page.headers.get("content-type", ""):
            continue
        for attributes, body in FORM.findall(page.text):
            found = {k.lower(): v for k, v in ATTRIBUTE.findall(attributes)}
            method = found.get("method", "get").upper()
            action = (found.get("action") or path).split("?")[0]
            target = route_of(method, action)
            if target:
                fields[target] |= set(FIELD.findall(body)) - {"_csrf_token"}
    return fields


async def stored_rows(db) -> int:
    tables = [t.name for t in Base.metadata.sorted_tables if t.name not in MAY_CHANGE_ON_REFUSAL]
    total = " + ".join(f'(SELECT count(*) FROM "{name}")' for name in tables)
    return await db.scalar(text(f"SELECT {total}"))


ROUTES = sorted(key for key in TABLE if key not in SKIP and not key.endswith("/live"))
# Harvested once: the field names do not depend on the ids of the objects.
HARVESTED: dict[str, set[str]] = {}


@pytest.mark.parametrize("route", ROUTES)
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
async def test_bad_input_gets_a_page_not_an_error_and_stores_nothing(client, db, route, data):
    state = getattr(client, "_bad_input_state", None)
    if state is None:
        await client.get("/?lang=fi")
        world = await make_world(db, client, "resident", "voter", "kiosk", "admin")
        world.real_staff_ids = True
        if not HARVESTED:
            HARVESTED.update(await harvest(client, world))
        state = client._bad_input_state = (world, await csrf_token(client))
    world, token = state
    fields = HARVESTED
    method = route.split(" ", 1)[0]
    names = sorted(fields[route] or ({*code_query_names(), "q"} if method == "GET" else set()))
    names = names or sorted(set().union(*fields.values()))
    values = VALUE if method == "POST" else TEXT | st.sampled_from(HOSTILE[:-1])
    chosen = data.draw(
        st.dictionaries(
            st.sampled_from([*names, "unexpected"]),
            st.one_of(values, st.lists(values, max_size=3)),
            max_size=6,
        ),
        label="fields",
    )
    before = await stored_rows(db)
    url = world.path(route)
    if method == "GET":
        response = await client.get(url, params=chosen)
    else:
        response = await client.post(url, data={**chosen, "_csrf_token": token})
    status = response.status_code
    assert status < 500, f"{route} answered {status} to {chosen!r}"
    assert "Traceback" not in response.text
    if 400 <= status < 500:
        assert "text/html" in response.headers["content-type"], f"{route} {status}"
        assert re.search(r'<html lang="(fi|sv|en)"', response.text), f"{route} {status}"
        assert await stored_rows(db) == before, f"{route} stored rows while refusing {chosen!r}"
