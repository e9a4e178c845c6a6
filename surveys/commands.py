"""`tori` subcommands of the surveys feature."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from app.database import command_session
from surveys import services
from surveys.definitions import DefinitionError


def _add_file_argument(parser) -> None:
    parser.add_argument("file", help="a JSON file")


def _read(path: str) -> bytes | None:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        print(f"{path}: cannot be read: {error.strerror}", file=sys.stderr)
        return None


def import_instrument_command(settings, arguments) -> int:
    raw = _read(arguments.file)
    if raw is None:
        return 2

    async def run() -> int:
        try:
            async with command_session(settings.database_url) as session:
                record, created = await services.import_instrument(session, raw)
        except DefinitionError as error:
            print(f"{arguments.file}: {error}", file=sys.stderr)
            return 2
        languages = ", ".join(services.parse_instrument(record.definition).languages)
        state = "imported" if created else "already imported, unchanged"
        print(f"Instrument {record.key} version {record.version} {state}; offered in: {languages}.")
        return 0

    return asyncio.run(run())


def import_questionnaire_command(settings, arguments) -> int:
    raw = _read(arguments.file)
    if raw is None:
        return 2

    async def run() -> int:
        try:
            data = json.loads(raw.decode("utf-8"))
            async with command_session(settings.database_url) as session:
                version, created = await services.import_template(session, data)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            print(f"{arguments.file}: not a UTF-8 JSON file: {error}", file=sys.stderr)
            return 2
        except DefinitionError as error:
            print(f"{arguments.file}: {error}", file=sys.stderr)
            return 2
        state = (
            "stored as a new version"
            if created
            else "unchanged: same wording as an existing version"
        )
        print(f"Questionnaire version {version.version}: {state}.")
        return 0

    return asyncio.run(run())


COMMANDS = {
    "instrument-import": (
        "import the official wording of a validated instrument (locked)",
        _add_file_argument,
        import_instrument_command,
    ),
    "questionnaire-import": (
        "store a questionnaire definition as a new template version",
        _add_file_argument,
        import_questionnaire_command,
    ),
}
