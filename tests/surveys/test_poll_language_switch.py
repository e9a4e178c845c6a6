"""A poll's language buttons keep the choices ticked so far, as the questionnaire's do: the
poll comes back in the chosen language with the choices ticked, nothing is stored, and the vote
sent from that page is counted once. Over HTTP on PostgreSQL; the browser journey is in
tests/browser/test_poll_language_switch.py."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from app.security import FORM_EXPIRED
from tests.surveys.polls_factories import FRUIT, SPORTS, make_poll
from tests.surveys.test_form_tokens import (
    HIDDEN,
    assert_every_form_has_a_token,
    send_again,
    the_form,
    votes,
)


def language_buttons(page: str, slug: str) -> list[tuple[str, str]]:
    """The header's language buttons: (the form they send, the language)."""
    return re.findall(
        rf'<button type="submit" form="(poll-form)" formaction="/p/{slug}/language" '
        r'name="_switch_language" value="([\w-]+)"',
        page,
    )


async def switch(client, page, slug: str, chosen: dict, language: str):
    """Press a language button with `chosen` ticked: the poll form is sent to the button's
    formaction with the button's name and value, as a browser does."""
    form = the_form(page.text, f"/p/{slug}")
    data = {key: value for key, value in form["fields"].items() if key in HIDDEN}
    data.update(chosen)
    data["_switch_language"] = language
    return await client.post(f"/p/{slug}/language", data=data)


@pytest.mark.parametrize(("start", "switch_to"), [("fi", "sv"), ("sv", "en"), ("en", "fi")])
async def test_switching_language_keeps_the_choices_and_the_vote_counts_once(
    client, db, start, switch_to
):
    poll = await make_poll(db, questions=(FRUIT, SPORTS))
    action = f"/p/{poll.slug}"
    page = await client.get(f"{action}?lang={start}")
    assert language_buttons(page.text, poll.slug) == [
        ("poll-form", "fi"),
        ("poll-form", "sv"),
        ("poll-form", "en"),
    ]
    assert 'id="poll-form"' in page.text
    switched = await switch(
        client, page, poll.slug, {"q_q1": "o2", "q_q2": ["o1", "o3"]}, switch_to
    )
    assert switched.status_code == 200
    assert f'<html lang="{switch_to}">' in switched.text
    title = {"fi": "Kysely", "sv": "Enkät", "en": "Poll"}[switch_to]
    assert f'<h1 lang="{switch_to}">{title}</h1>' in switched.text
    assert_every_form_has_a_token(switched, client)
    form = the_form(switched.text, action)
    assert form["chosen"] == {"q_q1": ["o2"], "q_q2": ["o1", "o3"]}
    assert form["fields"]["answer_language"] == switch_to
    # The switch stored nothing and is remembered as the reader's language.
    assert await votes(db) == 0
    assert client.cookies.get("tori_lang") == switch_to
    accepted = await send_again(client, switched, action, form["chosen"])
    assert accepted.status_code == 303
    assert accepted.headers["location"] == f"{action}/thanks"
    assert await votes(db) == 1


async def test_a_switch_after_too_many_choices_keeps_them_and_the_fix_is_counted(client, db):
    poll = await make_poll(db, questions=(FRUIT, SPORTS))
    action = f"/p/{poll.slug}"
    page = await client.get(f"{action}?lang=fi")
    refused = await send_again(client, page, action, {"q_q1": "o1", "q_q2": ["o1", "o2", "o3"]})
    assert refused.status_code == 400
    switched = await switch(
        client, refused, poll.slug, {"q_q1": "o1", "q_q2": ["o1", "o2", "o3"]}, "sv"
    )
    assert switched.status_code == 200
    assert the_form(switched.text, action)["chosen"]["q_q2"] == ["o1", "o2", "o3"]
    assert await votes(db) == 0
    accepted = await send_again(client, switched, action, {"q_q1": "o1", "q_q2": ["o2"]})
    assert accepted.status_code == 303
    assert await votes(db) == 1


async def test_with_htmx_the_switch_replaces_the_whole_page(client, db):
    """The header is in the new language too: htmx is told to show the whole page."""
    poll = await make_poll(db, questions=(FRUIT, SPORTS))
    page = await client.get(f"/p/{poll.slug}?lang=fi")
    form = the_form(page.text, f"/p/{poll.slug}")
    switched = await client.post(
        f"/p/{poll.slug}/language",
        data={**form["fields"], "q_q1": "o1", "_switch_language": "en"},
        headers={
            "HX-Request": "true",
            "HX-Target": "poll",
            "HX-Current-URL": f"http://testserver/p/{poll.slug}?via=qr&lang=fi",
        },
    )
    assert switched.status_code == 200
    # A reload shows the page in the new language, still counted as from the QR code.
    assert switched.headers["hx-replace-url"] == f"/p/{poll.slug}?via=qr&lang=en"
    assert switched.headers["hx-retarget"] == "body"
    assert switched.headers["hx-reswap"] == "innerHTML"
    assert '<html lang="en">' in switched.text
    assert the_form(switched.text, f"/p/{poll.slug}")["chosen"] == {"q_q1": ["o1"]}
    assert await votes(db) == 0


async def test_a_switch_with_an_expired_form_keeps_the_choices_and_stores_nothing(client, db):
    poll = await make_poll(db, questions=(FRUIT, SPORTS))
    page = await client.get(f"/p/{poll.slug}?lang=en")
    client.cookies.delete("tori_csrf")
    refused = await switch(client, page, poll.slug, {"q_q1": "o2", "q_q2": ["o3"]}, "sv")
    assert refused.status_code == 403
    assert FORM_EXPIRED.split(",")[0] in refused.text
    assert_every_form_has_a_token(refused, client)
    assert the_form(refused.text, f"/p/{poll.slug}")["chosen"] == {"q_q1": ["o2"], "q_q2": ["o3"]}
    assert await votes(db) == 0


