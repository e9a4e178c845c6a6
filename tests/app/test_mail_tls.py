"""The sender over TLS, against a real SMTP server (aiosmtpd, its own process) with a certificate
of a CA made for the test: STARTTLS with AUTH, TLS from the first byte, the CA trusted through
TORI_SMTP_CA_FILE; and the refusals: a certificate no trusted CA signed, and a server that does
not offer the STARTTLS the URL asks for (nothing in clear, not even the password)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from app.mail import OutboxMessage, enqueue
from app.mail.models import PENDING, SENT
from app.mail.sender import deliver_due
from app.settings import InsecureSettingsError, Settings
from tests.mailbox import (
    ServerCertificate,
    SmtpServerProcess,
    make_test_certificate,
    smtp_server_process,
    text_part,
)

AUTH = "tori:s3cret pass"
LINK = "https://tori.example.fi/account/confirm?t=abc"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> ServerCertificate:
    return make_test_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def starttls_server(tmp_path, certificate) -> Iterator[SmtpServerProcess]:
    with smtp_server_process(
        tmp_path / "spool", auth=AUTH, tls="starttls", certificate=certificate
    ) as server:
        yield server


@pytest.fixture
def implicit_tls_server(tmp_path, certificate) -> Iterator[SmtpServerProcess]:
    with smtp_server_process(
        tmp_path / "spool", auth=AUTH, tls="implicit", certificate=certificate
    ) as server:
        yield server


def settings_for(settings: Settings, server: SmtpServerProcess, ca_file=None) -> Settings:
    return dataclasses.replace(
        settings,
        smtp_url=server.url,
        smtp_ca_file=str(ca_file) if ca_file else None,
        mail_from="Tori <osallisuus@example.fi>",
    )


async def write_two(db) -> None:
    for n in range(2):
        await enqueue(db, f"asukas{n}@example.fi", "account_confirm", "en", name="A", link=LINK)
    await db.commit()


async def rows(db) -> list[OutboxMessage]:
    db.expire_all()
    return list(await db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def test_starttls_with_auth_delivers_to_a_server_of_the_trusted_ca(
    db, database, settings, starttls_server, certificate
):
    assert "starttls=1" in starttls_server.url
    await write_two(db)
    done = await deliver_due(
        database.sessionmaker, settings_for(settings, starttls_server, certificate.ca)
    )
    assert (done.sent, done.retried, done.failed) == (2, 0, 0)
    received = starttls_server.messages()
    assert sorted(message["To"] for message in received) == [
        "asukas0@example.fi",
        "asukas1@example.fi",
    ]
    assert LINK in text_part(received[0])
    assert {row.status for row in await rows(db)} == {SENT}


async def test_implicit_tls_delivers_to_a_server_of_the_trusted_ca(
    db, database, settings, implicit_tls_server, certificate
):
    assert implicit_tls_server.url.startswith("smtps://")
    await write_two(db)
    done = await deliver_due(
        database.sessionmaker, settings_for(settings, implicit_tls_server, certificate.ca)
    )
    assert done.sent == 2
    assert len(implicit_tls_server.messages()) == 2


@pytest.mark.parametrize("mode", ["starttls", "implicit"])
async def test_a_certificate_no_trusted_ca_signed_gets_nothing(
    db, database, settings, tmp_path, certificate, mode
):
    """Without TORI_SMTP_CA_FILE the test CA is trusted by no one: the sender refuses the
    server (as it would a man in the middle) and the messages wait."""
    with smtp_server_process(
        tmp_path / "spool", auth=AUTH, tls=mode, certificate=certificate
    ) as server:
        await write_two(db)
        done = await deliver_due(database.sessionmaker, settings_for(settings, server))
        assert done.sent == 0
        assert server.messages() == []
    waiting = await rows(db)
    assert {row.status for row in waiting} == {PENDING}
    assert all("certificate" in (row.last_error or "").lower() for row in waiting)


async def test_starttls_asked_for_but_not_offered_sends_nothing_in_clear(
    db, database, settings, smtp_server, certificate
):
    """The URL asks for STARTTLS; the server (which would accept AUTH and mail in clear) does
    not offer it. The sender stops before AUTH: no password and no message crosses in clear."""
    downgraded = dataclasses.replace(
        settings,
        smtp_url=smtp_server.url + "&starttls=1",
        smtp_ca_file=str(certificate.ca),
        mail_from="Tori <osallisuus@example.fi>",
    )
    await write_two(db)
    done = await deliver_due(database.sessionmaker, downgraded)
    assert done.sent == 0
    assert smtp_server.messages() == []
    waiting = await rows(db)
    assert {row.status for row in waiting} == {PENDING}
    assert all("starttls" in (row.last_error or "").lower() for row in waiting)
    # The same server without the demand for STARTTLS takes them: the refusal was the TLS.
    plain = dataclasses.replace(downgraded, smtp_url=smtp_server.url)
    assert (await deliver_due(database.sessionmaker, plain, clock=_later)).sent == 2


def _later():
    import datetime as dt

    from app.database import utcnow

    return utcnow() + dt.timedelta(minutes=5)


def test_the_ca_file_setting_must_name_a_file(tmp_path, certificate):
    environment = {"SECRET_KEY": "x" * 40, "TORI_SMTP_CA_FILE": str(tmp_path / "missing.pem")}
    with pytest.raises(InsecureSettingsError, match="TORI_SMTP_CA_FILE"):
        Settings.from_environment(environment)
    environment["TORI_SMTP_CA_FILE"] = str(certificate.ca)
    assert Settings.from_environment(environment).smtp_ca_file == str(certificate.ca)
