"""Real pabulib instances for the count's oracle tests, fetched once per machine.

The files are the `data/` folder of PyPI's pabumeasures 0.2.2 source package (real Polish
participatory-budgeting rounds from pabulib.org). `make test-data` (a step of `make test`) runs
`python -m tests.real_data`: it downloads that pinned release with pip, checks the archive's and
each file's SHA-256, and unpacks the files into the user's cache. The tests only read them; a test
never downloads anything.

`python -m tests.real_data --pin` recomputes tests/data/pabulib-reference-outcomes.json: what
pabutools (the reference implementation) selects on each file under each rule. Tori's count is
checked against that file on every run; the pabutools runs themselves repeat only for the small
files (tests/voting/test_tally.py), since the largest take pabutools minutes.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

PACKAGE, VERSION = "pabumeasures", "0.2.2"
ARCHIVE_SHA256 = "3bbd8c404dd37fea5d75304dd578bf213880be5627dfb2992ecc407b3ddb19c7"
# The files the tests read, with their SHA-256: the pinned outcomes belong to these bytes.
FILES = {
    "poland_swiecie_2023_.pb": "714f2dca2e3297385b053ee4d50ef1abc6b96d80613106a6b6ed83899abaaf06",
    "poland_wieliczka_2023_green-budget.pb": (
        "5ebc7be04ce17fcb045175dc1bc1f7ddcbe11797a5654db8892e708515253d8d"
    ),
    "poland_warszawa_2024_ursynow.pb": (
        "4427cbdfccadd12336c72baeee08bf17f0d3a98eaa36007e41d794279b0d2378"
    ),
    "poland_warszawa_2024_.pb": "e7c76b1c7f91aeb9e9c13c90b40ff4300339546e686929b2401257340a1decf3",
}
PINNED = Path(__file__).resolve().parent / "data" / "pabulib-reference-outcomes.json"
# Rule and satisfaction pairs pinned for each file (cost is the one cities use).
COMBINATIONS = {
    "poland_swiecie_2023_.pb": [
        ("greedy", "cost"),
        ("greedy", "cardinality"),
        ("mes", "cost"),
        ("mes", "cardinality"),
        ("mes-add1", "cost"),
    ],
    "poland_wieliczka_2023_green-budget.pb": [
        ("greedy", "cost"),
        ("greedy", "cardinality"),
        ("mes", "cost"),
        ("mes", "cardinality"),
    ],
    "poland_warszawa_2024_ursynow.pb": [
        ("greedy", "cost"),
        ("greedy", "cardinality"),
        ("mes", "cost"),
        ("mes", "cardinality"),
    ],
    # 75,255 voters and 118 projects: pabutools takes minutes on a busy machine.
    "poland_warszawa_2024_.pb": [("mes", "cost")],
}


def folder() -> Path:
    """Where the files are: TORI_TEST_DATA, or the user's cache."""
    if named := os.environ.get("TORI_TEST_DATA"):
        return Path(named)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "tori" / f"{PACKAGE}-{VERSION}"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def missing() -> str | None:
    """Why the files cannot be used (missing or changed), or None when they are all there."""
    for name, digest in FILES.items():
        path = folder() / name
        if not path.is_file():
            return f"{path} is missing"
        if sha256(path) != digest:
            return f"{path} is not the pinned file (its SHA-256 differs)"
    return None


def fetch() -> Path:
    """Download the pinned release with pip (once), check it and unpack the files."""
    target = folder()
    if missing() is None:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        subprocess.run(
            [
                *(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"),
                *("--no-binary", ":all:", "--dest", scratch, f"{PACKAGE}=={VERSION}"),
            ],
            check=True,
        )
        archive = Path(scratch) / f"{PACKAGE}-{VERSION}.tar.gz"
        if sha256(archive) != ARCHIVE_SHA256:
            raise SystemExit(f"{archive.name} is not the pinned release (its SHA-256 differs)")
        unpacked = Path(scratch) / "files"
        unpacked.mkdir()
        with tarfile.open(archive) as bundle:
            for name in FILES:
                member = bundle.getmember(f"{PACKAGE}-{VERSION}/data/{name}")
                source = bundle.extractfile(member)
                assert source is not None
                (unpacked / name).write_bytes(source.read())
        unpacked.chmod(0o755)  # a temporary folder is private; the cache is not
        if target.exists():  # an older or damaged copy
            for old in target.iterdir():
                old.unlink()
            target.rmdir()
        # Moved in one step, so that two runs at once never see half the files.
        unpacked.rename(target)
    if problem := missing():
        raise SystemExit(problem)
    return target


# The files written back with a selection that pabulib-checker must accept (Tori's under the
# file's own rule, Equal Shares with add-one completion) and one it must refuse (greedy's).
CHECKED = ("poland_swiecie_2023_.pb", "poland_wieliczka_2023_green-budget.pb")
PABULIB_RULES = {"greedy": "greedy", "equalshares": "mes", "equalshares/add1": "mes-add1"}


def checker_files(name: str) -> dict[str, str]:
    """The real file written back by Tori with its own selection ("accepted") and with a wrong
    one ("refused")."""
    from voting.tally import parse_pabulib, tally, write_pabulib

    election = parse_pabulib((folder() / name).read_text(encoding="utf-8"))
    selected = set(tally(election, PABULIB_RULES[election.meta["rule"]], "cost").selected)
    wrong = set(tally(election, "greedy", "cost").selected)
    assert wrong != selected
    return {
        "accepted": write_pabulib(election, selected),
        "refused": write_pabulib(election, wrong),
    }


def checker_summary(text: str) -> dict:
    """pabulib-checker's findings on one file: {} when it has no error and no warning. It
    recomputes the file's rule: half a minute of CPU for Equal Shares with add-one completion."""
    from pabulib.checker import Checker

    return Checker().process_files([text])["summary"]


def pin() -> None:
    """Recompute the pinned outcomes with pabutools and the checker's verdicts (slow: minutes)."""
    import pabutools

    from tests.voting.oracle import reference

    outcomes: dict[str, dict[str, list[str]]] = {}
    for name, combinations in COMBINATIONS.items():
        text = (folder() / name).read_text(encoding="utf-8")
        outcomes[name] = {}
        for rule, sat in combinations:
            started = time.process_time()
            outcomes[name][f"{rule}/{sat}"] = reference(text, rule, sat)
            print(f"{name} {rule}/{sat}: {time.process_time() - started:.1f} s of CPU")  # noqa: T201
    checked: dict[str, dict[str, str]] = {}
    for name in CHECKED:
        files = checker_files(name)
        if checker_summary(files["accepted"]) != {}:
            raise SystemExit(f"pabulib-checker refuses Tori's selection on {name}")
        if checker_summary(files["refused"]) == {}:
            raise SystemExit(f"pabulib-checker accepts a wrong selection on {name}")
        checked[name] = {
            verdict: hashlib.sha256(text.encode()).hexdigest() for verdict, text in files.items()
        }
    pinned = {
        "source": f"PyPI {PACKAGE} {VERSION} source package, data/",
        "checker": checked,
        "reference": f"pabutools {pabutools.__version__}",
        "sha256": FILES,
        "outcomes": outcomes,
    }
    PINNED.write_text(json.dumps(pinned, indent=1, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    print(f"Real pabulib instances: {fetch()}")  # noqa: T201 - a command's answer
    if "--pin" in sys.argv[1:]:
        pin()
