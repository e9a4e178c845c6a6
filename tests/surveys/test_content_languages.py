"""Every resident's language: content languages beyond the three interface languages, the
interface falling back to a catalog, right-to-left pages, answers that pool across languages,
and the check that flags a language version whose means lie apart from the others'."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.database import utcnow
from app.i18n import (
    PLAIN_FINNISH,
    configure_languages,
    content_languages,
    fallback_order,
    interface_language,
    negotiate_language,
    parse_accept_language,
    text_direction,
)
from app.settings import InsecureSettingsError, Settings
from surveys import services
from surveys.comparison import Comparison, ComparisonFilter, Group, compare, language_drifts
from surveys.definitions import complete_languages, parse_questions
from surveys.models import FeedbackResponse
from surveys.polls import services as poll_services
from tests.factories import make_event, signed_in_as
from tests.surveys.factories import answer, open_questionnaire
from tests.surveys.test_answering import form_page

ZONE = "Europe/Helsinki"
TOKEN = re.compile(r'name="token" value="([^"]+)"')


# --- settings and negotiation ----------------------------------------------------------------


def test_content_languages_are_a_setting_and_always_hold_the_interface_languages():
    settings = Settings.from_environment(
        {"SECRET_KEY": "x" * 40, "TORI_CONTENT_LANGUAGES": "fi, sv,en,uk,AR,fi-x-selko,uk"}
    )
    assert settings.content_languages == ("fi", "sv", "en", "uk", "ar", "fi-x-selko")
    assert Settings.from_environment({"SECRET_KEY": "x" * 40}).content_languages[:3] == (
        "fi",
        "sv",
        "en",
    )
    with pytest.raises(InsecureSettingsError, match="must include fi, sv, en"):
        Settings.from_environment({"SECRET_KEY": "x" * 40, "TORI_CONTENT_LANGUAGES": "fi,uk"})
    for hostile in ("fi,sv,en,<script>", "fi,sv,en,ar;drop", "fi,sv,en," + "a" * 30):
        with pytest.raises(InsecureSettingsError, match="language tags"):
            Settings.from_environment({"SECRET_KEY": "x" * 40, "TORI_CONTENT_LANGUAGES": hostile})
    with pytest.raises(InsecureSettingsError, match="TORI_INTERFACE_FALLBACK"):
        Settings.from_environment({"SECRET_KEY": "x" * 40, "TORI_INTERFACE_FALLBACK": "ar"})


def test_a_language_without_a_catalog_takes_the_fallback_interface_and_selko_takes_finnish():
    assert interface_language("ar") == "en"
    assert interface_language("uk") == "en"
    assert interface_language(PLAIN_FINNISH) == "fi"
    assert interface_language("sv") == "sv"
    assert fallback_order("ar") == ("ar", "en", "fi", "sv")
    assert fallback_order(PLAIN_FINNISH) == (PLAIN_FINNISH, "fi", "sv", "en")
    try:
        configure_languages(content_languages(), "fi")
        assert interface_language("ar") == "fi"
    finally:
        configure_languages(Settings.content_languages, "en")


def test_arabic_and_persian_are_written_right_to_left():
    assert text_direction("ar") == text_direction("fa") == "rtl"
    assert {text_direction(code) for code in ("fi", "uk", "zh", PLAIN_FINNISH)} == {"ltr"}


@pytest.mark.parametrize(
    "hostile",
    ["", "xx", "<script>", "ar\r\nSet-Cookie: a=b", "fi-x-selko" * 5, "../../etc", "AR", "ar "],
)
def test_an_unknown_or_hostile_language_gives_the_default(hostile):
    assert negotiate_language(hostile, None, None) == "fi"
    assert negotiate_language(None, hostile, None) == "fi"


def test_accept_language_finds_the_content_languages():
    assert parse_accept_language("ar-SA,ar;q=0.9,en;q=0.5") == ["ar", "en"]
    assert parse_accept_language("fi-x-selko, fi;q=0.8") == [PLAIN_FINNISH, "fi"]


def test_the_standard_questionnaire_is_whole_in_every_default_content_language():
    questions = parse_questions(services.standard_definition()["questions"])
    assert content_languages() == (
        "fi",
        "sv",
        "en",
        PLAIN_FINNISH,
        "ru",
        "et",
        "ar",
        "so",
        "uk",
        "fa",
        "zh",
    )
    assert complete_languages(questions, content_languages()) == content_languages()
    # The name and the introduction are written in each of them too.
    definition = services.standard_definition()
    assert set(definition["name"]) == set(definition["intro"]) == set(content_languages())


def test_the_added_translations_keep_the_question_and_option_keys():
    """Answers pool by key: every language version has the same questions and options, and no
    translation is a copy of another language's text left untranslated."""
    questions = parse_questions(services.standard_definition()["questions"])
    assert [q.key for q in questions] == [
        "satisfaction",
        "heard",
        "learned_met",
        "wellbeing",
        "again",
        "again_if",
        "recommend",
        "heard_from",
        "age_group",
        "home_area",
        "preferred_language",
        "comment",
    ]
    for question in questions:
        for added in ("ru", "et", "so", "fa", "zh"):
            assert question.text[added] != question.text["en"], (question.key, added)
    # Persian is written with the Persian yeh and keheh, not the Arabic letters.
    persian = " ".join(
        text
        for question in questions
        for texts in (question.text, question.help, question.low, question.high)
        for language, text in texts.items()
        if language == "fa"
    )
    assert "\u064a" not in persian
    assert "\u0643" not in persian
    assert "\u06cc" in persian


