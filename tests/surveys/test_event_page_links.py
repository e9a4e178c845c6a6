"""A resident without the QR code finds an event's feedback questionnaire and polls from the
event's public page, while they are open."""

from __future__ import annotations

import datetime as dt

import pytest

from app.database import utcnow
from tests.factories import make_event
from tests.surveys.factories import open_questionnaire
from tests.surveys.polls_factories import make_poll


async def poll_for(db, event, **timing):
    poll = await make_poll(db, **timing)
    poll.event_id = event.id if event else None
    poll.title = {"en": f"Poll {poll.slug}"}
    await db.commit()
    return poll


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
async def test_the_event_page_links_to_its_open_questionnaire_and_polls_only(client, db, lang):
    event = await make_event(db, starts_in=-dt.timedelta(hours=3))
    other_event = await make_event(db, starts_in=-dt.timedelta(hours=3))
    questionnaire = await open_questionnaire(db, event)
    open_poll = await poll_for(db, event)
    closed_poll = await poll_for(db, event, opens_in=-dt.timedelta(days=3))
    future_poll = await poll_for(db, event, opens_in=dt.timedelta(days=1))
    others_poll = await poll_for(db, other_event)
    page = await client.get(f"/events/{event.id}?lang={lang}")
    assert page.status_code == 200
    assert f'href="/f/{questionnaire.slug}"' in page.text
    assert f'href="/p/{open_poll.slug}"' in page.text
    for hidden in (closed_poll, future_poll, others_poll):
        assert f'href="/p/{hidden.slug}"' not in page.text
    # Once the questionnaire closes, the link goes.
    questionnaire.closes_at = utcnow() - dt.timedelta(minutes=1)
    await db.commit()
    later = await client.get(f"/events/{event.id}?lang={lang}")
    assert f'href="/f/{questionnaire.slug}"' not in later.text
    assert f'href="/p/{open_poll.slug}"' in later.text


async def test_an_event_with_nothing_open_has_no_take_part_section(client, db):
    event = await make_event(db)
    page = await client.get(f"/events/{event.id}?lang=en")
    assert page.status_code == 200
    assert "Take part now" not in page.text
