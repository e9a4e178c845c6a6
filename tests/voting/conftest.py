"""Fixtures of the voting tests: a real OpenID Connect provider (oidc-provider-mock on a local
port) and a Tori client configured for it, used by strong identification for voting
(test_pb_identify.py) and for sending ideas (test_identified_ideas.py)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from litestar.testing import AsyncTestClient

from app.settings import Settings
from app.web import create_app
from tests.conftest import TEST_SECRET


@pytest.fixture(scope="session")
def identity_provider() -> Iterator[str]:
    """The provider runs as its own process, as a real broker would (and outside the test
    process's warning filters)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            "-W",
            "ignore",
            "-m",
            "oidc_provider_mock",
            "--port",
            str(port),
            "--require-nonce",
            "true",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    issuer = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if (
                    httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=1).status_code
                    == 200
                ):
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            process.kill()
            pytest.fail(
                f"the OIDC provider did not start: {process.stderr.read().decode()[-2000:]}"
            )
        yield issuer
    finally:
        process.terminate()
        process.wait(timeout=10)


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
