"""`tori` subcommands of participatory budgeting.

- `tori tally FILE.pb`: anyone can check a count on published pabulib data;
- `tori pb-import FILE.pb`: a published instance as a round (to compare, train or demo);
- `tori voter-roll ROUND FILE.csv`: import the census file, with progress, all or nothing;
- `tori voting-codes ROUND OUT.csv`: the mailing file of new letter codes;
- `tori mix [ROUND]`: pending ballots into the log in shuffled batches (everything after the close);
- `tori audit`: check every round's ballot log and the staff audit log, e.g. after a restore.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from functools import partial
from pathlib import Path

from app.areas.services import list_areas
from app.audit import audit_head, check_audit_chain, parse_head
from app.database import command_session
from app.errors import NotFoundError
from voting.exports import codes_csv, import_pabulib
from voting.letters import DEFAULT_LETTER_LANGUAGES, letter_languages, letter_url
from voting.mixing import mix_round, pending_count, voting_closed
from voting.publication import audit_round
from voting.roll import import_roll, issue_letter_codes, parse_roll
from voting.rounds import list_rounds, round_by_slug
from voting.tally import RULES, SATISFACTIONS, PabulibError, parse_pabulib, tally


def add_tally_arguments(parser) -> None:
    parser.add_argument("file", help="a pabulib .pb file")
    parser.add_argument("--rule", choices=RULES, default="greedy")
    parser.add_argument("--sat", choices=SATISFACTIONS, default="cost")


def _read_pabulib(path: str):
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        print(f"{path}: cannot be read: {error}", file=sys.stderr)
        return None
    try:
        return parse_pabulib(text)
    except PabulibError as error:
        print(f"{path}: {error}", file=sys.stderr)
        return None


def tally_command(_settings, arguments) -> int:
    """Prints the selected project ids as a JSON list (sorted as strings)."""
    election = _read_pabulib(arguments.file)
    if election is None:
        return 2
    if arguments.sat == "points" and election.vote_type != "cumulative":
        print(f"{arguments.file}: --sat points needs cumulative ballots", file=sys.stderr)
        return 2
    outcome = tally(election, arguments.rule, arguments.sat)
    print(json.dumps(sorted(outcome.selected)))
    return 0


def add_import_arguments(parser) -> None:
    parser.add_argument("file", help="a pabulib .pb file")
    parser.add_argument("--title", help="the round's title (default: the file's description)")


def pb_import_command(settings, arguments) -> int:

    election = _read_pabulib(arguments.file)
    if election is None:
        return 2
    title = (arguments.title or election.meta.get("description") or Path(arguments.file).stem)[:200]

    async def run() -> int:
        try:
            async with command_session(settings.database_url) as session:
                round_ = await import_pabulib(session, election, title, settings.signing_seed)
        except ValueError as error:
            print(f"{arguments.file}: {error}", file=sys.stderr)
            return 2
        print(
            f"Imported as round {round_.slug}: {len(election.costs)} projects, "
            f"{len(election.ballots)} ballots; results at /pb/{round_.slug}/results"
        )
        return 0

    return asyncio.run(run())


def add_roll_arguments(parser) -> None:
    parser.add_argument("round", help="the round's short id (as in /pb/<id>)")
    parser.add_argument("file", help="CSV: identifier, birth date, area[, reference]")


def _progress(label: str):
    def show(done: int, total: int) -> None:
        print(f"\r{label}: {done:,} / {total:,}", end="" if done < total else "\n", file=sys.stderr)

    return show


def voter_roll_command(settings, arguments) -> int:

    try:
        data = Path(arguments.file).read_bytes()
    except OSError as error:
        print(f"{arguments.file}: cannot be read: {error.strerror}", file=sys.stderr)
        return 2

    async def run() -> int:
        try:
            async with command_session(settings.database_url) as session:
                round_ = await round_by_slug(session, arguments.round)
                parsed = parse_roll(data, await list_areas(session), settings.roll_key)
                if parsed.errors:
                    for line, message in parsed.errors:
                        print(f"{arguments.file}:{line}: {message}", file=sys.stderr)
                    print("Nothing was imported.", file=sys.stderr)
                    return 2
                summary = await import_roll(session, round_, parsed.rows, _progress("Stored"))
        except NotFoundError:
            print(f"No round {arguments.round!r}.", file=sys.stderr)
            return 2
        print(
            f"Voter roll of {round_.slug}: {summary.added} added, {summary.updated} updated, "
            f"{summary.removed} removed, {summary.kept_voted} kept because they have voted."
        )
        return 0

    return asyncio.run(run())


def add_codes_arguments(parser) -> None:
    parser.add_argument("round", help="the round's short id")
    parser.add_argument("out", help="the CSV file to write for the mailing")
    parser.add_argument(
        "--base-url",
        help="Tori's public address (https://…): adds the address each letter's QR code opens",
    )


def voting_codes_command(settings, arguments) -> int:

    out = Path(arguments.out)
    if out.exists():
        print(f"{out}: exists already; codes are written to a new file only.", file=sys.stderr)
        return 2
    base_url = arguments.base_url
    if base_url is not None and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", base_url):
        print(
            f"--base-url {base_url!r}: give Tori's address, like https://tori.example.fi",
            file=sys.stderr,
        )
        return 2

    async def run() -> str | None:
        try:
            async with command_session(settings.database_url) as session:
                round_ = await round_by_slug(session, arguments.round)
                issued = await issue_letter_codes(session, round_, _progress("Codes"))
                areas = {area.id: area for area in await list_areas(session)}
        except NotFoundError:
            print(f"No round {arguments.round!r}.", file=sys.stderr)
            return None
        print(f"{len(issued)} new codes.")
        qr = None
        if base_url:
            languages = letter_languages(DEFAULT_LETTER_LANGUAGES)
            qr = partial(letter_url, base_url, round_, languages=languages)
        return codes_csv(issued, areas, qr)

    text = asyncio.run(run())
    if text is None:
        return 2
    # Only the owner may read the file: it holds the secrets until the letters are printed.
    out.touch(mode=0o600)
    out.write_text(text, encoding="utf-8")
    print(f"Written to {out}.")
    return 0


def add_audit_arguments(parser) -> None:
    parser.add_argument(
        "--staff-head",
        metavar="COUNT:HEAD",
        help="a head of the staff audit log written down earlier (from /audit-log or a board): "
        "the record COUNT must still exist with the hash HEAD",
    )


def audit_command(settings, arguments) -> int:
    """One line per chain; exit 1 when any is broken (the checks of /staff/audit and /pb/…/audit):
    every round's log or board entry by entry against its rules and roll, the database's
    ballots and roll against it, and the staff audit log's published heads."""
    staff_head = getattr(arguments, "staff_head", None)
    saved = parse_head(staff_head) if staff_head else None
    if staff_head and saved is None:
        print("--staff-head: write it as COUNT:HEAD (a number, a colon, 64 hex digits)")
        return 2

    async def run() -> int:
        broken = 0
        async with command_session(settings.database_url) as session:
            records, problem = await check_audit_chain(session, saved)
            verdict = "one valid chain" if problem is None else f"NOT VALID: {problem}"
            print(f"staff audit log: {records} records, {verdict}")
            count, head = await audit_head(session)
            print(f"staff audit head: {count}:{head}")
            broken += problem is not None
            for round_ in await list_rounds(session):
                audit = await audit_round(session, round_, settings.signing_seed)
                state = "published" if audit.published else "not published"
                verdict = (
                    "valid" if not audit.problems else "NOT VALID: " + "; ".join(audit.problems)
                )
                signed = f", signed by key {audit.key_id}" if audit.key_id else ""
                print(
                    f"round {round_.slug} ({state}): {audit.entries} ballots, "
                    f"head {audit.head}{signed}, {verdict}"
                )
                broken += bool(audit.problems)
        return 1 if broken else 0

    return asyncio.run(run())


