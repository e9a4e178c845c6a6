"""Places and themes of proposals: the themes staff define for a round (a name per language),
the themes of each proposal, where a proposal is (an address or place name, the area, optional
coordinates), a link to the map service the city configures, and the theme and area filter of
the public list, the ballot and the results.

Nothing here is part of the ballot or the count: themes and places describe proposals, so staff
may change them in any phase (the bulletin board and the tally never read them)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import record_action
from app.errors import DomainError, NotFoundError
from app.i18n import N_
from voting.models import Proposal, ProposalTheme, Round, Theme

MAX_THEME_NAME = 80
MAX_THEMES = 40
MAX_PLACE_NAME = 200
# A theme is named in Finnish and Swedish (the city's official languages); English is optional.
REQUIRED_THEME_LANGUAGES = ("fi", "sv")
# A point in Finland, generously: Hanko to Nuorgam, Åland to Ilomantsi and a little more.
LATITUDES = (59.0, 70.5)
LONGITUDES = (19.0, 32.0)
# The filter's area value for the city-wide budget.
CITY = "city"


class ThemeError(DomainError):
    pass


# Themes --------------------------------------------------------------------------------------


async def list_themes(session: AsyncSession, round_id: int) -> list[Theme]:
    """A round's themes in the order staff added them."""
    return list(
        await session.scalars(select(Theme).where(Theme.round_id == round_id).order_by(Theme.id))
    )


async def get_theme(session: AsyncSession, round_id: int, theme_id: int) -> Theme:
    theme = await session.get(Theme, theme_id)
    if theme is None or theme.round_id != round_id:
        raise NotFoundError(N_("There is no such theme."))
    return theme


def _check_name(name: dict[str, str]) -> None:
    if any(not (name.get(code) or "").strip() for code in REQUIRED_THEME_LANGUAGES):
        raise ThemeError(N_("Give the theme's name in Finnish and in Swedish."))
    if any(len(text) > MAX_THEME_NAME for text in name.values()):
        raise ThemeError(
            N_("A theme's name can be at most %(num)d characters."), num=MAX_THEME_NAME
        )


async def _check_unique(
    session: AsyncSession, round_id: int, name: dict[str, str], except_id: int | None = None
) -> None:
    """Two themes of a round may not share a name in any language (case does not count)."""
    for other in await list_themes(session, round_id):
        if other.id == except_id:
            continue
        for code, text in name.items():
            if (other.name.get(code) or "").casefold() == text.casefold():
                raise ThemeError(N_("This round already has a theme named “%(name)s”."), name=text)


def _name_record(name: dict[str, str]) -> dict[str, str]:
    return {code: name[code] for code in sorted(name)}


async def create_theme(
    session: AsyncSession, round_: Round, name: dict[str, str], actor: Any = None
) -> Theme:
    """A new theme of the round; recorded in the staff audit log."""
    _check_name(name)
    if len(await list_themes(session, round_.id)) >= MAX_THEMES:
        raise ThemeError(N_("A round can have at most %(num)d themes."), num=MAX_THEMES)
    await _check_unique(session, round_.id, name)
    theme = Theme(round_id=round_.id, name=_name_record(name))
    session.add(theme)
    await session.flush()
    await record_action(
        session,
        actor,
        "theme.create",
        f"round {round_.id}",
        None,
        {"theme": theme.id, "name": theme.name},
    )
    await session.commit()
    return theme


async def rename_theme(
    session: AsyncSession, theme: Theme, name: dict[str, str], actor: Any = None
) -> None:
    """New names for a theme (the proposals keep it); recorded in the staff audit log."""
    _check_name(name)
    await _check_unique(session, theme.round_id, name, except_id=theme.id)
    before, after = dict(theme.name), _name_record(name)
    if before == after:
        return
    theme.name = after
    await record_action(
        session,
        actor,
        "theme.rename",
        f"round {theme.round_id}",
        {"theme": theme.id, "name": before},
        {"theme": theme.id, "name": after},
    )
    await session.commit()


