"""A real OpenID Connect provider for the tests (oidc-provider-mock in its own process on a
free local port, as a real broker would run, outside the test process's warning filters)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest


@contextmanager
def running_identity_provider() -> Iterator[str]:
    """The provider's issuer address while the block runs."""
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
