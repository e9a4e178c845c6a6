"""Fixtures of the voting tests: a real OpenID Connect provider (oidc-provider-mock on a local
port) and a Tori client configured for it, used by strong identification for voting
(test_pb_identify.py) and for sending ideas (test_identified_ideas.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from litestar.testing import AsyncTestClient

from app.settings import Settings
from app.web import create_app
from tests.conftest import TEST_SECRET
from tests.oidc_provider import running_identity_provider


@pytest.fixture(scope="session")
def identity_provider() -> Iterator[str]:
    with running_identity_provider() as issuer:
        yield issuer


@pytest.fixture
async def oidc_client(identity_provider, migrated, db):
    settings = Settings(
        environment="test",
        secret_key=TEST_SECRET,
        database_url=migrated,
        log_level="WARNING",
        oidc_issuer=identity_provider,
        oidc_client_id="tori",
        oidc_client_secret="tori-client-secret",
        oidc_identifier_claim="hetu",
    )
    async with AsyncTestClient(
        app=create_app(settings), base_url="http://testserver.local"
    ) as client:
        client.follow_redirects = False
        yield client


# The HTTP tests of casting run twice: with the fast path (app/fastpath.py, voting/casting.py) in
# front of the controller, as in production, and with it switched off (TORI_FAST_PATH=0), so
# that the controller's own branches are tested too.
BOTH_PATHS = ("test_pb_voting",)


def pytest_generate_tests(metafunc):
    if "client" in metafunc.fixturenames and metafunc.module.__name__.endswith(BOTH_PATHS):
        metafunc.parametrize(
            "fast_path", [True, False], ids=["fast-path", "controller"], indirect=True
        )


@pytest.fixture
def fast_path(request) -> bool:
    return getattr(request, "param", True)


@pytest.fixture(scope="session")
def app_without_fast_path(settings):
    return create_app(replace(settings, fast_path=False))


@pytest.fixture
async def client(app, app_without_fast_path, db, fast_path):
    chosen = app if fast_path else app_without_fast_path
    async with AsyncTestClient(app=chosen, base_url="http://testserver.local") as test_client:
        # Like a test of a browser's view: see each 303 rather than where it leads.
        test_client.follow_redirects = False
        yield test_client
