from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.areas.models import Area, AreaPopulation
from app.audit import record_action
from app.errors import DomainError, NotFoundError
from app.i18n import N_


@dataclass(frozen=True)
class AreaInput:
    name: dict[str, str]
    populations: dict[int, int]


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:60] or "area"


async def list_areas(session: AsyncSession) -> list[Area]:
    areas = list(await session.scalars(select(Area)))
    return sorted(
        areas, key=lambda area: (area.name.get("fi") or next(iter(area.name.values()), "")).lower()
    )


async def get_area(session: AsyncSession, area_id: int) -> Area:
    area = await session.get(Area, area_id)
    if area is None:
        raise NotFoundError(N_("No such area."))
    return area


async def _unique_slug(session: AsyncSession, base: str, exclude_id: int | None = None) -> str:
    slug, number = base, 2
    while True:
        query = select(Area.id).where(Area.slug == slug)
        if exclude_id is not None:
            query = query.where(Area.id != exclude_id)
        if await session.scalar(query) is None:
            return slug
        slug, number = f"{base}-{number}", number + 1


def _set_populations(area: Area, populations: dict[int, int]) -> None:
    by_year = {p.year: p for p in area.populations}
    for year, row in by_year.items():
        if year not in populations:
            area.populations.remove(row)
    for year, population in sorted(populations.items()):
        if year in by_year:
            by_year[year].population = population
        else:
            area.populations.append(AreaPopulation(year=year, population=population))


def area_snapshot(area: Area) -> dict:
    """What the staff audit log keeps of an area, before and after a change."""
    return {
        "slug": area.slug,
        "name": area.name,
        "populations": {str(p.year): p.population for p in area.populations},
    }


async def _record(session: AsyncSession, action: str, area: Area, before, after) -> None:
    await session.flush()
    await record_action(session, None, action, f"area {area.id} {area.slug}", before, after)


async def create_area(session: AsyncSession, data: AreaInput, slug: str | None = None) -> Area:
    base = slug or slugify(data.name.get("fi") or next(iter(data.name.values())))
    area = Area(slug=await _unique_slug(session, base), name=data.name, populations=[])
    _set_populations(area, data.populations)
    session.add(area)
    await _record(session, "area.create", area, None, area_snapshot(area))
    await session.commit()
    return area


async def update_area(session: AsyncSession, area: Area, data: AreaInput) -> Area:
    before = area_snapshot(area)
    area.name = data.name
    _set_populations(area, data.populations)
    await _record(session, "area.edit", area, before, area_snapshot(area))
    await session.commit()
    return area


async def delete_area(session: AsyncSession, area: Area) -> None:
    from app.events.models import Event  # noqa: PLC0415 - events depend on areas, not the reverse

    in_use = await session.scalar(
        select(func.count()).select_from(Event).where(Event.area_id == area.id)
    )
    if in_use:
        raise DomainError(
            N_("This area has %(count)s events. Move or delete them before deleting the area."),
            count=in_use,
        )
    before = area_snapshot(area)
    await session.delete(area)
    await _record(session, "area.delete", area, before, None)
    await session.commit()