async def remove_theme(session: AsyncSession, theme: Theme, actor: Any = None) -> None:
    """Remove a theme; the proposals that had it lose it. Recorded in the staff audit log with
    the names and the proposals it was on, so that it can be made again."""
    on = list(
        await session.scalars(
            select(ProposalTheme.proposal_id)
            .where(ProposalTheme.theme_id == theme.id)
            .order_by(ProposalTheme.proposal_id)
        )
    )
    await record_action(
        session,
        actor,
        "theme.remove",
        f"round {theme.round_id}",
        {"theme": theme.id, "name": dict(theme.name), "proposals": on},
        None,
    )
    await session.execute(delete(ProposalTheme).where(ProposalTheme.theme_id == theme.id))
    await session.delete(theme)
    await session.commit()


async def theme_ids_of(session: AsyncSession, proposal_id: int) -> list[int]:
    return list(
        await session.scalars(
            select(ProposalTheme.theme_id)
            .where(ProposalTheme.proposal_id == proposal_id)
            .order_by(ProposalTheme.theme_id)
        )
    )


async def themes_of(session: AsyncSession, proposal_id: int) -> list[Theme]:
    return list(
        await session.scalars(
            select(Theme)
            .join(ProposalTheme, ProposalTheme.theme_id == Theme.id)
            .where(ProposalTheme.proposal_id == proposal_id)
            .order_by(Theme.id)
        )
    )


async def themes_by_proposal(session: AsyncSession, round_id: int) -> dict[int, list[Theme]]:
    """Each proposal of the round with its themes (proposals without a theme are left out)."""
    rows = await session.execute(
        select(ProposalTheme.proposal_id, Theme)
        .join(Theme, Theme.id == ProposalTheme.theme_id)
        .where(Theme.round_id == round_id)
        .order_by(ProposalTheme.proposal_id, Theme.id)
    )
    found: dict[int, list[Theme]] = {}
    for proposal_id, theme in rows.all():
        found.setdefault(proposal_id, []).append(theme)
    return found


async def _check_themes(session: AsyncSession, round_id: int, theme_ids: list[int]) -> None:
    known = {theme.id for theme in await list_themes(session, round_id)}
    if any(theme_id not in known for theme_id in theme_ids):
        raise ThemeError(N_("Choose themes of this round from the list."))


async def add_themes(
    session: AsyncSession, round_id: int, proposal: Proposal, theme_ids: list[int]
) -> None:
    """The themes a resident (or a staff member typing an idea in) picked for a new idea, in
    the caller's transaction."""
    await _check_themes(session, round_id, theme_ids)
    for theme_id in sorted(set(theme_ids)):
        session.add(ProposalTheme(proposal_id=proposal.id, theme_id=theme_id))


# Places --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """Where a proposal is; every part optional."""

    name: str | None = None
    area_id: int | None = None
    latitude: float | None = None
    longitude: float | None = None


def coordinate_problem(latitude: float | None, longitude: float | None) -> str | None:
    """Why the coordinates cannot be stored (a msgid), or None."""
    if (latitude is None) != (longitude is None):
        return N_("Give both coordinates, or neither.")
    if latitude is None or longitude is None:
        return None
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return N_("Give the point's coordinates in Finland.")
    if not (
        LATITUDES[0] <= latitude <= LATITUDES[1] and LONGITUDES[0] <= longitude <= LONGITUDES[1]
    ):
        return N_("Give the point's coordinates in Finland.")
    return None


def place_of(proposal: Proposal) -> Place:
    return Place(proposal.place_name, proposal.place_area_id, proposal.latitude, proposal.longitude)


def round_area_ids(round_: Round) -> list[int]:
    return [budget.area_id for budget in round_.budgets if budget.area_id is not None]


