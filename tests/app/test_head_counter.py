"""The head counter: each tap adds one to the event's participants or visitors; a request sent
again with the same tap token (a retry after a lost answer) counts once, two taps count twice;
a broken or hostile tap is refused with a page in the user's language and stores nothing."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.errors import DomainError
from app.events import services
from app.events.models import Event, EventHeadTap, HeadCount
from tests.factories import make_event, signed_in_as

TAP = re.compile(r'name="kind" value="(\w+)">\s*<input type="hidden" name="tap" value="([^"]+)"')


async def figures(db, event_id: int) -> tuple[int | None, int | None]:
    db.expire_all()
    event = await db.get(Event, event_id)
    return event.participant_count, event.visitor_count


async def taps(db) -> int:
    return await db.scalar(select(func.count()).select_from(EventHeadTap))


async def tap(client, event_id: int, kind: str, token: str, **headers):
    return await client.post(
        f"/staff/events/{event_id}/count",
        data={"_csrf_token": client.cookies["tori_csrf"], "kind": kind, "tap": token},
        headers=headers,
    )


async def tokens_on_page(client, event_id: int) -> dict[str, str]:
    page = await client.get(f"/staff/events/{event_id}/count?lang=en")
    assert page.status_code == 200
    return dict(TAP.findall(page.text))


async def test_taps_fill_the_events_figures_and_a_retry_counts_once(client, db):
    event = await make_event(db)
    await signed_in_as(client, db, Role.STAFF)
    tokens = await tokens_on_page(client, event.id)
    assert set(tokens) == {"participants", "visitors"}
    assert tokens["participants"] != tokens["visitors"]
    first = await tap(client, event.id, "participants", tokens["participants"])
    assert first.status_code == 303
    assert first.headers["location"] == f"/staff/events/{event.id}/count"
    # The answer was lost; the browser sends the very same request again.
    again = await tap(client, event.id, "participants", tokens["participants"])
    assert again.status_code == 303
    assert await figures(db, event.id) == (1, None)
    # The page after the redirect has fresh tokens: a second, deliberate tap counts.
    tokens = await tokens_on_page(client, event.id)
    assert (await tap(client, event.id, "participants", tokens["participants"])).status_code == 303
    assert (await tap(client, event.id, "visitors", tokens["visitors"])).status_code == 303
    assert await figures(db, event.id) == (2, 1)
    assert await taps(db) == 3


async def test_htmx_tap_answers_with_the_figures_alone(client, db):
    event = await make_event(db)
    await signed_in_as(client, db, Role.STAFF)
    await tokens_on_page(client, event.id)
    answered = await tap(client, event.id, "visitors", "a" * 32, **{"HX-Request": "true"})
    assert answered.status_code == 200
    assert "<html" not in answered.text
    assert '<dd data-count="visitors">1</dd>' in answered.text


async def test_the_counter_adds_to_figures_already_entered(client, db):
    event = await make_event(db)
    event.participant_count = 40
    await db.commit()
    assert await services.count_head(db, event, HeadCount.PARTICIPANTS, "b" * 20)
    assert event.participant_count == 41


async def test_simultaneous_taps_from_two_phones_are_all_counted(database, db):
    """Two staff members tap at once: the figure is raised in the database, not read and
    written back, so no tap is lost."""
    event = await make_event(db)

    async def one(number: int) -> None:
        async with database.sessionmaker() as session:
            mine = await session.get(Event, event.id)
            await services.count_head(session, mine, HeadCount.VISITORS, f"tap-{number:016d}")

    await asyncio.gather(*(one(number) for number in range(10)))
    assert await figures(db, event.id) == (None, 10)


@pytest.mark.parametrize(
    ("kind", "token"),
    [
        ("participants", ""),
        ("participants", "short"),
        ("participants", "x" * 65),
        ("participants", "<script>alert(1)</script>xxxxxx"),
        ("participants", "a" * 20 + "\x00"),
        ("", "a" * 20),
        ("everyone", "a" * 20),
        ("participant_count", "a" * 20),
    ],
)
async def test_a_broken_tap_is_refused_kindly_and_stores_nothing(client, db, kind, token):
    event = await make_event(db)
    await signed_in_as(client, db, Role.STAFF)
    await client.get("/?lang=fi")
    refused = await tap(client, event.id, kind, token)
    assert refused.status_code == 400
    assert '<html lang="fi"' in refused.text
    assert "Napautusta ei tunnistettu" in refused.text
    assert await taps(db) == 0
    assert await figures(db, event.id) == (None, None)


async def test_a_tap_token_is_checked_by_the_service_too(db):
    event = await make_event(db)
    with pytest.raises(DomainError):
        await services.count_head(db, event, HeadCount.PARTICIPANTS, "../../etc/passwd-xxxx")
    assert await taps(db) == 0


async def test_an_auditor_sees_the_figures_but_has_no_buttons(client, db):
    event = await make_event(db)
    await signed_in_as(client, db, Role.AUDITOR)
    page = await client.get(f"/staff/events/{event.id}/count?lang=en")
    assert page.status_code == 200
    assert 'data-count="participants"' in page.text
    assert "data-tap-form" not in page.text
