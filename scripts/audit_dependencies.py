"""Audit the installed dependencies for known vulnerabilities (`make audit`, run by `make test`).

Every distribution installed in this environment (what the tests ran against), except Tori
itself, is looked up in PyPI's JSON API, whose `vulnerabilities` field carries the advisories
(from the OSV database) that affect a release. The per-release endpoint is used, and where a
mirror serves only the project's page, that page's advisories when the installed release is
the newest. Exit status: 0 when no installed release has a known advisory, 1 when one has
(each printed with its id, summary and the releases that fix it), 2 when PyPI cannot be reached.

pip-audit does the same against pypi.org; it is not used because on this project's machines
the per-release endpoint it needs is not always served (it reported every package as "not
found", which reads like a pass).
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata

INDEX = "https://pypi.org/pypi"
SELF = {"tori"}


@dataclass
class Finding:
    name: str
    version: str
    audited: bool = True
    newest: str | None = None
    advisories: list[dict] = field(default_factory=list)


def installed() -> dict[str, str]:
    found = {}
    for distribution in metadata.distributions():
        name = (distribution.metadata["Name"] or "").lower().replace("_", "-")
        if name and name not in SELF:
            found[name] = distribution.version
    return found


def fetch(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def check(name: str, version: str) -> Finding:
    page = fetch(f"{INDEX}/{name}/{version}/json")
    if page is None:
        project = fetch(f"{INDEX}/{name}/json")
        newest = project["info"]["version"] if project else None
        if project is None or newest != version:
            return Finding(name, version, audited=False, newest=newest)
        page = project
    advisories = [
        advisory for advisory in page.get("vulnerabilities") or [] if not advisory.get("withdrawn")
    ]
    return Finding(name, version, advisories=advisories)


def main() -> int:
    packages = installed()
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            findings = list(pool.map(lambda item: check(*item), sorted(packages.items())))
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        print(f"Could not reach PyPI to audit the dependencies: {error}", file=sys.stderr)
        return 2
    vulnerable = [f for f in findings if f.advisories]
    unaudited = [f for f in findings if not f.audited]
    for finding in vulnerable:
        for advisory in finding.advisories:
            fixed = ", ".join(advisory.get("fixed_in") or []) or "no fixed release yet"
            summary = (advisory.get("summary") or advisory.get("details") or "").splitlines()
            print(
                f"VULNERABLE {finding.name} {finding.version}: {advisory.get('id')} "
                f"({', '.join(advisory.get('aliases') or [])}) fixed in {fixed}: "
                f"{summary[0][:160] if summary else ''}"
            )
    for finding in unaudited:
        print(
            f"not audited: {finding.name} {finding.version} (PyPI serves no page for this "
            f"release here; newest is {finding.newest or 'unknown'})"
        )
    audited = len(findings) - len(unaudited)
    print(
        f"Dependency audit: {audited} of {len(findings)} installed distributions checked "
        f"against PyPI's advisories, {len(vulnerable)} with a known vulnerability."
    )
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
