"""Every form a resident gets back carries a valid token, whatever path the request took.

A refused or corrected form is sent again from the page the server returned, as a
browser does: the hidden fields are read from that page, never carried over by the
test. Before this was fixed, a questionnaire or poll shown again after an error (or
after the questionnaire's language buttons) carried an empty CSRF token, and the
corrected answers were refused as "the form has expired" and lost.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
from html.parser import HTMLParser

import pytest
from litestar.middleware.csrf import generate_csrf_token
from sqlalchemy import func, select

from app.accounts.models import Role
from app.i18n import gettext_in
from app.security import FORM_EXPIRED
from surveys.models import FeedbackResponse
from surveys.polls.models import PollVote
from tests.factories import make_event, signed_in_as
from tests.surveys.factories import open_questionnaire
from tests.surveys.polls_factories import FRUIT, SPORTS, make_poll

HIDDEN = ("_csrf_token", "token", "answer_language", "channel", "area")


def expired(lang: str) -> str:
    """The message above an expired form, as the catalog of `lang` has it."""
    return html.escape(gettext_in(lang, FORM_EXPIRED), quote=False)


class Forms(HTMLParser):
    """The POST forms of a page: their action, hidden fields and the values already chosen."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._in_textarea: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form" and (attributes.get("method") or "").lower() == "post":
            self.forms.append({"action": attributes.get("action"), "fields": {}, "chosen": {}})
        elif self.forms and tag == "input":
            name, kind = attributes.get("name"), attributes.get("type")
            if kind == "hidden":
                self.forms[-1]["fields"][name] = attributes.get("value") or ""
            elif kind in ("radio", "checkbox") and "checked" in attributes:
                self.forms[-1]["chosen"].setdefault(name, []).append(attributes.get("value"))
            elif kind == "text":
                self.forms[-1]["chosen"][name] = [attributes.get("value") or ""]
        elif self.forms and tag == "textarea":
            self._in_textarea = attributes.get("name")

    def handle_data(self, data):
        if self._in_textarea:
            self.forms[-1]["chosen"][self._in_textarea] = [data]

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._in_textarea = None


def the_form(html: str, action: str) -> dict:
    [form] = [form for form in Forms(html).forms if form["action"] == action]
    return form


def assert_every_form_has_a_token(response, client) -> None:
    forms = Forms(response.text).forms
    assert forms, "the page shows a form"
    for form in forms:
        sent = form["fields"].get("_csrf_token")
        assert sent, f"the form {form['action']} carries no CSRF token"
        assert sent == client.cookies.get("tori_csrf"), "the form's token is the cookie's"


async def send_again(client, response, action, answers, *, headers=None):
    """Send the form of `response` again as the browser would, with `answers` as now chosen."""
    form = the_form(response.text, action)
    data = {key: value for key, value in form["fields"].items() if key in HIDDEN}
    data.update(answers)
    return await client.post(action, data=data, headers=headers or {})


async def responses(db) -> int:
    return await db.scalar(select(func.count()).select_from(FeedbackResponse))


async def votes(db) -> int:
    return await db.scalar(select(func.count()).select_from(PollVote))


async def questionnaire_page(client, db, lang="en"):
    questionnaire = await open_questionnaire(
        db, await make_event(db, starts_in=-dt.timedelta(hours=2))
    )
    action = f"/f/{questionnaire.slug}"
    return action, await client.get(f"{action}?lang={lang}")


# --- the questionnaire ---------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
async def test_questionnaire_corrected_after_an_error_is_accepted(client, db, lang):
    action, page = await questionnaire_page(client, db, lang)
    # The required satisfaction question is left out; a comment is written.
    refused = await send_again(client, page, action, {"q_comment": "Hyvä ilta"})
    assert refused.status_code == 400
    assert_every_form_has_a_token(refused, client)
    assert the_form(refused.text, action)["chosen"]["q_comment"] == ["Hyvä ilta"]
    assert await responses(db) == 0
    accepted = await send_again(
        client, refused, action, {"q_comment": "Hyvä ilta", "q_satisfaction": "4"}
    )
    assert accepted.status_code == 303
    assert accepted.headers["location"] == f"{action}/thanks"
    assert await responses(db) == 1


@pytest.mark.parametrize(("start", "switch_to"), [("fi", "sv"), ("sv", "en"), ("en", "fi")])
async def test_questionnaire_after_a_language_switch_is_accepted(client, db, start, switch_to):
    action, page = await questionnaire_page(client, db, start)
    switched = await send_again(
        client, page, action, {"q_satisfaction": "2", "_switch_language": switch_to}
    )
    assert switched.status_code == 200
    assert f'<html lang="{switch_to}">' in switched.text
    assert_every_form_has_a_token(switched, client)
    form = the_form(switched.text, action)
    assert form["chosen"]["q_satisfaction"] == ["2"]
    assert form["fields"]["answer_language"] == switch_to
    accepted = await send_again(client, switched, action, form["chosen"])
    assert accepted.status_code == 303
    assert await responses(db) == 1


