"""The questionnaire editor's pages, without JavaScript: an admin rewords a question in Swedish,
makes a mistake and fixes it, sets a condition, previews the draft in Swedish and publishes it;
a resident's new questionnaire then asks the new wording. Bad input stores nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.audit import AuditRecord
from surveys import drafts, services
from surveys.models import FeedbackResponse, TemplateVersion
from tests.conftest import csrf_token
from tests.factories import make_area, make_event, signed_in_as
from tests.surveys.factories import open_questionnaire

EDITOR = "/staff/questionnaire"


def question_form(page: str) -> dict[str, list[str]]:
    """The fields of the question form as the page fills them (text inputs and checked boxes)."""
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(
        r'<input id="field-[^"]*" name="([^"]+)" type="text" value="([^"]*)"', page
    ):
        fields.setdefault(name, []).append(_unescape(value))
    for name, value in re.findall(r'name="([^"]+)" value="([^"]*)" checked', page):
        fields.setdefault(name, []).append(value)
    for name, value in re.findall(
        r'<input type="hidden" name="(show_if_shown_for)" value="([^"]*)"', page
    ):
        fields[name] = [value]
    selected = re.search(r'name="show_if_key".*?<option value="([^"]*)" selected', page, re.S)
    fields["show_if_key"] = [selected.group(1) if selected else ""]
    for name, value in re.findall(
        r'<textarea id="field-[^"]*" name="([^"]+)"[^>]*>([^<]*)</textarea>', page
    ):
        fields[name] = [_unescape(value)]
    return fields


def _unescape(value: str) -> str:
    return (
        value.replace("&#34;", '"')
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
    )


async def start(client, db) -> str:
    await signed_in_as(client, db, Role.ADMIN)
    token = await csrf_token(client, EDITOR)
    started = await client.post(f"{EDITOR}/draft", data={"_csrf_token": token})
    assert started.status_code == 303
    return token


async def test_an_admin_rewords_in_swedish_previews_and_publishes(client, db):
    token = await start(client, db)
    page = await client.get(f"{EDITOR}/draft/questions/satisfaction")
    assert page.status_code == 200
    fields = question_form(page.text)
    assert fields["text_sv"] == ["Hur nöjd var du med evenemanget som helhet?"]
    # A mistake: the Swedish wording emptied. Nothing is stored; the message is in the reader's
    # language (Swedish here).
    client.cookies.set("tori_lang", "sv")
    refused = await client.post(
        f"{EDITOR}/draft/questions/satisfaction",
        data={**fields, "text_sv": "", "_csrf_token": token},
    )
    assert refused.status_code == 400
    assert "Skriv detta på finska och på svenska." in refused.text
    draft = await drafts.require_draft(db)
    assert drafts.question_of(draft, "satisfaction").text["sv"] == fields["text_sv"][0]
    saved = await client.post(
        f"{EDITOR}/draft/questions/satisfaction",
        data={**fields, "text_sv": "Hur nöjd var du med träffen?", "_csrf_token": token},
    )
    assert saved.status_code == 303
    preview = await client.get(f"{EDITOR}/draft/preview/sv")
    assert preview.status_code == 200
    assert "Hur nöjd var du med träffen?" in preview.text
    assert f'action="{EDITOR}/draft/preview/sv"' in preview.text
    tried = await client.post(
        f"{EDITOR}/draft/preview/sv",
        data={
            "q_satisfaction": "4",
            "token": "preview",
            "answer_language": "sv",
            "_csrf_token": token,
        },
    )
    assert tried.status_code == 200
    assert "Dessa svar skulle godkännas." in tried.text
    assert await db.scalar(select(func.count()).select_from(FeedbackResponse)) == 0
    published = await client.post(f"{EDITOR}/draft/publish", data={"_csrf_token": token})
    assert published.status_code == 303
    db.expire_all()
    newest = await services.standard_version(db)
    [satisfaction] = [q for q in newest.questions if q["key"] == "satisfaction"]
    assert satisfaction["text"]["sv"] == "Hur nöjd var du med träffen?"
    questionnaire = await open_questionnaire(db, await make_event(db))
    form = await client.get(f"/f/{questionnaire.slug}")

    assert "Hur nöjd var du med träffen?" in form.text
    overview = await client.get(EDITOR)
    assert "satisfaction" in overview.text


async def test_a_condition_is_chosen_without_javascript(client, db):
    token = await start(client, db)
    fields = question_form((await client.get(f"{EDITOR}/draft/questions/comment")).text)
    chosen = await client.post(
        f"{EDITOR}/draft/questions/comment",
        data={**fields, "show_if_key": "again", "_choose_condition": "1", "_csrf_token": token},
    )
    assert chosen.status_code == 200
    assert 'name="show_if_values" value="no"' in chosen.text
    saved = await client.post(
        f"{EDITOR}/draft/questions/comment",
        data={
            **fields,
            "show_if_key": "again",
            "show_if_shown_for": "again",
            "show_if_values": ["yes", "no"],
            "_csrf_token": token,
        },
    )
    assert saved.status_code == 303
    question = drafts.question_of(await drafts.require_draft(db), "comment")
    assert question.show_if.values == ("yes", "no")
    # The preview hides nothing server-side but drops the hidden answer on submit.
    preview = await client.get(f"{EDITOR}/draft/preview/fi")
    assert 'data-show-if-key="again" data-show-if-values="yes no"' in preview.text


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"text_fi": ""}, "Write this in Finnish and in Swedish."),
        ({"text_sv": "x" * 301}, "Use at most 300 characters."),
        ({"text_sv": "<b onclick=alert(1)>Hej</b>"}, "Write plain text without HTML tags"),
        ({"text_en": "Fine\u0007"}, "Remove the special control characters"),
        (
            {"show_if_key": "nonexistent", "show_if_shown_for": "nonexistent"},
            "Choose one of the options.",
        ),
        (
            {"show_if_key": "again", "show_if_shown_for": "again", "show_if_values": "maybe"},
            "Choose from the options shown.",
        ),
    ],
)
async def test_bad_input_gets_a_clear_error_and_stores_nothing(client, db, changes, message):
    token = await start(client, db)
    client.cookies.set("tori_lang", "en")
    fields = question_form((await client.get(f"{EDITOR}/draft/questions/comment")).text)
    before = [dict(q) for q in (await drafts.require_draft(db)).questions]
    records = await db.scalar(select(func.count()).select_from(AuditRecord))
    refused = await client.post(
        f"{EDITOR}/draft/questions/comment", data={**fields, **changes, "_csrf_token": token}
    )
    assert refused.status_code == 400
    assert message in refused.text
    db.expire_all()
    assert (await drafts.require_draft(db)).questions == before
    assert await db.scalar(select(func.count()).select_from(AuditRecord)) == records


async def test_adding_a_question_with_a_used_key_is_refused_in_finnish(client, db):
    token = await start(client, db)
    client.cookies.set("tori_lang", "fi")
    data = {
        "key": "satisfaction",
        "type": "yes_no",
        "text_fi": "Pääsitkö sisään helposti?",
        "text_sv": "Kom du lätt in?",
        "_csrf_token": token,
    }
    refused = await client.post(f"{EDITOR}/draft/questions", data=data)
    assert refused.status_code == 400
    assert "Toisella kysymyksellä on jo tämä tunniste." in refused.text
    added = await client.post(f"{EDITOR}/draft/questions", data={**data, "key": "easy_entry"})
    assert added.status_code == 303
    moved = await client.post(
        f"{EDITOR}/draft/questions/easy_entry/move", data={"direction": "up", "_csrf_token": token}
    )
    assert moved.status_code == 303
    keys = [q["key"] for q in (await drafts.require_draft(db)).questions]
    assert keys[-2:] == ["easy_entry", "comment"]
    retired = await client.post(
        f"{EDITOR}/draft/questions/comment/retire", data={"_csrf_token": token}
    )
    assert retired.status_code == 303
    discarded = await client.post(f"{EDITOR}/draft/discard", data={"_csrf_token": token})
    assert discarded.status_code == 303
    assert await drafts.current_draft(db) is None
    assert await db.scalar(select(func.count()).select_from(TemplateVersion)) == 1


async def test_staff_who_are_not_admins_cannot_edit(client, db):
    await signed_in_as(client, db, Role.STAFF)
    assert (await client.get(EDITOR)).status_code == 403


async def test_the_preview_speaks_the_previewed_language_and_stores_nothing(client, db):
    token = await start(client, db)
    client.cookies.set("tori_lang", "fi")
    tried = await client.post(
        f"{EDITOR}/draft/preview/sv",
        data={"q_again": "yes", "token": "preview", "answer_language": "sv", "_csrf_token": token},
    )
    assert tried.status_code == 400
    assert "Svara på den här frågan." in tried.text
    assert "Vastaa tähän kysymykseen." not in tried.text
    switched = await client.post(
        f"{EDITOR}/draft/preview/sv", data={"_switch_language": "en", "_csrf_token": token}
    )
    assert switched.status_code == 303
    assert switched.headers["location"].endswith(f"{EDITOR}/draft/preview/en")
    assert (await client.get(f"{EDITOR}/draft/preview/zz")).status_code == 404
    assert await db.scalar(select(func.count()).select_from(FeedbackResponse)) == 0


async def test_the_draft_is_previewed_in_every_language_it_is_wholly_written_in(client, db):
    await make_area(db, "Tapiola")  # named in Finnish and Swedish only, as areas often are
    await start(client, db)
    overview = await client.get(EDITOR)
    for code in ("fi", "sv", "en", "fi-x-selko", "uk", "ar"):
        assert f'href="{EDITOR}/draft/preview/{code}"' in overview.text
    arabic = await client.get(f"{EDITOR}/draft/preview/ar")
    assert arabic.status_code == 200
    assert 'dir="rtl"' in arabic.text
    assert 'lang="ar"' in arabic.text