@pytest.fixture
def sami_configured():
    """A content language the city enables before anyone has translated the questionnaire."""
    configure_languages((*Settings.content_languages, "se"), "en")
    try:
        yield "se"
    finally:
        configure_languages(Settings.content_languages, "en")


# --- pages -----------------------------------------------------------------------------------


async def test_the_questionnaire_in_arabic_is_a_right_to_left_page_with_english_chrome(client, db):
    questionnaire = await open_questionnaire(
        db, await make_event(db, starts_in=-dt.timedelta(hours=2))
    )
    page, token = await form_page(client, questionnaire.slug, "ar")
    assert page.status_code == 200
    assert token
    text = page.text
    assert '<html lang="ar" dir="rtl">' in text
    # The interface has no Arabic catalog: its text is English, marked as such.
    assert '<header class="site-header" lang="en">' in text
    assert (
        '<button type="submit" class="button button-large" lang="en" dir="ltr">Send answers</button>'
        in text
    )
    assert "بشكل عام، ما مدى رضاك عن الفعالية؟" in text
    assert '<input type="hidden" name="answer_language" value="ar">' in text
    # Each language named as its speakers write it, with its own lang and direction.
    assert 'lang="ar" dir="rtl" aria-current="true">العربية</button>' in text
    assert 'lang="uk" dir="ltr">Українська</button>' in text
    assert 'lang="fi-x-selko" dir="ltr">Selkosuomi</button>' in text
    assert 'lang="fa" dir="rtl">فارسی</button>' in text
    assert 'lang="so" dir="ltr">Soomaali</button>' in text
    assert 'lang="zh" dir="ltr">中文</button>' in text


async def test_a_language_with_no_whole_translation_is_not_offered(client, db, sami_configured):
    questionnaire = await open_questionnaire(
        db, await make_event(db, starts_in=-dt.timedelta(hours=2))
    )
    page, _token = await form_page(client, questionnaire.slug, "fi")
    assert 'value="ru"' in page.text
    assert f'value="{sami_configured}"' not in page.text


async def test_a_content_language_the_questionnaire_lacks_shows_the_interface_language(
    client, db, sami_configured
):
    questionnaire = await open_questionnaire(
        db, await make_event(db, starts_in=-dt.timedelta(hours=2))
    )
    page = await client.get(f"/f/{questionnaire.slug}?lang={sami_configured}")
    assert page.status_code == 200
    assert '<html lang="en">' in page.text
    assert '<input type="hidden" name="answer_language" value="en">' in page.text


@pytest.mark.parametrize("hostile", ["xx", "%3Cscript%3E", "ar%22%3E%3Cb%3E", "fi-x-selko-x"])
async def test_a_hostile_lang_value_gives_the_default_page_cleanly(client, db, hostile):
    questionnaire = await open_questionnaire(
        db, await make_event(db, starts_in=-dt.timedelta(hours=2))
    )
    page = await client.get(f"/f/{questionnaire.slug}?lang={hostile}")
    assert page.status_code == 200
    assert '<html lang="fi">' in page.text
    assert "<script>" not in page.text
    assert "<b>" not in page.text
    assert "tori_lang" not in page.headers.get("set-cookie", "")


