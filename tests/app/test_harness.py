"""Without PostgreSQL the suite stops with a message saying how to get it, never a silent skip."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import postgres

ROOT = Path(__file__).resolve().parents[2]


def test_missing_postgres_tools_give_a_how_to_message(monkeypatch):
    monkeypatch.setattr(postgres, "_find_tool", lambda name: None)
    with (
        pytest.raises(postgres.PostgresUnavailableError, match="apt-get install postgresql"),
        postgres.throwaway_cluster(),
    ):
        pass


def test_unreachable_test_database_stops_the_run_with_an_error_code():
    environment = {**os.environ, "TEST_DATABASE_URL": "postgresql://postgres@127.0.0.1:9/postgres"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/app/test_smoke_first.py",
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 3
    assert "Could not connect to PostgreSQL" in result.stdout + result.stderr
    assert "TEST_DATABASE_URL" in result.stdout + result.stderr
