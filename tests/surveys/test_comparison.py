"""Aggregation on PostgreSQL, checked against the statistics of the same answers computed directly."""

import datetime as dt

import pytest
from sqlalchemy.event import listen as event_listen
from sqlalchemy.event import remove as event_remove
from sqlalchemy.util import await_only

from app.areas.services import list_areas
from app.events.models import EventType
from surveys import services
from surveys.comparison import ComparisonFilter, compare
from surveys.statistics import summarise_numeric, wilson_interval
from tests.factories import make_area, make_event
from tests.surveys.factories import answer, open_questionnaire

ZONE = "Europe/Helsinki"


async def test_groups_by_event_type_match_statistics_of_the_raw_answers(db):
    area = await make_area(db, "Suur-Tapiola", population=46052)
    panel = await make_event(
        db, area=area, event_type=EventType.THEME_PANEL, starts_in=-dt.timedelta(days=2)
    )
    evening = await make_event(
        db, area=area, event_type=EventType.RESIDENT_EVENING, starts_in=-dt.timedelta(days=1)
    )
    panel.participant_count, evening.participant_count = 40, 12
    await db.commit()
    panel_form = await open_questionnaire(db, panel)
    evening_form = await open_questionnaire(db, evening)
    panel_scores = [5, 4, 4, 3, 5, 2, 4]
    evening_scores = [3, 3, 2, 4, 5, 1]
    for score in panel_scores:
        assert await answer(
            db,
            panel_form,
            {"satisfaction": score, "again": "yes", "heard_from": ["friend", "poster"]},
        )
    for index, score in enumerate(evening_scores):
        assert await answer(
            db,
            evening_form,
            {"satisfaction": score, "again": "no" if index % 2 else "yes"},
            language="sv",
        )
    await services.fold_pending_counts(db)  # half folded …
    assert await answer(
        db, evening_form, {"satisfaction": 5}, language="en"
    )  # … and one still pending
    evening_scores.append(5)

    result = await compare(db, ComparisonFilter(), "type", zone=ZONE, areas=await list_areas(db))
    groups = {group.key: group for group in result.groups}
    assert set(groups) == {"theme_panel", "resident_evening"}
    for key, scores in (("theme_panel", panel_scores), ("resident_evening", evening_scores)):
        expected = summarise_numeric({v: scores.count(v) for v in set(scores)})
        got = groups[key].numeric("satisfaction")
        assert got.n == len(scores)
        assert got.mean == pytest.approx(sum(scores) / len(scores))
        assert got.ci == expected.ci
        assert got.median == expected.median
        assert groups[key].responses == len(scores)
    assert groups["theme_panel"].participants == 40
    assert groups["theme_panel"].events == 1
    assert groups["theme_panel"].hours == pytest.approx(2)
    assert groups["theme_panel"].response_rate == pytest.approx(7 / 40)
    assert groups["theme_panel"].participants_per_thousand == pytest.approx(40 / 46052 * 1000)
    again = dict(groups["resident_evening"].shares("again", ("yes", "no"), multiple=False))
    assert again["no"].count == 3
    assert again["no"].ci == wilson_interval(3, 6)
    heard = dict(
        groups["theme_panel"].shares("heard_from", ("friend", "poster", "newspaper"), multiple=True)
    )
    assert heard["friend"].share == 1.0
    assert heard["newspaper"].count == 0


async def test_small_groups_are_suppressed_but_monitoring_figures_stay(db):
    event = await make_event(db, starts_in=-dt.timedelta(days=1))
    form = await open_questionnaire(db, event)
    for score in (5, 4, 3, 2):
        await answer(db, form, {"satisfaction": score})
    result = await compare(db, ComparisonFilter(), "none", zone=ZONE, areas=[])
    [group] = result.groups
    assert group.responses == 4
    assert group.suppressed
    assert group.numeric("satisfaction") is None
    assert group.events == 1