async def test_a_one_tap_poll_keeps_plain_language_links(client, db):
    """A single one-choice question is sent by its tap: there is nothing to keep."""
    poll = await make_poll(db, questions=(FRUIT,))
    page = await client.get(f"/p/{poll.slug}?lang=fi")
    assert language_buttons(page.text, poll.slug) == []
    assert 'hreflang="sv"' in page.text


async def test_the_switch_address_opened_again_leads_to_the_poll(client, db):
    poll = await make_poll(db, questions=(FRUIT, SPORTS))
    response = await client.get(f"/p/{poll.slug}/language")
    assert response.status_code == 303
    assert response.headers["location"] == f"/p/{poll.slug}"


# --- content languages beyond fi, sv and en ---------------------------------------------------


async def test_staff_write_a_poll_in_arabic_too_and_a_half_translation_is_refused(client, db):
    from app.accounts.models import Role
    from surveys.polls.models import Poll
    from tests.factories import signed_in_as
    from tests.surveys.test_polls import poll_form

    await signed_in_as(client, db, Role.STAFF)
    new = await client.get("/staff/polls/new?lang=en")
    # The other content languages are there, folded away, each field marked with its language.
    assert '<details class="more-languages">' in new.text
    assert 'name="title_ar" type="text" value="" class="" lang="ar" dir="rtl"' in new.text
    half = poll_form(client, title_ar="ساعات عمل المكتبة")
    refused = await client.post("/staff/polls/new", data=half)
    assert refused.status_code == 400
    assert '<details class="more-languages" open>' in refused.text
    assert (await db.scalar(select(func.count()).select_from(Poll))) == 0
    whole = poll_form(
        client,
        title_ar="ساعات عمل المكتبة",
        q1_text_ar="أي وقت؟",
        q1_options_ar="الصباح\nالمساء",
        q2_text_ar="هل تزور المكتبة؟",
    )
    created = await client.post("/staff/polls/new", data=whole)
    assert created.status_code == 303
    poll = await db.scalar(select(Poll))
    assert poll.title["ar"] == "ساعات عمل المكتبة"
    assert poll.questions[0]["options"][1]["label"]["ar"] == "المساء"


ARABIC_FRUIT = {
    **FRUIT,
    "text": {**FRUIT["text"], "ar": "أي فاكهة؟"},
    "options": [
        {"key": "o1", "label": {**FRUIT["options"][0]["label"], "ar": "تفاح"}},
        {"key": "o2", "label": {**FRUIT["options"][1]["label"], "ar": "كمثرى"}},
    ],
}


ARABIC_SPORTS = {
    **SPORTS,
    "text": {**SPORTS["text"], "ar": "أي رياضات؟"},
    "options": [
        {"key": option["key"], "label": {**option["label"], "ar": arabic}}
        for option, arabic in zip(
            SPORTS["options"], ("تزلج", "سباحة", "ركوب الدراجات"), strict=True
        )
    ],
}


async def test_switching_a_poll_to_arabic_keeps_the_choice_and_the_vote_is_counted_in_arabic(
    client, db
):
    from app.database import utcnow
    from surveys.polls import services
    from surveys.polls.models import PollVote

    opens = utcnow() - dt.timedelta(hours=1)
    poll = await services.create_poll(
        db,
        services.PollDraft(
            title={"fi": "Kysely", "sv": "Enkät", "en": "Poll", "ar": "استطلاع"},
            questions=[ARABIC_FRUIT, ARABIC_SPORTS],
            opens_at=opens,
            closes_at=opens + dt.timedelta(days=1),
            visibility="immediate",
        ),
    )
    action = f"/p/{poll.slug}"
    page = await client.get(f"{action}?lang=fi")
    assert [code for _form, code in language_buttons(page.text, poll.slug)] == [
        "fi",
        "sv",
        "en",
        "ar",
    ]
    switched = await switch(client, page, poll.slug, {"q_q1": "o2", "q_q2": ["o3"]}, "ar")
    assert switched.status_code == 200
    assert '<html lang="ar" dir="rtl">' in switched.text
    assert '<h1 lang="ar">استطلاع</h1>' in switched.text
    # The interface (no Arabic catalog) is English, marked so, in its own direction.
    assert '<p class="kicker" lang="en" dir="ltr">Quick poll</p>' in switched.text
    form = the_form(switched.text, action)
    assert form["chosen"] == {"q_q1": ["o2"], "q_q2": ["o3"]}
    assert form["fields"]["answer_language"] == "ar"
    assert client.cookies.get("tori_lang") == "ar"
    accepted = await send_again(client, switched, action, form["chosen"])
    assert accepted.status_code == 303
    assert await db.scalar(select(PollVote.language)) == "ar"


@pytest.mark.parametrize("hostile", ["xx", "<b>", "ar\r\nX: y", "ru"])
async def test_a_switch_to_a_language_the_poll_lacks_keeps_the_page_in_the_interface(
    client, db, hostile
):
    poll = await make_poll(db, questions=(FRUIT, SPORTS))
    action = f"/p/{poll.slug}"
    page = await client.get(f"{action}?lang=fi")
    switched = await switch(client, page, poll.slug, {"q_q1": "o1"}, hostile)
    assert switched.status_code == 200
    assert "<b>" not in switched.text
    form = the_form(switched.text, action)
    assert form["chosen"] == {"q_q1": ["o1"]}
    assert form["fields"]["answer_language"] in ("fi", "en")
    assert await votes(db) == 0
