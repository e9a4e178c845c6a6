"""Residents answer anonymously; bad or replayed input is refused kindly and stores nothing."""

import datetime as dt
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.database import utcnow
from surveys import services
from surveys.models import FeedbackPending, FeedbackResponse
from tests.conftest import TEST_SECRET, csrf_token, spellings
from tests.factories import make_area, make_event
from tests.surveys.factories import open_questionnaire

DATA = Path(__file__).resolve().parents[1] / "data"
TOKEN = re.compile(r'name="token" value="([^"]+)"')


async def form_page(client, slug, lang="en"):
    response = await client.get(f"/f/{slug}?lang={lang}")
    match = TOKEN.search(response.text)
    return response, match.group(1) if match else None


async def send(client, slug, answers, *, lang="en", token=None, extra=None):
    _page, form_token = await form_page(client, slug, lang)
    data = {
        "_csrf_token": client.cookies["tori_csrf"],
        "token": token or form_token,
        "answer_language": lang,
        **answers,
    }
    data.update(extra or {})
    return await client.post(f"/f/{slug}", data=data)


async def stored(db) -> int:
    return await db.scalar(select(func.count()).select_from(FeedbackResponse))


@pytest.mark.parametrize(
    ("lang", "thanks"), [("fi", "Kiitos!"), ("sv", "Tack!"), ("en", "Thank you!")]
)
async def test_resident_answers_anonymously_in_each_language(client, db, lang, thanks):
    area = await make_area(db, "Suur-Leppävaara")
    questionnaire = await open_questionnaire(
        db, await make_event(db, area=area, starts_in=-dt.timedelta(hours=2))
    )
    response = await send(
        client,
        questionnaire.slug,
        {
            "q_satisfaction": "4",
            "q_again": "yes",
            "q_heard_from": ["friend", "poster"],
            "q_home_area": area.slug,
            "q_comment": "Hyvä ilta",
        },
        lang=lang,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/f/{questionnaire.slug}/thanks"
    page = await client.get(response.headers["location"])
    assert thanks in page.text
    row = await db.scalar(select(FeedbackResponse))
    assert row.language == lang
    assert row.answers == {
        "satisfaction": 4,
        "again": "yes",
        "heard_from": ["poster", "friend"],
        "home_area": area.slug,
        "comment": "Hyvä ilta",
    }
    assert row.submitted_on == utcnow().date()
    # Nothing that could identify the person: only these columns exist.
    assert set(FeedbackResponse.__table__.columns.keys()) == {
        "id",
        "questionnaire_id",
        "event_id",
        "language",
        "submitted_on",
        "submission_token",
        "answers",
    }
    pending = {(p.question_key, p.value) for p in await db.scalars(select(FeedbackPending))}
    assert ("satisfaction", "4") in pending
    assert ("heard_from", "__n__") in pending
    assert ("comment", "Hyvä ilta") not in pending


async def test_switching_language_keeps_the_answers_and_stores_nothing(client, db):
    questionnaire = await open_questionnaire(
        db, await make_event(db, starts_in=-dt.timedelta(hours=2))
    )
    _page, token = await form_page(client, questionnaire.slug, "fi")
    response = await client.post(
        f"/f/{questionnaire.slug}",
        data={
            "_csrf_token": client.cookies["tori_csrf"],
            "token": token,
            "answer_language": "fi",
            "q_satisfaction": "2",
            "q_comment": "Kommentti",
            "_switch_language": "sv",
        },
    )
    assert response.status_code == 200
    assert '<html lang="sv">' in response.text
    assert "Hur nöjd var du med evenemanget som helhet?" in response.text
    assert re.search(r'value="2" checked', response.text)
    assert ">Kommentti</textarea>" in response.text
    assert f'value="{token}"' in response.text
    assert await stored(db) == 0
    assert client.cookies["tori_lang"] == "sv"


async def test_double_tap_and_replayed_token_record_one_response(client, db):
    questionnaire = await open_questionnaire(
        db, await make_event(db, starts_in=-dt.timedelta(hours=2))
    )
    _page, token = await form_page(client, questionnaire.slug)
    data = {
        "_csrf_token": client.cookies["tori_csrf"],
        "token": token,
        "answer_language": "en",
        "q_satisfaction": "5",
    }
    first = await client.post(f"/f/{questionnaire.slug}", data=data)
    client.cookies.delete("tori_answered")  # a retry from a browser that lost the answer
    second = await client.post(f"/f/{questionnaire.slug}", data=data)
    assert first.status_code == second.status_code == 303
    assert await stored(db) == 1
    assert (
        await db.scalar(
            select(func.count())
            .select_from(FeedbackPending)
            .where(FeedbackPending.question_key == "satisfaction")
        )
        == 1
    )


async def test_one_token_in_another_spelling_is_refused_and_records_nothing_more(client, db):
    """An attacker who rewrites the spare bits of the token's MAC must not get three more
    answers past the unique constraint on the token's text."""
    questionnaire = await open_questionnaire(
        db, await make_event(db, starts_in=-dt.timedelta(hours=2))
    )
    _page, token = await form_page(client, questionnaire.slug)
    variants = spellings(token)
    assert token in variants
    assert len(set(variants)) == 4
    for variant in variants:
        client.cookies.delete("tori_answered")
        await client.post(
            f"/f/{questionnaire.slug}",
            data={
                "_csrf_token": client.cookies["tori_csrf"],
                "token": variant,
                "answer_language": "en",
                "q_satisfaction": "5",
            },
        )
    assert await stored(db) == 1
    genuine = [v for v in variants if services.token_is_genuine(TEST_SECRET, questionnaire.slug, v)]
    assert genuine == [token]


async def test_second_answer_from_the_same_device_is_refused_kindly(client, db):
    questionnaire = await open_questionnaire(
        db, await make_event(db, starts_in=-dt.timedelta(hours=2))
    )
    assert (await send(client, questionnaire.slug, {"q_satisfaction": "3"})).status_code == 303
    again = await client.get(f"/f/{questionnaire.slug}?lang=en")
    assert "You have already answered this questionnaire on this device" in again.text
    page = await send(
        client,
        questionnaire.slug,
        {"q_satisfaction": "1"},
        token=services.new_submission_token("x", "y"),
    )
    assert page.status_code in (400, 409)
    assert await stored(db) == 1


async def test_forged_answered_cookie_is_ignored(client, db):
    questionnaire = await open_questionnaire(
        db, await make_event(db, starts_in=-dt.timedelta(hours=2))
    )
    client.cookies.set("tori_answered", "MSwyLDM.forged", path="/f")
    assert (await send(client, questionnaire.slug, {"q_satisfaction": "3"})).status_code == 303


@pytest.mark.parametrize(
    ("answers", "extra", "message"),
    [
        ({}, {}, "Please answer this question."),
        ({"q_satisfaction": "6"}, {}, "Choose a value from 1 to 5."),
        ({"q_satisfaction": "0"}, {}, "Choose a value from 1 to 5."),
        ({"q_satisfaction": "four"}, {}, "Choose a value from 1 to 5."),
        ({"q_satisfaction": ["4", "5"]}, {}, "Choose only one option."),
        ({"q_satisfaction": "4", "q_recommend": "11"}, {}, "Choose a value from 0 to 10."),
        ({"q_satisfaction": "4", "q_again": "maybe"}, {}, "Choose from the options shown."),
        (
            {"q_satisfaction": "4", "q_heard_from": ["friend", "poster", "newspaper", "other"]},
            {},
            "Choose at most 3 options.",
        ),
        (
            {"q_satisfaction": "4", "q_heard_from": ["friend", "friend"]},
            {},
            "Choose from the options shown.",
        ),
        ({"q_satisfaction": "4", "q_heard_from": ["hacked"]}, {}, "Choose from the options shown."),
        ({"q_satisfaction": "4", "q_home_area": "atlantis"}, {}, "Choose from the options shown."),
        ({"q_satisfaction": "4", "q_comment": "x" * 2001}, {}, "Use at most 2000 characters."),
        ({"q_satisfaction": "4", "q_comment": "bad\x00byte"}, {}, "control characters"),
        ({"q_satisfaction": "4", "q_comment": "hyvä \u202eäis"}, {}, "control characters"),
        (
            {"q_satisfaction": "4", "q_injected": "1"},
            {},
            "questions that are not in this questionnaire",
        ),
        (
            {"q_satisfaction": "4"},
            {"answer_language": "de"},
            "language of the answers was not recognised",
        ),
        ({"q_satisfaction": "4"}, {"token": "forged.token"}, "The form was not recognised"),
        ({"q_satisfaction": "4"}, {"token": ""}, "The form was not recognised"),
    ],
)
async def test_bad_answers_get_a_clear_message_and_store_nothing(
    client, db, answers, extra, message
):
    questionnaire = await open_questionnaire(
        db, await make_event(db, starts_in=-dt.timedelta(hours=2))
    )
    response = await send(client, questionnaire.slug, answers, extra=extra)
    assert response.status_code == 400
    assert message in response.text
    assert await stored(db) == 0
    assert await db.scalar(select(func.count()).select_from(FeedbackPending)) == 0


async def test_a_token_of_another_questionnaire_is_refused(client, db):
    first = await open_questionnaire(db, await make_event(db, starts_in=-dt.timedelta(hours=2)))
    second = await open_questionnaire(db, await make_event(db, starts_in=-dt.timedelta(hours=3)))
    _page, token = await form_page(client, first.slug)
    response = await send(client, second.slug, {"q_satisfaction": "4"}, token=token)
    assert response.status_code == 400
    assert await stored(db) == 0


async def test_missing_csrf_token_is_refused(client, db):
    questionnaire = await open_questionnaire(
        db, await make_event(db, starts_in=-dt.timedelta(hours=2))
    )
    _page, token = await form_page(client, questionnaire.slug)
    response = await client.post(
        f"/f/{questionnaire.slug}",
        data={"token": token, "answer_language": "en", "q_satisfaction": "4"},
    )
    assert response.status_code == 403
    assert await stored(db) == 0


async def test_closed_future_and_unknown_questionnaires(client, db):
    questionnaire = await open_questionnaire(
        db, await make_event(db, starts_in=-dt.timedelta(days=30))
    )
    _page, token = await form_page(client, questionnaire.slug)
    questionnaire.closes_at = utcnow() - dt.timedelta(minutes=1)
    await db.commit()
    closed_page = await client.get(f"/f/{questionnaire.slug}?lang=en")
    assert "This questionnaire has closed" in closed_page.text
    refused = await client.post(
        f"/f/{questionnaire.slug}",
        data={
            "_csrf_token": client.cookies["tori_csrf"],
            "token": token,
            "answer_language": "en",
            "q_satisfaction": "4",
        },
    )
    assert refused.status_code == 400
    assert "not open for answers" in refused.text
    questionnaire.opens_at = utcnow() + dt.timedelta(days=1)
    questionnaire.closes_at = utcnow() + dt.timedelta(days=2)
    await db.commit()
    assert (
        "The questionnaire opens on" in (await client.get(f"/f/{questionnaire.slug}?lang=en")).text
    )
    unknown = await client.get("/f/zzzzzz?lang=fi")
    assert unknown.status_code == 404
    assert "Kyselyä ei löydy." in unknown.text or "Sivua ei löydy" in unknown.text
    assert (await client.get("/f/" + "a" * 300)).status_code == 404
    assert await stored(db) == 0


async def test_conditional_question_counts_only_when_its_condition_holds(client, db):
    questionnaire = await open_questionnaire(
        db, await make_event(db, starts_in=-dt.timedelta(hours=2))
    )
    page, _token = await form_page(client, questionnaire.slug)
    assert 'data-show-if-key="again" data-show-if-values="no"' in page.text
    await send(
        client,
        questionnaire.slug,
        {"q_satisfaction": "4", "q_again": "yes", "q_again_if": "should be dropped"},
    )
    client.cookies.delete("tori_answered")
    await send(
        client,
        questionnaire.slug,
        {"q_satisfaction": "2", "q_again": "no", "q_again_if": "Shorter speeches"},
    )
    answers = [
        row.answers
        for row in await db.scalars(select(FeedbackResponse).order_by(FeedbackResponse.id))
    ]
    assert "again_if" not in answers[0]
    assert answers[1]["again_if"] == "Shorter speeches"


async def test_instrument_is_offered_only_where_its_wording_exists_and_is_scored(client, db):
    record, created = await services.import_instrument(
        db, (DATA / "made_up_instrument.json").read_bytes()
    )
    assert created
    questionnaire = await open_questionnaire(
        db, await make_event(db, starts_in=-dt.timedelta(hours=2)), instrument_id=record.id
    )
    finnish, _ = await form_page(client, questionnaire.slug, "fi")
    assert "Tunnen kuuluvani naapurustooni." in finnish.text
    assert "Täysin samaa mieltä" in finnish.text
    swedish, _ = await form_page(client, questionnaire.slug, "sv")
    assert "naapurustooni" not in swedish.text
    assert "belong" not in swedish.text
    response = await send(
        client,
        questionnaire.slug,
        {
            "q_satisfaction": "4",
            "q_made_up_inclusion.belong": "5",
            "q_made_up_inclusion.useful": "4",
            "q_made_up_inclusion.left_out": "2",
        },
        lang="en",
    )
    assert response.status_code == 303
    row = await db.scalar(select(FeedbackResponse))
    # (5 + 4 + (6 - 2)) / 3 = 4.333 on 1–5 → (4.333 - 1) / 4 * 100 = 83
    assert row.answers["made_up_inclusion.score"] == 83
    assert ("made_up_inclusion.score", "83") in {
        (p.question_key, p.value) for p in await db.scalars(select(FeedbackPending))
    }


async def test_imported_instrument_wording_is_locked(db):
    raw = (DATA / "made_up_instrument.json").read_bytes()
    await services.import_instrument(db, raw)
    changed = raw.replace(b"I feel useful to others.", b"I feel very useful.")
    with pytest.raises(services.DefinitionError, match="locked"):
        await services.import_instrument(db, changed)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\xff\xfe", "not UTF-8"),
        (b"{", "not valid JSON: line 1"),
        (b"[]", "one JSON object"),
        (b'{"key": "Bad Key"}', "key"),
        (b"x" * 600_000, "larger than"),
    ],
)
async def test_bad_instrument_files_are_refused_with_the_reason(db, raw, message):
    with pytest.raises(services.DefinitionError, match=message):
        await services.import_instrument(db, raw)


async def test_answers_are_rate_limited_per_address(settings, db):
    from dataclasses import replace

    from litestar.testing import AsyncTestClient

    from app.web import create_app

    questionnaire = await open_questionnaire(
        db, await make_event(db, starts_in=-dt.timedelta(hours=2))
    )
    async with AsyncTestClient(
        app=create_app(replace(settings, answers_per_address=2))
    ) as limited_client:
        limited_client.follow_redirects = False
        for _ in range(2):
            limited_client.cookies.delete("tori_answered")
            assert (
                await send(limited_client, questionnaire.slug, {"q_satisfaction": "4"})
            ).status_code == 303
        limited_client.cookies.delete("tori_answered")
        limited = await send(limited_client, questionnaire.slug, {"q_satisfaction": "4"})
    assert limited.status_code == 429
    assert "Too many answers are coming from your network" in limited.text
    assert await stored(db) == 2


async def test_answer_page_without_csrf_cookie_still_offers_a_form(client, db):
    questionnaire = await open_questionnaire(
        db, await make_event(db, starts_in=-dt.timedelta(hours=2))
    )
    token = await csrf_token(client, f"/f/{questionnaire.slug}")
    assert token
