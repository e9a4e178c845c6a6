"""What the residents' and the staff pages of a round share: the round's page context, the
results page's context (rendered once per publication and language), and the worker's mixer."""

from __future__ import annotations

from cachetools import LRUCache
from markupsafe import Markup

from app.forms import Form
from app.i18n import content_language
from app.state import SETTINGS, Slot
from voting import pictures, places, rounds
from voting.forms import filter_areas, read_proposal_filter
from voting.mixing import MixScheduler
from voting.models import Round
from voting.results import REASONS


def round_context(round_: Round) -> dict:
    return {
        "round": round_,
        "phase": rounds.phase_of(round_),
        "phase_labels": rounds.PHASE_LABELS,
        "phases": rounds.phase_dates(round_),
        "ballot_rules": rounds.BALLOT_RULES,
    }


# Each worker's schedule of moving pending ballots into the log.
MIX_SCHEDULER: Slot[MixScheduler] = Slot(
    "mix_scheduler", lambda app: MixScheduler(SETTINGS.of(app).mix_batch)
)


# Rendered result tables, per process: (publication id, board digest, language, follow-up
# states) -> HTML. A publication never changes, so neither does its table in one language.
_RENDERED: LRUCache[tuple, Markup] = LRUCache(maxsize=64)


CHART_LIMIT = 30


async def results_context(
    db_session,
    round_: Round,
    results: dict,
    renderer,
    key: tuple | None = None,
    shown: set[int] | None = None,
    **extra,
) -> dict:
    """The results page's context: the stored results (rendered once per publication and
    language; `key` None renders afresh); from the live tables only how each proposal's
    implementation is going (followed after the results, not part of them) and the language
    each proposal was written in."""
    if shown is not None:
        # The theme and area filter: only the proposals it lets through, and only the budgets
        # that have any (each budget's figures stay those of the whole budget).
        filtered = [
            {**part, "rows": [row for row in part["rows"] if row["id"] in shown]}
            for part in results["budgets"]
        ]
        results = {**results, "budgets": [part for part in filtered if part["rows"]]}
        key = (*key, tuple(sorted(shown))) if key else None
    followed = await rounds.implementation_states(db_session, round_.id)
    # The cards' pictures are not part of the results either: they may be added, described or
    # removed after publication (the rendered parts are kept per set of pictures).
    shown = await pictures.first_pictures_of_round(db_session, round_.id)
    context = {
        "round": round_,
        "results": results,
        # Each proposal's own language, which its title falls back to (fixed once sent).
        "languages": await rounds.proposal_languages(db_session, round_.id),
        "rule_labels": rounds.OFFICIAL_RULES,
        "reasons": REASONS,
        "implementation": rounds.IMPLEMENTATION_STATUSES,
        "followed": followed,
        "pictures": shown,
        # The bar chart shows at most this many proposals per budget (the table shows all).
        "chart_limit": CHART_LIMIT,
        "shown": shown,
        **extra,
    }
    picture_state = tuple(
        (owner, p.file_key, tuple(sorted(p.alt.items()))) for owner, p in sorted(shown.items())
    )
    cache_key = (
        (*key, content_language(), tuple(sorted(followed.items())), picture_state) if key else None
    )
    parts = _RENDERED.get(cache_key) if cache_key else None
    if parts is None:
        template = renderer.environment.get_template("pb/_results_parts.html")
        parts = Markup(template.render(**context))  # noqa: S704 - autoescaped template output
        if cache_key:
            _RENDERED[cache_key] = parts
    return {**context, "parts_html": parts}


async def proposal_filter(db_session, round_: Round, data: dict[str, list[str]]) -> dict:
    """The theme and area filter of the public list, the ballot and the results, read from the
    query string or the ballot's form: the context its form (pb/_proposal_filter.html) needs,
    and `shown`, the ids of the proposals it lets through (None: no filter)."""
    themes = await places.list_themes(db_session, round_.id)
    form = Form({name: data.get(name, []) for name in ("theme", "area")})
    chosen = read_proposal_filter(form, round_, themes)
    return {
        "filter_themes": themes,
        "filter_areas": filter_areas(round_),
        "filter_form": form,
        "chosen_filter": chosen,
        "shown": await places.matching_ids(db_session, round_.id, chosen),
        "themes_of": await places.themes_by_proposal(db_session, round_.id),
    }
