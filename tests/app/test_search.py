"""Full-text search over ideas and events (app/search.py), the same behaviour on PostgreSQL and
on the embedded SQLite default; Finnish, Swedish and English inflection on PostgreSQL; and the
search box attacked with the query languages' own characters and with SQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.database import Database
from app.events.models import Event
from app.events.services import staff_events
from app.migrate import upgrade_to_head
from app.search import EVENTS, IDEAS, MAX_WORDS, matches, search_words
from tests.factories import make_area, make_event
from tests.voting.factories import add_proposal, make_round
from voting.models import Proposal

HOSTILE = [
    "&|!:*()'\\",
    "puisto & !penkki | (kirjasto:*)",
    "' OR 1=1 --",
    "'); DROP TABLE pb_proposal; --",
    '"puisto',
    "NEAR(puisto penkki)",
    "-puisto",
    "^puisto",
    "puisto*",
    "%",
    "_",
    "%puisto%",
    "puisto\\",
    "title:puisto",
    "{puisto}",
    "puisto AND OR NOT",
    "<->",
    "puisto <-> penkki",
    "puisto:A",
]


@pytest.fixture
async def sqlite_db(tmp_path):
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'tori.sqlite3'}")
    async with database.engine.begin() as connection:
        await upgrade_to_head(connection)
    async with database.sessionmaker() as session:
        yield session
    await database.dispose()


@pytest.fixture(params=["postgresql", "sqlite"])
def session(request):
    """The same test on the PostgreSQL of production and on the embedded SQLite default."""
    return request.getfixturevalue("db" if request.param == "postgresql" else "sqlite_db")


async def ideas(session, query: str) -> list[str]:
    dialect = session.get_bind().dialect.name
    rows = await session.scalars(
        select(Proposal).where(matches(dialect, IDEAS, Proposal.id, query)).order_by(Proposal.id)
    )
    return [proposal.title["fi"] for proposal in rows]


async def some_ideas(session):
    area = await make_area(session, "Kallio")
    round_ = await make_round(session, "ideas", {area.id: 100_000})
    benches = await add_proposal(
        session, round_, area, "Puistoon uusia penkkejä", 5000, "submitted"
    )
    benches.description = {"fi": "Penkit kirjaston viereen."}
    await session.commit()
    await add_proposal(session, round_, area, "Koirapuisto Kallioon", 20000, "submitted")
    await add_proposal(session, round_, area, "Uimaranta", 30000, "submitted")
    return round_


# --- the same on both databases ----------------------------------------------------------------


async def test_a_partial_word_finds_the_idea(session):
    await some_ideas(session)
    assert await ideas(session, "puis") == ["Puistoon uusia penkkejä"]
    assert await ideas(session, "Koirap") == ["Koirapuisto Kallioon"]
    assert await ideas(session, "uima") == ["Uimaranta"]


async def test_every_word_must_match_title_or_description(session):
    await some_ideas(session)
    assert await ideas(session, "penk kirjast") == ["Puistoon uusia penkkejä"]
    assert await ideas(session, "penk uima") == []


async def test_the_search_follows_changes_to_the_text(session):
    await some_ideas(session)
    proposal = await session.scalar(select(Proposal).where(Proposal.estimated_cost == 30000))
    proposal.title = {"fi": "Uimalaituri", "sv": "Badbrygga"}
    await session.commit()
    assert await ideas(session, "badbry") == ["Uimalaituri"]
    await session.delete(proposal)
    await session.commit()
    assert await ideas(session, "badbry") == []


async def test_events_are_searched_by_title_and_description(session):
    await make_event(session, title={"fi": "Asukasilta Vuosaaressa", "sv": "Invånarkväll"})
    await make_event(session, title={"fi": "Pop-up kirjastossa"})
    events, total = await staff_events(session, past=False, query="vuosaar")
    assert (total, [event.title["fi"] for event in events]) == (1, ["Asukasilta Vuosaaressa"])
    events, total = await staff_events(session, past=False, query="invånar")
    assert total == 1


async def test_the_review_list_searches_and_filters_together(session):
    from voting import review

    round_ = await some_ideas(session)
    listing = await review.review_list(
        session, round_.id, review.ReviewFilters(query="k", status="submitted", sort="oldest")
    )
    assert listing.total == 2
    assert [item.proposal.title["fi"] for item in listing.items] == [
        "Puistoon uusia penkkejä",
        "Koirapuisto Kallioon",
    ]


@pytest.mark.parametrize("query", HOSTILE)
async def test_query_language_characters_and_sql_are_only_text(session, query):
    await some_ideas(session)
    found = await ideas(session, query)
    # The same as searching for the words alone: the characters are no operators; nothing fails
    # and nothing is changed.
    assert found == await ideas(session, " ".join(search_words(query)))
    assert await session.scalar(select(func.count()).select_from(Proposal)) == 3
    dialect = session.get_bind().dialect.name
    assert await session.scalar(
        select(func.count()).select_from(Event).where(matches(dialect, EVENTS, Event.id, query))
    ) in (0, None)


async def test_a_query_without_letters_or_digits_matches_nothing(session):
    await some_ideas(session)
    for query in ["", "   ", "%", "_", "&|!:*()'\\", "--"]:
        assert await ideas(session, query) == []


# --- inflection: PostgreSQL's language configurations -------------------------------------------


async def test_finnish_inflected_words_find_each_other_on_postgresql(db):
    await some_ideas(db)
    # "puistossa" (in the park) is no prefix of "puistoon" (to the park): the stemmer finds it.
    assert await ideas(db, "puistossa") == ["Puistoon uusia penkkejä"]
    assert await ideas(db, "puisto") == ["Puistoon uusia penkkejä"]
    assert await ideas(db, "penkki") == ["Puistoon uusia penkkejä"]
    assert await ideas(db, "kirjastoon") == ["Puistoon uusia penkkejä"]


async def test_swedish_and_english_text_is_read_in_its_own_language(db):
    area = await make_area(db, "Kallio")
    round_ = await make_round(db, "ideas", {area.id: 100_000})
    proposal = await add_proposal(db, round_, area, "Penkit", 5000, "submitted")
    proposal.title = {"fi": "Penkit", "sv": "Bänkar i parkerna", "en": "Running track"}
    await db.commit()
    assert await ideas(db, "parken") == ["Penkit"]  # Swedish: parken, parkerna -> park
    assert await ideas(db, "runs") == ["Penkit"]  # English: runs, running -> run


# --- the words -----------------------------------------------------------------------------------


def test_search_words_are_letters_and_digits_only():
    assert search_words("Puisto & !penkki | (kirjasto:*)") == ["puisto", "penkki", "kirjasto"]
    assert search_words("Åbo ÄÄNI öljy") == ["åbo", "ääni", "öljy"]
    assert search_words("a_b%c") == ["a", "b", "c"]
    assert search_words("x " * 50) == ["x"]
    assert len(search_words(" ".join(f"w{i}" for i in range(50)))) == MAX_WORDS
    assert search_words("k" * 500) == ["k" * 40]


# --- the staff event list's search box -----------------------------------------------------------


@pytest.mark.parametrize("query", HOSTILE)
async def test_the_event_search_box_takes_hostile_text(client, db, query):
    from urllib.parse import quote

    from app.accounts.models import Role
    from tests.factories import signed_in_as

    await make_event(db, title={"fi": "Asukasilta Vuosaaressa"})
    await signed_in_as(client, db, Role.STAFF)
    response = await client.get(f"/staff/events?q={quote(query)}")
    if search_words(query):
        assert response.status_code == 200
    else:
        assert response.status_code == 400
        assert "Search with letters or digits." in response.text
        assert "Asukasilta Vuosaaressa" in response.text  # the list, unfiltered
    assert await db.scalar(select(func.count()).select_from(Event)) == 1


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("a" * 201, "Use at most 200 characters."),
        ("asukas%00", "Remove the special control characters from this field."),
        ("%25%25", "Search with letters or digits."),
    ],
)
async def test_bad_event_searches_say_so(client, db, query, message):
    from app.accounts.models import Role
    from tests.factories import signed_in_as

    await make_event(db, title={"fi": "Asukasilta Vuosaaressa"})
    await signed_in_as(client, db, Role.STAFF)
    response = await client.get(f"/staff/events?q={query}")
    assert response.status_code == 400
    assert message in response.text
    assert "Asukasilta Vuosaaressa" in response.text


async def test_the_event_search_finds_inflected_words_and_echoes_the_query_escaped(client, db):
    from app.accounts.models import Role
    from tests.factories import signed_in_as

    await make_event(db, title={"fi": "Pop-up kirjastossa"})
    await make_event(db, title={"fi": "Asukasilta"})
    await signed_in_as(client, db, Role.STAFF)
    response = await client.get("/staff/events?q=kirjastoon")
    assert response.status_code == 200
    assert "Pop-up kirjastossa" in response.text
    assert "Asukasilta" not in response.text.split("<table")[-1]
    echoed = await client.get('/staff/events?q="><script>x</script>')
    assert echoed.status_code == 200
    assert "<script>x</script>" not in echoed.text
    assert "&lt;script&gt;x&lt;/script&gt;" in echoed.text
