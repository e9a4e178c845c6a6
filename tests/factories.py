"""Factories that build real rows through the same code paths the application uses."""

from __future__ import annotations

import datetime as dt
import itertools

from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role, User
from app.accounts.passwords import hash_password
from app.areas.models import Area
from app.areas.services import AreaInput, create_area
from app.database import utcnow
from app.events.models import Event, EventType, OrganiserKind
from app.events.services import EventInput, create_events
from tests.conftest import csrf_token

PASSWORD = "correct horse battery staple"
_numbers = itertools.count(1)


async def make_user(
    db: AsyncSession,
    role: Role = Role.STAFF,
    *,
    email: str | None = None,
    must_change_password: bool = False,
    password: str = PASSWORD,
) -> User:
    user = User(
        email=email or f"person{next(_numbers)}@example.fi",
        display_name="Test Person",
        role=role.value,
        password_hash=await hash_password(password),
        must_change_password=must_change_password,
        is_active=True,
    )
    db.add(user)
    await db.commit()
    return user


async def sign_in(client: AsyncTestClient, user: User, password: str = PASSWORD) -> None:
    token = await csrf_token(client)
    response = await client.post(
        "/staff/login", data={"email": user.email, "password": password, "_csrf_token": token}
    )
    assert response.status_code == 303, response.text


async def signed_in_as(client: AsyncTestClient, db: AsyncSession, role: Role) -> User:
    """A signed-in user of that role, reading Tori in English."""
    await client.get("/?lang=en")
    user = await make_user(db, role)
    await sign_in(client, user)
    return user


async def make_area(
    db: AsyncSession, fi: str = "Testilä", population: int = 10_000, year: int = 2017
) -> Area:
    return await create_area(
        db, AreaInput(name={"fi": fi, "sv": fi + " (sv)"}, populations={year: population})
    )


async def make_event(
    db: AsyncSession,
    *,
    area: Area | None = None,
    starts_in: dt.timedelta = dt.timedelta(days=3),
    event_type: EventType | str = EventType.RESIDENT_EVENING,
    languages: list[str] | None = None,
    title: dict[str, str] | None = None,
    is_public: bool = True,
    hours: float = 2,
) -> Event:
    starts = (utcnow() + starts_in).replace(second=0, microsecond=0)
    data = EventInput(
        title=title or {"fi": "Asukasilta", "sv": "Invånarkväll", "en": "Resident evening"},
        event_type=event_type,
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=hours),
        languages=languages or ["fi"],
        area_id=area.id if area else None,
        venue={"fi": "Kirjasto", "sv": "Biblioteket"},
        organisers=[
            (OrganiserKind.CITY_UNIT, {"fi": "Asukasosallisuus", "sv": "Invånardelaktighet"})
        ],
        is_public=is_public,
    )
    from zoneinfo import ZoneInfo

    [event] = await create_events(db, data, zone=ZoneInfo("Europe/Helsinki"))
    return event
