"""The registers beside the events: organisers (each once; the monitoring counts them by id) and
the event types administrators add. Bad names store nothing and say why in the user's language;
every change leaves an audit record in its own transaction; the migration turns the organiser
rows written before into one register entry per kind and name."""

from __future__ import annotations

import asyncio
import datetime as dt
import html
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import func, select, text

from app.accounts.models import Role
from app.audit.models import AuditRecord
from app.database import create_engine
from app.errors import DomainError
from app.events import registers
from app.events.models import AddedEventType, Event, EventOrganiser, Organiser, OrganiserKind
from app.events.services import EventInput, create_events
from app.migrate import alembic_config
from surveys.comparison import ComparisonFilter, compare
from tests.app.test_events_and_areas import count, post_event
from tests.conftest import csrf_token
from tests.factories import make_area, make_event, signed_in_as
from tests.postgres import fresh_database

ZONE = ZoneInfo("Europe/Helsinki")
LIBRARY = registers.OrganiserInput(
    OrganiserKind.CITY_UNIT, {"fi": "Kirjastopalvelut", "sv": "Bibliotekstjänster"}
)


async def actions(db) -> list[str]:
    return list(await db.scalars(select(AuditRecord.action).order_by(AuditRecord.seq)))


# --- services ----------------------------------------------------------------------------------


async def test_an_organiser_joins_the_register_once_with_an_audit_record(db):
    organiser = await registers.create_organiser(db, LIBRARY)
    assert organiser.name == {"fi": "Kirjastopalvelut", "sv": "Bibliotekstjänster"}
    assert await actions(db) == ["organiser.create"]
    # The same name in another case and with spaces, in either language: refused.
    for name in ({"fi": " KIRJASTOPALVELUT "}, {"sv": "bibliotekstjänster", "en": "Libraries"}):
        with pytest.raises(DomainError, match="already has an organiser"):
            await registers.create_organiser(
                db, registers.OrganiserInput(OrganiserKind.CITY_UNIT, name)
            )
    # Another kind may share the name (a residents' group named after its library).
    await registers.create_organiser(
        db, registers.OrganiserInput(OrganiserKind.RESIDENTS, {"fi": "Kirjastopalvelut"})
    )
    assert await count(db, Organiser) == 2
    assert await actions(db) == ["organiser.create", "organiser.create"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ({}, "Give the name in at least one language."),
        ({"fi": "   "}, "Give the name in at least one language."),
        ({"fi": "x" * 201}, "at most 200 characters"),
        ({"fi": "Kirjasto\nDROP TABLE"}, "line breaks or control characters"),
        ({"fi": "Kirjasto\u202eoreh"}, "line breaks or control characters"),
        ({"de": "Bibliothek"}, "Finnish, Swedish or English"),
        ({"fi": ["Kirjasto"]}, "Finnish, Swedish or English"),
    ],
)
async def test_a_bad_organiser_name_stores_nothing(db, name, message):
    with pytest.raises(DomainError, match=message):
        await registers.create_organiser(
            db, registers.OrganiserInput(OrganiserKind.ASSOCIATION, name)
        )
    await db.rollback()
    assert await count(db, Organiser) == 0
    assert await count(db, AuditRecord) == 0


async def test_an_unknown_kind_is_refused(db):
    with pytest.raises(DomainError, match="kind of organiser"):
        await registers.create_organiser(db, registers.OrganiserInput("mayor", {"fi": "X"}))
    assert await count(db, Organiser) == 0


async def test_a_renamed_organiser_shows_its_new_name_on_its_events(client, db):
    area = await make_area(db)
    event = await make_event(db, area=area)
    [link] = event.organisers
    organiser = link.organiser
    await registers.rename_organiser(
        db,
        organiser,
        registers.OrganiserInput(OrganiserKind.CITY_UNIT, {"fi": "Osallisuusyksikkö"}),
    )
    page = (await client.get(f"/events/{event.id}?lang=fi")).text
    assert "Osallisuusyksikkö" in page
    assert "Asukasosallisuus" not in page
    record = await db.scalar(select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(1))
    assert record.action == "organiser.rename"
    assert record.before["name"]["fi"] == "Asukasosallisuus"


