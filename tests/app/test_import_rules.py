"""The dependency rules of the packages are ruff rules (app/ruff.toml, surveys/ruff.toml,
voting/ruff.toml, voting/tally/ruff.toml): these tests show that each one fires on a violating
import and stays quiet on an allowed one. Ruff reads the code from standard input under the
name of a file in the package, so nothing is written into the source tree."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from app import PROJECT_ROOT


def ruff_codes(path: str, source: str) -> list[str]:
    """The rule codes ruff reports for `source` as if it were the file `path`."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            "--output-format",
            "concise",
            "--select",
            "TID251,TID253",
            "--stdin-filename",
            path,
            "-",
        ],
        input=source,
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=False,
        timeout=60,
    )
    assert result.returncode in (0, 1), result.stderr
    return [line.split()[1] for line in result.stdout.splitlines() if ": TID25" in line]


@pytest.mark.parametrize(
    ("path", "source", "code"),
    [
        ("app/events/example.py", "from surveys import services\n", "TID251"),
        ("app/example.py", "import voting.tally\n", "TID251"),
        ("surveys/example.py", "from voting.models import Round\n", "TID251"),
        ("voting/example.py", "from surveys.definitions import Question\n", "TID251"),
        ("voting/tally/example.py", "from sqlalchemy import select\n", "TID251"),
        ("voting/tally/example.py", "from litestar import get\n", "TID251"),
        ("voting/tally/example.py", "from app.database import utcnow\n", "TID251"),
        ("voting/tally/example.py", "from voting.models import Round\n", "TID251"),
        ("voting/tally/example.py", "from voting.ballots import read_ballot\n", "TID251"),
        ("surveys/definitions.py", "from sqlalchemy import select\n", "TID253"),
        ("surveys/statistics.py", "from app.i18n import gettext\n", "TID253"),
        ("surveys/instruments.py", "from surveys.services import questions_for\n", "TID253"),
    ],
)
def test_a_forbidden_import_is_reported(path: str, source: str, code: str) -> None:
    assert ruff_codes(path, source) == [code]


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("app/events/example.py", "from app.database import utcnow\n"),
        ("surveys/example.py", "from sqlalchemy import select\nfrom app.i18n import gettext\n"),
        ("voting/example.py", "from voting.tally.board import check_board\n"),
        ("voting/tally/example.py", "import json\nfrom voting.tally.rules import greedy\n"),
        ("surveys/instruments.py", "from surveys.definitions import KEY\n"),
    ],
)
def test_an_allowed_import_is_not_reported(path: str, source: str) -> None:
    assert ruff_codes(path, source) == []


def test_the_tally_rule_names_every_other_voting_module() -> None:
    """voting/tally may import its own modules, so the rule lists voting's other modules one by
    one; a module added to voting without being listed would slip through."""
    config = tomllib.loads((PROJECT_ROOT / "voting" / "tally" / "ruff.toml").read_text())
    banned = set(config["lint"]["flake8-tidy-imports"]["banned-api"])
    voting = Path(PROJECT_ROOT / "voting")
    modules = {f"voting.{path.stem}" for path in voting.glob("*.py") if path.stem != "__init__"} | {
        f"voting.{path.name}"
        for path in voting.iterdir()
        if (path / "__init__.py").exists() and path.name != "tally"
    }
    assert modules - banned == set()
    assert {"app", "surveys", "sqlalchemy", "litestar"} <= banned
