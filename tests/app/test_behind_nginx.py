"""Tori behind a real nginx (Debian's package) configured with docs/deploy/tori-proxy.conf, as the
README's production section says: the address each limit is counted by is the resident's, not
the proxy's, and no client can choose it by sending X-Forwarded-For.

Loopback has many addresses: nginx connects to Tori from 127.0.0.2 (the one trusted proxy,
TORI_TRUSTED_PROXIES=127.0.0.2), residents connect from 127.0.0.3 and 127.0.0.4, and an
attacker connects to Tori directly from 127.0.0.1. Poll votes are limited to 2 per address."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.conftest import TEST_SECRET
from tests.surveys.polls_factories import make_poll

ROOT = Path(__file__).resolve().parents[2]
PROXY_SNIPPET = ROOT / "docs" / "deploy" / "tori-proxy.conf"
TOKEN = re.compile(r'name="token" value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not found:
        pytest.fail("These tests need Debian's nginx: run `make nginx` (or apt-get install nginx).")
    return found


def _wait(port: int, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if process.poll() is not None:
                raise AssertionError(f"{what} stopped: {process.stderr.read().decode()}") from None
            assert time.monotonic() < deadline, f"{what} did not start"
            time.sleep(0.2)


@pytest.fixture
def servers(migrated: str, tmp_path: Path) -> Iterator[tuple[int, int]]:
    """(Tori's port, nginx's port)."""
    nginx = _nginx()
    tori_port, nginx_port = _free_port(), _free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": migrated,
        "SECRET_KEY": TEST_SECRET,
        "TORI_ENV": "test",
        "LOG_LEVEL": "WARNING",
        "TORI_TRUSTED_PROXIES": "127.0.0.2",
        "TORI_VOTES_PER_ADDRESS": "2",
    }
    environment.pop("REDIS_URL", None)
    environment.pop("FORWARDED_ALLOW_IPS", None)
    tori = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(tori_port)],
        env=environment,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    for folder in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / folder).mkdir()
    temp = "".join(
        f"{kind}_temp_path {tmp_path / folder};\n"
        for kind, folder in (
            ("client_body", "body"),
            ("proxy", "proxy"),
            ("fastcgi", "fastcgi"),
            ("uwsgi", "uwsgi"),
            ("scgi", "scgi"),
        )
    )
    config = tmp_path / "nginx.conf"
    user = "user root;\n" if os.geteuid() == 0 else ""
    config.write_text(
        f"{user}daemon off;\nworker_processes 1;\npid {tmp_path / 'nginx.pid'};\n"
        f"error_log {tmp_path / 'error.log'};\nevents {{}}\n"
        f"http {{\naccess_log off;\n{temp}"
        f"upstream tori {{ server 127.0.0.1:{tori_port}; keepalive 8; }}\n"
        f"server {{\nlisten 127.0.0.1:{nginx_port};\nlocation / {{\n"
        # The proxy's own address, apart from the residents' and the attacker's.
        f"proxy_bind 127.0.0.2;\ninclude {PROXY_SNIPPET};\n}}\n}}\n}}\n"
    )
    proxy = subprocess.Popen(
        [nginx, "-p", str(tmp_path), "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait(tori_port, tori, "tori serve")
        _wait(nginx_port, proxy, "nginx")
        yield tori_port, nginx_port
    finally:
        for process in (proxy, tori):
            process.terminate()
            process.wait(timeout=20)


def vote(port: int, source: str, slug: str, forwarded: str | None = None) -> int:
    """A resident's vote from a fresh device, as a browser sends it, from `source`."""
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=20, source_address=(source, 0)
    )
    extra = {"X-Forwarded-For": forwarded} if forwarded else {}
    try:
        connection.request("GET", f"/p/{slug}?lang=en", headers=extra)
        page = connection.getresponse()
        body = page.read().decode()
        cookies = [v.split(";", 1)[0] for k, v in page.getheaders() if k.lower() == "set-cookie"]
        csrf = next(c.split("=", 1)[1] for c in cookies if c.startswith("tori_csrf="))
        form = {
            "_csrf_token": csrf,
            "token": TOKEN.search(body).group(1),
            "answer_language": "en",
            "channel": "qr",
            "q_q1": "o1",
        }
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(cookies),
            **extra,
        }
        connection.request("POST", f"/p/{slug}", body=urlencode(form), headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


async def test_limits_count_the_resident_behind_nginx_and_ignore_a_forged_forwarded_for(
    db, servers
):
    tori_port, nginx_port = servers
    slug = (await make_poll(db)).slug
    # An attacker straight at Tori, naming a new address in each request: not a trusted
    # proxy, so the header is ignored and the limit of 2 holds.
    attacker = [vote(tori_port, "127.0.0.1", slug, f"10.9.8.{n}") for n in range(3)]
    assert attacker == [303, 303, 429]
    # A resident through nginx, also trying a forged header: nginx replaces it; the limit is
    # counted on the resident's own address.
    resident = [vote(nginx_port, "127.0.0.3", slug, f"10.9.7.{n}") for n in range(3)]
    assert resident == [303, 303, 429]
    # Another resident through the same proxy is not blocked by the first one's votes.
    assert vote(nginx_port, "127.0.0.4", slug) == 303


async def test_a_second_cookie_header_does_not_make_a_voter_s_page_shared(db, servers):
    """Found by attack on a real server: a voter's cookie in a first Cookie header and only the
    neutral ones in a second. The page cache read the last header (anonymous), the application
    the first (a voter), and the "you have voted" page, without the form, was shared with
    everyone. Raw requests: a client library would merge the two headers."""
    tori_port, _nginx_port = servers
    slug = (await make_poll(db)).slug
    connection = http.client.HTTPConnection("127.0.0.1", tori_port, timeout=20)
    try:
        connection.request("GET", f"/p/{slug}?lang=en")
        page = connection.getresponse()
        body = page.read().decode()
        cookies = dict(
            v.split(";", 1)[0].split("=", 1)
            for k, v in page.getheaders()
            if k.lower() == "set-cookie"
        )
        form = {
            "_csrf_token": cookies["tori_csrf"],
            "token": TOKEN.search(body).group(1),
            "answer_language": "en",
            "channel": "qr",
            "q_q1": "o1",
        }
        jar = "; ".join(f"{k}={v}" for k, v in cookies.items())
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": jar}
        connection.request("POST", f"/p/{slug}", body=urlencode(form), headers=headers)
        voted = connection.getresponse()
        voted.read()
        assert voted.status == 303
        cookies.update(
            v.split(";", 1)[0].split("=", 1)
            for k, v in voted.getheaders()
            if k.lower() == "set-cookie"
        )
        own = "; ".join(
            f"{k}={v}" for k, v in cookies.items() if k not in ("tori_lang", "tori_csrf")
        )
        assert own, "voting leaves a cookie on the device"
        connection.putrequest("GET", f"/p/{slug}")
        connection.putheader("Cookie", own)
        connection.putheader("Cookie", f"tori_lang=en; tori_csrf={cookies['tori_csrf']}")
        connection.endheaders()
        connection.getresponse().read()
    finally:
        connection.close()
    fresh = http.client.HTTPConnection("127.0.0.1", tori_port, timeout=20)
    try:
        fresh.request("GET", f"/p/{slug}", headers={"Accept-Language": "en"})
        text = fresh.getresponse().read().decode()
    finally:
        fresh.close()
    assert TOKEN.search(text), "the next resident must get the voting form"
