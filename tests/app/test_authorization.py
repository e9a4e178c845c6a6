"""The authorization matrix: every route of the application, taken from the router, against
every staff role and an anonymous visitor, with the outcome each must get written in one table.
A new route fails `test_every_route_is_in_the_table` until someone decides who may use it."""

from __future__ import annotations

import re

import pytest
from litestar.routes import HTTPRoute

from app.accounts.models import Role
from tests.conftest import csrf_token
from tests.factories import make_user, sign_in

PUBLIC, READERS, EDITORS, ADMINS, ADMIN_AUDITOR = (
    "public",
    "readers",
    "editors",
    "admins",
    "admin+auditor",
)
# Only a tablet holding a kiosk token (staff create them per poll) may open the kiosk.
KIOSK = "kiosk"
ALLOWED, LOGIN, FORBIDDEN = "allowed", "login", "forbidden"
OUTCOMES = {
    # class: (anonymous, staff, admin, auditor)
    PUBLIC: (ALLOWED, ALLOWED, ALLOWED, ALLOWED),
    READERS: (LOGIN, ALLOWED, ALLOWED, ALLOWED),
    EDITORS: (LOGIN, ALLOWED, ALLOWED, FORBIDDEN),
    ADMINS: (LOGIN, FORBIDDEN, ALLOWED, FORBIDDEN),
    ADMIN_AUDITOR: (LOGIN, FORBIDDEN, ALLOWED, ALLOWED),
    KIOSK: (FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
}
ROLES = ("anonymous", "staff", "admin", "auditor")
TABLE = {
    "GET /accessibility": PUBLIC,
    "GET /healthz": PUBLIC,
    "GET /privacy": PUBLIC,
    "GET /": PUBLIC,
    "GET /calendar": PUBLIC,
    "GET /calendar.ics": PUBLIC,
    "GET /events/{event_id:int}/calendar.ics": PUBLIC,
    "GET /events/{event_id:int}": PUBLIC,
    "POST /staff/password": READERS,
    "GET /staff/password": READERS,
    "POST /staff/login": PUBLIC,
    "GET /staff/login": PUBLIC,
    "POST /staff/logout": PUBLIC,
    "GET /staff": READERS,
    "POST /staff/events/new": EDITORS,
    "GET /staff/events/new": EDITORS,
    "POST /staff/events/{event_id:int}/delete": EDITORS,
    "GET /staff/events/{event_id:int}": READERS,
    "POST /staff/events/{event_id:int}": EDITORS,
    "GET /staff/events": READERS,
    "GET /staff/areas/new": EDITORS,
    "POST /staff/areas/new": EDITORS,
    "POST /staff/areas/{area_id:int}/delete": EDITORS,
    "GET /staff/areas/{area_id:int}": EDITORS,
    "POST /staff/areas/{area_id:int}": EDITORS,
    "GET /staff/areas": READERS,
    "GET /staff/users/new": ADMINS,
    "POST /staff/users/new": ADMINS,
    "POST /staff/users/{user_id:int}": ADMINS,
    "GET /staff/users/{user_id:int}": ADMINS,
    "GET /staff/users": ADMINS,
    "POST /staff/users/{user_id:int}/reset-password": ADMINS,
    "GET /staff/audit/audit.jsonl": ADMIN_AUDITOR,
    "GET /staff/audit": ADMIN_AUDITOR,
    "POST /f/{slug:str}": PUBLIC,
    "GET /f/{slug:str}": PUBLIC,
    "GET /f/{slug:str}/poster": PUBLIC,
    "GET /f/{slug:str}/qr.svg": PUBLIC,
    "GET /f/{slug:str}/thanks": PUBLIC,
    "GET /staff/feedback": READERS,
    "GET /staff/feedback/export/{filename:str}": READERS,
    "POST /staff/events/{event_id:int}/feedback/questions": EDITORS,
    "GET /staff/events/{event_id:int}/feedback/export/{filename:str}": READERS,
    "GET /staff/events/{event_id:int}/feedback": READERS,
    "POST /staff/events/{event_id:int}/feedback": EDITORS,
    "POST /staff/events/{event_id:int}/feedback/questions/{key:str}/delete": EDITORS,
    "GET /p/{slug:str}/kiosk": PUBLIC,
    "GET /p/{slug:str}/live": PUBLIC,
    "GET /p/{slug:str}/poster": PUBLIC,
    "GET /p/{slug:str}/qr.svg": PUBLIC,
    "GET /p/{slug:str}/results": PUBLIC,
    "GET /p/{slug:str}": PUBLIC,
    "POST /p/{slug:str}": PUBLIC,
    "GET /p/{slug:str}/thanks": PUBLIC,
    "GET /kiosk": KIOSK,
    "POST /staff/polls/{poll_id:int}/kiosks": EDITORS,
    "POST /staff/polls/{poll_id:int}/close": EDITORS,
    "GET /staff/polls/new": READERS,
    "POST /staff/polls/new": EDITORS,
    "GET /staff/polls/{poll_id:int}": READERS,
    "POST /staff/polls/{poll_id:int}/edit": EDITORS,
    "GET /staff/polls/{poll_id:int}/edit": READERS,
    "GET /staff/polls/{poll_id:int}/results.csv": READERS,
    "GET /staff/polls": READERS,
    "GET /staff/polls/{poll_id:int}/live": READERS,
    "GET /staff/polls/{poll_id:int}/present": READERS,
    "GET /staff/polls/{poll_id:int}/present/results": READERS,
    "GET /staff/polls/{poll_id:int}/results": READERS,
    "POST /staff/polls/{poll_id:int}/kiosks/{kiosk_id:int}/revoke": EDITORS,
    "POST /pb/{slug:str}/ballot": PUBLIC,
    "GET /pb/{slug:str}/ballot": PUBLIC,
    "GET /pb/{slug:str}/ballots.pb": PUBLIC,
    "GET /pb/{slug:str}/board.jsonl": PUBLIC,
    "POST /pb/{slug:str}/cast": PUBLIC,
    "GET /pb": PUBLIC,
    "GET /pb/{slug:str}/log": PUBLIC,
    "GET /pb/{slug:str}/log.json": PUBLIC,
    "GET /pb/{slug:str}/proposals/{proposal_id:int}": PUBLIC,
    "GET /pb/{slug:str}/proposals": PUBLIC,
    "GET /pb/{slug:str}/propose": PUBLIC,
    "POST /pb/{slug:str}/propose": PUBLIC,
    "GET /pb/{slug:str}/receipt": PUBLIC,
    "GET /pb/{slug:str}/voted/receipt.txt": PUBLIC,
    "GET /pb/{slug:str}/results": PUBLIC,
    "GET /pb/{slug:str}": PUBLIC,
    "GET /pb/{slug:str}/vote": PUBLIC,
    "POST /pb/{slug:str}/vote": PUBLIC,
    "GET /pb/signing-key": PUBLIC,
    "GET /pb/{slug:str}/voted": PUBLIC,
    "POST /pb/{slug:str}/sign-out": PUBLIC,
    "GET /pb/identified": PUBLIC,
    "POST /pb/{slug:str}/identify": PUBLIC,
    "GET /account/confirm": PUBLIC,
    "POST /account/register": PUBLIC,
    "GET /account/register": PUBLIC,
    "GET /account/sign-in": PUBLIC,
    "POST /account/sign-in": PUBLIC,
    "POST /account/sign-out": PUBLIC,
    "POST /staff/pb/{round_id:int}/assisted": EDITORS,
    "GET /staff/pb/{round_id:int}/audit": READERS,
    "POST /staff/pb/new": EDITORS,
    "GET /staff/pb/new": EDITORS,
    "GET /staff/pb/{round_id:int}": READERS,
    "POST /staff/pb/{round_id:int}/paper/discard": ADMINS,
    "POST /staff/pb/{round_id:int}/edit": EDITORS,
    "GET /staff/pb/{round_id:int}/edit": EDITORS,
    "POST /staff/pb/{round_id:int}/paper": EDITORS,
    "GET /staff/pb/{round_id:int}/paper": EDITORS,
    "GET /staff/pb/{round_id:int}/ballots.pb": READERS,
    "GET /staff/pb": READERS,
    "POST /staff/pb/{round_id:int}/codes": EDITORS,
    "POST /staff/pb/{round_id:int}/proposals/{proposal_id:int}": EDITORS,
    "GET /staff/pb/{round_id:int}/proposals/{proposal_id:int}": READERS,
    "POST /staff/pb/{round_id:int}/publish": ADMINS,
    "GET /staff/pb/{round_id:int}/results": READERS,
    "POST /staff/pb/{round_id:int}/roll": EDITORS,
    "GET /static/{file_path:path}": PUBLIC,
}
# Signing out ends the test's own session; they are checked by the accounts tests.
SKIP = {"POST /staff/logout", "POST /account/sign-out", "POST /pb/{slug:str}/sign-out"}
PARAMETERS = {"int": "999999", "str": "zz9999", "path": "none.css"}


def routes(app) -> set[str]:
    found = set()
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                found |= {
                    f"{m} {route.path}"
                    for m in handler.http_methods
                    if m not in ("HEAD", "OPTIONS")
                }
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{\w+:(\w+)\}", lambda m: PARAMETERS[m.group(1)], path)


def test_every_route_is_in_the_table(app):
    assert routes(app) == set(TABLE), "decide who may use each new route and add it to TABLE"


def outcome_of(response) -> str:
    location = response.headers.get("location", "")
    if response.status_code in (302, 303) and location.startswith("/staff/login"):
        return LOGIN
    if response.status_code == 401:
        return LOGIN
    if response.status_code == 403:
        return FORBIDDEN
    return ALLOWED


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_gets_the_outcome_the_table_gives(client, db, role):
    await client.get("/?lang=en")
    if role != "anonymous":
        user = await make_user(db, Role(role))
        await sign_in(client, user)
    token = await csrf_token(client)
    wrong = []
    for key, kind in sorted(TABLE.items()):
        if key in SKIP:
            continue
        method, path = key.split(" ", 1)
        url = concrete(path)
        if method == "GET":
            response = await client.get(url)
        else:
            response = await client.post(url, data={"_csrf_token": token})
        expected = OUTCOMES[kind][ROLES.index(role)]
        got = outcome_of(response)
        # A staff page that refuses an editing form's missing fields is still "allowed".
        if got != expected:
            wrong.append(f"{key} as {role}: expected {expected}, got {response.status_code}")
    assert wrong == []


async def test_state_changing_routes_refuse_a_missing_csrf_token(client, db):
    admin = await make_user(db, Role.ADMIN)
    await sign_in(client, admin)
    accepted = []
    for key in sorted(TABLE):
        method, path = key.split(" ", 1)
        if method != "POST":
            continue
        response = await client.post(concrete(path), data={"field": "value"})
        if response.status_code != 403:
            accepted.append(f"{key}: {response.status_code}")
    assert accepted == []


SECURITY_HEADERS = {
    "content-security-policy": "frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
}


@pytest.mark.parametrize("role", ["anonymous", "admin"])
async def test_every_route_sends_the_security_headers(client, db, role):
    await client.get("/?lang=en")
    if role == "admin":
        await sign_in(client, await make_user(db, Role.ADMIN))
    token = await csrf_token(client)
    missing = []
    for key in sorted(TABLE):
        if key in SKIP:
            continue
        method, path = key.split(" ", 1)
        if method == "GET":
            response = await client.get(concrete(path))
        else:
            response = await client.post(concrete(path), data={"_csrf_token": token})
        for name, value in SECURITY_HEADERS.items():
            if value not in response.headers.get(name, ""):
                missing.append(f"{key} ({response.status_code}): {name}")
    assert missing == []


async def test_unusual_digits_and_bytes_in_parameters_get_no_server_error(client, db):
    """Found by a property-based run: '¹' passes str.isdigit() but not int(), and a non-ASCII
    signed value made hmac.compare_digest raise."""
    await client.get("/?lang=en")
    for path, params in (
        ("/calendar", {"area": "¹"}),
        ("/calendar", {"page": "²"}),
        ("/account/confirm", {"t": ".\x80"}),
        ("/account/confirm", {"t": "ä.ö"}),
    ):
        response = await client.get(path, params=params)
        assert response.status_code < 500, (path, params, response.status_code)
