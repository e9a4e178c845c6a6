from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.areas.models import Area, AreaPopulation, AreaStatistics
from app.areas.statistics_file import StatisticsRow
from app.audit import record_action
from app.errors import DomainError, NotFoundError
from app.i18n import N_


@dataclass(frozen=True)
class AreaInput:
    name: dict[str, str]
    populations: dict[int, int]
    # One of app.areas.models.SETTLEMENT_CLASSES, or None while not known.
    settlement_class: str | None = None


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
        "settlement_class": area.settlement_class,
    }


async def _record(session: AsyncSession, action: str, area: Area, before, after) -> None:
    await session.flush()
    await record_action(session, None, action, f"area {area.id} {area.slug}", before, after)


async def create_area(session: AsyncSession, data: AreaInput, slug: str | None = None) -> Area:
    base = slug or slugify(data.name.get("fi") or next(iter(data.name.values())))
    area = Area(
        slug=await _unique_slug(session, base),
        name=data.name,
        settlement_class=data.settlement_class,
        populations=[],
    )
    _set_populations(area, data.populations)
    session.add(area)
    await _record(session, "area.create", area, None, area_snapshot(area))
    await session.commit()
    return area


async def update_area(session: AsyncSession, area: Area, data: AreaInput) -> Area:
    before = area_snapshot(area)
    area.name = data.name
    area.settlement_class = data.settlement_class
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


# --- Residents by age band and mother tongue, imported from a statistics file ---------------


@dataclass(frozen=True)
class StatisticsImport:
    years: tuple[int, ...]
    added: int
    replaced: int
    removed: int


def _statistics_snapshot(rows: list[AreaStatistics], slugs: dict[int, str]) -> dict:
    return {
        f"{row.year} {slugs.get(row.area_id, row.area_id)}": {
            "source": row.source,
            "by_age": row.by_age,
            "by_tongue": row.by_tongue,
        }
        for row in sorted(rows, key=lambda row: (row.year, slugs.get(row.area_id, "")))
    }


async def import_statistics(session: AsyncSession, rows: list[StatisticsRow]) -> StatisticsImport:
    """Store the checked rows of a statistics file. Each year in the file is replaced whole (an
    area of that year missing from the file loses its figures), so importing the same file again
    changes nothing; the year's total becomes the area's population of that year, and a class on
    a line becomes the area's urban/rural class. One audit record, in the same transaction."""
    years = tuple(sorted({row.year for row in rows}))
    areas = {area.id: area for area in await session.scalars(select(Area))}
    slugs = {area_id: area.slug for area_id, area in areas.items()}
    existing = list(
        await session.scalars(select(AreaStatistics).where(AreaStatistics.year.in_(years)))
    )
    before = _import_snapshot(existing, areas, slugs, years)
    by_key = {(row.area_id, row.year): row for row in existing}
    wanted = {(row.area_id, row.year) for row in rows}
    removed = 0
    for key, stored in by_key.items():
        if key not in wanted:
            await session.delete(stored)
            removed += 1
    added = replaced = 0
    for row in rows:
        stored = by_key.get((row.area_id, row.year))
        if stored is None:
            session.add(
                AreaStatistics(
                    area_id=row.area_id,
                    year=row.year,
                    source=row.source,
                    by_age=row.by_age,
                    by_tongue=row.by_tongue,
                )
            )
            added += 1
        else:
            stored.source, stored.by_age, stored.by_tongue = row.source, row.by_age, row.by_tongue
            replaced += 1
        area = areas[row.area_id]
        if row.settlement_class:
            area.settlement_class = row.settlement_class
        populations = {p.year: p.population for p in area.populations}
        populations[row.year] = row.total
        _set_populations(area, populations)
    await session.flush()
    after_rows = list(
        await session.scalars(select(AreaStatistics).where(AreaStatistics.year.in_(years)))
    )
    after = _import_snapshot(after_rows, areas, slugs, years)
    await record_action(
        session,
        None,
        "area.statistics_import",
        "area statistics " + ", ".join(str(year) for year in years),
        before,
        after,
    )
    await session.commit()
    return StatisticsImport(years, added, replaced, removed)


def _import_snapshot(
    rows: list[AreaStatistics], areas: dict[int, Area], slugs: dict[int, str], years: tuple
) -> dict:
    """What an import changes, for its audit record: the statistics of its years, every area's
    class and the populations of its years."""
    return {
        "statistics": _statistics_snapshot(rows, slugs),
        "classes": {area.slug: area.settlement_class for area in areas.values()},
        "populations": {
            f"{p.year} {area.slug}": p.population
            for area in areas.values()
            for p in area.populations
            if p.year in years
        },
    }


async def statistics_of(session: AsyncSession, year: int | None = None) -> list[AreaStatistics]:
    """The statistics of one year (every year when None), oldest first."""
    query = select(AreaStatistics).order_by(AreaStatistics.year, AreaStatistics.area_id)
    if year is not None:
        query = query.where(AreaStatistics.year == year)
    return list(await session.scalars(query))


async def latest_statistics(session: AsyncSession) -> dict[int, AreaStatistics]:
    """Each area's newest statistics, by area id."""
    latest: dict[int, AreaStatistics] = {}
    for row in await statistics_of(session):
        latest[row.area_id] = row
    return latest


async def statistics_years(session: AsyncSession) -> list[int]:
    return list(
        await session.scalars(
            select(AreaStatistics.year).distinct().order_by(AreaStatistics.year.desc())
        )
    )