async def test_questionnaire_after_two_errors_and_a_switch_is_still_accepted(client, db):
    action, page = await questionnaire_page(client, db, "fi")
    first = await send_again(client, page, action, {"q_recommend": "11"})
    second = await send_again(client, first, action, {"_switch_language": "sv"})
    third = await send_again(client, second, action, {"q_satisfaction": "9"})
    assert (first.status_code, second.status_code, third.status_code) == (400, 200, 400)
    accepted = await send_again(client, third, action, {"q_satisfaction": "5"})
    assert accepted.status_code == 303
    assert await responses(db) == 1


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
async def test_expired_form_keeps_the_answers_and_offers_a_fresh_token(client, db, lang, caplog):
    """The CSRF cookie is gone (the browser was closed, the cookie cleared): nothing is stored, the
    answers come back with a fresh token and a message, and sending again works."""
    action, page = await questionnaire_page(client, db, lang)
    client.cookies.delete("tori_csrf")
    with caplog.at_level(logging.INFO):
        refused = await send_again(
            client, page, action, {"q_satisfaction": "3", "q_comment": "Pidin kovasti"}
        )
    assert refused.status_code == 403
    assert expired(lang) in refused.text
    assert "tori_csrf=" in refused.headers["set-cookie"]
    assert_every_form_has_a_token(refused, client)
    form = the_form(refused.text, action)
    assert form["chosen"]["q_satisfaction"] == ["3"]
    assert form["chosen"]["q_comment"] == ["Pidin kovasti"]
    assert await responses(db) == 0
    refusals = [r for r in caplog.records if "CSRF" in r.getMessage()]
    assert refusals
    assert all(r.levelno == logging.WARNING for r in refusals)
    accepted = await send_again(client, refused, action, form["chosen"])
    assert accepted.status_code == 303
    assert await responses(db) == 1


@pytest.mark.parametrize("token", ["", "forged", "a" * 64 + "b" * 64])
async def test_forged_csrf_token_stores_nothing_even_with_the_answers_shown_again(
    client, db, token
):
    action, page = await questionnaire_page(client, db)
    form = the_form(page.text, action)
    refused = await client.post(
        action, data={**form["fields"], "_csrf_token": token, "q_satisfaction": "5"}
    )
    assert refused.status_code == 403
    assert await responses(db) == 0


async def test_a_token_from_another_browser_is_refused(client, db, settings):
    """The form's token must be this browser's cookie: a genuine token of someone else (what a
    forging site could obtain for itself) is refused."""
    action, page = await questionnaire_page(client, db)
    form = the_form(page.text, action)
    someone_elses = generate_csrf_token(settings.secret_key)
    refused = await client.post(
        action, data={**form["fields"], "_csrf_token": someone_elses, "q_satisfaction": "5"}
    )
    assert refused.status_code == 403
    assert await responses(db) == 0


# --- polls and kiosks -----------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
async def test_poll_corrected_after_too_many_choices_is_counted_once(client, db, lang):
    poll = await make_poll(db, questions=(FRUIT, SPORTS))
    action = f"/p/{poll.slug}"
    page = await client.get(f"{action}?lang={lang}")
    refused = await send_again(client, page, action, {"q_q1": "o1", "q_q2": ["o1", "o2", "o3"]})
    assert refused.status_code == 400
    assert_every_form_has_a_token(refused, client)
    assert the_form(refused.text, action)["chosen"]["q_q2"] == ["o1", "o2", "o3"]
    accepted = await send_again(client, refused, action, {"q_q1": "o1", "q_q2": ["o1", "o3"]})
    assert accepted.status_code == 303
    # A double tap on the corrected form counts once.
    again = await send_again(client, refused, action, {"q_q1": "o1", "q_q2": ["o1", "o3"]})
    assert again.status_code in (303, 409)
    assert await votes(db) == 1


async def test_htmx_poll_error_swaps_only_the_form_and_the_fix_is_counted(client, db):
    poll = await make_poll(db, questions=(FRUIT, SPORTS))
    action = f"/p/{poll.slug}"
    htmx = {"HX-Request": "true", "HX-Target": "poll"}
    page = await client.get(f"{action}?lang=en")
    refused = await send_again(
        client, page, action, {"q_q1": "o1", "q_q2": ["o1", "o2", "o3"]}, headers=htmx
    )
    assert refused.status_code == 400
    assert refused.text.lstrip().startswith('<div id="poll"')
    assert "<html" not in refused.text
    assert "site-header" not in refused.text
    assert "Choose at most 2 options." in refused.text
    assert_every_form_has_a_token(refused, client)
    accepted = await send_again(client, refused, action, {"q_q1": "o2", "q_q2": "o3"}, headers=htmx)
    assert accepted.status_code == 200
    assert "Thank you! Your vote was recorded." in accepted.text
    assert await votes(db) == 1


