"""Demo data: Espoo's seven major areas and a year of varied resident events in three languages."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.areas.models import Area
from app.areas.services import AreaInput, create_area
from app.database import utcnow
from app.events.models import Event, EventOrganiser, EventType, Organiser, OrganiserKind

# Espoo's own statistics, population on 1 January 2017, by major area.
POPULATION_YEAR = 2017
ESPOO_AREAS = [
    (
        "suur-leppavaara",
        {"fi": "Suur-Leppävaara", "sv": "Stor-Alberga", "en": "Greater Leppävaara"},
        67_814,
        {"fi": "Sellon kirjasto", "sv": "Sellobiblioteket"},
    ),
    (
        "suur-tapiola",
        {"fi": "Suur-Tapiola", "sv": "Stor-Hagalund", "en": "Greater Tapiola"},
        46_052,
        {"fi": "Tapiolan kirjasto", "sv": "Hagalunds bibliotek"},
    ),
    (
        "suur-matinkyla",
        {"fi": "Suur-Matinkylä", "sv": "Stor-Mattby", "en": "Greater Matinkylä"},
        40_389,
        {"fi": "Ison Omenan kirjasto", "sv": "Iso Omenas bibliotek"},
    ),
    (
        "suur-espoonlahti",
        {"fi": "Suur-Espoonlahti", "sv": "Stor-Esboviken", "en": "Greater Espoonlahti"},
        54_248,
        {"fi": "Lippulaivan kirjasto", "sv": "Lippulaivas bibliotek"},
    ),
    (
        "suur-kauklahti",
        {"fi": "Suur-Kauklahti", "sv": "Stor-Köklax", "en": "Greater Kauklahti"},
        9_634,
        {"fi": "Kauklahden kirjasto", "sv": "Köklax bibliotek"},
    ),
    (
        "vanha-espoo",
        {"fi": "Vanha-Espoo", "sv": "Gamla Esbo", "en": "Old Espoo"},
        39_908,
        {"fi": "Entressen kirjasto", "sv": "Entressebiblioteket"},
    ),
    (
        "pohjois-espoo",
        {"fi": "Pohjois-Espoo", "sv": "Norra Esbo", "en": "North Espoo"},
        11_200,
        {"fi": "Kalajärven kirjasto", "sv": "Kalajärvi bibliotek"},
    ),
]

THEMES = [
    ("liikenne ja pyöräily", "trafik och cykling", "traffic and cycling"),
    ("puistot ja viheralueet", "parker och grönområden", "parks and green areas"),
    ("kirjaston palvelut", "bibliotekets tjänster", "library services"),
    ("nuorten harrastukset", "ungas fritidsintressen", "hobbies for young people"),
    ("ikäihmisten arki", "äldres vardag", "everyday life of older people"),
    ("alueen kaavoitus", "planläggningen i området", "land-use planning in the area"),
    ("turvallisuus", "trygghet", "safety"),
    ("kulttuuri ja tapahtumat", "kultur och evenemang", "culture and events"),
    ("ilmasto ja kestävä arki", "klimat och hållbar vardag", "climate and sustainable living"),
]

TITLES = {
    EventType.RESIDENT_EVENING: (
        "Asukasilta: {fi}",
        "Invånarkväll: {sv}",
        "Resident evening: {en}",
    ),
    EventType.THEME_PANEL: ("Teemapaneeli: {fi}", "Temapanel: {sv}", "Theme panel: {en}"),
    EventType.TOWN_HALL: (
        "Town Hall -tilaisuus: {fi}",
        "Town Hall-möte: {sv}",
        "Town Hall meeting: {en}",
    ),
    EventType.POP_UP: (
        "Pop-up: kerro mielipiteesi – {fi}",
        "Pop-up: säg vad du tycker – {sv}",
        "Pop-up: have your say – {en}",
    ),
    EventType.CITY_MEETUP: ("Kaupunkikohtaaminen: {fi}", "Stadsträff: {sv}", "City meet-up: {en}"),
    EventType.DIGITAL: ("Verkkotilaisuus: {fi}", "Webbevenemang: {sv}", "Online event: {en}"),
    EventType.CO_CREATION: (
        "Yhteiskehittämisen työpaja: {fi}",
        "Samutvecklingsverkstad: {sv}",
        "Co-creation workshop: {en}",
    ),
}

DESCRIPTIONS = (
    "Tule kertomaan, mitä mieltä olet, ja kuulemaan kaupungin suunnitelmista. Tilaisuus on maksuton, eikä ennakkoilmoittautumista tarvita.",
    "Kom och berätta vad du tycker och hör om stadens planer. Evenemanget är avgiftsfritt och du behöver inte anmäla dig i förväg.",
    "Come and tell us what you think and hear about the city's plans. The event is free and you do not need to sign up in advance.",
)

# Organiser names in Finnish, Swedish and English, like the places.
CITY_UNITS = [
    {"fi": "Asukasosallisuus", "sv": "Invånardelaktighet", "en": "Resident participation"},
    {"fi": "Kirjastopalvelut", "sv": "Bibliotekstjänster", "en": "Library services"},
    {"fi": "Nuorisopalvelut", "sv": "Ungdomstjänster", "en": "Youth services"},
    {"fi": "Kaupunkisuunnittelu", "sv": "Stadsplanering", "en": "Urban planning"},
    {"fi": "Liikuntapalvelut", "sv": "Idrottstjänster", "en": "Sports services"},
]
ASSOCIATIONS = [
    {"fi": "Kaupunginosayhdistys", "sv": "Stadsdelsförening", "en": "District association"},
    {"fi": "Nuorisoseura", "sv": "Ungdomsförening", "en": "Youth club"},
    {"fi": "Eläkeläisyhdistys", "sv": "Pensionärsförening", "en": "Pensioners' association"},
    {
        "fi": "Monikulttuurinen yhdistys",
        "sv": "Mångkulturell förening",
        "en": "Multicultural association",
    },
]
RESIDENT_GROUP = {"fi": "Asukasryhmä", "sv": "Invånargrupp", "en": "Residents' group"}


async def seed_areas(session: AsyncSession) -> list[Area]:
    existing = {area.slug: area for area in await session.scalars(select(Area))}
    for slug, name, population, _venue in ESPOO_AREAS:
        if slug not in existing:
            existing[slug] = await create_area(
                session, AreaInput(name=name, populations={POPULATION_YEAR: population}), slug=slug
            )
    return [existing[slug] for slug, *_ in ESPOO_AREAS]


def _languages(event_type: EventType, rng: random.Random) -> list[str]:
    if event_type == EventType.TOWN_HALL:
        return ["en", "fi"]
    if event_type == EventType.DIGITAL:
        return ["fi", "sv", "en"]
    return rng.choice([["fi"], ["fi"], ["fi"], ["fi", "sv"], ["fi", "en"], ["sv"]])


async def seed_events(
    session: AsyncSession, areas: list[Area], *, timezone: str, today: dt.date | None = None
) -> int:
    """A year of events around today (half past, half coming); skipped when events exist."""
    if await session.scalar(select(func.count()).select_from(Event)):
        return 0
    zone = ZoneInfo(timezone)
    rng = random.Random(2017)  # noqa: S311 - demo data, not security
    today = today or utcnow().astimezone(zone).date()
    # The register of organisers: each once, so that the monitoring counts each once.
    register: dict[tuple[str, str], Organiser] = {}

    def organiser(kind: OrganiserKind, name: dict[str, str]) -> Organiser:
        key = (kind.value, name["fi"])
        if key not in register:
            register[key] = Organiser(kind=kind.value, name=name, retired=False)
        return register[key]

    venues = {slug: venue for slug, _name, _population, venue in ESPOO_AREAS}
    day, last, created = today - dt.timedelta(days=182), today + dt.timedelta(days=183), 0
    while day <= last:
        # Resident activity pauses in July and over the Christmas week.
        busy = day.month != 7 and not (day.month == 12 and day.day > 21)
        for _ in range(rng.choice([0, 0, 1, 1, 2]) if busy else 0):
            # The types the demo was first written with: a type added later (functional
            # participation) would change every random choice after it, and the demo with it.
            event_type = rng.choice(list(TITLES))
            theme = rng.choice(THEMES)
            area = None if event_type == EventType.DIGITAL else rng.choice(areas)
            start_hour = 10 if event_type == EventType.POP_UP else rng.choice([17, 17, 18, 13])
            duration = 3 if event_type == EventType.POP_UP else rng.choice([1.5, 2, 2, 3])
            starts = dt.datetime.combine(day, dt.time(start_hour, rng.choice([0, 30])), tzinfo=zone)
            ends = starts + dt.timedelta(hours=duration)
            titles = TITLES[event_type]
            organisers = [
                EventOrganiser(
                    organiser=organiser(OrganiserKind.CITY_UNIT, rng.choice(CITY_UNITS)),
                    position=0,
                )
            ]
            if rng.random() < 0.4:
                organisers.append(
                    EventOrganiser(
                        organiser=organiser(OrganiserKind.ASSOCIATION, rng.choice(ASSOCIATIONS)),
                        position=1,
                    )
                )
            if rng.random() < 0.2:
                organisers.append(
                    EventOrganiser(
                        organiser=organiser(OrganiserKind.RESIDENTS, RESIDENT_GROUP), position=2
                    )
                )
            past = ends.date() < today
            participants = rng.randint(8, 120) if past else None
            event = Event(
                title={
                    "fi": titles[0].format(fi=theme[0]),
                    "sv": titles[1].format(sv=theme[1]),
                    "en": titles[2].format(en=theme[2]),
                },
                description={"fi": DESCRIPTIONS[0], "sv": DESCRIPTIONS[1], "en": DESCRIPTIONS[2]},
                theme={"fi": theme[0], "sv": theme[1], "en": theme[2]},
                event_type=event_type.value,
                area_id=area.id if area else None,
                venue={"fi": "Teams", "sv": "Teams", "en": "Teams"}
                if area is None
                else venues[area.slug],
                languages=_languages(event_type, rng),
                starts_at=starts.astimezone(dt.UTC),
                ends_at=ends.astimezone(dt.UTC),
                participant_count=participants,
                visitor_count=(participants + rng.randint(0, 300))
                if event_type == EventType.POP_UP and participants
                else participants,
                is_public=rng.random() > 0.05,
                organisers=organisers,
            )
            event.set_local_period(zone)
            session.add(event)
            created += 1
        day += dt.timedelta(days=1)
    await session.commit()
    return created
