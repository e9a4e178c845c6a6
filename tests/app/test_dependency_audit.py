"""The dependency audit (`make audit`) fails on a known advisory and says what it could not check."""

from __future__ import annotations

import importlib.util
import sys
import urllib.error
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[2] / "scripts" / "audit_dependencies.py"
spec = importlib.util.spec_from_file_location("audit_dependencies", PATH)
audit = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = audit  # dataclasses look their module up there
spec.loader.exec_module(audit)

ADVISORY = {
    "id": "GHSA-h5c8-rqwp-cp95",
    "aliases": ["CVE-2024-22195"],
    "fixed_in": ["3.1.3"],
    "summary": "Jinja vulnerable to HTML attribute injection",
    "withdrawn": None,
}


@pytest.fixture
def pypi(monkeypatch):
    pages: dict[str, dict] = {}
    monkeypatch.setattr(audit, "fetch", pages.get)
    return pages


def test_a_release_with_a_known_advisory_fails_the_audit(monkeypatch, pypi, capsys):
    monkeypatch.setattr(audit, "installed", lambda: {"jinja2": "3.1.2", "babel": "2.17.0"})
    pypi[f"{audit.INDEX}/jinja2/3.1.2/json"] = {"vulnerabilities": [ADVISORY]}
    pypi[f"{audit.INDEX}/babel/2.17.0/json"] = {"vulnerabilities": []}
    assert audit.main() == 1
    printed = capsys.readouterr().out
    assert "VULNERABLE jinja2 3.1.2: GHSA-h5c8-rqwp-cp95 (CVE-2024-22195) fixed in 3.1.3" in printed
    assert "2 of 2 installed distributions checked" in printed


def test_a_withdrawn_advisory_passes_and_an_unserved_old_release_is_named(
    monkeypatch, pypi, capsys
):
    monkeypatch.setattr(audit, "installed", lambda: {"jinja2": "3.1.6", "scipy": "1.17.1"})
    pypi[f"{audit.INDEX}/jinja2/json"] = {
        "info": {"version": "3.1.6"},
        "vulnerabilities": [{**ADVISORY, "withdrawn": "2025-01-01T00:00:00Z"}],
    }
    pypi[f"{audit.INDEX}/scipy/json"] = {"info": {"version": "1.18.1"}, "vulnerabilities": []}
    assert audit.main() == 0
    printed = capsys.readouterr().out
    assert "not audited: scipy 1.17.1" in printed
    assert "newest is 1.18.1" in printed
    assert "1 of 2 installed distributions checked" in printed


def test_an_unreachable_index_is_an_error_not_a_pass(monkeypatch, capsys):
    def unreachable(_url):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(audit, "installed", lambda: {"jinja2": "3.1.6"})
    monkeypatch.setattr(audit, "fetch", unreachable)
    assert audit.main() == 2
    assert "Could not reach PyPI" in capsys.readouterr().err
