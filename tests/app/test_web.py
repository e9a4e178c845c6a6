"""Whole-site behaviour: CSRF, error pages, security headers, limits on what is sent."""

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.areas.models import Area
from app.security import CONTENT_SECURITY_POLICY
from tests.conftest import csrf_token
from tests.factories import signed_in_as


@pytest.mark.parametrize(
    ("lang", "title"),
    [
        ("fi", "Lomake on vanhentunut"),
        ("sv", "Formuläret har gått ut"),
        ("en", "The form has expired"),
    ],
)
async def test_form_without_csrf_token_is_refused_with_a_localized_page(client, db, lang, title):
    await client.get(f"/?lang={lang}")
    response = await client.post("/staff/login", data={"email": "a@example.fi", "password": "x"})
    assert response.status_code == 403
    assert title in response.text
    assert response.headers["content-type"].startswith("text/html")


async def test_forged_csrf_token_is_refused_and_nothing_is_stored(client, db):
    await signed_in_as(client, db, Role.STAFF)
    response = await client.post(
        "/staff/areas/new", data={"name_fi": "Uusi", "rows": "0", "_csrf_token": "forged" * 10}
    )
    assert response.status_code == 403
    assert await db.scalar(select(func.count()).select_from(Area)) == 0


@pytest.mark.parametrize(
    ("lang", "text"),
    [("fi", "Sivua ei löydy"), ("sv", "Sidan hittas inte"), ("en", "Page not found")],
)
async def test_unknown_address_gets_an_html_page_in_the_users_language(client, db, lang, text):
    response = await client.get(f"/no/such/page?lang={lang}")
    assert response.status_code == 404
    assert text in response.text
    assert "Traceback" not in response.text
    assert not response.text.lstrip().startswith("{")


async def test_language_choice_is_remembered_in_a_cookie(client, db):
    await client.get("/?lang=sv")
    assert client.cookies["tori_lang"] == "sv"
    response = await client.get("/accessibility")
    assert '<html lang="sv">' in response.text
    assert "Tillgänglighetsutlåtande" in response.text


async def test_browser_language_is_used_when_nothing_was_chosen(client, db):
    response = await client.get("/privacy", headers={"Accept-Language": "sv-FI,sv;q=0.9"})
    assert '<html lang="sv">' in response.text
    default = await client.get("/privacy", headers={"Accept-Language": "de"})
    assert '<html lang="fi">' in default.text


async def test_wrong_method_gets_a_405_page(client, db):
    response = await client.delete("/", headers={"Accept-Language": "en"})
    assert response.status_code == 405
    assert "Not allowed" in response.text


@pytest.mark.parametrize(
    "path", ["/", "/no/such/page", "/healthz", "/static/css/tori.css", "/calendar.ics"]
)
async def test_security_headers_are_on_every_response(client, db, path):
    response = await client.get(path)
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in response.headers


async def test_one_megabyte_body_is_refused_with_a_413_page(client, db):
    await signed_in_as(client, db, Role.STAFF)
    token = await csrf_token(client, "/staff")
    response = await client.post(
        "/staff/areas/new",
        data={"name_fi": "x" * 1_048_576, "rows": "0", "_csrf_token": token},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 413
    assert "Too much data" in response.text
    assert await db.scalar(select(func.count()).select_from(Area)) == 0


async def test_invalid_utf8_form_is_refused_and_nothing_is_stored(client, db):
    await signed_in_as(client, db, Role.STAFF)
    token = await csrf_token(client, "/staff")
    body = b"name_fi=%FF%FE&rows=0&_csrf_token=" + token.encode()
    response = await client.post(
        "/staff/areas/new",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert "text/html" in response.headers["content-type"]
    assert await db.scalar(select(func.count()).select_from(Area)) == 0


async def test_health_check_reports_database_reachability(client, db):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_pages_are_compressed_for_slow_networks(client, db):
    response = await client.get("/", headers={"Accept-Encoding": "gzip"})
    assert response.headers.get("content-encoding") == "gzip"


async def test_static_files_are_cached_for_a_year(client, db):
    response = await client.get("/static/htmx-2.0.11.min.js")
    assert response.status_code == 200
    assert "max-age=31536000" in response.headers["cache-control"]


async def test_database_outage_gets_a_503_page_and_health_check_fails(caplog):
    from litestar.testing import AsyncTestClient

    from app.settings import Settings
    from app.web import create_app
    from tests.conftest import TEST_SECRET

    broken = create_app(
        Settings(
            environment="test",
            secret_key=TEST_SECRET,
            database_url="postgresql+asyncpg://nobody@127.0.0.1:9/none",
        )
    )
    async with AsyncTestClient(app=broken) as client:
        response = await client.get("/?lang=sv")
        health = await client.get("/healthz")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "10"
    assert "Tjänsten är tillfälligt otillgänglig" in response.text
    assert "127.0.0.1:9" not in response.text
    assert health.status_code == 503
    assert any("database unavailable" in record.getMessage() for record in caplog.records)


async def test_unexpected_failure_gets_a_500_page_without_a_traceback(settings, caplog):
    from litestar import get
    from litestar.testing import AsyncTestClient

    from app.web import create_app

    @get("/explode")
    async def explode() -> str:
        secret = "password=hunter2"
        raise RuntimeError(secret)

    async with AsyncTestClient(app=create_app(settings, extra_route_handlers=(explode,))) as client:
        response = await client.get("/explode?lang=fi")
    assert response.status_code == 500
    assert "Jokin meni vikaan" in response.text
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert any("unhandled error" in record.getMessage() for record in caplog.records)


async def test_strict_transport_security_is_sent_under_https(settings):
    from dataclasses import replace

    from litestar.testing import AsyncTestClient

    from app.web import create_app

    async with AsyncTestClient(app=create_app(replace(settings, https=True))) as client:
        # A page with a form: its token's cookie.
        response = await client.get("/staff/login")
    assert "max-age=63072000" in response.headers["strict-transport-security"]
    assert "Secure" in response.headers["set-cookie"]
