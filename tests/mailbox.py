"""Running tests/smtp_server.py as a separate process and reading what it received."""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpServerProcess:
    """The test SMTP server: `url` for SMTP_URL, `messages()` for what it accepted, and `kill()`
    and `start()` for the drills (the port and the spool survive a restart)."""

    def __init__(
        self,
        spool: Path,
        *,
        auth: str | None = None,
        delay: float = 0.0,
        tls: str = "none",
        certificate: ServerCertificate | None = None,
    ) -> None:
        self.spool = spool
        self.port = free_port()
        self.auth = auth
        self.delay = delay
        self.tls = tls
        self.certificate = certificate
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        credentials = ""
        if self.auth:
            user, _, password = self.auth.partition(":")
            credentials = f"{quote(user, safe='')}:{quote(password, safe='')}@"
        scheme = "smtps" if self.tls == "implicit" else "smtp"
        starttls = "&starttls=1" if self.tls == "starttls" else ""
        return f"{scheme}://{credentials}127.0.0.1:{self.port}?timeout=5{starttls}"

    def start(self) -> None:
        command = [sys.executable, "-m", "tests.smtp_server", "--port", str(self.port)]
        command += ["--spool", str(self.spool), "--delay", str(self.delay)]
        if self.auth:
            command += ["--auth", self.auth]
        if self.tls != "none":
            assert self.certificate is not None
            command += ["--tls", self.tls, "--cert", str(self.certificate.chain)]
            command += ["--key", str(self.certificate.key)]
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


@dataclass(frozen=True)
class ServerCertificate:
    """A certificate authority made for one test run, and a server certificate for 127.0.0.1
    and localhost that it signed: PEM files."""

    ca: Path
    chain: Path
    key: Path


def make_test_certificate(directory: Path) -> ServerCertificate:
    """A new CA and server certificate (cryptography), written into `directory`."""

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tori test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    files = ServerCertificate(
        directory / "ca.pem", directory / "server.pem", directory / "server.key"
    )
    files.ca.write_bytes(ca.public_bytes(pem))
    files.chain.write_bytes(server.public_bytes(pem) + ca.public_bytes(pem))
    files.key.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return files


def text_part(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_part(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def environment_without_mail() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key != "SMTP_URL"}
