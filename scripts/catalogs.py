"""Keep the gettext catalogs in step with the code: `python scripts/catalogs.py update`.

Extracts every message into locale/messages.pot, merges it into the fi, sv and en
catalogs (no fuzzy guessing), and fills English with the source text, since the
source language is English. Finnish and Swedish are translated by people; the
test suite fails while any message is untranslated or fuzzy.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "locale"
POT = LOCALE / "messages.pot"
LANGUAGES = ("fi", "sv", "en")
EXTRACT = [
    sys.executable,
    "-m",
    "babel.messages.frontend",
    "extract",
    "-F",
    "babel.cfg",
    "-k",
    "N_",
    "-k",
    "gettext_noop",
    "--no-location",
    "--sort-output",
    "--omit-header",
    "--project",
    "Tori",
    "-o",
]


def extract(target: Path) -> None:
    subprocess.run([*EXTRACT, str(target), "."], cwd=ROOT, check=True, capture_output=True)


def update() -> None:
    extract(POT)
    with POT.open("rb") as handle:
        template = read_po(handle)
    for language in LANGUAGES:
        path = LOCALE / language / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        if language == "en":
            for message in catalog:
                if (message.id and not message.string) or (
                    isinstance(message.string, tuple) and not all(message.string)
                ):
                    message.string = message.id
        with path.open("wb") as handle:
            write_po(
                handle, catalog, omit_header=False, no_location=True, sort_output=True, width=100
            )
    print("Catalogs updated; translate the empty fi and sv entries.")


if __name__ == "__main__":
    if sys.argv[1:] != ["update"]:
        sys.exit("usage: python scripts/catalogs.py update")
    update()
