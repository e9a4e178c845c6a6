"""Staff-entered text in every content language: an event's own questions and a poll written in
Somali or Persian are shown to a resident who reads that language (right to left for Persian),
fall back as `localized` does where a language is left out, and hostile or oversized text in the
added fields is refused with a clear error and stores nothing. The comparison by answering
language takes in the languages added with the standard questionnaire's version 3."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from surveys.comparison import ComparisonFilter, compare
from surveys.polls.models import Poll, PollVote
from tests.conftest import csrf_token
from tests.factories import make_event, signed_in_as
from tests.surveys.factories import answer, open_questionnaire
from tests.surveys.test_answering import form_page
from tests.surveys.test_polls import poll_form, vote

ZONE = "Europe/Helsinki"
SOMALI_QUESTION = "Goorma ayaad jeceshahay in kulanka xiga la qabto?"
SOMALI_OPTIONS = "Subaxda\nFiidka"
PERSIAN_QUESTION = "جلسه‌ی بعدی چه زمانی برگزار شود؟"
PERSIAN_OPTIONS = "صبح\nعصر"


def extra_question(token: str, **changes: str) -> dict[str, str]:
    data = {
        "_csrf_token": token,
        "type": "single",
        "text_fi": "Milloin seuraava tilaisuus pidetään?",
        "text_sv": "När ska nästa evenemang hållas?",
        "options_fi": "Aamulla\nIllalla",
        "options_sv": "På morgonen\nPå kvällen",
        "text_so": SOMALI_QUESTION,
        "options_so": SOMALI_OPTIONS,
        "text_fa": PERSIAN_QUESTION,
        "options_fa": PERSIAN_OPTIONS,
    }
    data.update(changes)
    return data


async def test_staff_write_an_events_own_question_in_somali_and_persian(client, db):
    questionnaire = await open_questionnaire(
        db, await make_event(db, starts_in=-dt.timedelta(hours=1))
    )
    await signed_in_as(client, db, Role.STAFF)
    path = f"/staff/events/{questionnaire.event_id}/feedback"
    page = await client.get(path + "?lang=en")
    # The form has a field for each enabled content language, each with its lang and direction.
    assert 'id="field-text_so" name="text_so"' in page.text
    assert re.search(r'id="field-text_fa" name="text_fa"[^>]* lang="fa" dir="rtl"', page.text)
    assert re.search(r'id="field-options_zh" name="options_zh"[^>]* lang="zh"', page.text)
    saved = await client.post(path + "/questions", data=extra_question(await csrf_token(client)))
    assert saved.status_code == 303
    await db.refresh(questionnaire)
    (question,) = questionnaire.extra_questions
    assert question["text"]["so"] == SOMALI_QUESTION
    assert question["text"]["fa"] == PERSIAN_QUESTION
    assert [option["label"]["fa"] for option in question["options"]] == ["صبح", "عصر"]
    assert "en" not in question["text"]
    client.cookies.clear()
    # A resident reading Persian sees it in Persian on a right-to-left page …
    persian, _token = await form_page(client, questionnaire.slug, "fa")
    assert '<html lang="fa" dir="rtl">' in persian.text
    assert PERSIAN_QUESTION in persian.text
    assert ">عصر</label>" in persian.text
    # … one reading Russian, which staff left out, sees the Finnish, marked as Finnish.
    russian, _token = await form_page(client, questionnaire.slug, "ru")
    assert '<html lang="ru">' in russian.text
    assert re.search(
        r'<span lang="fi"[^>]*>Milloin seuraava tilaisuus pidetään\?</span>', russian.text
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"text_so": "x" * 301}, "Use at most 300 characters."),
        ({"text_fa": "ok\x00"}, "Remove the special control characters from this field."),
        ({"text_zh": "第一行\n第二行"}, "Remove the special control characters from this field."),
        ({"options_so": "Subaxda"}, "Give the same number of options in every language you use."),
        ({"options_fa": ""}, "Write the options in every language the question is written in."),
        ({"options_ru": "a" * 121 + "\nb"}, "Each line can be at most 120 characters."),
        ({"options_et": "\n".join("abcdefghijklm")}, "Give at most 12 lines."),
        (
            {"text_fi": "", "text_sv": "", "options_fi": "", "options_sv": ""},
            "Write this in Finnish, Swedish or English too",
        ),
    ],
)
async def test_hostile_or_oversized_text_in_an_added_language_stores_no_question(
    client, db, changes, message
):
    questionnaire = await open_questionnaire(db, await make_event(db))
    await signed_in_as(client, db, Role.STAFF)
    path = f"/staff/events/{questionnaire.event_id}/feedback"
    token = await csrf_token(client, path)
    refused = await client.post(path + "/questions?lang=en", data=extra_question(token, **changes))
    assert refused.status_code == 400
    assert 'class="error-summary"' in refused.text
    assert message in refused.text
    # The field in error is in the opened "Other languages" part, so the reader finds it.
    assert '<details class="more-languages" open>' in refused.text
    await db.refresh(questionnaire)
    assert questionnaire.extra_questions == []


SOMALI_POLL = {
    "title_so": "Saacadaha furitaanka maktabadda",
    "q1_text_so": "Waqtigee?",
    "q1_options_so": "Subax\nFiid",
    "q2_text_so": "Ma booqataa maktabadda?",
}


async def test_a_poll_written_in_somali_and_persian_is_shown_and_voted_in_them(client, db):
    await signed_in_as(client, db, Role.STAFF)
    await client.get("/staff/polls/new?lang=en")
    created = await client.post(
        "/staff/polls/new",
        data=poll_form(
            client,
            **SOMALI_POLL,
            title_fa="ساعت‌های کار کتابخانه",
            q1_text_fa="چه ساعتی؟",
            q1_options_fa="صبح\nعصر",
            q2_text_fa="به کتابخانه می‌روید؟",
        ),
    )
    assert created.status_code == 303
    poll = await db.scalar(select(Poll))
    assert poll.languages == ["fi", "en", "so", "fa"]
    client.cookies.clear()
    somali = await client.get(f"/p/{poll.slug}?lang=so")
    assert '<html lang="so">' in somali.text
    assert "Saacadaha furitaanka maktabadda" in somali.text
    assert '<input type="hidden" name="answer_language" value="so">' in somali.text
    persian = await client.get(f"/p/{poll.slug}?lang=fa")
    assert '<html lang="fa" dir="rtl">' in persian.text
    assert "چه ساعتی؟" in persian.text
    # Not written in Chinese: the interface language's text, and no Chinese answer is offered.
    chinese = await client.get(f"/p/{poll.slug}?lang=zh")
    assert '<html lang="en">' in chinese.text
    assert 'value="zh"' not in chinese.text
    counted = await vote(client, poll.slug, {"q_q1": "o2", "q_q2": "yes"}, lang="so")
    assert counted.status_code == 303
    assert await db.scalar(select(PollVote.language)) == "so"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title_so": "x" * 201}, "Use at most 200 characters."),
        ({"q1_text_fa": "چه\x07ساعتی؟"}, "Remove the special control characters"),
        ({"q1_options_so": ""}, "Write the options in every language the question is written in."),
        ({"q2_text_so": ""}, "every question and option in each language"),
        ({"q1_options_so": "Subax"}, "same number of options"),
        ({"title_fi": "", "title_en": ""}, "Write this in Finnish, Swedish or English too"),
    ],
)
async def test_a_bad_poll_in_an_added_language_is_refused_and_stores_nothing(
    client, db, changes, message
):
    await signed_in_as(client, db, Role.STAFF)
    await client.get("/staff/polls/new?lang=en")
    fields = {
        **SOMALI_POLL,
        "title_fa": "کتابخانه",
        "q1_text_fa": "چه ساعتی؟",
        "q1_options_fa": "صبح\nعصر",
        "q2_text_fa": "می‌روید؟",
        **changes,
    }
    refused = await client.post("/staff/polls/new", data=poll_form(client, **fields))
    assert refused.status_code == 400
    assert message in refused.text
    assert await db.scalar(select(func.count()).select_from(Poll)) == 0


async def test_the_comparison_by_answering_language_includes_the_added_languages(client, db):
    questionnaire = await open_questionnaire(
        db, await make_event(db, starts_in=-dt.timedelta(days=1))
    )
    given = {"fi": [4, 5], "ru": [3], "et": [5, 4], "so": [2], "fa": [4, 4, 1, 5, 1], "zh": [5]}
    for language, scores in given.items():
        for score in scores:
            assert await answer(db, questionnaire, {"satisfaction": score}, language=language)
    by_language = await compare(db, ComparisonFilter(), "language", zone=ZONE, areas=[])
    assert [group.key for group in by_language.groups] == ["fi", "ru", "et", "so", "fa", "zh"]
    persian = next(group for group in by_language.groups if group.key == "fa")
    assert persian.numeric("satisfaction").n == 5
    assert persian.numeric("satisfaction").mean == pytest.approx(3.0)
    only = await compare(db, ComparisonFilter(languages=("so", "zh")), "none", zone=ZONE, areas=[])
    assert only.groups[0].responses == 2
    # The dashboard offers each as a filter, named as its speakers write it, and groups by it.
    await signed_in_as(client, db, Role.STAFF)
    page = await client.get("/staff/feedback?group=language&language=fa&language=so&lang=en")
    assert page.status_code == 200
    for code in ("ru", "et", "so", "fa", "zh"):
        assert f'id="language-{code}" name="language" value="{code}"' in page.text
    assert 'id="language-fa" name="language" value="fa" checked' in page.text
    assert 'id="language-ru" name="language" value="ru">' in page.text
    # The chosen languages' group headings name them in the staff member's language.
    assert "Persian" in page.text
    assert "Somali" in page.text


async def test_a_one_tap_poll_links_to_every_language_it_is_written_in(client, db):
    """A poll of one single-choice question votes with the tap, so its switcher is plain links:
    those links reach the poll's Somali too, not only the interface languages."""
    from app.database import utcnow
    from surveys.polls import services as poll_services

    opens = utcnow() - dt.timedelta(hours=1)
    poll = await poll_services.create_poll(
        db,
        poll_services.PollDraft(
            title={"fi": "Aika", "sv": "Tid", "so": "Waqtiga"},
            questions=[
                {
                    "key": "q1",
                    "type": "single",
                    "required": True,
                    "text": {"fi": "Milloin?", "sv": "När?", "so": "Goorma?"},
                    "options": [
                        {"key": "o1", "label": {"fi": "Aamu", "sv": "Morgon", "so": "Subax"}},
                        {"key": "o2", "label": {"fi": "Ilta", "sv": "Kväll", "so": "Fiid"}},
                    ],
                }
            ],
            opens_at=opens,
            closes_at=opens + dt.timedelta(days=1),
            visibility="immediate",
        ),
    )
    page = await client.get(f"/p/{poll.slug}?lang=en")
    assert 'class="tap"' in page.text
    assert (
        f'<a href="/p/{poll.slug}?lang=so" lang="so" dir="ltr" hreflang="so">Soomaali</a>'
        in page.text
    )
    assert 'hreflang="fa"' not in page.text
    somali = await client.get(f"/p/{poll.slug}?lang=so")
    assert '<html lang="so">' in somali.text
    assert 'hreflang="so" aria-current="true">Soomaali</a>' in somali.text
    assert ">Fiid</button>" in somali.text
