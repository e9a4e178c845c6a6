"""The pop-up kit: one page per event bundling its questionnaire, its open polls and the idea
forms; a kiosk of the event on a shared tablet answers one person after another with nothing
remembered between them; a phone cannot make itself a kiosk; a form sent again after a lost
answer is thanked, not refused, and stored once."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.audit.models import AuditRecord
from surveys.models import FeedbackResponse
from surveys.polls import services as poll_services
from surveys.polls.models import PollKiosk, PollVote
from tests.factories import make_area, make_event, signed_in_as
from tests.surveys.factories import open_questionnaire
from tests.surveys.polls_factories import make_poll
from tests.voting.factories import make_round

TOKEN = re.compile(r'name="token" value="([^"]+)"')
KIOSK_LINK = re.compile(r"/kiosk\?t=([0-9]+\.[A-Za-z0-9_-]+)")


async def responses(db) -> int:
    return await db.scalar(select(func.count()).select_from(FeedbackResponse))


async def votes(db) -> int:
    return await db.scalar(select(func.count()).select_from(PollVote))


async def pop_up(db, *, is_public: bool = True):
    """An event happening now, with its questionnaire, an open poll and a closed one."""
    event = await make_event(db, starts_in=-dt.timedelta(hours=1), is_public=is_public)
    questionnaire = await open_questionnaire(db, event)
    poll = await make_poll(db, event_id=event.id)
    closed = await make_poll(
        db, event_id=event.id, opens_in=-dt.timedelta(days=3), lasts=dt.timedelta(days=1)
    )
    return event, questionnaire, poll, closed


async def open_kiosk(client, db, event) -> str:
    """Make the client a kiosk of `event`, as staff do on the tablet; the token."""
    _kiosk, token = await poll_services.create_kiosk(db, event, "Stand", None)
    opened = await client.get(f"/kiosk?t={token}")
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/events/{event.id}/kit"
    assert "Path=/;" in opened.headers["set-cookie"] or "Path=/ " in opened.headers["set-cookie"]
    return token


async def answer_on(client, slug: str, *, kiosk: bool, satisfaction: str = "5", lang="en"):
    page = await client.get(f"/f/{slug}{'/kiosk' if kiosk else ''}?lang={lang}")
    assert page.status_code == 200, page.text
    data = {
        "_csrf_token": client.cookies["tori_csrf"],
        "token": TOKEN.search(page.text).group(1),
        "answer_language": lang,
        "q_satisfaction": satisfaction,
    }
    if kiosk:
        data["kiosk"] = "1"
    return page, data, await client.post(f"/f/{slug}", data=data)


# --- the kit page -----------------------------------------------------------------------------


async def test_kit_bundles_the_questionnaire_the_open_polls_and_the_idea_forms(client, db):
    event, questionnaire, poll, closed = await pop_up(db)
    area = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {area.id: 100_000})
    page = await client.get(f"/events/{event.id}/kit?lang=en")
    assert page.status_code == 200
    assert f'href="/f/{questionnaire.slug}"' in page.text
    assert f'href="/p/{poll.slug}?via=qr"' in page.text
    assert f"/p/{closed.slug}" not in page.text
    assert f'href="/pb/{round_.slug}/propose"' in page.text
    # One QR code for all of it: the kit's own address.
    assert f"/events/{event.id}/kit</code>" in page.text
    assert "<svg" in page.text
    qr = await client.get(f"/events/{event.id}/kit/qr.svg")
    assert qr.status_code == 200
    assert qr.headers["content-type"].startswith("image/svg+xml")
    poster = await client.get(f"/events/{event.id}/kit/poster?lang=en")
    assert poster.status_code == 200
    assert "<svg" in poster.text


async def test_kit_of_an_event_with_nothing_open_says_so(client, db):
    event = await make_event(db, starts_in=dt.timedelta(days=5))
    page = await client.get(f"/events/{event.id}/kit?lang=en")
    assert page.status_code == 200
    assert "Nothing is open for answers at this event just now" in page.text


async def test_kit_of_an_internal_event_is_found_only_on_its_kiosk(client, db):
    event, questionnaire, _poll, _closed = await pop_up(db, is_public=False)
    assert (await client.get(f"/events/{event.id}/kit?lang=en")).status_code == 404
    assert (await client.get(f"/events/{event.id}/kit/qr.svg")).status_code == 404
    await open_kiosk(client, db, event)
    page = await client.get(f"/events/{event.id}/kit?lang=en")
    assert page.status_code == 200
    assert f'href="/f/{questionnaire.slug}/kiosk"' in page.text


async def test_kit_on_a_kiosk_opens_kiosk_pages_and_offers_no_sign_in(client, db):
    event, questionnaire, poll, _closed = await pop_up(db)
    area = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {area.id: 100_000})
    await open_kiosk(client, db, event)
    page = await client.get(f"/events/{event.id}/kit?lang=en")
    assert f'href="/f/{questionnaire.slug}/kiosk"' in page.text
    assert f'href="/p/{poll.slug}/kiosk"' in page.text
    # Sending an idea needs signing in, which must not stay behind on a shared tablet.
    assert f"/pb/{round_.slug}/propose" not in page.text
    assert "This tablet is shared" in page.text
    assert page.headers["cache-control"] == "no-store"


# --- the questionnaire on a kiosk ---------------------------------------------------------------


async def test_kiosk_takes_one_person_after_another_and_remembers_none(client, db):
    event, questionnaire, _poll, _closed = await pop_up(db)
    await open_kiosk(client, db, event)
    page, _data, first = await answer_on(client, questionnaire.slug, kiosk=True)
    # The form page: no shared copy, nothing restored by the browser, the kiosk's idle reset.
    assert page.headers["cache-control"] == "no-store"
    assert 'autocomplete="off"' in page.text
    assert f'data-kiosk-url="/events/{event.id}/kit"' in page.text
    assert first.status_code == 303
    assert first.headers["location"] == f"/f/{questionnaire.slug}/kiosk?answered=1"
    assert "tori_answered" not in first.headers.get("set-cookie", "")
    thanks = await client.get(first.headers["location"] + "&lang=en")
    assert thanks.status_code == 200
    assert "Thank you!" in thanks.text
    assert f"url=/events/{event.id}/kit" in thanks.text
    assert thanks.headers["cache-control"] == "no-store"
    # The next person gets a clean form, not "you have already answered".
    page, _data, second = await answer_on(client, questionnaire.slug, kiosk=True, satisfaction="2")
    assert "already answered" not in page.text
    assert "checked" not in page.text
    assert second.status_code == 303
    assert await responses(db) == 2


async def test_kiosk_form_with_an_error_is_shown_again_as_the_kiosk_form(client, db):
    event, questionnaire, _poll, _closed = await pop_up(db)
    await open_kiosk(client, db, event)
    _page, _data, refused = await answer_on(
        client, questionnaire.slug, kiosk=True, satisfaction="9"
    )
    assert refused.status_code == 400
    assert 'name="kiosk" value="1"' in refused.text
    assert await responses(db) == 0


@pytest.mark.parametrize("cookie", [None, "", "1.forged", "abc", "99999.secret", "1." + "x" * 200])
async def test_a_phone_cannot_make_itself_a_kiosk(client, db, cookie):
    """Saying kiosk=1 (or carrying a made-up kiosk cookie) on a phone would answer without the
    device's memory of having answered: refused, nothing stored."""
    _event, questionnaire, _poll, _closed = await pop_up(db)
    if cookie is not None:
        client.cookies.set("tori_kiosk", cookie, path="/")
    assert (await client.get(f"/f/{questionnaire.slug}/kiosk?lang=en")).status_code == 403
    _page, data, _first = await answer_on(client, questionnaire.slug, kiosk=False)
    data["kiosk"] = "1"
    page = await client.get(f"/f/{questionnaire.slug}?lang=en")
    data["token"] = TOKEN.search(page.text).group(1) if TOKEN.search(page.text) else data["token"]
    refused = await client.post(f"/f/{questionnaire.slug}", data=data)
    assert refused.status_code == 403
    assert await responses(db) == 1  # the phone's own first answer only