async def test_switching_to_arabic_mid_questionnaire_keeps_the_answers(client, db):
    questionnaire = await open_questionnaire(
        db, await make_event(db, starts_in=-dt.timedelta(hours=2))
    )
    _page, token = await form_page(client, questionnaire.slug, "fi")
    switched = await client.post(
        f"/f/{questionnaire.slug}",
        data={
            "_csrf_token": client.cookies["tori_csrf"],
            "token": token,
            "answer_language": "fi",
            "q_satisfaction": "2",
            "q_heard_from": ["friend", "poster"],
            "q_comment": "Hyvä ilta",
            "_switch_language": "ar",
        },
    )
    assert switched.status_code == 200
    assert '<html lang="ar" dir="rtl">' in switched.text
    assert re.search(
        r'id="question-satisfaction-2" name="q_satisfaction" value="2" checked', switched.text
    )
    assert re.search(r'value="friend" checked', switched.text)
    assert ">Hyvä ilta</textarea>" in switched.text
    assert (await db.scalar(select(FeedbackResponse.id))) is None
    # … and the sheet sent from the Arabic page is stored as answered in Arabic.
    sent = await client.post(
        f"/f/{questionnaire.slug}",
        data={
            "_csrf_token": client.cookies["tori_csrf"],
            "token": TOKEN.search(switched.text).group(1),
            "answer_language": "ar",
            "q_satisfaction": "2",
        },
    )
    assert sent.status_code == 303
    assert await db.scalar(select(FeedbackResponse.language)) == "ar"


async def test_an_answer_in_a_language_the_questionnaire_is_not_offered_in_is_refused(
    client, db, sami_configured
):
    questionnaire = await open_questionnaire(
        db, await make_event(db, starts_in=-dt.timedelta(hours=2))
    )
    _page, token = await form_page(client, questionnaire.slug, "fi")
    for language in (sami_configured, "xx", "a" * 300):
        sent = await client.post(
            f"/f/{questionnaire.slug}",
            data={
                "_csrf_token": client.cookies["tori_csrf"],
                "token": token,
                "answer_language": language,
                "q_satisfaction": "4",
            },
        )
        assert sent.status_code == 400
        assert 'class="error-summary"' in sent.text
    assert (await db.scalar(select(FeedbackResponse.id))) is None


async def test_a_poll_written_in_arabic_is_offered_and_voted_in_arabic(client, db):
    opens = utcnow() - dt.timedelta(hours=1)
    poll = await poll_services.create_poll(
        db,
        poll_services.PollDraft(
            title={"fi": "Kysely", "sv": "Enkät", "en": "Poll", "ar": "استطلاع"},
            questions=[
                {
                    "key": "q1",
                    "type": "single",
                    "required": True,
                    "text": {"fi": "Kumpi?", "sv": "Vilken?", "en": "Which?", "ar": "أيهما؟"},
                    "options": [
                        {"key": "o1", "label": {"fi": "A", "sv": "A", "en": "A", "ar": "أ"}},
                        {"key": "o2", "label": {"fi": "B", "sv": "B", "en": "B", "ar": "ب"}},
                    ],
                }
            ],
            opens_at=opens,
            closes_at=opens + dt.timedelta(days=1),
            visibility="immediate",
        ),
    )
    page = await client.get(f"/p/{poll.slug}?lang=ar")
    assert '<html lang="ar" dir="rtl">' in page.text
    assert "أيهما؟" in page.text
    assert '<input type="hidden" name="answer_language" value="ar">' in page.text
    # A poll not written in Ukrainian is shown in the interface's language for a Ukrainian reader.
    other = await client.get(f"/p/{poll.slug}?lang=uk")
    assert '<html lang="en">' in other.text
    assert 'value="uk"' not in other.text


# --- pooling and the translation check -------------------------------------------------------


async def test_answers_in_an_added_language_pool_with_finnish_and_swedish(db):
    questionnaire = await open_questionnaire(
        db, await make_event(db, starts_in=-dt.timedelta(days=1))
    )
    given = {"fi": [4, 5, 3], "sv": [2, 4], "uk": [5, 5, 1], "ar": [3]}
    for language, scores in given.items():
        for score in scores:
            assert await answer(db, questionnaire, {"satisfaction": score}, language=language)
    everything = [score for scores in given.values() for score in scores]
    together = await compare(db, ComparisonFilter(), "none", zone=ZONE, areas=[])
    assert together.groups[0].numeric("satisfaction").n == len(everything)
    assert together.groups[0].numeric("satisfaction").mean == pytest.approx(
        sum(everything) / len(everything)
    )
    by_language = await compare(db, ComparisonFilter(), "language", zone=ZONE, areas=[])
    assert [group.key for group in by_language.groups] == ["fi", "sv", "ar", "uk"]
    only = await compare(db, ComparisonFilter(languages=("uk", "fi")), "none", zone=ZONE, areas=[])
    assert only.groups[0].responses == 6


