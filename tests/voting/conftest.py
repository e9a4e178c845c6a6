"""Fixtures of the voting tests: a real OpenID Connect provider (oidc-provider-mock on a local
port) and a Tori client configured for it, used by strong identification for voting
(test_pb_identify.py) and for sending ideas (test_identified_ideas.py)."""

from __future__ import annotations

from collections.abc import Iterator

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
