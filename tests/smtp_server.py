"""A real SMTP server for the tests, in its own process (aiosmtpd):

    python -m tests.smtp_server --port 2525 --spool /tmp/mail [--auth user:pass] [--delay 0.2]
        [--tls starttls|implicit --cert server.pem --key server.key]

Every message it accepts is written to the spool directory as one .eml file *before* it answers
250, so what the tests read is exactly what the server took responsibility for. Recipients whose
address starts with "refused" get a permanent 550; with --auth, a client must sign in first.
Stopping the process (SIGKILL in the drills) is a server going away mid-conversation.
With --tls starttls the server offers STARTTLS and refuses AUTH and mail before it; with
--tls implicit it speaks TLS from the first byte (SMTPS).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import ssl
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class SpoolHandler:
    def __init__(self, spool: Path, delay: float) -> None:
        self.spool = spool
        self.delay = delay
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.lower().startswith("refused"):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        self.count += 1
        name = f"{time.time_ns()}-{os.getpid()}-{self.count}"
        partial = self.spool / f"{name}.part"
        partial.write_bytes(envelope.original_content or envelope.content)
        partial.rename(self.spool / f"{name}.eml")
        return "250 2.0.0 Message accepted"


def authenticator_for(credentials: str | None):
    if not credentials:
        return None
    user, _, password = credentials.partition(":")

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == user
            and auth_data.password.decode() == password
        )
        return AuthResult(success=ok)

    return authenticate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--spool", type=Path, required=True)
    parser.add_argument("--auth", default=None)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--tls", choices=["none", "starttls", "implicit"], default="none")
    parser.add_argument("--cert", type=Path)
    parser.add_argument("--key", type=Path)
    arguments = parser.parse_args()
    arguments.spool.mkdir(parents=True, exist_ok=True)
    authenticator = authenticator_for(arguments.auth)
    tls: dict = {}
    if arguments.tls != "none":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(arguments.cert, arguments.key)
        if arguments.tls == "starttls":
            tls = {"tls_context": context, "require_starttls": True}
        else:
            tls = {"ssl_context": context}
    controller = Controller(
        SpoolHandler(arguments.spool, arguments.delay),
        hostname="127.0.0.1",
        port=arguments.port,
        authenticator=authenticator,
        auth_required=authenticator is not None,
        # aiosmtpd counts only STARTTLS as TLS here; with implicit TLS every byte is encrypted.
        auth_require_tls=arguments.tls == "starttls",
        **tls,
    )
    controller.start()
    print("ready", flush=True)  # noqa: T201 - the fixture waits for this line
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stopped.wait()
    controller.stop()


if __name__ == "__main__":
    main()
