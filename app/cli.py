"""The `tori` command: serve, migrate, seed-demo, create-admin, retention, mail,
area-statistics-import."""

from __future__ import annotations

import argparse
import asyncio
import sys

from app.settings import InsecureSettingsError, Settings

DEMO_ADMIN_EMAIL = "admin@example.org"


async def _migrate(settings: Settings) -> None:
    from app.database import create_engine  # noqa: PLC0415 - keep `tori --help` fast
    from app.migrate import upgrade_to_head  # noqa: PLC0415

    engine = create_engine(settings.database_url)
    async with engine.begin() as connection:
        await upgrade_to_head(connection)
    await engine.dispose()


async def _seed_demo(settings: Settings) -> None:
    from app.accounts.services import ensure_admin  # noqa: PLC0415
    from app.database import command_session  # noqa: PLC0415
    from app.demo import seed_areas, seed_events  # noqa: PLC0415
    from app.features import load_features  # noqa: PLC0415

    async with command_session(settings.database_url) as session:
        areas = await seed_areas(session)
        created = await seed_events(session, areas, timezone=settings.timezone)
        _user, password = await ensure_admin(session, DEMO_ADMIN_EMAIL, "Demo Admin")
        print(f"Areas: {len(areas)}; events created now: {created}.")
        for feature in load_features():
            if feature.seed_demo is not None:
                print(await feature.seed_demo(session, settings))
    if password:
        print(f"Staff admin: {DEMO_ADMIN_EMAIL}  one-time password: {password}")
        print("Sign in at /staff/login; you will be asked to choose your own password.")
    else:
        print(f"The staff admin {DEMO_ADMIN_EMAIL} already exists (its password is unchanged).")


async def _create_admin(settings: Settings, email: str, name: str) -> int:
    from app.accounts.models import Role  # noqa: PLC0415
    from app.accounts.services import create_user  # noqa: PLC0415
    from app.database import command_session  # noqa: PLC0415
    from app.errors import DomainError  # noqa: PLC0415
    from app.forms import Form  # noqa: PLC0415

    form = Form({"email": [email], "name": [name]})
    email = form.email("email")
    name = form.text("name", required=True, max_length=120)
    if not form.is_valid:
        for field, message in form.errors.items():
            print(f"{field}: {message}", file=sys.stderr)
        return 2
    try:
        async with command_session(settings.database_url) as session:
            _user, password = await create_user(
                session, email=email, display_name=name, role=Role.ADMIN
            )
    except DomainError as error:
        print(error.translated(), file=sys.stderr)
        return 2
    print(f"Admin {email} created. One-time password: {password}")
    return 0