def add_mix_arguments(parser) -> None:
    parser.add_argument("round", nargs="?", help="the round's link id (default: every round)")


def mix_command(settings, arguments) -> int:
    """Pending ballots into the log: batches of at least TORI_MIX_BATCH per district while
    voting is open; everything left once it has closed."""

    async def run() -> int:
        async with command_session(settings.database_url) as session:
            if arguments.round:
                try:
                    chosen = [await round_by_slug(session, arguments.round)]
                except NotFoundError:
                    print(f"no round {arguments.round!r}", file=sys.stderr)
                    return 2
            else:
                chosen = await list_rounds(session)
            for round_ in chosen:
                final = voting_closed(round_)
                moved = await mix_round(session, round_, final, k=settings.mix_batch)
                left = await pending_count(session, round_.id)
                print(f"round {round_.slug}: {moved} ballots joined the log, {left} pending")
        return 0

    return asyncio.run(run())


COMMANDS = {
    "tally": (
        "count a pabulib .pb file: prints the selected project ids as JSON",
        add_tally_arguments,
        tally_command,
    ),
    "pb-import": (
        "import a pabulib .pb file as a closed round",
        add_import_arguments,
        pb_import_command,
    ),
    "voter-roll": (
        "import a round's voter roll from a census CSV file",
        add_roll_arguments,
        voter_roll_command,
    ),
    "voting-codes": (
        "issue letter codes for a round's roll, written to a CSV file",
        add_codes_arguments,
        voting_codes_command,
    ),
    "mix": (
        "move pending ballots into the ballot log in shuffled batches (all of them once voting has closed)",
        add_mix_arguments,
        mix_command,
    ),
    "audit": (
        "check every round's ballot log and the staff audit log (exit 1 when one is broken)",
        add_audit_arguments,
        audit_command,
    ),
}
