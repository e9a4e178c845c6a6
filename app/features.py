"""Feature packages (surveys, voting) plug into the core through an entry point.

The core never imports a feature by name – `surveys` and `voting` depend on
`app`, not the reverse. Each feature declares in pyproject.toml

    [project.entry-points."tori.features"]
    surveys = "surveys.feature:feature"

and `create_app`, the Alembic environment and the `tori` command find it here.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Feature:
    name: str
    route_handlers: Sequence[Any] = ()
    # The feature's Jinja template directories, searched after the core's (app/templates).
    template_directories: Sequence[Path] = ()
    # Modules whose import registers the feature's tables on the shared metadata.
    model_modules: Sequence[str] = ()
    # Extra `tori` subcommands: name -> (help, add_arguments(parser), run(settings, arguments) -> exit code)
    commands: dict[str, tuple[str, Callable, Callable]] = field(default_factory=dict)
    # Called by `tori seed-demo` with (session, settings) after the core's demo data.
    seed_demo: Callable | None = None
    # Links the core's staff pages show: (msgid, path); in event links "{id}" is the event's id.
    staff_links: Sequence[tuple[str, str]] = ()
    # Links in the public main navigation: (msgid, path).
    public_links: Sequence[tuple[str, str]] = ()
    event_links: Sequence[tuple[str, str]] = ()
    # Called with a session by the public home page: what residents can take part in right now.
    highlights: Callable[[Any], Awaitable[list[Highlight]]] | None = None
    # Called with (session, event id) by the public event page: what residents can answer for
    # that event right now (its open feedback questionnaire and polls).
    event_activities: Callable[[Any, int], Awaitable[list[Highlight]]] | None = None
    # Called with a session by an event's pop-up kit: the idea forms open right now (a round of
    # participatory budgeting collecting ideas), each linking to its form.
    idea_forms: Callable[[Any], Awaitable[list[Highlight]]] | None = None
    # Called with (session, start, end) by the public calendar: dated steps residents can plan for.
    milestones: Callable[[Any, Any, Any], Awaitable[list[Milestone]]] | None = None
    # Called by `tori retention` with (session, settings, now, dry_run): removes or anonymises
    # what the privacy notice says is kept no longer, returns [app.retention.Removed].
    retention: Callable[[Any, Any, Any, bool], Awaitable[list[Any]]] | None = None
    # Called by the mail sender before each turn with (session, settings, now): writes into the
    # outbox the messages that fall due at a time rather than at an action (voting opens),
    # committing each with its mark; returns how many it wrote.
    timed_mail: Callable[[Any, Any, Any], Awaitable[int]] | None = None
    # Templates included in the privacy notice: what the feature stores and for how long.
    privacy_sections: Sequence[str] = ()
    # Called with the request by every page's header: the signed-in resident's own menu, as
    # (msgid of the link, its path, the sign-out form's action), or None. No database here: it
    # runs for every page, so it may read only the request (a signed cookie).
    account_menu: Callable[[Any], tuple[str, str, str] | None] | None = None
    # Called with the application when it stops (closing the feature's own connections).
    on_shutdown: Sequence[Callable[[Any], Awaitable[None]]] = ()
    # Called with (session, event, settings) by the event's public card after it was held
    # ("you said – we did"): [app.events.report.ReportSection], e.g. the feedback summary.
    event_report: Callable[[Any, Any, Any], Awaitable[list[Any]]] | None = None
    # The feature's open datasets (app.opendata.datasets.Dataset), listed on /open-data.
    open_data: Sequence[Any] = ()
    # Called with a session by the equal-access view: who voted in each published round of
    # participatory budgeting, by area and by age band ([Turnout]), from the figures kept with
    # the published results (small groups already withheld there).
    turnouts: Callable[[Any], Awaitable[list[Turnout]]] | None = None


@dataclass(frozen=True)
class Highlight:
    """Something open for taking part, shown on the home page: a msgid for its kind, a title by
    language, a link and when it closes."""

    kind: str
    title: dict[str, str]
    url: str
    closes_at: Any


@dataclass(frozen=True)
class Milestone:
    """A dated step shown on the public calendar (e.g. "voting opens"): a msgid for what
    happens, a title by language, a link and when."""

    kind: str
    title: dict[str, str]
    url: str
    at: Any
    # The area the step concerns (a poll of one area); None for the whole city.
    area_id: int | None = None
    # For the calendar feed: an id that stays the same across requests, what the step says (by
    # language), when it last changed, and `day` for a step that takes a whole day rather than
    # happens at a moment `at` (then `at` is noon UTC of that day, so that the list sorts).
    uid: str = ""
    description: dict[str, str] | None = None
    updated_at: Any = None
    day: Any = None


@dataclass(frozen=True)
class TurnoutGroup:
    """One group of a round's voters: an area (its id as text, "" for no area) or an age band
    (a key of app.areas.models.AGE_BANDS). `eligible` and `voted` are None when withheld."""

    key: str
    eligible: int | None
    voted: int | None


@dataclass(frozen=True)
class Turnout:
    """Who voted in one published round: everyone on its roll, not a sample."""

    title: dict[str, str]
    published_at: Any
    min_age: int
    eligible: int
    voted: int
    areas: tuple[TurnoutGroup, ...]
    ages: tuple[TurnoutGroup, ...]


async def turnouts(session: Any) -> list[Turnout]:
    found = [
        item
        for feature in load_features()
        if feature.turnouts
        for item in await feature.turnouts(session)
    ]
    return sorted(found, key=lambda item: item.published_at, reverse=True)


async def milestones(session: Any, start: Any, end: Any) -> list[Milestone]:
    found = [
        item
        for feature in load_features()
        if feature.milestones
        for item in await feature.milestones(session, start, end)
    ]
    return sorted(found, key=lambda item: item.at)


def template_directories() -> list[Path]:
    return [path for feature in load_features() for path in feature.template_directories]


def privacy_sections() -> list[str]:
    return [name for feature in load_features() for name in feature.privacy_sections]


def public_links() -> list[tuple[str, str]]:
    return [link for feature in load_features() for link in feature.public_links]


def account_menus(request: Any) -> list[tuple[str, str, str]]:
    return [
        menu
        for feature in load_features()
        if feature.account_menu and (menu := feature.account_menu(request))
    ]


def staff_links() -> list[tuple[str, str]]:
    return [link for feature in load_features() for link in feature.staff_links]


def event_links(event_id: int) -> list[tuple[str, str]]:
    return [
        (label, path.format(id=event_id))
        for feature in load_features()
        for label, path in feature.event_links
    ]


async def event_activities(session: Any, event_id: int) -> list[Highlight]:
    return [
        item
        for feature in load_features()
        if feature.event_activities
        for item in await feature.event_activities(session, event_id)
    ]


async def idea_forms(session: Any) -> list[Highlight]:
    return [
        item
        for feature in load_features()
        if feature.idea_forms
        for item in await feature.idea_forms(session)
    ]


async def highlights(session: Any) -> list[Highlight]:
    return [
        item
        for feature in load_features()
        if feature.highlights
        for item in await feature.highlights(session)
    ]


@cache
def load_features() -> tuple[Feature, ...]:
    features = []
    for entry in sorted(entry_points(group="tori.features"), key=lambda e: e.name):
        feature = entry.load()
        for module in feature.model_modules:
            importlib.import_module(module)
        features.append(feature)
    return tuple(features)
