"""Organiser names per language, like the place: a Swedish page shows the Swedish name and
falls back to the Finnish one (marked for screen readers); the staff form keeps what was typed
through an error; the migration keeps the names written before as Finnish."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import html
import io

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import String, column, select, table, text

from app.accounts.models import Role
from app.database import PortableJSON, create_engine
from app.events.models import Event, EventOrganiser
from app.migrate import alembic_config
from tests.app.test_events_and_areas import count, post_event
from tests.factories import signed_in_as
from tests.postgres import fresh_database

REVISION = "7c3d2e8f1a56"
# event_organiser as it was before the register of organisers.
OLD_LINK = table(
    "event_organiser", column("kind", String), column("name", PortableJSON), column("position")
)

PER_LANGUAGE = {
    "organisers_city_unit_fi": "Kirjastopalvelut\nAsukasosallisuus",
    "organisers_city_unit_sv": "Bibliotekstjänster\nInvånardelaktighet",
    "organisers_association_fi": "Kivenlahti-Seura",
}


async def test_a_swedish_page_shows_swedish_organisers_and_falls_back_to_finnish(client, db):
    await signed_in_as(client, db, Role.STAFF)
    assert (await post_event(client, **PER_LANGUAGE)).status_code == 303
    event = await db.scalar(select(Event))
    assert [(o.kind, o.name) for o in event.organisers] == [
        ("city_unit", {"fi": "Kirjastopalvelut", "sv": "Bibliotekstjänster"}),
        ("city_unit", {"fi": "Asukasosallisuus", "sv": "Invånardelaktighet"}),
        ("association", {"fi": "Kivenlahti-Seura"}),
    ]
    swedish = (await client.get(f"/events/{event.id}?lang=sv")).text
    assert '<span lang="sv">Bibliotekstjänster</span>' in swedish
    assert '<span lang="sv">Invånardelaktighet</span>' in swedish
    assert "Kirjastopalvelut" not in swedish
    # No Swedish name for the association: the Finnish one, marked as Finnish.
    assert '<span lang="fi">Kivenlahti-Seura</span>' in swedish
    finnish = (await client.get(f"/events/{event.id}?lang=fi")).text
    assert '<span lang="fi">Kirjastopalvelut</span>' in finnish
    assert "Bibliotekstjänster" not in finnish
    # English has none of its own: Finnish first, as everywhere.
    english = (await client.get(f"/events/{event.id}?lang=en")).text
    assert '<span lang="fi">Asukasosallisuus</span>' in english
    # The names typed in joined the register; the edit form has them chosen from it, named in
    # the staff member's language.
    edit = html.unescape((await client.get(f"/staff/events/{event.id}?lang=sv")).text)
    for link in event.organisers:
        assert (f'name="organiser_{link.kind}" value="{link.organiser_id}" checked') in edit
    assert ">Bibliotekstjänster</label>" in edit
    assert ">Bibliotekstjänster\nInvånardelaktighet</textarea>" not in edit


async def test_an_error_elsewhere_keeps_the_organisers_typed_in_each_language(client, db):
    await signed_in_as(client, db, Role.STAFF)
    refused = await post_event(client, ends_time="16:00", **PER_LANGUAGE)
    assert refused.status_code == 400
    assert "The event must end after it starts." in refused.text
    page = html.unescape(refused.text)
    assert ">Bibliotekstjänster\nInvånardelaktighet</textarea>" in page
    assert ">Kirjastopalvelut\nAsukasosallisuus</textarea>" in page
    assert ">Kivenlahti-Seura</textarea>" in page
    assert await count(db, Event) == 0
    fixed = await post_event(client, ends_time="19:30", **PER_LANGUAGE)
    assert fixed.status_code == 303
    names = [o.name for o in await db.scalars(select(EventOrganiser))]
    assert {"fi": "Asukasosallisuus", "sv": "Invånardelaktighet"} in names


async def test_organisers_that_do_not_line_up_across_languages_are_refused(client, db):
    await signed_in_as(client, db, Role.STAFF)
    refused = await post_event(
        client,
        organisers_city_unit_fi="Kirjastopalvelut\nAsukasosallisuus",
        organisers_city_unit_sv="Bibliotekstjänster",
    )
    assert refused.status_code == 400
    assert (
        "Give the same organisers in the same order in each language, one per line, "
        "or leave this language empty."
    ) in refused.text
    assert 'id="field-organisers_city_unit_sv"' in refused.text
    assert await count(db, Event) == 0


async def test_staff_find_events_by_an_organiser_name_in_any_language(client, db):
    await signed_in_as(client, db, Role.STAFF)
    assert (await post_event(client, **PER_LANGUAGE)).status_code == 303
    event = await db.scalar(select(Event))
    event.participant_count = 40
    await db.commit()
    for name, found in (("bibliotekstj", 1), ("KIRJASTO", 1), ("Stadsplanering", 0)):
        exported = await client.get(
            f"/staff/feedback/export/monitoring.csv?group=event&event={event.id}"
            f"&organiser={name}&start=2000-01-01&end=2100-01-01"
        )
        assert exported.status_code == 200
        rows = list(csv.reader(io.StringIO(exported.text)))
        header, data = rows[0], rows[1:]
        assert "organisers" in header
        assert len(data) == found, (name, rows)
        if found:
            # Three organisers, however many languages each is named in.
            assert data[0][header.index("organisers")] == "3"
            assert data[0][header.index("events")] == "1"


def organiser_names_after_migration(url: str) -> list[tuple[str, object]]:
    """Migrate to just before the change, write organisers the old way, migrate to head."""
    config = alembic_config(url)
    before = ScriptDirectory.from_config(config).get_revision(REVISION).down_revision
    command.upgrade(config, before)

    async def write_and_upgrade() -> list[tuple[str, object]]:
        engine = create_engine(url)
        async with engine.begin() as connection:
            event_id = (
                await connection.execute(
                    text(
                        "INSERT INTO event (title, description, theme, event_type, venue, "
                        "languages, starts_at, ends_at, is_public, local_month, local_year, "
                        "created_at, updated_at) VALUES ('{\"fi\": \"Ilta\"}', '{}', '{}', "
                        "'pop_up', '{}', '[\"fi\"]', :at, :at, true, '2026-12', 2026, :at, :at) "
                        "RETURNING id"
                    ),
                    {"at": dt.datetime(2026, 12, 1, 15, tzinfo=dt.UTC)},
                )
            ).scalar_one()
            for position, name in enumerate(["Kirjastopalvelut", ""]):
                await connection.execute(
                    text(
                        "INSERT INTO event_organiser (event_id, kind, name, position) "
                        "VALUES (:event, 'city_unit', :name, :position)"
                    ),
                    {"event": event_id, "name": name, "position": position},
                )

            def upgrade(sync_connection) -> None:
                config.attributes["connection"] = sync_connection
                command.upgrade(config, REVISION)

            await connection.run_sync(upgrade)
            rows = await connection.execute(
                select(OLD_LINK.c.kind, OLD_LINK.c.name).order_by(OLD_LINK.c.position)
            )
            result = [tuple(row) for row in rows]
        await engine.dispose()
        return result

    return asyncio.run(write_and_upgrade())


def test_the_migration_keeps_earlier_organiser_names_as_finnish_on_postgres(postgres_server_url):
    with fresh_database(postgres_server_url, "org") as url:
        assert organiser_names_after_migration(url) == [
            ("city_unit", {"fi": "Kirjastopalvelut"}),
            ("city_unit", {}),
        ]


def test_the_migration_keeps_earlier_organiser_names_as_finnish_on_sqlite(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'tori.sqlite3'}"
    assert organiser_names_after_migration(url) == [
        ("city_unit", {"fi": "Kirjastopalvelut"}),
        ("city_unit", {}),
    ]
