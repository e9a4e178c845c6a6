"""`tori tally FILE.pb`: anyone can check a count on published pabulib data."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from voting.tally import RULES, SATISFACTIONS, PabulibError, parse_pabulib, tally


def add_tally_arguments(parser) -> None:
    parser.add_argument("file", help="a pabulib .pb file")
    parser.add_argument("--rule", choices=RULES, default="greedy")
    parser.add_argument("--sat", choices=SATISFACTIONS, default="cost")


def tally_command(_settings, arguments) -> int:
    """Prints the selected project ids as a JSON list (sorted as strings)."""
    try:
        text = Path(arguments.file).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        print(f"{arguments.file}: cannot be read: {error}", file=sys.stderr)
        return 2
    try:
        election = parse_pabulib(text)
    except PabulibError as error:
        print(f"{arguments.file}: {error}", file=sys.stderr)
        return 2
    if arguments.sat == "points" and election.vote_type != "cumulative":
        print(f"{arguments.file}: --sat points needs cumulative ballots", file=sys.stderr)
        return 2
    outcome = tally(election, arguments.rule, arguments.sat)
    print(json.dumps(sorted(outcome.selected)))
    return 0


COMMANDS = {
    "tally": (
        "count a pabulib .pb file: prints the selected project ids as JSON",
        add_tally_arguments,
        tally_command,
    )
}