async def test_merging_moves_the_events_and_the_monitoring_counts_one_organiser(db):
    area = await make_area(db, "Kallio", population=10_000)
    first = await make_event(db, area=area, starts_in=-dt.timedelta(days=3))
    second = await make_event(db, area=area, starts_in=-dt.timedelta(days=2))
    # The same library entered twice under two spellings, one at each event, and both at the
    # second event.
    typo = await registers.create_organiser(
        db, registers.OrganiserInput(OrganiserKind.CITY_UNIT, {"fi": "Kirjasto-palvelut"})
    )
    library = await registers.create_organiser(db, LIBRARY)
    db.add(EventOrganiser(event_id=first.id, organiser_id=typo.id, position=1))
    db.add(EventOrganiser(event_id=second.id, organiser_id=typo.id, position=1))
    db.add(EventOrganiser(event_id=second.id, organiser_id=library.id, position=2))
    await db.commit()

    async def organisers_in_area() -> int:
        result = await compare(db, ComparisonFilter(), "area", zone="Europe/Helsinki", areas=[area])
        return {group.key: group for group in result.groups}[str(area.id)].organisers

    assert await organisers_in_area() == 3
    await registers.merge_organiser(db, typo, library.id)
    assert await organisers_in_area() == 2  # the factory's city unit and the library
    links = list(
        await db.scalars(select(EventOrganiser).where(EventOrganiser.organiser_id == library.id))
    )
    assert sorted(link.event_id for link in links) == [first.id, second.id]
    await db.refresh(typo)
    assert typo.retired
    assert typo.merged_into_id == library.id
    assert (await actions(db))[-1] == "organiser.merge"
    with pytest.raises(DomainError):
        await registers.merge_organiser(db, library, library.id)


async def test_an_organiser_shared_by_two_events_counts_once(client, db):
    """Through the event form: the second event picks the organiser the first one added."""
    await signed_in_as(client, db, Role.STAFF)
    area = await make_area(db, "Kallio", population=10_000)
    start = (dt.datetime.now(ZONE) - dt.timedelta(days=5)).date().isoformat()
    common = {"area_id": str(area.id), "starts_date": start, "organisers_association_fi": None}
    assert (await post_event(client, **common)).status_code == 303
    library = await db.scalar(
        select(Organiser).where(Organiser.name["fi"].as_string() == "Kirjastopalvelut")
    )
    city_unit = await db.scalar(
        select(Organiser).where(Organiser.name["fi"].as_string() == "Asukasosallisuus")
    )
    second = await post_event(
        client,
        **common,
        organisers_city_unit_fi=None,
        organiser_city_unit=[str(library.id), str(city_unit.id)],
    )
    assert second.status_code == 303
    assert await count(db, Organiser) == 2
    assert await count(db, EventOrganiser) == 4
    result = await compare(db, ComparisonFilter(), "area", zone="Europe/Helsinki", areas=[area])
    [group] = [g for g in result.groups if g.key == str(area.id)]
    assert group.events == 2
    assert group.organisers == 2


async def test_a_retired_organiser_is_not_offered_but_stays_on_its_events(client, db):
    await signed_in_as(client, db, Role.STAFF)
    event = await make_event(db)
    organiser = event.organisers[0].organiser
    await registers.set_organiser_retired(db, organiser, retired=True)
    new_form = html.unescape((await client.get("/staff/events/new")).text)
    assert f'value="{organiser.id}"' not in new_form
    refused = await post_event(client, organiser_city_unit=str(organiser.id))
    assert refused.status_code == 400
    assert "Choose from the options shown." in refused.text
    edit = html.unescape((await client.get(f"/staff/events/{event.id}")).text)
    assert f'value="{organiser.id}" checked' in edit
    assert (await actions(db))[-1] == "organiser.retire"


