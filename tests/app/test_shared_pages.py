"""Shared public pages (app/page_cache.py): anonymous readers share rendered pages, nobody else
does, a change shows at once, and a page with a form never hands one reader's token to another."""

from __future__ import annotations

import dataclasses
import re
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import AsyncTestClient

from app.accounts.models import Role
from app.events import services as event_services
from app.events.models import EventType, OrganiserKind
from app.security import _genuine
from app.web import create_app
from tests.factories import make_event, signed_in_as
from tests.surveys.factories import open_questionnaire
from tests.surveys.polls_factories import make_poll
from tests.surveys.test_form_tokens import send_again, the_form, votes
from tests.voting.factories import make_round

STAND_IN = "torisharedstandin"


def another_browser(client: AsyncTestClient) -> AsyncTestClient:
    """Another resident's browser: none of the cookies so far. (One test client serves them all:
    two clients would run the application on two event loops.)"""
    client.cookies.clear()
    return client


def html_language(response) -> str:
    return re.search(r'<html lang="([a-z]+)"', response.text).group(1)


def assert_shared(response) -> None:
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=30"
    assert response.headers["etag"].startswith('W/"')
    vary = response.headers["vary"]
    assert "Accept-Language" in vary
    assert "Cookie" in vary
    assert "set-cookie" not in response.headers


def assert_not_shared(response) -> None:
    assert response.headers["cache-control"] == "no-store"
    assert "etag" not in response.headers


async def test_anonymous_public_pages_are_public_with_a_weak_etag_and_vary(client, db):
    event = await make_event(db)
    round_ = await make_round(db, "ideas", {None: 100_000})
    for path in ("/", "/calendar", f"/events/{event.id}", "/pb/", f"/pb/{round_.slug}"):
        first = await client.get(path)
        assert_shared(first)
        again = await client.get(path)
        assert_shared(again)
        assert again.headers["etag"] == first.headers["etag"]
        assert again.text == first.text


