"""Quick polls on PostgreSQL: one tap, one vote per device, kiosks, bad input stores nothing."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import re

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from app.accounts.models import Role
from app.database import utcnow
from app.qr import qr_svg
from app.settings import Settings
from app.web import create_app
from surveys.polls import services
from surveys.polls.live import PollNotifier
from surveys.polls.models import Poll, PollChoice, PollKiosk, PollVote
from tests.conftest import csrf_token
from tests.factories import make_area, signed_in_as
from tests.surveys.polls_factories import FRUIT, SPORTS, make_poll

TOKEN = re.compile(r'name="token" value="([^"]+)"')


async def vote(client, slug, answers, *, lang="en", token=None, extra=None, headers=None):
    page = await client.get(f"/p/{slug}?lang={lang}")
    found = TOKEN.search(page.text)
    data = {
        # A page without a form (a closed poll) sets no token cookie: a browser's from elsewhere.
        "_csrf_token": client.cookies.get("tori_csrf") or await csrf_token(client),
        "token": token or (found.group(1) if found else ""),
        "answer_language": lang,
        "channel": "qr",
        **answers,
    }
    data.update(extra or {})
    return await client.post(f"/p/{slug}", data=data, headers=headers or {})


async def votes(db) -> int:
    return await db.scalar(select(func.count()).select_from(PollVote))


async def choices(db) -> int:
    return await db.scalar(select(func.count()).select_from(PollChoice))


@pytest.mark.parametrize(
    ("lang", "thanks"),
    [
        ("fi", "Kiitos! Äänesi on tallennettu."),
        ("sv", "Tack! Din röst har sparats."),
        ("en", "Thank you! Your vote was recorded."),
    ],
)
async def test_one_tap_records_an_anonymous_vote_in_each_language(client, db, lang, thanks):
    area = await make_area(db, "Tapiola")
    poll = await make_poll(db)
    response = await vote(
        client, poll.slug, {"q_q1": "o2"}, lang=lang, extra={"area": str(area.id)}
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/p/{poll.slug}/thanks"
    page = await client.get(response.headers["location"])
    assert thanks in page.text
    row = await db.scalar(select(PollVote))
    assert (row.channel, row.language, row.area_id, row.voted_on) == (
        "qr",
        lang,
        area.id,
        row.voted_on,
    )
    assert abs((row.voted_on - utcnow().date()).days) <= 1
    # Nothing that could identify the person: no address, no browser, no exact time.
    assert set(PollVote.__table__.columns.keys()) == {
        "id",
        "poll_id",
        "token",
        "channel",
        "area_id",
        "language",
        "voted_on",
    }
    results = await services.poll_results(db, await services.get_poll(db, poll.id))
    assert results.votes == 1
    assert [(o.key, o.count) for o in results.questions[0].options] == [("o1", 0), ("o2", 1)]
    assert results.by_channel == {"qr": 1}


async def test_htmx_vote_swaps_in_the_thanks_without_a_reload(client, db):
    poll = await make_poll(db)
    response = await vote(client, poll.slug, {"q_q1": "o1"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="poll"')
    assert "Thank you! Your vote was recorded." in response.text
    assert "<html" not in response.text
    assert response.headers["hx-push-url"] == f"/p/{poll.slug}/thanks"
    assert "tori_voted=" in response.headers["set-cookie"]
    assert await votes(db) == 1


async def test_a_device_votes_once_and_a_double_tap_counts_once(client, db):
    poll = await make_poll(db)
    page = await client.get(f"/p/{poll.slug}?lang=en")
    token = TOKEN.search(page.text).group(1)
    data = {
        "_csrf_token": client.cookies["tori_csrf"],
        "token": token,
        "answer_language": "en",
        "q_q1": "o1",
    }
    first = await client.post(f"/p/{poll.slug}", data=data)
    # The second tap left before the first one's answer (and its cookie) came back.
    client.cookies.delete("tori_voted")
    second = await client.post(f"/p/{poll.slug}", data=data)
    assert (first.status_code, second.status_code) == (303, 303)
    assert second.headers["location"] == f"/p/{poll.slug}/thanks"
    assert await votes(db) == 1
    assert await choices(db) == 2  # the answer and the voter count
    # The same device again, with a new form: refused kindly.
    again = await vote(client, poll.slug, {"q_q1": "o2"})
    assert again.status_code == 409
    assert "You have already voted in this poll. Thank you!" in again.text
    assert "already voted" in (await client.get(f"/p/{poll.slug}?lang=en")).text
    assert await votes(db) == 1


async def test_200_concurrent_casts_of_one_token_store_one_vote(db, database):
    """200 submissions of one form at once, on 40 connections: exactly one vote is recorded."""
    from app.database import Database

    poll = await make_poll(db)
    token = services.new_vote_token("s", poll.slug)
    crowd = Database(database.url, pool_size=20)

    async def cast_once() -> str:
        async with crowd.write_connection() as connection:
            voting = await services.voting_poll(connection, poll.slug)
            ballot = services.PollBallot(
                poll=voting,
                token=token,
                channel="qr",
                language="fi",
                voted_on=utcnow().date(),
                rows=[("__responses__", ""), ("q1", "o1")],
            )
            return await services.cast_vote(connection, ballot)

    try:
        outcomes = await asyncio.gather(*(cast_once() for _ in range(200)))
    finally:
        await crowd.dispose()
    assert sorted(outcomes) == ["duplicate"] * 199 + ["stored"]
    assert await votes(db) == 1
    assert await choices(db) == 2


async def test_forged_or_foreign_voted_cookie_neither_blocks_nor_breaks(client, db):
    poll = await make_poll(db)
    client.cookies.set("tori_voted", "MQ.forgedmac", path="/p")
    assert "already voted" not in (await client.get(f"/p/{poll.slug}?lang=en")).text
    response = await vote(client, poll.slug, {"q_q1": "o1"})
    assert response.status_code == 303
    assert await votes(db) == 1


async def test_multiple_choice_with_a_maximum_and_three_questions(client, db):
    poll = await make_poll(db, questions=(FRUIT, SPORTS))
    too_many = await vote(client, poll.slug, {"q_q1": "o1", "q_q2": ["o1", "o2", "o3"]})
    assert too_many.status_code == 400
    assert "Choose at most 2 options." in too_many.text
    # The choices already made are kept on the page shown again.
    assert re.search(r'value="o1" checked', too_many.text)
    assert await votes(db) == 0
    response = await vote(client, poll.slug, {"q_q1": "o1", "q_q2": ["o3", "o1"]})
    assert response.status_code == 303
    results = await services.poll_results(db, await services.get_poll(db, poll.id))
    sports = results.questions[1]
    assert sports.respondents == 1
    assert {o.key: o.count for o in sports.options} == {"o1": 1, "o2": 0, "o3": 1}


@pytest.mark.parametrize(
    ("answers", "extra", "message"),
    [
        ({"q_q1": "o9"}, {}, "Choose from the options shown."),
        ({"q_q1": ["o1", "o2"]}, {}, "Choose only one option."),
        ({}, {}, "Please answer this question."),
        ({"q_q1": "<script>alert(1)</script>"}, {}, "Choose from the options shown."),
        ({"q_q1": "o1", "q_q2": "o1"}, {}, "questions that are not in this"),
        ({"q_q1": "o1"}, {"token": "forged.token"}, "The form was not recognised."),
        ({"q_q1": "o1"}, {"token": "a" * 5000}, "The form was not recognised."),
        ({"q_q1": "o1"}, {"answer_language": "de"}, "language of the answers was not recognised"),
    ],
)
async def test_bad_votes_get_a_clear_message_and_store_nothing(client, db, answers, extra, message):
    poll = await make_poll(db)
    response = await vote(client, poll.slug, answers, extra=extra)
    assert response.status_code == 400
    assert message in response.text
    assert "<script>alert(1)</script>" not in response.text
    assert await votes(db) == 0
    assert await choices(db) == 0


async def test_token_of_another_poll_is_refused(client, db):
    poll, other = await make_poll(db), await make_poll(db)
    page = await client.get(f"/p/{other.slug}?lang=en")
    response = await vote(client, poll.slug, {"q_q1": "o1"}, token=TOKEN.search(page.text).group(1))
    assert response.status_code == 400
    assert await votes(db) == 0


async def test_errors_are_in_the_residents_language(client, db):
    poll = await make_poll(db)
    response = await vote(client, poll.slug, {"q_q1": "o9"}, lang="sv")
    assert response.status_code == 400
    assert "Välj bland alternativen som visas." in response.text
    assert "Din röst sparades inte" in response.text


@pytest.mark.parametrize(
    ("opens_in", "lasts"),
    [(dt.timedelta(hours=1), dt.timedelta(days=1)), (-dt.timedelta(days=2), dt.timedelta(days=1))],
    ids=["future", "closed"],
)
async def test_closed_and_future_polls_take_no_votes(client, db, opens_in, lasts):
    poll = await make_poll(db, opens_in=opens_in, lasts=lasts)
    page = await client.get(f"/p/{poll.slug}?lang=en")
    assert '<form method="post" action="/p/' not in page.text
    assert ("opens on" in page.text) or ("has closed" in page.text)
    response = await vote(
        client, poll.slug, {"q_q1": "o1"}, token=services.new_vote_token("x", poll.slug)
    )
    assert response.status_code == 400
    # A genuine token for this poll, as if the page had been loaded while it was open.
    from tests.conftest import TEST_SECRET

    response = await vote(
        client, poll.slug, {"q_q1": "o1"}, token=services.new_vote_token(TEST_SECRET, poll.slug)
    )
    assert response.status_code == 400
    assert "This poll is not open for votes." in response.text
    assert await votes(db) == 0


async def test_poll_closed_after_the_page_was_cached_takes_no_vote(client, db, database):
    poll = await make_poll(db)
    page = await client.get(f"/p/{poll.slug}?lang=en")
    token = TOKEN.search(page.text).group(1)
    async with database.engine.connect() as connection:
        cached = await services.voting_poll(connection, poll.slug)
    assert services.poll_status(cached) == "open"
    # Staff close the poll now. Another process's cached copy would still say open (put back here
    # by hand), but the storing statement checks the poll's revision and times itself.
    await services.close_poll_now(db, await services.get_poll(db, poll.id))
    services._voting_polls[poll.slug] = cached
    response = await vote(client, poll.slug, {"q_q1": "o1"}, token=token)
    assert response.status_code == 400
    assert "This poll is not open for votes." in response.text
    assert await votes(db) == 0


async def test_unknown_poll_is_a_404_page(client, db):
    response = await client.get("/p/nosuch?lang=en")
    assert response.status_code == 404
    response = await client.post(
        "/p/nosuch", data={"_csrf_token": await csrf_token(client), "q_q1": "o1"}
    )
    assert response.status_code == 404
    response = await client.get("/p/" + "x" * 300)
    assert response.status_code == 404


async def test_missing_csrf_token_is_refused(client, db):
    poll = await make_poll(db)
    page = await client.get(f"/p/{poll.slug}?lang=en")
    response = await client.post(
        f"/p/{poll.slug}",
        data={"token": TOKEN.search(page.text).group(1), "answer_language": "en", "q_q1": "o1"},
    )
    assert response.status_code == 403
    assert "<html" in response.text
    assert await votes(db) == 0


async def test_bursts_from_one_address_are_limited(settings, db):
    app = create_app(Settings(**{**settings.__dict__, "votes_per_address": 2}))
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        client.follow_redirects = False
        poll = await make_poll(db)
        statuses = []
        for _ in range(3):
            client.cookies.delete("tori_voted")
            statuses.append((await vote(client, poll.slug, {"q_q1": "o1"})).status_code)
        assert statuses == [303, 303, 429]
        third = await vote(client, poll.slug, {"q_q1": "o1"})
        assert "Too many votes are coming from your network" in third.text
    assert await votes(db) == 2


async def test_area_and_channel_of_a_poster_link(client, db):
    area = await make_area(db, "Espoonlahti")
    poll = await make_poll(db)
    page = await client.get(f"/p/{poll.slug}?via=qr&area={area.id}&lang=en")
    assert 'name="channel" value="qr"' in page.text
    assert f'name="area" value="{area.id}"' in page.text
    link = await client.get(f"/p/{poll.slug}?lang=en")
    assert 'name="channel" value="link"' in link.text
    # An unknown area is simply not recorded.
    await vote(client, poll.slug, {"q_q1": "o1"}, extra={"area": "999999"})
    assert (await db.scalar(select(PollVote))).area_id is None


# --- results and their visibility -------------------------------------------------------------


async def test_results_after_close_are_hidden_while_open(client, db):
    poll = await make_poll(db, visibility="after_close")
    response = await vote(client, poll.slug, {"q_q1": "o1"})
    thanks = await client.get(response.headers["location"])
    assert "The results will be published when the poll closes." in thanks.text
    assert "1 vote" not in thanks.text
    hidden = await client.get(f"/p/{poll.slug}/results?lang=en")
    assert hidden.status_code == 403
    assert "Apple" not in hidden.text
    assert (await client.get(f"/p/{poll.slug}/live")).status_code == 204
    await services.close_poll_now(db, await services.get_poll(db, poll.id))
    shown = await client.get(f"/p/{poll.slug}/results?lang=en")
    assert shown.status_code == 200
    assert "1 vote" in shown.text
    assert "100" in shown.text


async def test_staff_only_results_are_never_public(client, db):
    poll = await make_poll(db, visibility="staff", opens_in=-dt.timedelta(days=3))
    assert (await client.get(f"/p/{poll.slug}/results?lang=en")).status_code == 403
    await signed_in_as(client, db, Role.AUDITOR)
    page = await client.get(f"/staff/polls/{poll.id}")
    assert page.status_code == 200


# --- kiosks ---------------------------------------------------------------------------------


async def test_kiosk_collects_votes_until_revoked(client, db):
    area = await make_area(db, "Leppävaara")
    poll = await make_poll(db)
    await signed_in_as(client, db, Role.STAFF)
    response = await client.post(
        f"/staff/polls/{poll.id}/kiosks",
        data={
            "_csrf_token": client.cookies["tori_csrf"],
            "name": "Sello library",
            "area_id": str(area.id),
        },
    )
    assert response.status_code == 200
    link = re.search(r"/kiosk\?t=([\w.-]+)", response.text)
    assert link, "the kiosk link is shown once"
    kiosk = await db.scalar(select(PollKiosk))
    assert link.group(1).split(".")[1] not in kiosk.secret_hash  # only a hash is stored
    # The tablet opens the link; the token moves into a cookie.
    # The same client stands for the tablet: staff cookies do not change how a kiosk votes.
    tablet = client
    opened = await tablet.get(f"/kiosk?t={link.group(1)}")
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/p/{poll.slug}/kiosk"
    for answer in ("o1", "o2"):
        page = await tablet.get(f"/p/{poll.slug}/kiosk?lang=en")
        assert 'name="channel" value="kiosk"' in page.text
        sent = await tablet.post(
            f"/p/{poll.slug}",
            data={
                "_csrf_token": tablet.cookies["tori_csrf"],
                "token": TOKEN.search(page.text).group(1),
                "answer_language": "en",
                "channel": "kiosk",
                "q_q1": answer,
            },
        )
        assert sent.status_code == 303
        assert sent.headers["location"] == f"/p/{poll.slug}/kiosk?voted=1"
        assert "tori_voted" not in sent.headers.get("set-cookie", "")
    thanks = await tablet.get(f"/p/{poll.slug}/kiosk?voted=1&lang=en")
    assert "data-kiosk-reset" in thanks.text
    rows = (await db.execute(select(PollVote.channel, PollVote.area_id))).all()
    assert rows == [("kiosk", area.id), ("kiosk", area.id)]
    # Staff revoke the kiosk: its next vote is refused and nothing is stored.
    page = await tablet.get(f"/p/{poll.slug}/kiosk?lang=en")
    revoke = await client.post(
        f"/staff/polls/{poll.id}/kiosks/{kiosk.id}/revoke",
        data={"_csrf_token": client.cookies["tori_csrf"]},
    )
    assert revoke.status_code == 303
    refused = await tablet.post(
        f"/p/{poll.slug}",
        data={
            "_csrf_token": tablet.cookies["tori_csrf"],
            "token": TOKEN.search(page.text).group(1),
            "answer_language": "en",
            "channel": "kiosk",
            "q_q1": "o1",
        },
    )
    assert refused.status_code == 403
    assert "no longer allowed to collect votes" in refused.text
    assert (await tablet.get(f"/p/{poll.slug}/kiosk?lang=en")).status_code == 403
    assert (await tablet.get(f"/kiosk?t={link.group(1)}")).status_code == 403
    assert await votes(db) == 2


@pytest.mark.parametrize("cookie", ["", "1.forged", "abc", "99999.secret", "1." + "x" * 200])
async def test_forged_kiosk_tokens_are_refused(client, db, cookie):
    poll = await make_poll(db)
    assert (await client.get(f"/kiosk?t={cookie}&lang=en")).status_code == 403
    client.cookies.set("tori_kiosk", cookie, path="/p")
    response = await vote(client, poll.slug, {"q_q1": "o1"}, extra={"channel": "kiosk"})
    assert response.status_code == 403
    assert await votes(db) == 0


# --- staff ----------------------------------------------------------------------------------


def poll_form(client, **changes):
    data = {
        "_csrf_token": client.cookies["tori_csrf"],
        "title_fi": "Kirjaston aukioloajat",
        "title_en": "Library opening hours",
        "q1_type": "single",
        "q1_text_fi": "Mikä aika?",
        "q1_text_en": "Which time?",
        "q1_options_fi": "Aamu\nIlta",
        "q1_options_en": "Morning\nEvening",
        "q2_type": "yes_no",
        "q2_text_fi": "Käytkö kirjastossa?",
        "q2_text_en": "Do you visit the library?",
        "q3_type": "",
        "opens_date": "2026-01-01",
        "opens_time": "9.00",
        "closes_date": "2099-01-01",
        "closes_time": "9.00",
        "visibility": "immediate",
    }
    data.update(changes)
    return data


async def test_staff_create_and_edit_a_poll(client, db):
    await signed_in_as(client, db, Role.STAFF)
    response = await client.post("/staff/polls/new", data=poll_form(client))
    assert response.status_code == 303, response.text
    poll = await db.scalar(select(Poll))
    assert poll.languages == ["fi", "en"]
    assert [q["type"] for q in poll.questions] == ["single", "yes_no"]
    assert poll.questions[0]["options"][1]["label"] == {"fi": "Ilta", "en": "Evening"}
    page = await client.get(response.headers["location"])
    assert f"/p/{poll.slug}" in page.text
    home = await client.get("/?lang=en")
    assert "Library opening hours" in home.text
    # Wording can change before votes, not after.
    edited = await client.post(
        f"/staff/polls/{poll.id}/edit", data=poll_form(client, q1_text_en="Which hour?")
    )
    assert edited.status_code == 303
    await vote(client, poll.slug, {"q_q1": "o1", "q_q2": "no"})
    locked = await client.post(
        f"/staff/polls/{poll.id}/edit", data=poll_form(client, q1_text_en="Which minute?")
    )
    assert locked.status_code == 400
    assert "cannot be changed after the first vote" in locked.text
    later = await client.post(
        f"/staff/polls/{poll.id}/edit",
        data=poll_form(client, q1_text_en="Which hour?", visibility="staff"),
    )
    assert later.status_code == 303
    await db.refresh(poll)
    assert poll.visibility == "staff"
    assert poll.questions[0]["text"]["en"] == "Which hour?"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title_fi": "", "title_en": ""}, "at least one language"),
        ({"q1_options_fi": "Vain yksi", "q1_options_en": "Only one"}, "at least two options"),
        ({"q1_options_en": "Morning"}, "same number of options"),
        ({"q1_type": "long_text"}, "Choose one of the options."),
        ({"q1_text_en": ""}, "every question and option in each language"),
        ({"closes_date": "2025-01-01"}, "closing time must be after"),
        ({"title_fi": "x" * 201}, "at most 200"),
        ({"q1_text_fi": "ok\x00"}, "control characters"),
        ({"visibility": "everyone"}, "Choose one of the options."),
        ({"opens_date": "2026-13-45"}, ""),
    ],
)
async def test_bad_poll_forms_are_refused_and_store_nothing(client, db, changes, message):
    await signed_in_as(client, db, Role.STAFF)
    response = await client.post("/staff/polls/new", data=poll_form(client, **changes))
    assert response.status_code == 400
    assert message in response.text
    assert await db.scalar(select(func.count()).select_from(Poll)) == 0


async def test_staff_routes_are_guarded(client, db):
    poll = await make_poll(db)
    for path in ("/staff/polls", f"/staff/polls/{poll.id}", f"/staff/polls/{poll.id}/results.csv"):
        response = await client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/staff/login")
    await signed_in_as(client, db, Role.AUDITOR)
    assert (await client.get(f"/staff/polls/{poll.id}")).status_code == 200
    for path in (
        "/staff/polls/new",
        f"/staff/polls/{poll.id}/close",
        f"/staff/polls/{poll.id}/kiosks",
    ):
        response = await client.post(path, data={"_csrf_token": client.cookies["tori_csrf"]})
        assert response.status_code == 403
    assert await db.scalar(select(func.count()).select_from(PollKiosk)) == 0


async def test_results_csv_counts_by_option_channel_and_area(client, db):
    area = await make_area(db, "Matinkylä")
    poll = await make_poll(db)
    await vote(client, poll.slug, {"q_q1": "o1"}, extra={"area": str(area.id)})
    client.cookies.delete("tori_voted")
    await vote(client, poll.slug, {"q_q1": "o1"}, extra={"channel": "link"})
    await signed_in_as(client, db, Role.STAFF)
    response = await client.get(f"/staff/polls/{poll.id}/results.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == [
        "Question",
        "Question key",
        "Option",
        "Option key",
        "Channel",
        "Channel key",
        "Area",
        "Votes",
    ]
    assert ["Which fruit?", "q1", "Apple", "o1", "QR code", "qr", "Matinkylä", "1"] in rows
    assert ["Which fruit?", "q1", "Apple", "o1", "Link", "link", "", "1"] in rows
    assert sum(int(row[-1]) for row in rows[1:]) == 2
    # In Finnish the channel is written in Finnish beside its stable key.
    finnish = await client.get(f"/staff/polls/{poll.id}/results.csv?lang=fi")
    finnish_rows = list(csv.reader(io.StringIO(finnish.text)))
    assert [row[4:6] for row in finnish_rows[1:]] == [["QR-koodi", "qr"], ["Linkki", "link"]]
    page = await client.get(f"/staff/polls/{poll.id}?lang=en")
    assert "Votes by channel and area" in page.text


async def test_poster_and_qr_code(client, db):
    poll = await make_poll(db)
    qr = await client.get(f"/p/{poll.slug}/qr.svg")
    assert qr.status_code == 200
    assert qr.headers["content-type"].startswith("image/svg+xml")
    assert "<svg" in qr.text
    poster = await client.get(f"/p/{poll.slug}/poster")
    assert poster.status_code == 200
    for text in (
        "Kysely",
        "vastaa yhdellä napautuksella",
        "svara med ett tryck",
        "answer with one tap",
    ):
        assert text in poster.text


async def test_poster_shows_the_title_in_each_language_whatever_the_staff_language(client, db):
    poll = await make_poll(db)
    for interface in ("fi", "sv", "en"):
        poster = await client.get(f"/p/{poll.slug}/poster?lang={interface}")
        heading = poster.text[poster.text.index("<h1>") : poster.text.index("</h1>")]
        for code, title in (("fi", "Kysely"), ("sv", "Enkät"), ("en", "Poll")):
            assert f'lang="{code}">{title}</span>' in heading, (interface, heading)


def test_qr_code_scales_from_its_centre_when_drawn_larger():
    """Without a viewBox, CSS that draws the code at 120 mm leaves the drawing at its own size in
    the top left corner: the poster's code sat off centre."""
    svg = qr_svg("https://tori.example/p/abcdef?via=qr")
    size = re.search(r'<svg [^>]*width="(\d+)" height="(\d+)"', svg)
    view = re.search(r'viewBox="0 0 (\d+) (\d+)"', svg)
    assert size
    assert view
    assert view.groups() == size.groups()