async def _retention(settings: Settings, dry_run: bool) -> int:
    from app.database import command_session, utcnow  # noqa: PLC0415
    from app.retention import apply_retention  # noqa: PLC0415

    async with command_session(settings.database_url) as session:
        removed = await apply_retention(session, settings, utcnow(), dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    for item in removed:
        print(f"{verb} {item.count}: {item.what}")
    return 0


async def _mail(settings: Settings, loop: bool) -> int:
    from app.database import Database  # noqa: PLC0415
    from app.mail.sender import deliver_due, run_sender, write_timed_mail  # noqa: PLC0415

    if not settings.smtp_url:
        print(
            "SMTP_URL is not set: messages stay in the outbox (see /staff/mail).", file=sys.stderr
        )
        return 2
    database = Database(settings.database_url)
    try:
        if loop:
            await run_sender(database.sessionmaker, settings, asyncio.Event())
            return 0
        await write_timed_mail(database.sessionmaker, settings)
        done = await deliver_due(database.sessionmaker, settings)
    finally:
        await database.dispose()
    print(f"sent {done.sent}, to be tried again {done.retried}, given up {done.failed}")
    return 0


def _serve(settings: Settings, host: str, port: int, workers: int) -> None:
    import uvicorn  # noqa: PLC0415

    from app.metrics import prepare_workers  # noqa: PLC0415

    prepare_workers(settings, workers)

    uvicorn.run(
        "app.web:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # Forwarded headers only from the proxies the city named (TORI_TRUSTED_PROXIES): from
        # anyone else they would let a client choose the address its limits are counted by.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies) or None,
        log_config=None,
        access_log=False,
        # Open live-result streams are ended after a few seconds; browsers reconnect by themselves.
        timeout_graceful_shutdown=5,
    )


def _import_area_statistics(settings: Settings, path: str) -> int:
    from pathlib import Path  # noqa: PLC0415

    from app.areas.statistics_file import MAX_STATISTICS_BYTES  # noqa: PLC0415

    try:
        with Path(path).open("rb") as handle:
            data = handle.read(MAX_STATISTICS_BYTES + 1)
    except OSError as error:
        print(f"{path}: cannot be read: {error.strerror}", file=sys.stderr)
        return 2
    return asyncio.run(_store_area_statistics(settings, path, data))


async def _store_area_statistics(settings: Settings, path: str, data: bytes) -> int:
    """Every line checked first, in English; nothing stored when any line is bad."""
    from app.areas.services import import_statistics, list_areas  # noqa: PLC0415
    from app.areas.statistics_file import read_statistics  # noqa: PLC0415
    from app.database import command_session  # noqa: PLC0415
    from app.i18n import in_language  # noqa: PLC0415

    async with command_session(settings.database_url) as session:
        with in_language("en"):
            found = read_statistics(data, await list_areas(session))
        if found.errors:
            for line, message in found.errors:
                print(
                    f"{path}:{line}: {message}" if line else f"{path}: {message}", file=sys.stderr
                )
            print("Nothing was imported.", file=sys.stderr)
            return 2
        summary = await import_statistics(session, found.rows)
    years = ", ".join(str(year) for year in summary.years)
    print(
        f"Statistics imported for {years}: {summary.added} added, {summary.replaced} replaced, "
        f"{summary.removed} removed."
    )
    return 0


def _feature_commands() -> dict:
    from app.features import load_features  # noqa: PLC0415

    return {
        name: command for feature in load_features() for name, command in feature.commands.items()
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tori", description="Tori – resident participation for cities."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the web application")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    commands.add_parser("migrate", help="bring the database to the newest schema (safe to repeat)")
    commands.add_parser(
        "seed-demo", help="add demo areas, events and a staff admin (safe to repeat)"
    )
    admin = commands.add_parser(
        "create-admin", help="create an administrator with a one-time password"
    )
    admin.add_argument("email")
    admin.add_argument("--name", default="Administrator")
    retention = commands.add_parser(
        "retention",
        help="delete or anonymise what the privacy notice says is kept no longer (run daily)",
    )
    retention.add_argument(
        "--dry-run", action="store_true", help="only count what would be removed"
    )
    mail = commands.add_parser(
        "mail", help="send the e-mail waiting in the outbox (once, or with --loop until stopped)"
    )
    mail.add_argument("--loop", action="store_true", help="keep sending as messages arrive")
    statistics = commands.add_parser(
        "area-statistics-import",
        help="import residents by age band and mother tongue per area and year "
        "(CSV, see docs/area-statistics.md)",
    )
    statistics.add_argument("file")
    for name, (help_text, add_arguments, _run) in _feature_commands().items():
        add_arguments(commands.add_parser(name, help=help_text))
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    try:
        settings = Settings.from_environment()
    except InsecureSettingsError as error:
        print(error, file=sys.stderr)
        return 2
    if arguments.command == "serve":
        if not 1 <= arguments.workers <= 64:
            print("--workers must be from 1 to 64", file=sys.stderr)
            return 2
        _serve(settings, arguments.host, arguments.port, arguments.workers)
        return 0
    if arguments.command == "migrate":
        asyncio.run(_migrate(settings))
        print("The database schema is up to date.")
        return 0
    if arguments.command == "seed-demo":
        asyncio.run(_seed_demo(settings))
        return 0
    if arguments.command == "retention":
        return asyncio.run(_retention(settings, arguments.dry_run))
    if arguments.command == "mail":
        return asyncio.run(_mail(settings, arguments.loop))
    if arguments.command == "area-statistics-import":
        return _import_area_statistics(settings, arguments.file)
    if arguments.command == "create-admin":
        return asyncio.run(_create_admin(settings, arguments.email, arguments.name))
    _help, _add, run = _feature_commands()[arguments.command]
    return run(settings, arguments)


if __name__ == "__main__":
    sys.exit(main())