async def set_place_and_themes(
    session: AsyncSession,
    round_: Round,
    proposal: Proposal,
    place: Place,
    theme_ids: list[int],
    actor: Any = None,
) -> None:
    """Where a proposal is and its themes, as a staff member sets them in review; recorded in
    the staff audit log when anything changed. A district's proposal lies in its district; a
    city-wide one may name the area it lies in."""
    if place.name is not None and len(place.name) > MAX_PLACE_NAME:
        raise DomainError(N_("Use at most %(num)d characters."), num=MAX_PLACE_NAME)
    if problem := coordinate_problem(place.latitude, place.longitude):
        raise DomainError(problem)
    area_id = place.area_id
    if proposal.area_id is not None:
        if area_id not in (None, proposal.area_id):
            raise DomainError(N_("A district's proposal lies in its own district."))
        area_id = None
    elif area_id is not None and area_id not in round_area_ids(round_):
        raise DomainError(N_("Choose an area of this round from the list."))
    await _check_themes(session, round_.id, theme_ids)
    themes_before = await theme_ids_of(session, proposal.id)
    themes_after = sorted(set(theme_ids))
    before = {**_place_record(place_of(proposal)), "themes": themes_before}
    proposal.place_name = place.name or None
    proposal.place_area_id = area_id
    proposal.latitude, proposal.longitude = place.latitude, place.longitude
    after = {**_place_record(place_of(proposal)), "themes": themes_after}
    if before == after:
        return
    if themes_before != themes_after:
        await session.execute(delete(ProposalTheme).where(ProposalTheme.proposal_id == proposal.id))
        for theme_id in themes_after:
            session.add(ProposalTheme(proposal_id=proposal.id, theme_id=theme_id))
    await record_action(session, actor, "proposal.place", f"proposal {proposal.id}", before, after)
    await session.commit()


def _place_record(place: Place) -> dict:
    return {
        "place": place.name,
        "area": place.area_id,
        "lat": place.latitude,
        "lon": place.longitude,
    }


def map_link(template: str | None, proposal: Proposal) -> str | None:
    """The link to the city's map service for the proposal's place, or None when no service
    is configured or the proposal lacks what the template needs (coordinates or a name)."""
    if not template:
        return None
    uses_point = "{lat}" in template or "{lon}" in template
    if uses_point and (proposal.latitude is None or proposal.longitude is None):
        return None
    if "{query}" in template and not proposal.place_name:
        return None
    link = template
    if uses_point:
        link = link.replace("{lat}", f"{proposal.latitude:.6f}").replace(
            "{lon}", f"{proposal.longitude:.6f}"
        )
    if proposal.place_name:
        link = link.replace("{query}", quote(proposal.place_name, safe=""))
    return link


# Filters -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProposalFilter:
    """A theme and an area to show proposals of. `area` is an area id (proposals of that
    district and city-wide proposals that lie in it), CITY (the city-wide budget's) or None."""

    theme: int | None = None
    area: int | str | None = None

    @property
    def active(self) -> bool:
        return self.theme is not None or self.area is not None


async def matching_ids(
    session: AsyncSession, round_id: int, chosen: ProposalFilter
) -> set[int] | None:
    """The ids of the round's proposals that the filter lets through; None with no filter."""
    if not chosen.active:
        return None
    conditions: list = [Proposal.round_id == round_id]
    if chosen.area == CITY:
        conditions.append(Proposal.area_id.is_(None))
    elif chosen.area is not None:
        conditions.append(
            or_(Proposal.area_id == chosen.area, Proposal.place_area_id == chosen.area)
        )
    if chosen.theme is not None:
        conditions.append(
            exists().where(
                ProposalTheme.proposal_id == Proposal.id, ProposalTheme.theme_id == chosen.theme
            )
        )
    return set(await session.scalars(select(Proposal.id).where(*conditions)))


async def theme_use(session: AsyncSession, round_id: int) -> dict[int, int]:
    """How many proposals have each theme of the round."""
    rows = await session.execute(
        select(ProposalTheme.theme_id, func.count())
        .join(Theme, Theme.id == ProposalTheme.theme_id)
        .where(Theme.round_id == round_id)
        .group_by(ProposalTheme.theme_id)
    )
    return dict(rows.all())