# --- live results across processes ----------------------------------------------------------


async def test_live_notice_reaches_another_process_through_postgresql(database, db):
    """Two notifiers with their own connections stand for two workers."""
    from app.database import Database

    other = Database(str(database.engine.url.render_as_string(hide_password=False)))
    sender, receiver = PollNotifier(database), PollNotifier(other)
    try:
        async with receiver.subscription(42) as queue:
            await asyncio.wait_for(receiver.listening.wait(), timeout=10)
            while not queue.empty():
                queue.get_nowait()
            sender.changed(42)
            sender.changed(42)  # coalesced with the first
            await asyncio.wait_for(queue.get(), timeout=10)
            async with receiver.subscription(7) as unrelated:
                sender.changed(42)
                await asyncio.wait_for(queue.get(), timeout=10)
                assert unrelated.empty()
    finally:
        await sender.close()
        await receiver.close()
        await other.dispose()


async def test_live_stream_sends_updates(db, database):
    poll = await make_poll(db)
    notifier = PollNotifier(database)
    from surveys.polls.live import live_updates

    stream = live_updates(notifier, poll.id, lifetime=5)
    first = await anext(stream)
    assert first.retry == 5000
    await asyncio.wait_for(notifier.listening.wait(), timeout=10)
    notifier.changed(poll.id)
    update = await asyncio.wait_for(anext(stream), timeout=10)
    assert (update.event, update.data) == ("update", str(poll.id))
    await stream.aclose()
    assert poll.id not in notifier.subscribers
    await notifier.close()