async def test_a_matching_if_none_match_gets_304_and_a_change_a_new_page(client, db):
    event = await make_event(db, title={"fi": "Vanha nimi", "en": "Old name"})
    first = await client.get(f"/events/{event.id}")
    assert "Vanha nimi" in first.text
    etag = first.headers["etag"]
    not_modified = await client.get(f"/events/{event.id}", headers={"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    other = await client.get(f"/events/{event.id}", headers={"If-None-Match": 'W/"other"'})
    assert other.status_code == 200
    # A change committed by a service is visible at once, in the same process (well within
    # the 5 s an entry lives).
    await event_services.update_event(
        db,
        event,
        dataclasses.replace(_event_input(event), title={"fi": "Uusi nimi", "en": "New name"}),
        zone=ZoneInfo("Europe/Helsinki"),
    )
    changed = await client.get(f"/events/{event.id}", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert "Uusi nimi" in changed.text
    assert "Vanha nimi" not in changed.text
    assert changed.headers["etag"] != etag


def _event_input(event):

    return event_services.EventInput(
        title=dict(event.title),
        event_type=EventType(event.event_type),
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        languages=list(event.languages),
        area_id=event.area_id,
        venue=dict(event.venue or {}),
        organisers=[(OrganiserKind.CITY_UNIT, {"fi": "Asukasosallisuus"})],
        is_public=event.is_public,
    )


async def test_a_new_event_shows_on_the_cached_home_page_at_once(client, db):
    empty = await client.get("/")
    assert "Syysilta" not in empty.text
    await make_event(db, title={"fi": "Syysilta", "en": "Autumn evening"})
    assert "Syysilta" in (await client.get("/")).text


@pytest.mark.parametrize(
    ("headers", "cookie", "language"),
    [
        ({"Accept-Language": "sv-FI,sv;q=0.9"}, None, "sv"),
        ({"Accept-Language": "en-GB,en;q=0.8"}, None, "en"),
        ({}, None, "fi"),
        ({"Accept-Language": "en"}, "sv", "sv"),
        ({"Accept-Language": "sv"}, "fi", "fi"),
    ],
)
async def test_each_reader_gets_the_page_in_their_language(client, db, headers, cookie, language):
    await make_event(db)
    # The cache is warm in every language first, so a wrong key would show.
    for warm in ("fi", "sv", "en"):
        await another_browser(client).get("/", headers={"Accept-Language": warm})
    reader = another_browser(client)
    if cookie:
        reader.cookies.set("tori_lang", cookie)
    response = await reader.get("/", headers=headers)
    assert html_language(response) == language
    assert_shared(response)


async def test_a_language_chosen_in_the_address_is_remembered_and_not_shared(client, db):
    await client.get("/", headers={"Accept-Language": "fi"})
    chosen = await client.get("/?lang=sv")
    assert html_language(chosen) == "sv"
    assert "tori_lang=sv" in chosen.headers["set-cookie"]
    assert_not_shared(chosen)
    # Remembered now: the same page is shared again, in Swedish.
    again = await client.get("/", headers={"Accept-Language": "fi"})
    assert html_language(again) == "sv"
    assert_shared(again)


@pytest.mark.parametrize("anonymous_first", [True, False])
async def test_signed_in_staff_never_get_or_leave_a_shared_page(client, db, anonymous_first):
    if anonymous_first:
        await client.get("/?lang=en")
        assert_shared(await client.get("/"))
    staff = await signed_in_as(client, db, Role.STAFF)
    own = await client.get("/")
    assert staff.display_name in own.text
    assert "Sign out" in own.text
    assert_not_shared(own)
    # The page rendered for the staff member is not handed to anyone else.
    anonymous = another_browser(client)
    anonymous.cookies.set("tori_lang", "en")
    public = await anonymous.get("/")
    assert staff.display_name not in public.text
    assert "Sign out" not in public.text
    assert_shared(public)


async def test_a_voter_who_voted_gets_their_own_poll_page(client, db):
    poll = await make_poll(db)
    action = f"/p/{poll.slug}"
    page = await client.get(f"{action}?lang=en")
    voted = await send_again(client, page, action, {"q_q1": "o1"})
    assert voted.status_code == 303
    own = await client.get(action)
    assert_not_shared(own)
    assert Forms_of(own.text) == [], "a voter who voted is not offered the form again"
    fresh = await another_browser(client).get(action)
    assert the_form(fresh.text, action)


def Forms_of(text: str) -> list:  # noqa: N802 - reads like the parser it wraps
    from tests.surveys.test_form_tokens import Forms

    return Forms(text).forms


async def test_poll_and_questionnaire_pages_give_every_reader_their_own_tokens(
    client, db, settings
):
    poll = await make_poll(db)
    questionnaire = await open_questionnaire(db, await make_event(db))
    for path in (f"/p/{poll.slug}", f"/f/{questionnaire.slug}"):
        seen_tokens: set[str] = set()
        seen_form_tokens: set[str] = set()
        for _reader in range(3):
            reader = another_browser(client)
            response = await reader.get(path)
            assert response.status_code == 200
            assert STAND_IN not in response.text
            assert_not_shared(response)
            form = the_form(response.text, path)
            form_token = form["fields"]["_csrf_token"]
            # The page's token is this browser's cookie, genuine, and nobody else's.
            assert form_token == reader.cookies.get("tori_csrf")
            assert _genuine(form_token, settings.secret_key)
            assert form_token not in seen_form_tokens
            seen_form_tokens.add(form_token)
            assert form["fields"]["token"] not in seen_tokens
            seen_tokens.add(form["fields"]["token"])


async def test_every_reader_of_a_served_poll_page_can_vote(client, db):
    poll = await make_poll(db)
    action = f"/p/{poll.slug}"
    for _reader in range(3):
        reader = another_browser(client)
        page = await reader.get(action)
        sent = await send_again(reader, page, action, {"q_q1": "o2"})
        assert sent.status_code == 303, sent.text
    assert await votes(db) == 3


async def test_a_page_with_a_problem_is_not_shared(client, db):
    refused = await client.get("/calendar?area=nope")
    assert refused.status_code == 400
    assert_not_shared(refused)


async def test_results_page_of_a_round_is_shared(client, db):
    round_ = await make_round(db, "results", {None: 100_000})
    response = await client.get(f"/pb/{round_.slug}/results")
    assert response.status_code in (200, 404)
    if response.status_code == 200:
        assert_shared(response)


async def test_shared_pages_can_be_switched_off(settings, db):
    app = create_app(dataclasses.replace(settings, shared_pages=False))
    async with AsyncTestClient(app=app) as reader:
        response = await reader.get("/")
        assert response.status_code == 200
        assert_not_shared(response)


async def test_a_crowd_at_a_page_not_yet_stored_waits_for_one_rendering(settings, db, monkeypatch):
    """Thirty phones open the home page at once: it is rendered once, not thirty times."""
    import asyncio

    import httpx

    from app.events import controllers as event_controllers
    from app.state import DATABASE

    rendered = []
    original = event_controllers.services.upcoming_events

    async def counted(*arguments, **keywords):
        rendered.append(1)
        await asyncio.sleep(0.05)  # the rendering takes a while: the others arrive meanwhile
        return await original(*arguments, **keywords)

    monkeypatch.setattr(event_controllers.services, "upcoming_events", counted)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as crowd:
        responses = await asyncio.gather(*(crowd.get("/") for _phone in range(30)))
    await DATABASE.of(app).dispose()
    assert {response.status_code for response in responses} == {200}
    assert len({response.text for response in responses}) == 1
    assert len(rendered) == 1


# --- The shared version: how every worker learns of a change -----------------------------------


async def shared_version(db) -> int:
    from sqlalchemy import text

    return await db.scalar(text("SELECT coalesce(sum(version), 0) FROM page_version"))


async def test_a_commit_that_changes_something_bumps_the_shared_version_in_its_transaction(db):
    before = await shared_version(db)
    await make_event(db, title={"fi": "Talviilta"})
    assert await shared_version(db) == before + 1
    # A commit that changed nothing, and a change rolled back, leave it as it was.
    await db.commit()
    event = await make_event(db, title={"fi": "Kevätilta"})
    after_second = await shared_version(db)
    event.title = {"fi": "Ei tallennettu"}
    await db.flush()
    await db.rollback()
    assert await shared_version(db) == after_second


async def test_a_change_committed_by_another_worker_shows_after_the_version_check(
    client, db, monkeypatch
):
    """Another worker's commit reaches this one through the shared version alone (this
    process's own commit hook does not see it): here the other worker is plain SQL."""
    import asyncio

    from sqlalchemy import text

    from app import page_cache

    monkeypatch.setattr(page_cache, "CHECK_SECONDS", 0.05)
    event = await make_event(db, title={"fi": "Vanha nimi"})
    path = f"/events/{event.id}"
    reader = await client.get(path)
    assert "Vanha nimi" in reader.text

    async def elsewhere(statements: list[str]) -> None:
        async with db.bind.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
            await connection.commit()

    # A change that does not bump the version is not seen: the page comes from the cache.
    await elsewhere([f'UPDATE event SET title = \'{{"fi": "Hiljainen"}}\' WHERE id = {event.id}'])
    await asyncio.sleep(0.1)
    assert "Vanha nimi" in (await client.get(path)).text
    # The same kind of change as another worker's commit makes: with the version bumped.
    await elsewhere(
        [
            f'UPDATE event SET title = \'{{"fi": "Uusi nimi"}}\' WHERE id = {event.id}',
            "UPDATE page_version SET version = version + 1 WHERE slot = 3",
        ]
    )
    await asyncio.sleep(0.1)
    changed = await client.get(path)
    assert "Uusi nimi" in changed.text
    assert_shared(changed)


async def test_a_signed_in_voter_never_gets_or_leaves_a_shared_round_page(client, db):
    from app.signing import sign
    from tests.conftest import TEST_SECRET

    round_ = await make_round(db, "voting", {None: 100_000})
    path = f"/pb/{round_.slug}"
    assert_shared(await client.get(path))
    voter = another_browser(client)
    value = f"{round_.id}.1.online.None"
    voter.cookies.set("tori_voter", sign(TEST_SECRET, "pb-voter", value), path="/pb/")
    own = await voter.get(path)
    assert "public" not in own.headers.get("cache-control", "")
    assert "etag" not in own.headers
    public = await another_browser(client).get(path)
    assert_shared(public)


async def test_a_page_with_a_form_token_is_never_public_even_to_a_validator(client, db):
    """Whatever the reader sends (an ETag of a shared page, a language), a page that carries a
    form token is rendered for that reader, never marked public and never answered 304."""
    poll = await make_poll(db)
    questionnaire = await open_questionnaire(db, await make_event(db))
    etag = (await client.get("/")).headers["etag"]
    for path in (f"/p/{poll.slug}", f"/f/{questionnaire.slug}"):
        for headers in ({}, {"If-None-Match": etag}, {"If-None-Match": "*"}):
            response = await another_browser(client).get(path, headers=headers)
            assert response.status_code == 200
            assert "public" not in response.headers["cache-control"]
            assert "_csrf_token" in response.text
            assert_not_shared(response)
