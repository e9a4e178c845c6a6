"""Shared fixtures: a real PostgreSQL database migrated once per run, emptied after each test."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import argon2
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app import i18n
from app.accounts import passwords
from app.database import Database, create_engine
from app.migrate import upgrade_to_head
from app.models import metadata
from app.page_cache import pages_changed
from app.settings import Settings
from app.web import create_app
from tests.mailbox import SmtpServerProcess, smtp_server_process
from tests.postgres import PostgresUnavailableError, fresh_database, postgres_server

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


def spellings(token: str) -> list[str]:
    """The token with the last character of its MAC in each of the four spellings that a lenient
    base64 decoder reads as the same bytes (27 characters carry 160 bits and two spare ones)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    group = alphabet.index(token[-1]) // 4 * 4
    return [token[:-1] + alphabet[group + spare] for spare in range(4)]


# Not emptied: the rows the migration adds (the shared page version's slots, app.page_cache).
SEEDED_TABLES = frozenset({"page_version"})
TABLES = ", ".join(
    f'"{table.name}"'
    for table in reversed(metadata.sorted_tables)
    if table.name not in SEEDED_TABLES
)


@pytest.fixture(scope="session", autouse=True)
def catalogs() -> None:
    """The translations are loaded before the first test, not as a side effect of whichever
    test first builds an app: a message then reads the same whatever ran before."""
    i18n.load_catalogs(Settings().locale_dir)


@pytest.fixture(autouse=True)
def default_language() -> Iterator[None]:
    """Each test starts in the default language; one that sets another does not pass it on."""
    token = i18n._current_language.set(i18n.DEFAULT_LANGUAGE)
    yield
    i18n._current_language.reset(token)


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes() -> Iterator[None]:
    """argon2id at its production cost takes 0.2 s of CPU per hash and per check, and hundreds of
    tests sign someone in: here the hashes are argon2id at the lowest cost. The production
    parameters are kept by the browser tests' server (its own process) and checked by the test
    that asks for `production_password_hashes`."""
    production, production_dummy = passwords._hasher, passwords.DUMMY_HASH
    passwords._hasher = argon2.PasswordHasher.from_parameters(argon2.profiles.CHEAPEST)
    # The hash checked when an account does not exist, wherever it was imported.
    holders = [
        module
        for name, module in list(sys.modules.items())
        if name.partition(".")[0] in ("app", "surveys", "voting")
        and getattr(module, "DUMMY_HASH", None) == production_dummy
    ]
    for module in holders:
        module.DUMMY_HASH = passwords._hasher.hash(secrets.token_hex(16))
    yield
    passwords._hasher = production
    for module in holders:
        module.DUMMY_HASH = production_dummy


@pytest.fixture
def production_password_hashes(cheap_password_hashes) -> Iterator[argon2.PasswordHasher]:
    """The hasher Tori runs with, for the test that checks its parameters."""
    cheap = passwords._hasher
    passwords._hasher = argon2.PasswordHasher()
    yield passwords._hasher
    passwords._hasher = cheap


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    try:
        with postgres_server() as url:
            yield url
    except PostgresUnavailableError as error:
        pytest.exit(str(error), returncode=3)


@pytest.fixture(scope="session")
def database_url(postgres_server_url: str) -> Iterator[str]:
    try:
        with fresh_database(postgres_server_url) as url:
            yield url
    except PostgresUnavailableError as error:
        pytest.exit(str(error), returncode=3)


@pytest.fixture(scope="session")
async def migrated(database_url: str) -> str:
    engine = create_engine(database_url)
    async with engine.begin() as connection:
        await upgrade_to_head(connection)
    await engine.dispose()
    return database_url


@pytest.fixture(scope="session")
def settings(migrated: str, tmp_path_factory) -> Settings:
    return Settings(
        environment="test",
        secret_key=TEST_SECRET,
        database_url=migrated,
        log_level="WARNING",
        # Uploaded pictures go to a directory of the test session's own.
        media_dir=tmp_path_factory.mktemp("media"),
    )


