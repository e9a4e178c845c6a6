"""The SMTP server named by SMTP_URL, and one connection to it (aiosmtplib).

    smtp://host                      port 25, no TLS (a relay on the same network)
    smtp://user:pass@host:587?starttls=1   STARTTLS, then AUTH (the usual submission port)
    smtps://user:pass@host:465       TLS from the first byte
    ...?timeout=20                   seconds for connecting and for each command (default 30)

With TLS or STARTTLS the server's certificate and name are checked, against the authorities in
TORI_SMTP_CA_FILE when it is set (a relay with a certificate of the city's own CA), else the
system's. STARTTLS asked for is required: without it nothing is sent, not even the password.

A user name and password are percent-decoded, so a password may hold any character.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

DEFAULT_TIMEOUT = 30.0


class SmtpUrlError(ValueError):
    """SMTP_URL cannot be used; the message says why (never with the password)."""


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    use_tls: bool = False
    start_tls: bool = False
    timeout: float = DEFAULT_TIMEOUT
    # Certificate authorities (PEM) the server's certificate is checked against (TLS and
    # STARTTLS), else the system's.
    ca_file: str | None = None

    def __repr__(self) -> str:  # never print the password in a log or a traceback
        return f"SmtpServer({self.host}:{self.port}, tls={self.use_tls}, starttls={self.start_tls})"


def _yes(values: list[str]) -> bool:
    return values[-1].strip().lower() in {"1", "true", "yes", "on"}


def parse_smtp_url(url: str, ca_file: str | None = None) -> SmtpServer:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise SmtpUrlError("the port must be a number from 1 to 65535") from None
    if parts.scheme not in {"smtp", "smtps"}:
        raise SmtpUrlError("the URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise SmtpUrlError("the URL names no host")
    query = parse_qs(parts.query)
    use_tls = parts.scheme == "smtps"
    start_tls = not use_tls and _yes(query.get("starttls", ["0"]))
    try:
        timeout = float(query.get("timeout", [str(DEFAULT_TIMEOUT)])[-1])
    except ValueError:
        timeout = -1
    if not 1 <= timeout <= 600:
        raise SmtpUrlError("timeout must be a number of seconds from 1 to 600")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    if (username is None) != (password is None):
        raise SmtpUrlError("give both a user name and a password, or neither")
    return SmtpServer(
        host=parts.hostname,
        port=port or (465 if use_tls else 587 if start_tls else 25),
        username=username,
        password=password,
        use_tls=use_tls,
        start_tls=start_tls,
        timeout=timeout,
        ca_file=ca_file,
    )


class SmtpConnection:
    """One session with the server for a batch of messages: `async with SmtpConnection(server)`."""

    def __init__(self, server: SmtpServer) -> None:
        self.server = server
        self.client = aiosmtplib.SMTP(
            hostname=server.host,
            port=server.port,
            use_tls=server.use_tls,
            # STARTTLS only when asked for: aiosmtplib would otherwise upgrade whenever offered.
            # Asked for, it is required: a server that does not offer it gets no AUTH and no
            # message in clear (aiosmtplib raises before either).
            start_tls=server.start_tls,
            timeout=server.timeout,
            # The certificate is always checked, against TORI_SMTP_CA_FILE when set.
            validate_certs=True,
            cert_bundle=server.ca_file,
        )

    async def __aenter__(self) -> SmtpConnection:
        await self.client.connect()
        if self.server.username is not None and self.server.password is not None:
            await self.client.login(self.server.username, self.server.password)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        try:
            if self.client.is_connected:
                await self.client.quit()
        except aiosmtplib.SMTPException:
            self.client.close()

    async def send(self, message: EmailMessage) -> None:
        """Returns once the server has accepted the message (250 after DATA)."""
        await self.client.send_message(message)