async def test_audit_record_and_change_share_one_transaction(db, monkeypatch):
    """When the audit record cannot be written, the organiser is not stored either."""

    async def failing(*args, **kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr(registers, "record_action", failing)
    with pytest.raises(RuntimeError):
        await registers.create_organiser(db, LIBRARY)
    await db.rollback()
    assert await count(db, Organiser) == 0


# --- event types -------------------------------------------------------------------------------


async def test_an_added_event_type_gets_a_stable_key_and_unique_names(db):
    added = await registers.add_event_type(
        db, {"fi": "Kävelykierros", "sv": "Promenad", "en": "Walking tour"}
    )
    assert added.key == "walking_tour"
    await registers.rename_event_type(db, added, {"fi": "Kävelykierros", "en": "Guided walk"})
    assert added.key == "walking_tour"
    # Another added type's name, or a built-in type's name in any language.
    for name in ({"en": "guided walk"}, {"en": "Pop-up"}, {"sv": "temapanel"}):
        with pytest.raises(DomainError, match="already an event type"):
            await registers.add_event_type(db, name)
    other = await registers.add_event_type(db, {"fi": "Walking tour"})
    assert other.key == "walking_tour_2"
    assert await actions(db) == ["event_type.add", "event_type.rename", "event_type.add"]
    with pytest.raises(DomainError, match="200 characters"):
        await registers.add_event_type(db, {"en": "y" * 201})
    await db.rollback()
    assert await count(db, AddedEventType) == 2


async def test_a_retired_type_stays_on_its_events_and_new_ones_cannot_have_it(client, db):
    await signed_in_as(client, db, Role.STAFF)
    added = await registers.add_event_type(db, {"fi": "Kävelykierros", "en": "Walking tour"})
    assert (await post_event(client, event_type="walking_tour")).status_code == 303
    event = await db.scalar(select(Event))
    assert event.event_type == "walking_tour"
    page = (await client.get(f"/events/{event.id}?lang=fi")).text
    assert "Kävelykierros" in page
    calendar = (await client.get("/?lang=en&type=walking_tour")).text
    assert '<option value="walking_tour" selected>Walking tour</option>' in calendar
    assert "Resident evening in Kivenlahti" in calendar
    await registers.set_event_type_retired(db, added, retired=True)
    refused = await post_event(client, event_type="walking_tour")
    assert refused.status_code == 400
    assert await count(db, Event) == 1
    # Its own event keeps it when saved again.
    edit = html.unescape((await client.get(f"/staff/events/{event.id}")).text)
    assert '<option value="walking_tour" selected>Walking tour</option>' in edit
    # The comparison still offers it and names its group.
    compare_page = (await client.get("/staff/feedback?group=type&type=walking_tour")).text
    assert 'value="walking_tour" checked' in compare_page
    # The year view shows a retired type that has events in the year.
    year = (await client.get(f"/calendar/year?by=type&year={event.local_year}&lang=fi")).text
    assert "Kävelykierros" in year
    assert (await client.get("/calendar.ics?type=walking_tour")).status_code == 200


async def test_the_year_view_and_open_data_carry_an_added_type(client, db):
    await registers.add_event_type(db, {"fi": "Kävelykierros", "en": "Walking tour"})
    area = await make_area(db)
    data = EventInput(
        title={"fi": "Kierros"},
        event_type="walking_tour",
        starts_at=dt.datetime(2026, 3, 3, 15, tzinfo=dt.UTC),
        ends_at=dt.datetime(2026, 3, 3, 17, tzinfo=dt.UTC),
        languages=["fi"],
        area_id=area.id,
    )
    await create_events(db, data, zone=ZONE)
    year = (await client.get("/calendar/year?by=type&year=2026&lang=fi")).text
    assert "Kävelykierros" in year
    opendata = (await client.get("/open-data/events.csv")).text
    assert ",walking_tour,Kävelykierros,1," in opendata


async def test_an_unknown_type_key_is_refused_by_the_service(db):
    data = EventInput(
        title={"fi": "Ilta"},
        event_type="no_such_type",
        starts_at=dt.datetime(2026, 3, 3, 15, tzinfo=dt.UTC),
        ends_at=dt.datetime(2026, 3, 3, 17, tzinfo=dt.UTC),
        languages=["fi"],
    )
    with pytest.raises(DomainError, match="type of event"):
        await create_events(db, data, zone=ZONE)
    await db.rollback()
    assert await count(db, Event) == 0


# --- staff pages -------------------------------------------------------------------------------


async def post_form(client, path: str, **fields):
    token = await csrf_token(client, path)
    return await client.post(path, data={**fields, "_csrf_token": token})


async def test_staff_add_an_organiser_with_an_error_in_finnish_then_fixed(client, db):
    await signed_in_as(client, db, Role.STAFF)
    await client.get("/?lang=fi")
    await registers.create_organiser(db, LIBRARY)
    refused = await post_form(
        client, "/staff/organisers/new", kind="city_unit", name_fi="kirjastopalvelut"
    )
    assert refused.status_code == 400
    assert "Rekisterissä on jo" in refused.text
    empty = await post_form(client, "/staff/organisers/new", kind="city_unit", name_fi="")
    assert empty.status_code == 400
    assert await count(db, Organiser) == 1
    added = await post_form(
        client, "/staff/organisers/new", kind="association", name_fi="Kivenlahti-Seura"
    )
    assert added.status_code == 303
    listing = (await client.get("/staff/organisers")).text
    assert "Kivenlahti-Seura" in listing
    assert await count(db, Organiser) == 2


async def test_only_administrators_add_event_types(client, db):
    await signed_in_as(client, db, Role.STAFF)
    refused = await post_form(client, "/staff/event-types", name_en="Walk")
    assert refused.status_code in (403, 405)
    assert await count(db, AddedEventType) == 0


async def test_an_administrator_adds_an_event_type_after_an_error(client, db):
    await signed_in_as(client, db, Role.ADMIN)
    duplicate = await post_form(client, "/staff/event-types/new", name_en="pop-up")
    assert duplicate.status_code == 400
    assert "There is already an event type by this name." in duplicate.text
    long = await post_form(client, "/staff/event-types/new", name_en="z" * 300)
    assert long.status_code == 400
    assert await count(db, AddedEventType) == 0
    added = await post_form(
        client, "/staff/event-types/new", name_fi="Kävelykierros", name_en="Walking tour"
    )
    assert added.status_code == 303
    listing = (await client.get("/staff/event-types")).text
    assert "<code>walking_tour</code>" in listing
    form = (await client.get("/staff/events/new")).text
    assert '<option value="walking_tour">Walking tour</option>' in form


# --- the migration -----------------------------------------------------------------------------

REVISION = "d3b8f1c27a40"


def register_after_migration(url: str) -> tuple[list, list]:
    """Write organisers the old way (kind and name on each event's row), then migrate."""
    config = alembic_config(url)
    from alembic.script import ScriptDirectory

    before = ScriptDirectory.from_config(config).get_revision(REVISION).down_revision
    command.upgrade(config, before)

    async def write_and_upgrade():
        engine = create_engine(url)
        async with engine.begin() as connection:
            events = []
            for day in (1, 2):
                events.append(
                    (
                        await connection.execute(
                            text(
                                "INSERT INTO event (title, description, theme, event_type, venue, "
                                "languages, starts_at, ends_at, is_public, local_month, "
                                'local_year, created_at, updated_at) VALUES (\'{"fi": "Ilta"}\', '
                                "'{}', '{}', 'pop_up', '{}', '[\"fi\"]', :at, :at, true, "
                                "'2026-12', 2026, :at, :at) RETURNING id"
                            ),
                            {"at": dt.datetime(2026, 12, day, 15, tzinfo=dt.UTC)},
                        )
                    ).scalar_one()
                )
            rows = [
                (events[0], "city_unit", '{"fi": "Kirjastopalvelut", "sv": "Biblioteket"}'),
                (events[0], "association", '{"fi": "Kylä-Seura"}'),
                # The same library again at the same event, in capitals: one link.
                (events[0], "city_unit", '{"fi": "KIRJASTOPALVELUT"}'),
                (events[1], "city_unit", '{"fi": " kirjastopalvelut "}'),
                # The same name as another kind: another organiser.
                (events[1], "residents", '{"fi": "Kylä-Seura"}'),
            ]
            for position, (event_id, kind, name) in enumerate(rows):
                await connection.execute(
                    text(
                        "INSERT INTO event_organiser (event_id, kind, name, position) "
                        "VALUES (:event, :kind, :name, :position)"
                    ),
                    {"event": event_id, "kind": kind, "name": name, "position": position},
                )

            def upgrade(sync_connection) -> None:
                config.attributes["connection"] = sync_connection
                command.upgrade(config, REVISION)

            await connection.run_sync(upgrade)
            register = [
                (row.kind, row.name)
                for row in await connection.execute(
                    select(Organiser.kind, Organiser.name).order_by(Organiser.id)
                )
            ]
            links = [
                tuple(row)
                for row in await connection.execute(
                    select(EventOrganiser.event_id, Organiser.kind, func.count())
                    .join(Organiser, Organiser.id == EventOrganiser.organiser_id)
                    .group_by(EventOrganiser.event_id, Organiser.kind)
                    .order_by(EventOrganiser.event_id, Organiser.kind)
                )
            ]
            links = [(events.index(event_id), kind, n) for event_id, kind, n in links]
        await engine.dispose()
        return register, links

    return asyncio.run(write_and_upgrade())


EXPECTED_REGISTER = [
    ("city_unit", {"fi": "Kirjastopalvelut", "sv": "Biblioteket"}),
    ("association", {"fi": "Kylä-Seura"}),
    ("residents", {"fi": "Kylä-Seura"}),
]
EXPECTED_LINKS = [
    (0, "association", 1),
    (0, "city_unit", 1),
    (1, "city_unit", 1),
    (1, "residents", 1),
]


def test_the_migration_makes_one_register_entry_per_kind_and_name_on_postgres(
    postgres_server_url,
):
    with fresh_database(postgres_server_url, "register") as url:
        assert register_after_migration(url) == (EXPECTED_REGISTER, EXPECTED_LINKS)


def test_the_migration_makes_one_register_entry_per_kind_and_name_on_sqlite(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'tori.sqlite3'}"
    assert register_after_migration(url) == (EXPECTED_REGISTER, EXPECTED_LINKS)


async def test_oversized_and_hostile_names_over_http_in_swedish(client, db):
    await signed_in_as(client, db, Role.ADMIN)
    await client.get("/?lang=sv")
    long = await post_form(client, "/staff/event-types/new", name_sv="å" * 201)
    assert long.status_code == 400
    assert "högst 200 tecken" in long.text
    control = await post_form(
        client, "/staff/organisers/new", kind="association", name_sv="Förening\u202eX"
    )
    assert control.status_code == 400
    assert "Ta bort de särskilda styrtecknen" in control.text
    assert await count(db, AddedEventType) == 0
    assert await count(db, Organiser) == 0
    assert await count(db, AuditRecord) == 0
    # Markup is a name like any other, and shown as text.
    script = "<script>alert(1)</script>"
    assert (
        await post_form(client, "/staff/organisers/new", kind="association", name_sv=script)
    ).status_code == 303
    listing = (await client.get("/staff/organisers")).text
    assert script not in listing
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listing


async def test_the_comparison_filters_by_an_organiser_of_the_register(client, db):
    await signed_in_as(client, db, Role.STAFF)
    area = await make_area(db, "Kallio", population=10_000)
    first = await make_event(db, area=area, starts_in=-dt.timedelta(days=3))
    await make_event(db, area=area, starts_in=-dt.timedelta(days=2))
    association = await registers.create_organiser(
        db, registers.OrganiserInput(OrganiserKind.ASSOCIATION, {"fi": "Kylä-Seura"})
    )
    db.add(EventOrganiser(event_id=first.id, organiser_id=association.id, position=1))
    await db.commit()
    dates = "&start=2000-01-01&end=2100-01-01"
    page = (await client.get(f"/staff/feedback?organiser_id={association.id}{dates}")).text
    assert f'<option value="{association.id}" selected>Kylä-Seura (Association)</option>' in page
    exported = await client.get(
        f"/staff/feedback/export/monitoring.csv?group=none&organiser_id={association.id}{dates}"
    )
    rows = [line.split(",") for line in exported.text.strip().splitlines()]
    assert rows[1][rows[0].index("events")] == "1"
    everything = await client.get(f"/staff/feedback/export/monitoring.csv?group=none{dates}")
    rows = [line.split(",") for line in everything.text.strip().splitlines()]
    assert rows[1][rows[0].index("events")] == "2"
    # An id not in the register is named and left out.
    unknown = await client.get(f"/staff/feedback?organiser_id=999999{dates}")
    assert unknown.status_code == 400
    assert "A choice was not recognised and was left out." in unknown.text