@pytest.fixture(scope="session")
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture(scope="session")
async def database(migrated: str) -> AsyncIterator[Database]:
    database = Database(migrated)
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
async def emptying(database: Database) -> str:
    """One round trip that empties every table and restarts every sequence (ids start at 1 in
    each test). DELETE of the few rows a test wrote takes milliseconds; TRUNCATE of all 35 tables
    took 0.2-0.9 s per test, most of the suite's time in the database. Replica mode skips the
    triggers, both the foreign keys' and those that refuse changes to append-only tables (the
    test database's superuser may; the application's user may not)."""
    async with database.engine.connect() as connection:
        sequences = (
            await connection.execute(
                text(
                    "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) FROM pg_sequences"
                )
            )
        ).scalars()
        statements = [f"DELETE FROM {table}" for table in TABLES.split(", ")]
        statements += [f"SELECT setval('{sequence}', 1, false)" for sequence in sequences]
    return "; ".join(
        ["BEGIN", "SET LOCAL session_replication_role = replica", *statements, "COMMIT"]
    )


@pytest.fixture
async def db(database: Database, emptying: str) -> AsyncIterator[AsyncSession]:
    """A session for arranging and checking; every table is emptied after the test."""
    async with database.sessionmaker() as session:
        yield session
    async with database.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        # Several statements in one message: asyncpg sends them as one simple query.
        await raw.driver_connection.execute(emptying)
    # The emptying bypasses the ORM, whose commits are what makes shared pages stale.
    pages_changed()


# The HTTP tests of answering, poll voting and casting run twice: with the fast path
# (app/fastpath.py) in front of the controllers, as in production, and with it switched off
# (TORI_FAST_PATH=0), so that the controllers' own success and refusal branches are tested too.
BOTH_PATHS = {
    "tests.surveys.test_answering",
    "tests.surveys.test_polls",
    "tests.surveys.test_form_tokens",
    "tests.surveys.test_kit",
    "tests.voting.test_pb_voting",
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "client" in metafunc.fixturenames and metafunc.module.__name__ in BOTH_PATHS:
        metafunc.parametrize(
            "fast_path", [True, False], ids=["fast-path", "controller"], indirect=True
        )


@pytest.fixture
def fast_path(request: pytest.FixtureRequest) -> bool:
    return getattr(request, "param", True)


@pytest.fixture(scope="session")
def app_without_fast_path(settings: Settings) -> Litestar:
    return create_app(replace(settings, fast_path=False))


@pytest.fixture
async def client(
    request: pytest.FixtureRequest, app: Litestar, db: AsyncSession, fast_path: bool
) -> AsyncIterator[AsyncTestClient]:
    chosen = app if fast_path else request.getfixturevalue("app_without_fast_path")
    async with AsyncTestClient(app=chosen, base_url="http://testserver.local") as test_client:
        # Like a test of a browser's view: see each 303 rather than where it leads.
        test_client.follow_redirects = False
        yield test_client


async def csrf_token(client: AsyncTestClient, path: str = "/staff/login") -> str:
    """The token a browser sends back: the form field carries the value of the CSRF cookie."""
    response = await client.get(path)
    assert response.status_code < 500
    token = client.cookies.get("tori_csrf")
    assert token, f"no CSRF cookie after GET {path}"
    return token


@pytest.fixture
def smtp_server(tmp_path) -> Iterator[SmtpServerProcess]:
    """A real SMTP server (aiosmtpd) in its own process, with a user name and password; the
    test reads what it accepted with `smtp_server.messages()`."""
    with smtp_server_process(tmp_path / "spool", auth="tori:s3cret pass") as server:
        yield server


def pytest_report_header() -> list[str]:
    source = os.environ.get("TEST_DATABASE_URL") or "a throwaway cluster started by the suite"
    return [f"PostgreSQL: {source}"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's synchronous API keeps its own event loop running until
    the session ends, and the asyncio tests cannot start theirs beside it."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
