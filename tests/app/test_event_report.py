"""An event's public card ("you said – we did"): figures, the feedback summary withheld under 5
answers and never any free text, the ideas gathered there as the public may see them, and the
staff's reply with its rules (fi and sv to publish, a length cap, escaping, an audit record)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from app.accounts.models import Role
from app.audit import AuditRecord
from app.database import utcnow
from app.events.models import EventReply
from tests.conftest import csrf_token
from tests.factories import make_area, make_event, signed_in_as
from tests.surveys.factories import answer, open_questionnaire
from tests.voting.factories import add_proposal, make_round

SECRET_COMMENT = "Naapurin nimi ja puhelinnumero 040 123"


async def close(db, form):
    form.closes_at = utcnow() - dt.timedelta(minutes=1)
    await db.commit()


async def reopen(db, form):
    form.closes_at = utcnow() + dt.timedelta(days=1)
    await db.commit()


async def held_event(db, **changes):
    area = await make_area(db, "Kallio")
    event = await make_event(db, area=area, starts_in=-dt.timedelta(days=2), **changes)
    event.participant_count, event.visitor_count = 40, 12
    await db.commit()
    return event


async def test_the_card_withholds_fewer_than_five_answers_and_never_shows_free_text(client, db):
    event = await held_event(db)
    form = await open_questionnaire(db, event)
    for score in (5, 4, 4):
        assert await answer(db, form, {"satisfaction": score, "comment": SECRET_COMMENT})
    await close(db, form)
    page = await client.get(f"/events/{event.id}/report?lang=en")
    assert page.status_code == 200
    assert "3 participants answered the feedback questionnaire." in page.text
    assert "Fewer than 5 people answered" in page.text
    assert "on a scale of 1 to 5" not in page.text
    assert SECRET_COMMENT not in page.text

    await reopen(db, form)
    for score in (4, 3):
        assert await answer(
            db, form, {"satisfaction": score, "again": "yes", "comment": SECRET_COMMENT}
        )
    # While the questionnaire is open, no figure that moves with each answer is shown.
    page = await client.get(f"/events/{event.id}/report?lang=en")
    assert "The questionnaire is open until" in page.text
    assert "on a scale of 1 to 5" not in page.text
    await close(db, form)
    page = await client.get(f"/events/{event.id}/report?lang=en")
    assert "5 participants answered" in page.text
    assert "Fewer than 5 people answered" not in page.text
    assert "4,0 on a scale of 1 to 5" in page.text  # (5 + 4 + 4 + 4 + 3) / 5
    # Only two answered "again": too few for a share of their own, though five answered.
    assert "answered yes" not in page.text
    assert SECRET_COMMENT not in page.text
    assert "40" in page.text
    assert "12" in page.text


async def test_the_card_lists_only_the_ideas_the_public_may_see(client, db):
    event = await held_event(db)
    round_ = await make_round(db, "ideas", {None: 100_000})
    shown = await add_proposal(db, round_, None, "Penkkejä puistoon", 5000, status="submitted")
    waiting = await add_proposal(
        db, round_, None, "Odottaa tarkistusta", 5000, status="submitted", moderation="pending"
    )
    hidden = await add_proposal(
        db, round_, None, "Loukkaava otsikko", 5000, status="submitted", moderation="hidden"
    )
    withdrawn = await add_proposal(db, round_, None, "Peruttu idea", 5000, status="withdrawn")
    elsewhere = await add_proposal(db, round_, None, "Muualta tullut", 5000, status="submitted")
    for proposal in (shown, waiting, hidden, withdrawn):
        proposal.event_id = event.id
    await db.commit()
    page = await client.get(f"/events/{event.id}/report?lang=fi")
    assert "Penkkejä puistoon" in page.text
    assert f"/pb/{round_.slug}/proposals/{shown.id}" in page.text
    for text in ("Odottaa tarkistusta", "Loukkaava otsikko", "Peruttu idea", "Muualta tullut"):
        assert text not in page.text
    assert f"/proposals/{hidden.id}" in page.text  # listed with its neutral title
    assert elsewhere.id not in (shown.id, hidden.id)


async def test_a_reply_needs_finnish_and_swedish_to_be_published(client, db):
    event = await held_event(db)
    await signed_in_as(client, db, Role.STAFF)
    await client.get("/?lang=fi")
    token = await csrf_token(client, f"/staff/events/{event.id}/reply")
    only_fi = await client.post(
        f"/staff/events/{event.id}/reply",
        data={"_csrf_token": token, "text_fi": "Penkit tulevat keväällä.", "publish": "on"},
    )
    assert only_fi.status_code == 400
    assert "Kirjoita vastaus suomeksi ja ruotsiksi" in only_fi.text
    assert 'id="field-text_sv"' in only_fi.text
    assert "Penkit tulevat keväällä." in only_fi.text  # what was written is kept
    assert await db.scalar(select(func.count()).select_from(EventReply)) == 0

    for data, message in (
        ({"text_fi": "x" * 4001, "text_sv": "ok"}, "Käytä enintään 4000 merkkiä."),
        ({"text_fi": "a\x00b", "text_sv": "ok"}, "Poista kentästä erikoiset ohjausmerkit."),
        # A right-to-left override turns the rest of the line around ("Trojan source").
        ({"text_fi": "ok", "text_sv": "kommer \u202eår i"}, "Poista kentästä"),
        ({"text_fi": "a\u202ab\u202c", "text_sv": "ok"}, "Poista kentästä"),
    ):
        bad = await client.post(
            f"/staff/events/{event.id}/reply", data={"_csrf_token": token, **data, "publish": "on"}
        )
        assert bad.status_code == 400
        assert message.split()[0] in bad.text
    assert await db.scalar(select(func.count()).select_from(EventReply)) == 0

    hostile = '<script>alert("x")</script> Penkit tulevat keväällä.'
    saved = await client.post(
        f"/staff/events/{event.id}/reply",
        data={
            "_csrf_token": token,
            "text_fi": hostile,
            "text_sv": "Bänkarna kommer i vår.",
            "publish": "on",
        },
    )
    assert saved.status_code == 303
    card = await client.get(f"/events/{event.id}/report?lang=fi")
    assert "Penkit tulevat keväällä." in card.text
    assert '<script>alert("x")' not in card.text
    card_sv = await client.get(f"/events/{event.id}/report?lang=sv")
    assert "Bänkarna kommer i vår." in card_sv.text
    record = await db.scalar(select(AuditRecord).where(AuditRecord.action == "event.reply"))
    assert record is not None
    assert record.target == f"event {event.id}"
    assert record.after["published"] is True

    # Unpublished again: the card no longer shows it, the text is kept for staff.
    await client.post(
        f"/staff/events/{event.id}/reply",
        data={"_csrf_token": token, "text_fi": "Luonnos", "text_sv": "Utkast"},
    )
    card = await client.get(f"/events/{event.id}/report?lang=fi")
    assert "Luonnos" not in card.text
    assert "Kaupungin vastaus julkaistaan tässä." in card.text
    staff_page = await client.get(f"/staff/events/{event.id}/reply")
    assert "Luonnos" in staff_page.text


async def test_a_staff_only_event_has_no_card_and_a_coming_one_says_so(client, db):
    private = await make_event(db, starts_in=-dt.timedelta(days=2), is_public=False)
    assert (await client.get(f"/events/{private.id}/report")).status_code == 404
    assert (await client.get(f"/events/{private.id}/report/qr.svg")).status_code == 404
    coming = await make_event(db, starts_in=dt.timedelta(days=2))
    page = await client.get(f"/events/{coming.id}/report?lang=en")
    assert page.status_code == 200
    assert "The event has not been held yet" in page.text
    assert "/report" not in (await client.get(f"/events/{coming.id}?lang=en")).text


async def test_a_held_event_links_to_its_card_and_the_qr_code_points_there(client, db):
    event = await held_event(db)
    page = await client.get(f"/events/{event.id}?lang=en")
    assert f'href="/events/{event.id}/report"' in page.text
    qr = await client.get(f"/events/{event.id}/report/qr.svg")
    assert qr.status_code == 200
    assert qr.headers["content-type"].startswith("image/svg+xml")