async def test_filters_by_language_area_and_period(db):
    north, south = await make_area(db, "Pohjois"), await make_area(db, "Etelä")
    north_event = await make_event(db, area=north, starts_in=-dt.timedelta(days=40))
    south_event = await make_event(db, area=south, starts_in=-dt.timedelta(days=1))
    for event in (north_event, south_event):
        form = await open_questionnaire(db, event)
        for language in ("fi", "fi", "sv", "en", "sv", "fi"):
            await answer(db, form, {"satisfaction": 4}, language=language)
    areas = await list_areas(db)
    by_language = await compare(
        db, ComparisonFilter(languages=("sv",)), "language", zone=ZONE, areas=areas
    )
    assert [(g.key, g.responses) for g in by_language.groups] == [("sv", 4)]
    recent = ComparisonFilter(start=(dt.datetime.now(dt.UTC) - dt.timedelta(days=10)).date())
    by_area = await compare(db, recent, "area", zone=ZONE, areas=areas)
    assert [(g.key, g.responses) for g in by_area.groups] == [(str(south.id), 6)]
    only_north = await compare(
        db, ComparisonFilter(area_ids=(north.id,)), "none", zone=ZONE, areas=areas
    )
    assert only_north.groups[0].responses == 6


async def test_a_reworded_version_pools_with_the_old_one_by_key(db):
    event_a = await make_event(db, starts_in=-dt.timedelta(days=3))
    form_a = await open_questionnaire(db, event_a)
    for _ in range(5):
        await answer(db, form_a, {"satisfaction": 2})
    definition = services.standard_definition()
    definition["version"] += 1
    definition["questions"][0]["text"]["fi"] = "Miten tyytyväinen olit?"
    version, created = await services.import_template(db, definition)
    assert created
    assert version.version == definition["version"]
    event_b = await make_event(db, starts_in=-dt.timedelta(days=2))
    form_b = await open_questionnaire(db, event_b)
    assert form_b.version.version == definition["version"]
    for _ in range(5):
        await answer(db, form_b, {"satisfaction": 4})
    result = await compare(db, ComparisonFilter(), "none", zone=ZONE, areas=[])
    assert result.groups[0].numeric("satisfaction").mean == 3
    again, created_again = await services.import_template(db, definition)
    assert not created_again
    assert again.id == version.id


async def test_a_fold_between_the_tally_and_the_pending_counts_changes_no_count(db, database):
    """The staff pages fold in the background (services.fold_off_the_request): a fold that
    commits after the tally was read and before the pending counts are (here forced there)
    must neither drop the counts it moves nor count them twice."""
    area = await make_area(db, "Suur-Tapiola", population=46052)
    event = await make_event(db, area=area, starts_in=-dt.timedelta(days=1))
    form = await open_questionnaire(db, event)
    for score in (5, 4, 3):
        assert await answer(db, form, {"satisfaction": score})
    await services.fold_pending_counts(db)
    for score in (2, 1):
        assert await answer(db, form, {"satisfaction": score})  # pending
    folded: list[int] = []
    started: list[bool] = []

    def fold_before_the_pending_counts(_conn, _cursor, statement, *_args) -> None:
        if "feedback_pending" in statement and not started:
            started.append(True)  # the fold's own statements pass by
            folded.append(await_only(fold_elsewhere()))

    async def fold_elsewhere() -> int:
        async with database.engine.connect() as connection:
            return await services.fold_pending_counts(connection)

    engine = database.engine.sync_engine
    event_listen(engine, "before_cursor_execute", fold_before_the_pending_counts)
    try:
        result = await compare(
            db, ComparisonFilter(), "type", zone=ZONE, areas=await list_areas(db)
        )
    finally:
        event_remove(engine, "before_cursor_execute", fold_before_the_pending_counts)
    assert folded == [4]  # it ran between the two reads: 2 responses × (response, satisfaction)
    assert result.groups[0].numeric("satisfaction").n == 5
    assert result.groups[0].responses == 5