async def test_a_kiosk_of_another_event_a_poll_kiosk_or_a_revoked_one_is_refused(client, db):
    event, questionnaire, poll, _closed = await pop_up(db)
    other = await make_event(db, starts_in=-dt.timedelta(hours=1))
    _kiosk, other_token = await poll_services.create_kiosk(db, other, "Elsewhere", None)
    _kiosk, poll_token = await poll_services.create_kiosk(db, poll, "Poll only", None)
    kiosk, token = await poll_services.create_kiosk(db, event, "Stand", None)
    await poll_services.revoke_kiosk(db, kiosk.id, event_id=event.id)
    page = await client.get(f"/f/{questionnaire.slug}?lang=en")
    for cookie in (other_token, poll_token, token):
        client.cookies.set("tori_kiosk", cookie, path="/")
        assert (await client.get(f"/f/{questionnaire.slug}/kiosk")).status_code == 403
        refused = await client.post(
            f"/f/{questionnaire.slug}",
            data={
                "_csrf_token": client.cookies["tori_csrf"],
                "token": TOKEN.search(page.text).group(1),
                "answer_language": "en",
                "q_satisfaction": "4",
                "kiosk": "1",
            },
        )
        assert refused.status_code == 403, cookie
    assert await responses(db) == 0


async def test_an_event_kiosk_votes_in_the_events_polls_only(client, db):
    event, _questionnaire, poll, _closed = await pop_up(db)
    elsewhere = await make_poll(db)
    await open_kiosk(client, db, event)
    for slug, status in ((poll.slug, 303), (poll.slug, 303), (elsewhere.slug, 403)):
        page = await client.get(f"/p/{slug}?lang=en")
        response = await client.post(
            f"/p/{slug}",
            data={
                "_csrf_token": client.cookies["tori_csrf"],
                "token": TOKEN.search(page.text).group(1),
                "answer_language": "en",
                "channel": "kiosk",
                "q_q1": "o1",
            },
        )
        assert response.status_code == status, slug
    assert await votes(db) == 2
    assert (await client.get(f"/p/{poll.slug}/kiosk?lang=en")).status_code == 200
    assert (await client.get(f"/p/{elsewhere.slug}/kiosk?lang=en")).status_code == 403
    thanks = await client.get(f"/p/{poll.slug}/kiosk?voted=1&lang=en")
    assert f'data-kiosk-url="/events/{event.id}/kit"' in thanks.text


