"""The README's "Running in production" block, run as written (issue #18, item 7).

The block is read from README.md and run in one shell, line for line. Only what cannot exist
here is replaced, each replacement checked to match exactly once: the database (a fresh one),
Redis and the SMTP server (the test's), the port (a free one, so parallel runs do not collide)
and the path of `.venv/bin/tori` (the environment running the tests). In front of it runs
Debian's nginx with docs/deploy/nginx-tori.conf, with its ports, certificate (a self-signed one)
and snippet path replaced. Then, through nginx over HTTPS, the new admin signs in with the
one-time password the block's `create-admin` printed."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.app.test_behind_nginx import _free_port, _nginx
from tests.postgres import fresh_database

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SITE = ROOT / "docs" / "deploy" / "nginx-tori.conf"
SNIPPET = ROOT / "docs" / "deploy" / "tori-proxy.conf"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def production_block() -> str:
    """The first sh block under "## Running in production"."""
    text = README.read_text()
    section = text[text.index("## Running in production") :]
    return re.search(r"```sh\n(.*?)```", section, re.DOTALL).group(1)


def replaced(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"the README or config no longer has {old!r} exactly once"
    return text.replace(old, new)


def test_the_block_is_only_settings_and_tori_commands():
    """What the test replaces is all that the block leaves to the reader: every other line runs."""
    for line in production_block().splitlines():
        assert not line.strip() or line.startswith(("export ", "#", ".venv/bin/tori ")), line


@pytest.fixture
def deployment(postgres_server_url, smtp_server, tmp_path) -> Iterator[dict]:
    tori_port, http_port, https_port = _free_port(), _free_port(), _free_port()
    tori_command = Path(sys.executable).parent / "tori"
    assert tori_command.exists(), "the environment running the tests has no `tori` command"
    with fresh_database(postgres_server_url, "readme") as database_url:
        script = production_block()
        script = replaced(script, "postgresql://tori:…@db.internal/tori", database_url)
        script = replaced(script, "redis://cache.internal:6379/0", REDIS_URL)
        script = replaced(
            script, "'smtp://tori:…@smtp.city.example:587?starttls=1'", f"'{smtp_server.url}'"
        )
        script = replaced(script, "--port 8000", f"--port {tori_port}")
        script = script.replace(".venv/bin/tori ", f"{tori_command} ")
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("TORI_", "OIDC_", "SMTP_"))
            and key not in {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "LOG_LEVEL"}
        }
        output = tmp_path / "tori.out"
        with output.open("wb") as log:
            tori = subprocess.Popen(
                ["bash", "-euo", "pipefail", "-c", script],
                cwd=tmp_path,  # a machine's own folder, not the repository
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        proxy = None
        try:
            subprocess.run(
                [
                    "openssl",
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "1",
                    "-subj",
                    "/CN=osallistu.example.fi",
                    "-keyout",
                    str(tmp_path / "key.pem"),
                    "-out",
                    str(tmp_path / "cert.pem"),
                ],
                check=True,
                capture_output=True,
            )
            site = SITE.read_text()
            site = replaced(site, "server 127.0.0.1:8000;", f"server 127.0.0.1:{tori_port};")
            site = replaced(site, "listen 80;", f"listen 127.0.0.1:{http_port};")
            site = replaced(site, "listen [::]:80;", "")
            site = replaced(site, "listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl;")
            site = replaced(site, "listen [::]:443 ssl http2;", "")
            site = replaced(
                site,
                "/etc/letsencrypt/live/osallistu.example.fi/fullchain.pem",
                str(tmp_path / "cert.pem"),
            )
            site = replaced(
                site,
                "/etc/letsencrypt/live/osallistu.example.fi/privkey.pem",
                str(tmp_path / "key.pem"),
            )
            site = site.replace("/etc/nginx/snippets/tori-proxy.conf", str(SNIPPET))
            temp = ""
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
                (tmp_path / kind).mkdir()
                temp += f"{kind}_temp_path {tmp_path / kind};\n"
            user = "user root;\n" if os.geteuid() == 0 else ""
            (tmp_path / "nginx.conf").write_text(
                f"{user}daemon off;\nworker_processes 1;\npid {tmp_path / 'nginx.pid'};\n"
                f"error_log {tmp_path / 'error.log'};\nevents {{}}\n"
                f"http {{\naccess_log off;\n{temp}{site}\n}}\n"
            )
            proxy = subprocess.Popen(
                [_nginx(), "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            deadline = time.monotonic() + 120
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", tori_port), timeout=1):
                        break
                except OSError:
                    if tori.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(
                            f"the README's block stopped:\n{output.read_text()[:1500]}\n...\n{output.read_text()[-600:]}"
                        )
                    time.sleep(0.3)
            yield {
                "https": f"https://127.0.0.1:{https_port}",
                "http": f"http://127.0.0.1:{http_port}",
                "output": output,
            }
        finally:
            if proxy is not None:
                proxy.terminate()
                proxy.wait(timeout=20)
            os.killpg(tori.pid, 15)
            tori.wait(timeout=30)


def test_the_production_block_as_written_serves_behind_nginx(deployment):
    printed = deployment["output"].read_text()
    password = re.search(
        r"Admin it\.admin@city\.example created\. One-time password: (\S+)", printed
    )
    assert password, printed[-3000:]
    host = {"Host": "osallistu.example.fi"}
    plain = httpx.get(f"{deployment['http']}/staff/login", headers=host)
    assert plain.status_code == 301
    assert plain.headers["location"] == "https://osallistu.example.fi/staff/login"
    with httpx.Client(base_url=deployment["https"], headers=host, verify=False) as browser:
        ready = browser.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert "down" not in ready.json() or not ready.json()["down"]
        page = browser.get("/staff/login?lang=en")
        assert page.status_code == 200
        assert "max-age" in page.headers["strict-transport-security"]
        assert "secure" in page.headers["set-cookie"].lower()
        signed = browser.post(
            "/staff/login",
            data={
                "email": "it.admin@city.example",
                "password": password.group(1),
                "_csrf_token": browser.cookies["tori_csrf"],
            },
            follow_redirects=False,
        )
        assert signed.status_code == 303, signed.text[-2000:]
        # The one-time password must be changed first.
        assert "password" in signed.headers["location"]
        # Metrics only for the monitoring network: this client is not in it.
        assert browser.get("/metrics").status_code == 403
