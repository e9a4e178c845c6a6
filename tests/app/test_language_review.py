"""The language review stays done: wordings the review replaced do not come back into the Finnish
and Swedish catalogs, each concept keeps one term, and language names follow one convention
(docs/language-review.md lists the review's changes)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from app.i18n import language_name

LOCALE = Path(__file__).resolve().parents[2] / "locale"
TEMPLATES = Path(__file__).resolve().parents[2]

# Wordings the review removed, with what replaced them.
REPLACED = {
    "fi": {
        "Äänilokki": "Ääniloki (a seagull is not a log)",
        "Äänilokikirja": "Ääniloki",
        "Selosteen edellyttää": "Seloste perustuu lakiin",
        "Kirjaudut saamasi kirjeen koodilla": "Kirjaudu kirjeessä saamallasi koodilla",
        "suurpiiri": "alue (a Helsinki term)",
        "Käytetty raha": "Käytetty yhteensä",
        "Lokin pää": "viimeisin tarkistussumma",
        "lokin pää": "viimeisin tarkistussumma",
        "Aukioloajat": "Vastausaika",
        "Alaikäraja": "Äänestysikäraja",
        "gallup": "pikakysely",
        "tapahtumaloki": "tarkastusloki (the staff audit log)",
        "henkilöstö": "henkilökunta (one term for staff)",
        "Henkilöstö": "Henkilökunta (one term for staff)",
        "Sulkeutumis": "Päättymis- (one pair: alkamis-, päättymis-)",
        "Avautumis": "Alkamis- (one pair: alkamis-, päättymis-)",
        "17:30": "17.30",
    },
    "sv": {
        "huvud nedan": "kontrollsumma",
        "Loggens huvud": "Senaste kontrollsumman",
        "huvudet (JSON)": "kontrollsumman",
        "Använda pengar": "Använt belopp",
        "distrikt": "område (one term for area)",
        "deltagande budgetering": "medborgarbudget",
        "17:30": "17.30",
    },
}
# Messages about polls use the poll's own term: "kysely" / "enkät" alone is the questionnaire.
POLL_TERMS = {"fi": "pikakysely", "sv": "snabbenkät"}
LANGUAGE_WORDS = {
    "fi": ("suomi", "ruotsi", "englanti"),
    "sv": ("finska", "svenska", "engelska"),
}


def translations(language: str) -> dict[str, str]:
    with (LOCALE / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=language)
    found = {}
    for message in catalog:
        if not message.id:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        found[msgid] = " | ".join(strings)
    return found


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_replaced_wordings_do_not_come_back(language):
    back = [
        f"{msgid!r}: {text!r} has {old!r}, use {new}"
        for msgid, text in translations(language).items()
        for old, new in REPLACED[language].items()
        if old in text
    ]
    assert back == []


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_messages_about_polls_use_the_poll_term(language):
    wrong = [
        f"{msgid!r}: {text!r}"
        for msgid, text in translations(language).items()
        if re.search(r"\bpolls?\b", msgid, re.IGNORECASE)
        and POLL_TERMS[language] not in text.lower()
    ]
    assert wrong == []


# A batch (of letters or of ballots joining the log) has one term, not the round's: "omgång" is
# a budgeting round in Swedish, "kierros" in Finnish.
BATCH_TERMS = {"fi": (r"er[äi]", "kierro"), "sv": ("sats", "omgång")}


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_a_batch_is_never_called_a_round(language):
    term, round_term = BATCH_TERMS[language]
    wrong = [
        f"{msgid!r}: {text!r}"
        for msgid, text in translations(language).items()
        if re.search(r"\bbatch(es)?\b", msgid, re.IGNORECASE)
        and not re.search(r"\bround\b", msgid, re.IGNORECASE)
        and (not re.search(term, text.lower()) or round_term in text.lower())
    ]
    assert wrong == []


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_language_names_are_lower_case_inside_sentences(language):
    """ "suomi, ruotsi", never "Suomi, Svenska" or "Suomi/Ruotsi" inside a text."""
    names = "|".join(word.capitalize() for word in LANGUAGE_WORDS[language])
    inside = re.compile(rf"(?<=[\w,/] )({names})\b|/({names})\b")
    wrong = [
        f"{msgid!r}: {text!r}"
        for msgid, text in translations(language).items()
        if inside.search(text)
    ]
    assert wrong == []


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_catalog_language_names_match_the_names_pages_use(language):
    """The catalogs' "Finnish", "Swedish", "English" and `language_name` (used by the pages) say
    the same: one convention, the reader's language."""
    catalog = translations(language)
    for code, english in (("fi", "Finnish"), ("sv", "Swedish"), ("en", "English")):
        assert catalog[english] == language_name(code, language)


def test_only_the_language_switchers_show_each_languages_own_name():
    """LANGUAGE_NAMES (Suomi, Svenska, English) belongs to the switchers, where each name carries
    its own `lang`; everywhere else a language is named in the reader's language."""
    uses = [
        (str(path.relative_to(TEMPLATES)), line.strip())
        for path in TEMPLATES.glob("*/templates/**/*.html")
        for line in path.read_text(encoding="utf-8").splitlines()
        if "LANGUAGE_NAMES" in line
    ]
    assert uses, "the language switcher no longer uses LANGUAGE_NAMES: update this test"
    not_switchers = [
        f"{name}: {line[:120]}"
        for name, line in uses
        if 'lang="{{ code }}"' not in line
        or ("language_url(" not in line and "_switch_language" not in line)
    ]
    assert not_switchers == []
