"""A real Tori server on PostgreSQL, driven by Debian's Chromium through Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from app.accounts.models import Role
from app.database import Database
from tests.commands import run_tori
from tests.conftest import TEST_SECRET
from tests.postgres import fresh_database, run_in_own_loop

CHROMIUM = os.environ.get("TORI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
STAFF_PASSWORD = "browser test password 1"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@dataclass(frozen=True)
class LiveServer:
    url: str
    database_url: str
    admin_email: str
    auditor_email: str
    open_questionnaire: str
    open_questionnaire_event: int
    open_poll: str
    closed_poll: str
    # Where the server keeps uploaded pictures (TORI_MEDIA_DIR).
    media_dir: str = ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _open_questionnaire(database_url: str, found: list) -> None:
    from sqlalchemy import select

    from app.database import utcnow
    from surveys.models import Questionnaire
    from surveys.polls.models import Poll

    database = Database(database_url)
    async with database.sessionmaker() as session:
        now = utcnow()
        row = (
            await session.execute(
                select(Questionnaire.slug, Questionnaire.event_id)
                .where(Questionnaire.opens_at < now, Questionnaire.closes_at > now)
                .order_by(Questionnaire.id)
                .limit(1)
            )
        ).one()
        found.extend(row)
        for condition in (Poll.closes_at > now, Poll.closes_at < now):
            found.append(
                await session.scalar(
                    select(Poll.slug)
                    .where(Poll.opens_at < now, condition)
                    .order_by(Poll.id)
                    .limit(1)
                )
            )
    await database.dispose()


async def _make_staff(database_url: str) -> None:
    from app.accounts.models import User
    from app.accounts.passwords import hash_password

    database = Database(database_url)
    async with database.sessionmaker() as session:
        for email, role in (
            ("browser.admin@example.fi", Role.ADMIN),
            ("browser.auditor@example.fi", Role.AUDITOR),
        ):
            session.add(
                User(
                    email=email,
                    display_name=f"Browser {role.value}",
                    role=role.value,
                    password_hash=await hash_password(STAFF_PASSWORD),
                    must_change_password=False,
                    is_active=True,
                )
            )
        await session.commit()
    await database.dispose()


@contextmanager
def served(environment: dict[str, str], name: str) -> Iterator[str]:
    """A Tori server process on a free port until the block ends, logging into
    test-artifacts/NAME-WORKER.log (one log per pytest-xdist worker); yields its address."""
    port = _free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    server_log = log_path(name)
    with server_log.open("wb") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.web:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
                "--timeout-graceful-shutdown",
                "3",
                "--log-level",
                "warning",
            ],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(f"the Tori server did not start; see {server_log}")
                    time.sleep(0.2)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=10)


def log_path(name: str) -> Path:
    return ARTIFACTS / f"{name}-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.log"


@pytest.fixture(scope="session")
def live_server(postgres_server_url: str, tmp_path_factory) -> Iterator[LiveServer]:
    with fresh_database(postgres_server_url, "web") as database_url:
        media_dir = str(tmp_path_factory.mktemp("media"))
        environment = {
            **os.environ,
            "TORI_MEDIA_DIR": media_dir,
            "DATABASE_URL": database_url,
            "SECRET_KEY": TEST_SECRET,
            "TORI_ENV": "test",
            "LOG_LEVEL": "WARNING",
            # A map service for the proposals' places: a link only, nothing is fetched from it.
            "TORI_MAP_URL": "https://kartta.example.fi/?e={lon}&n={lat}",
        }
        for command in ("migrate", "seed-demo"):
            # In this process (tests/commands.py): a process of its own would import the whole
            # application again, before the server's own process does.
            done = run_tori(command, env=environment)
            assert done.returncode == 0, f"tori {command}: {done.stderr}"
        run_in_own_loop(lambda: _make_staff(database_url))
        open_form: list = []
        run_in_own_loop(lambda: _open_questionnaire(database_url, open_form))
        with served(environment, "server") as url:
            yield LiveServer(
                url,
                database_url,
                "browser.admin@example.fi",
                "browser.auditor@example.fi",
                *open_form,
                media_dir=media_dir,
            )


@pytest.fixture(autouse=True)
def fresh_limits(request: pytest.FixtureRequest) -> None:
    """Each browser test starts with no attempts counted, as every other test does (their
    database is emptied after each): the live server lives for the whole session, and its
    residents all register and sign in from one address."""
    if "live_server" not in request.fixturenames:
        return
    server = request.getfixturevalue("live_server")

    async def forget() -> None:
        from sqlalchemy import text

        database = Database(server.database_url)
        try:
            async with database.engine.begin() as connection:
                await connection.execute(text("DELETE FROM rate_limit_counter"))
        finally:
            await database.dispose()

    run_in_own_loop(forget)


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.exit(
            f"Browser tests need Debian's Chromium at {CHROMIUM}: apt-get install chromium "
            "(`make test` installs it), or set TORI_CHROMIUM.",
            returncode=3,
        )
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    browser = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True
    )
    yield browser
    browser.close()


@pytest.fixture
def new_page(browser: Browser):
    """Pages with their own cookies; console errors (such as CSP refusals) fail the test."""
    contexts = []
    problems: list[str] = []

    def make(viewport: dict | None = None, *, javascript: bool = True, scale: float = 1) -> Page:
        context = browser.new_context(
            viewport=viewport or PHONE,
            java_script_enabled=javascript,
            locale="fi-FI",
            device_scale_factor=scale,
        )
        contexts.append(context)
        page = context.new_page()
        # Error statuses of pages visited on purpose show up as "Failed to load resource"; anything
        # else on the console (a CSP refusal, a script error) is a defect.
        page.on(
            "console",
            lambda message: (
                message.type == "error"
                and not message.text.startswith("Failed to load resource")
                and problems.append(message.text)
            ),
        )
        page.on("pageerror", lambda error: problems.append(str(error)))
        return page

    yield make
    for context in contexts:
        context.close()
    assert problems == [], f"browser console errors: {problems}"


def sign_in(page: Page, server: LiveServer, email: str | None = None, lang: str = "en") -> None:
    page.goto(f"{server.url}/staff/login?lang={lang}")
    page.fill("#field-email", email or server.admin_email)
    page.fill("#field-password", STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/staff")
