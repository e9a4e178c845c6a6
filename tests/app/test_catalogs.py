"""The catalogs are complete: nothing stale, untranslated or fuzzy, and placeholders survive."""

import re
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import catalogs

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def message_keys(path: Path) -> set:
    with path.open("rb") as handle:
        return {
            (m.id if isinstance(m.id, str) else tuple(m.id), m.context)
            for m in read_po(handle)
            if m.id
        }


def test_messages_pot_is_not_stale(tmp_path):
    fresh = tmp_path / "messages.pot"
    catalogs.extract(fresh)
    assert message_keys(fresh) == message_keys(catalogs.POT), (
        "locale/messages.pot is stale: run `make messages` and translate the new entries"
    )


@pytest.mark.parametrize("language", catalogs.LANGUAGES)
def test_every_message_is_translated_and_none_is_fuzzy(language):
    path = catalogs.LOCALE / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    template = message_keys(catalogs.POT)
    assert {
        (m.id if isinstance(m.id, str) else tuple(m.id), m.context) for m in catalog if m.id
    } == template
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"{language}: untranslated {message.id!r}"
        assert not message.fuzzy, f"{language}: fuzzy {message.id!r}"
        source = message.id if isinstance(message.id, str) else message.id[-1]
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) == set(PLACEHOLDER.findall(source)), (
                f"{language}: placeholders differ in {message.id!r}"
            )
