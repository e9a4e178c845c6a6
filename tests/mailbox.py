"""Running tests/smtp_server.py as a separate process and reading what it received."""

from __future__ import annotations

import contextlib
import email
import email.policy
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpServerProcess:
    """The test SMTP server: `url` for SMTP_URL, `messages()` for what it accepted, and `kill()`
    and `start()` for the drills (the port and the spool survive a restart)."""

    def __init__(self, spool: Path, *, auth: str | None = None, delay: float = 0.0) -> None:
        self.spool = spool
        self.port = free_port()
        self.auth = auth
        self.delay = delay
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        credentials = ""
        if self.auth:
            user, _, password = self.auth.partition(":")
            credentials = f"{quote(user, safe='')}:{quote(password, safe='')}@"
        return f"smtp://{credentials}127.0.0.1:{self.port}?timeout=5"

    def start(self) -> None:
        command = [sys.executable, "-m", "tests.smtp_server", "--port", str(self.port)]
        command += ["--spool", str(self.spool), "--delay", str(self.delay)]
        if self.auth:
            command += ["--auth", self.auth]
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.strip() == "ready", "the test SMTP server did not start"

    def kill(self) -> None:
        """Gone at once, mid-conversation, like a crashed or unplugged server."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
            self.process = None

    def files(self) -> list[Path]:
        return sorted(self.spool.glob("*.eml"), key=lambda path: path.name)

    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in self.files()
        ]

    def wait_for(self, count: int, timeout: float = 20) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.files()) >= count:
                return self.messages()
            time.sleep(0.05)
        raise AssertionError(f"{len(self.files())} messages arrived, not {count}")

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.messages() if message["To"] == address]


@contextlib.contextmanager
def smtp_server_process(spool: Path, **options) -> Iterator[SmtpServerProcess]:
    server = SmtpServerProcess(spool, **options)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def text_part(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_part(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def environment_without_mail() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key != "SMTP_URL"}