async def test_vote_redirect_carries_the_security_headers(client, db):
    poll = await make_poll(db)
    response = await vote(client, poll.slug, {"q_q1": "o1"})
    assert response.status_code == 303
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("token", ["forged", "a" * 64 + "b" * 64, ""])
async def test_forged_csrf_tokens_are_refused(client, db, token):
    poll = await make_poll(db)
    response = await vote(client, poll.slug, {"q_q1": "o1"}, extra={"_csrf_token": token})
    assert response.status_code == 403
    assert await votes(db) == 0


async def test_a_refused_vote_is_counted_once_by_the_rate_limit(settings, db):
    """A refused vote counts once against the per-address limit, not once per check."""
    app = create_app(Settings(**{**settings.__dict__, "votes_per_address": 3}))
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        client.follow_redirects = False
        poll = await make_poll(db)
        assert (await vote(client, poll.slug, {"q_q1": "o1"})).status_code == 303
        client.cookies.delete("tori_voted")
        assert (await vote(client, poll.slug, {"q_q1": "o9"})).status_code == 400
        assert (await vote(client, poll.slug, {"q_q1": "o2"})).status_code == 303
        client.cookies.delete("tori_voted")
        assert (await vote(client, poll.slug, {"q_q1": "o2"})).status_code == 429
    assert await votes(db) == 2


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "This field is required."),
        ({"name": "x" * 101}, "at most 100"),
        ({"name": "Sello\x00"}, "control characters"),
        ({"name": "Sello", "area_id": "999999"}, "Choose one of the options."),
    ],
)
async def test_bad_kiosk_forms_are_refused_and_store_nothing(client, db, fields, message):
    poll = await make_poll(db)
    await signed_in_as(client, db, Role.STAFF)
    response = await client.post(
        f"/staff/polls/{poll.id}/kiosks",
        data={"_csrf_token": client.cookies["tori_csrf"], **fields},
    )
    assert response.status_code == 400
    assert message in response.text
    assert "/kiosk?t=" not in response.text
    assert await db.scalar(select(func.count()).select_from(PollKiosk)) == 0
