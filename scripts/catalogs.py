"""Keep the gettext catalogs in step with the code: `python scripts/catalogs.py update`.

Extracts every message into locale/messages.pot, merges it into the fi, sv and en
catalogs (no fuzzy guessing), and fills English with the source text, since the
source language is English. Finnish and Swedish are translated by people; the
test suite fails while any message is untranslated or fuzzy.
"""

from __future__ import annotations

import json
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


def apply(files: list[Path]) -> None:
    """Fill Finnish and Swedish translations from JSON files written by translators:
    {"msgid": {"fi": "...", "sv": "...", "context": "optional msgctxt"}}; for plurals
    {"singular": {"plural": "plural msgid", "fi": [...], "sv": [...]}}. Run `update` first so
    that the messages exist; a msgid the catalogs do not have is reported, not added."""
    wanted = {}
    for file in files:
        for msgid, value in json.loads(file.read_text(encoding="utf-8")).items():
            wanted[(msgid, value.get("context"))] = value
    missing = set(wanted)
    for language in ("fi", "sv"):
        path = LOCALE / language / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        for message in catalog:
            key = (message.id[0] if isinstance(message.id, tuple) else message.id, message.context)
            if key in wanted and language in wanted[key]:
                text = wanted[key][language]
                message.string = tuple(text) if isinstance(message.id, tuple) else text
                message.flags.discard("fuzzy")
                missing.discard(key)
        with path.open("wb") as handle:
            write_po(
                handle, catalog, omit_header=False, no_location=True, sort_output=True, width=100
            )
    for msgid, context in sorted(missing, key=str):
        print(f"not in the catalogs: {msgid!r}" + (f" (context {context!r})" if context else ""))


if __name__ == "__main__":
    if sys.argv[1:2] == ["update"] and len(sys.argv) == 2:
        update()
    elif sys.argv[1:2] == ["apply"] and len(sys.argv) > 2:
        apply([Path(name) for name in sys.argv[2:]])
    else:
        sys.exit("usage: python scripts/catalogs.py update | apply FILE.json ...")