# --- a form sent again after its answer was lost ---------------------------------------------


@pytest.mark.parametrize("kiosk", [False, True], ids=["phone", "kiosk"])
async def test_a_form_sent_again_after_a_lost_answer_is_thanked_and_stored_once(client, db, kiosk):
    """The first POST's answer never reaches the phone (no cookie, no page): the resident sends
    the same form again; the one-use token makes it the same answer, thanked, stored once."""
    event, questionnaire, _poll, _closed = await pop_up(db)
    if kiosk:
        await open_kiosk(client, db, event)
    _page, data, first = await answer_on(client, questionnaire.slug, kiosk=kiosk)
    client.cookies.delete("tori_answered")  # the lost answer's cookie never arrived
    second = await client.post(f"/f/{questionnaire.slug}", data=data)
    assert first.status_code == second.status_code == 303
    assert second.headers["location"] == first.headers["location"]
    thanks = await client.get(second.headers["location"])
    assert thanks.status_code == 200
    assert "Thank you!" in thanks.text
    assert await responses(db) == 1


# --- staff -----------------------------------------------------------------------------------


async def test_staff_make_and_revoke_an_event_kiosk_and_the_audit_log_says_so(client, db):
    event, _questionnaire, _poll, _closed = await pop_up(db)
    await signed_in_as(client, db, Role.STAFF)
    page = await client.get(f"/staff/events/{event.id}/kit?lang=en")
    assert page.status_code == 200
    assert f"/events/{event.id}/kit" in page.text
    made = await client.post(
        f"/staff/events/{event.id}/kit/kiosks",
        data={"_csrf_token": client.cookies["tori_csrf"], "name": "Library stand"},
    )
    assert made.status_code == 200
    token = KIOSK_LINK.search(made.text).group(1)
    kiosk = await db.scalar(select(PollKiosk).where(PollKiosk.event_id == event.id))
    assert kiosk.poll_id is None
    assert kiosk.area_id == event.area_id
    assert token.split(".", 1)[1] not in str(kiosk.secret_hash)
    actions = list(await db.scalars(select(AuditRecord.action)))
    assert "kiosk.create" in actions
    revoked = await client.post(
        f"/staff/events/{event.id}/kit/kiosks/{kiosk.id}/revoke",
        data={"_csrf_token": client.cookies["tori_csrf"]},
    )
    assert revoked.status_code == 303
    assert "kiosk.revoke" in list(await db.scalars(select(AuditRecord.action)))
    assert (await client.get(f"/kiosk?t={token}")).status_code == 403


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
async def test_a_kiosk_without_a_proper_name_is_refused_and_nothing_is_stored(client, db, name):
    event = await make_event(db)
    await signed_in_as(client, db, Role.STAFF)
    await client.get(f"/staff/events/{event.id}/kit?lang=en")
    refused = await client.post(
        f"/staff/events/{event.id}/kit/kiosks",
        data={"_csrf_token": client.cookies["tori_csrf"], "name": name, "area_id": "nope"},
    )
    assert refused.status_code == 400
    assert "/kiosk?t=" not in refused.text
    assert await db.scalar(select(func.count()).select_from(PollKiosk)) == 0


async def test_kiosk_form_sent_by_htmx_goes_to_the_thanks_as_a_page_of_its_own(client, db):
    """With htmx the kiosk's answers leave no POST in the tablet's history: an error is swapped
    in place, and the thank-you page is opened by HX-Redirect."""
    event, questionnaire, _poll, _closed = await pop_up(db)
    await open_kiosk(client, db, event)
    page = await client.get(f"/f/{questionnaire.slug}/kiosk?lang=en")
    assert f'data-hx-post="/f/{questionnaire.slug}"' in page.text
    data = {
        "_csrf_token": client.cookies["tori_csrf"],
        "token": TOKEN.search(page.text).group(1),
        "answer_language": "en",
        "kiosk": "1",
    }
    htmx = {"HX-Request": "true"}
    refused = await client.post(f"/f/{questionnaire.slug}", data=data, headers=htmx)
    assert refused.status_code == 400
    assert 'name="kiosk" value="1"' in refused.text
    data["q_satisfaction"] = "3"
    taken = await client.post(f"/f/{questionnaire.slug}", data=data, headers=htmx)
    assert taken.status_code == 200
    assert taken.headers["hx-redirect"] == f"/f/{questionnaire.slug}/kiosk?answered=1"
    assert "tori_answered" not in taken.headers.get("set-cookie", "")
    assert await responses(db) == 1