async def test_htmx_poll_with_an_expired_form_swaps_only_the_form(client, db):
    poll = await make_poll(db, questions=(FRUIT, SPORTS))
    action = f"/p/{poll.slug}"
    page = await client.get(f"{action}?lang=sv")
    client.cookies.delete("tori_csrf")
    refused = await send_again(
        client,
        page,
        action,
        {"q_q1": "o2", "q_q2": ["o1"]},
        headers={"HX-Request": "true", "HX-Target": "poll"},
    )
    assert refused.status_code == 403
    assert refused.text.lstrip().startswith('<div id="poll"')
    assert "<html" not in refused.text
    assert expired("sv") in refused.text
    assert_every_form_has_a_token(refused, client)
    assert the_form(refused.text, action)["chosen"] == {"q_q1": ["o2"], "q_q2": ["o1"]}
    assert await votes(db) == 0
    accepted = await send_again(client, refused, action, {"q_q1": "o2", "q_q2": ["o1"]})
    assert accepted.status_code == 303
    assert await votes(db) == 1


async def test_htmx_request_for_an_error_page_replaces_the_whole_page(client, db):
    """An error that is not about the form (the poll is gone) is a whole page: htmx is told to show
    it instead of the page, not inside the poll's box."""
    poll = await make_poll(db)
    page = await client.get(f"/p/{poll.slug}?lang=en")
    form = the_form(page.text, f"/p/{poll.slug}")
    response = await client.post(
        "/p/no-such-poll",
        data={**form["fields"], "q_q1": "o1"},
        headers={"HX-Request": "true", "HX-Target": "poll"},
    )
    assert response.status_code == 404
    assert response.headers["hx-retarget"] == "body"
    assert response.headers["hx-reswap"] == "innerHTML"


async def test_kiosk_form_shown_again_after_an_error_takes_the_next_vote(client, db):
    poll = await make_poll(db, questions=(FRUIT, SPORTS))
    await signed_in_as(client, db, Role.STAFF)
    created = await client.post(
        f"/staff/polls/{poll.id}/kiosks",
        data={"_csrf_token": client.cookies["tori_csrf"], "name": "Sello"},
    )
    link = re.search(r"/kiosk\?t=([\w.-]+)", created.text).group(1)
    await client.get(f"/kiosk?t={link}")
    action = f"/p/{poll.slug}"
    page = await client.get(f"{action}/kiosk?lang=fi")
    refused = await send_again(client, page, action, {"q_q2": ["o1", "o2", "o3"]})
    assert refused.status_code == 400
    assert_every_form_has_a_token(refused, client)
    assert the_form(refused.text, action)["fields"]["channel"] == "kiosk"
    accepted = await send_again(client, refused, action, {"q_q1": "o1", "q_q2": "o2"})
    assert accepted.status_code == 303
    assert accepted.headers["location"] == f"{action}/kiosk?voted=1"
    assert await votes(db) == 1


async def test_a_token_made_for_a_shown_form_passes_the_csrf_middleware(client, db):
    """The residents' forms and Litestar's CSRF middleware share one cookie: a token that
    app/security.py made (the form shown again after its cookie was lost) passes the middleware
    on a route it guards, and the middleware's own token passes app/security.py's check."""
    action, page = await questionnaire_page(client, db)
    client.cookies.delete("tori_csrf")
    refused = await send_again(client, page, action, {"q_satisfaction": "3"})
    assert refused.status_code == 403
    ours = client.cookies.get("tori_csrf")
    assert ours
    guarded = await client.post(
        "/staff/login",
        data={"_csrf_token": ours, "email": "nobody@example.fi", "password": "wrong"},
    )
    assert guarded.status_code == 400  # the sign-in is refused, not the form token
    forged = await client.post(
        "/staff/login",
        data={
            "_csrf_token": ours[:-1] + ("1" if ours.endswith("0") else "0"),
            "email": "nobody@example.fi",
            "password": "x",
        },
    )
    assert forged.status_code == 403
    client.cookies.delete("tori_csrf")
    # A page of a guarded route: the middleware's token (public pages are shared, without one).
    theirs = await client.get("/staff/login?lang=en")
    assert theirs.status_code == 200
    fixed = await client.post(
        action,
        data={
            **the_form(refused.text, action)["fields"],
            "_csrf_token": client.cookies["tori_csrf"],
            "q_satisfaction": "3",
        },
    )
    assert fixed.status_code == 303
    assert await responses(db) == 1