def _scores(distribution: dict[int, int]) -> list[int]:
    return [value for value, count in distribution.items() for _ in range(count)]


async def test_the_check_flags_the_shifted_language_version_and_not_the_faithful_one(db):
    """Generated answers: Finnish, Swedish and Arabic from one distribution; the Ukrainian
    version of 'heard' is answered one point higher (as a scale end worded too mildly would)."""
    questionnaire = await open_questionnaire(
        db, await make_event(db, starts_in=-dt.timedelta(days=1))
    )
    usual = {1: 4, 2: 8, 3: 16, 4: 14, 5: 8}  # 50 answers, mean 3.28
    shifted = {2: 4, 3: 8, 4: 16, 5: 22}  # 50 answers, mean 4.12
    plan = {
        "fi": (usual, usual),
        "sv": (usual, usual),
        "ar": (usual, usual),
        "uk": (usual, shifted),
    }
    for language, (satisfaction, heard) in plan.items():
        for first, second in zip(_scores(satisfaction), _scores(heard), strict=True):
            assert await answer(
                db, questionnaire, {"satisfaction": first, "heard": second}, language=language
            )
    by_language = await compare(db, ComparisonFilter(), "language", zone=ZONE, areas=[])
    drifts = language_drifts(by_language)
    assert [(drift.language, drift.question.key) for drift in drifts] == [("uk", "heard")]
    drift = drifts[0]
    assert drift.mean.mean == pytest.approx(4.12)
    assert drift.others.mean == pytest.approx(3.28)
    # The check runs only on languages compared side by side, and is shown to staff there.
    together = await compare(db, ComparisonFilter(), "none", zone=ZONE, areas=[])
    assert language_drifts(together) == []


async def test_the_comparison_page_shows_the_language_version_to_check(client, db):
    questionnaire = await open_questionnaire(
        db, await make_event(db, starts_in=-dt.timedelta(days=1))
    )
    for language, score, count in (
        ("fi", 2, 20),
        ("fi", 3, 20),
        ("sv", 2, 20),
        ("sv", 3, 20),
        ("uk", 5, 20),
        ("uk", 4, 20),
    ):
        for _ in range(count):
            assert await answer(db, questionnaire, {"satisfaction": score}, language=language)
    await signed_in_as(client, db, Role.STAFF)
    page = await client.get("/staff/feedback?group=language&lang=en")
    assert page.status_code == 200
    assert 'id="language-drifts"' in page.text
    section = page.text.split('id="language-drifts"')[1].split("</section>")[0]
    assert "ukraina" in section.lower() or "ukrainian" in section.lower()
    assert "ruotsi" not in section.lower()
    assert "swedish" not in section.lower()
    plain = await client.get("/staff/feedback?group=type")
    assert 'id="language-drifts"' not in plain.text


def _group(language: str, distribution: dict[int, int]) -> Group:
    group = Group(language, responses=sum(distribution.values()))
    group.counts["satisfaction"] = {str(value): count for value, count in distribution.items()}
    return group


def test_with_two_languages_the_translation_is_flagged_not_the_finnish_original():
    satisfaction = parse_questions(services.standard_definition()["questions"])[0]
    usual, shifted = {1: 4, 2: 8, 3: 16, 4: 14, 5: 8}, {2: 4, 3: 8, 4: 16, 5: 22}
    stray = Comparison("language", [_group("fi", usual), _group("ar", shifted)], [satisfaction])
    assert [drift.language for drift in language_drifts(stray)] == ["ar"]
    faithful = Comparison("language", [_group("fi", usual), _group("ar", usual)], [satisfaction])
    assert language_drifts(faithful) == []
    # Too few answers in a language to judge: no flag, whatever its mean.
    few = Comparison(
        "language",
        [_group("fi", usual), _group("uk", {5: 12}), _group("sv", usual)],
        [satisfaction],
    )
    assert language_drifts(few) == []
