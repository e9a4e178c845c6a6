"""Every page Tori renders is valid HTML by the Nu Html Checker (vnu), the W3C's own checker.

The pages are every route of the router with real objects behind it, in fi, sv and en, signed
in and anonymous, and every form shown again with its errors (tests/app/pages.py): a new route
is checked without anyone adding it here.

All pages go to one run of the checker (one JVM start). The checker is the `vnu-jar` npm
package, pinned below; when it is missing the test installs it with npm into a cache folder
(TORI_VNU_JAR names a jar already at hand). Java 17 or newer must be installed: without it the
test fails and says so, it does not skip.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.app.pages import every_page, is_document

VNU_VERSION = "26.9.27"


def vnu_jar() -> Path:
    """The checker's jar: TORI_VNU_JAR, or the pinned npm package in the user's cache, installed
    there on first use."""
    if named := os.environ.get("TORI_VNU_JAR"):
        jar = Path(named)
        assert jar.is_file(), f"TORI_VNU_JAR names {jar}, which is not a file"
        return jar
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    prefix = cache / "tori" / f"vnu-jar-{VNU_VERSION}"
    jar = prefix / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
    if jar.is_file():
        return jar
    npm = shutil.which("npm")
    assert npm, (
        "The HTML check needs the Nu Html Checker, installed with npm (vnu-jar), and npm is "
        "missing: apt-get install npm, or set TORI_VNU_JAR to a vnu.jar."
    )
    prefix.parent.mkdir(parents=True, exist_ok=True)
    # Installed beside the final folder and moved in one step, so that two runs at once
    # never see half a package.
    with tempfile.TemporaryDirectory(dir=prefix.parent) as scratch:
        result = subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                scratch,
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
                "--no-save",
                f"vnu-jar@{VNU_VERSION}",
            ],
            check=False,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, f"npm could not install vnu-jar:\n{result.stderr}"
        try:
            Path(scratch).rename(prefix)
            prefix.chmod(0o755)  # a temporary folder is private; the cache is not
        except OSError:
            assert jar.is_file(), f"vnu-jar was installed, but {jar} is missing"
    return jar


def java() -> str:
    found = shutil.which("java")
    assert found, (
        "The HTML check runs the Nu Html Checker on Java 17 or newer, and `java` is missing: "
        "apt-get install openjdk-17-jre-headless."
    )
    return found


def check_html(files: list[Path]) -> list[str]:
    """Errors the Nu Html Checker finds in the files, one line each."""
    result = subprocess.run(
        [java(), "-jar", str(vnu_jar()), "--errors-only", "--format", "json", *map(str, files)],
        check=False,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.stderr.strip().startswith("{"), f"vnu did not answer:\n{result.stderr[-2000:]}"
    messages = json.loads(result.stderr)["messages"]
    return [
        f"{Path(m.get('url', '?')).name}:{m.get('lastLine', '?')}: {m['message']}"
        f" – {m.get('extract', '').strip()[:120]!r}"
        for m in messages
        if m["type"] in ("error", "non-document-error") or m.get("subType") == "fatal"
    ]


async def test_every_page_is_valid_html(client, db, tmp_path):
    pages: list[Path] = []
    async for label, response in every_page(client, db, with_forms=True, anonymous=True):
        if is_document(response):
            path = tmp_path / (re.sub(r"[^A-Za-z0-9]+", "_", label).strip("_")[:150] + ".html")
            path.write_text(response.text, encoding="utf-8")
            pages.append(path)
    assert len(pages) > 150, f"only {len(pages)} pages were rendered; the world is missing objects"
    errors = check_html(pages)
    assert errors == [], f"{len(errors)} HTML errors:\n" + "\n".join(errors[:60])
