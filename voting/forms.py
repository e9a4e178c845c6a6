"""Reading the voting forms: each function reads one form's fields into what its service takes,
and adds an error in the reader's language beside each field it cannot use."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from app.forms import Form, local_datetime, read_search
from app.i18n import LANGUAGES, N_, gettext
from app.requests import ascii_int
from app.uploads import Upload
from voting import milestones, moderation, own_ideas, places, review, rounds
from voting.models import Milestone, Round, Theme

SLIP = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,39}")
PHASE_FIELDS = ("ideas_open", "review", "voting_open", "voting_close", "results")
PHASE_FIELD_LABELS = {
    "ideas_open": N_("Ideas open"),
    "review": N_("Review and costing start"),
    "voting_open": N_("Voting opens"),
    "voting_close": N_("Voting closes"),
    "results": N_("Results are published"),
}


def round_form(round_: Round | None, zone: ZoneInfo) -> Form:
    values: dict = {
        "ballot_rule": round_.ballot_rule if round_ else "approval",
        "official_rule": round_.official_rule if round_ else "greedy",
        "min_age": round_.min_age if round_ else 12,
        "max_choices": round_.max_choices if round_ else "",
        "points_total": round_.points_total if round_ else "",
        "points_per_proposal": round_.points_per_proposal if round_ else "",
    }
    if round_:
        for code, text in round_.title.items():
            values[f"title_{code}"] = text
        for code, text in round_.description.items():
            values[f"description_{code}"] = text
        for name in PHASE_FIELDS:
            moment = getattr(round_, f"{name}_at").astimezone(zone)
            values[f"{name}_date"] = moment.date().isoformat()
            values[f"{name}_time"] = moment.strftime("%H.%M")
        for budget in round_.budgets:
            key = budget.area_id or "city"
            values[f"budget_{key}"] = budget.amount
            values[f"least_{key}"] = budget.min_choices or ""
            values[f"most_{key}"] = budget.max_choices or ""
    else:
        for name in PHASE_FIELDS:
            values[f"{name}_time"] = "09.00"
    return Form.prefilled(values)


def close_form_for(round_: Round, zone: ZoneInfo | None) -> Form:
    """The voting-close form, filled in with the current close time."""
    if zone is None:
        return Form()
    moment = round_.voting_close_at.astimezone(zone)
    return Form.prefilled(
        {"close_date": moment.date().isoformat(), "close_time": moment.strftime("%H.%M")}
    )


def _read_limits(
    form: Form, key: object, amount: int | None
) -> tuple[int | None, int | None] | None:
    """One budget's least and most choices (None when neither is given, or on an error)."""
    least = form.integer(f"least_{key}", minimum=1, maximum=100)
    most = form.integer(f"most_{key}", minimum=1, maximum=100)
    if least and most and least > most:
        form.add_error(
            f"least_{key}", gettext("The least number of choices cannot be more than the most.")
        )
        return None
    if (least or most) and not amount:
        if f"budget_{key}" not in form.errors:
            form.add_error(
                f"least_{key}" if least else f"most_{key}",
                gettext("This area has no budget: give its budget or leave the limits empty."),
            )
        return None
    return (least, most) if least or most else None


def read_round(
    form: Form, zone: ZoneInfo, area_ids: list[int], round_: Round | None = None
) -> rounds.RoundDraft | None:
    title = form.translated_text("title", required=True, max_length=200)
    description = form.translated_text("description", max_length=4000, multiline=True)
    moments = {}
    for name in PHASE_FIELDS:
        day, time = form.date(f"{name}_date"), form.time(f"{name}_time")
        if day and time:
            moments[name] = local_datetime(day, time, zone)
            # The form shows minutes: a stored time with seconds (closing early "now") that is
            # sent back unchanged is kept as it is, not read as a change.
            stored = getattr(round_, f"{name}_at") if round_ else None
            if stored and stored.replace(second=0, microsecond=0) == moments[name]:
                moments[name] = stored
    min_age = form.integer("min_age", required=True, minimum=0, maximum=120)
    ballot_rule = form.choice("ballot_rule", list(rounds.BALLOT_RULES))
    official_rule = form.choice("official_rule", list(rounds.OFFICIAL_RULES))
    max_choices = form.integer("max_choices", minimum=1, maximum=100)
    points_total = form.integer("points_total", minimum=1, maximum=1000)
    points_per = form.integer("points_per_proposal", minimum=1, maximum=1000)
    budgets: dict[int | None, int] = {}
    limits: dict[int | None, tuple[int | None, int | None]] = {}
    for area in [*area_ids, None]:
        key = area or "city"
        amount = form.euros(f"budget_{key}", minimum=1, maximum=rounds.MAX_BUDGET)
        if amount:
            budgets[area] = amount
        limit = _read_limits(form, key, amount)
        if limit is not None:
            limits[area] = limit
    if not budgets and "budget_city" not in form.errors:
        form.add_error("budget_city", gettext("Give at least one budget."))
    if (
        ballot_rule in ("k_approval", "ranking")
        and not max_choices
        and "max_choices" not in form.errors
    ):
        form.add_error("max_choices", gettext("This field is required."))
    if ballot_rule == "points":
        for name, value in (("points_total", points_total), ("points_per_proposal", points_per)):
            if not value and name not in form.errors:
                form.add_error(name, gettext("This field is required."))
    if not form.is_valid:
        return None
    return rounds.RoundDraft(
        title=title,
        description=description,
        ideas_open_at=moments["ideas_open"],
        review_at=moments["review"],
        voting_open_at=moments["voting_open"],
        voting_close_at=moments["voting_close"],
        results_at=moments["results"],
        min_age=min_age,
        ballot_rule=ballot_rule,
        official_rule=official_rule,
        budgets=budgets,
        max_choices=max_choices,
        points_total=points_total,
        points_per_proposal=points_per,
        limits=limits,
    )


def read_voting_close(form: Form, zone: ZoneInfo) -> tuple[dt.datetime, dict[str, str]] | None:
    """The new close of voting and the reason given for it (published with the round)."""
    day, time = form.date("close_date"), form.time("close_time")
    reason = form.translated_text("close_reason", required=True, max_length=1000, multiline=True)
    if not form.is_valid:
        return None
    return local_datetime(day, time, zone), reason


REVIEW_ACTIONS = ("accept", "reject", "merge", "implementation")


def read_review(form: Form, merge_choices: list[str]) -> rounds.ProposalReview | None:
    action = form.choice("action", REVIEW_ACTIONS)
    if action == "accept":
        cost = form.euros("final_cost", required=True, minimum=1, maximum=rounds.MAX_COST)
        review = rounds.ProposalReview(action, final_cost=cost)
    elif action == "reject":
        reason = form.translated_text("reason", required=True, max_length=1000, multiline=True)
        review = rounds.ProposalReview(action, reason=reason)
    elif action == "merge":
        into = form.choice("merge_into", merge_choices)
        reason = form.translated_text("merge_reason", max_length=1000, multiline=True)
        review = rounds.ProposalReview(
            action, merge_into=int(into) if into else None, reason=reason
        )
    elif action == "implementation":
        status = form.choice("implementation", list(rounds.IMPLEMENTATION_STATUSES), required=False)
        note = form.translated_text("note", max_length=1000, multiline=True)
        review = rounds.ProposalReview(action, implementation=status, note=note)
    else:
        return None
    return review if form.is_valid else None


def read_roll_upload(upload: Upload) -> bytes | None:
    """The census file of a roll upload (a multipart form), or None with no file chosen."""
    chosen = upload.files.get("file")
    return None if chosen is None else chosen[1]


CHOOSE_A_FILE = N_("Choose a CSV file.")


def read_picture_upload(upload: Upload) -> tuple[Form, bytes, dict[str, str]]:
    """A picture upload: the form (for its errors), the file's bytes (empty when none was
    chosen; its name and declared type are not read) and the alternative text per language.
    The rules (which languages, how long) are voting/pictures.py's."""
    form = Form(upload.fields)
    alt = {code: form.text(f"alt_{code}", max_length=10_000) for code in LANGUAGES}
    chosen = upload.files.get("picture")
    return form, (chosen[1] if chosen else b""), alt


def read_picture_alt(form: Form) -> dict[str, str] | None:
    """The alternative text per language of a picture already stored; None with the form's
    errors."""
    alt = {code: form.text(f"alt_{code}", max_length=10_000) for code in LANGUAGES}
    return alt if form.is_valid else None


def read_picture_step(form: Form) -> int | None:
    """-1 to move a picture earlier, +1 later; None for anything else."""
    direction = form.choice("direction", ["earlier", "later"])
    return None if direction is None else (-1 if direction == "earlier" else 1)


def read_codes_format(form: Form) -> str:
    """Letter codes as CSV for the mailing house (the default) or as a printable sheet."""
    return form.choice("format", ["csv", "sheet"]) or "csv"


def require_voting_open(form: Form, round_: Round) -> None:
    """A form that only counts while voting is open (a code sign-in, an assisted code)."""
    if rounds.phase_of(round_) != "voting":
        form.add_error("form", gettext("Voting is not open in this round."))


def read_person(form: Form, today: dt.date) -> tuple[str, dt.date | None]:
    """A person on the roll as staff type them from an identity card: the personal identity
    code and the birth date."""
    identifier = form.text("identifier", required=True, max_length=32)
    birth_date = form.date("birth_date", years=(1890, today.year))
    return identifier, birth_date


@dataclass(frozen=True)
class PaperTyping:
    """One staff member's typing of a paper slip's heading (the choices are read as a ballot)."""

    slip: str
    identifier: str
    birth_date: dt.date | None


def read_paper_typing(form: Form, today: dt.date) -> PaperTyping | None:
    slip = form.text("slip", required=True, max_length=40)
    if slip and not SLIP.fullmatch(slip):
        form.add_error("slip", gettext("Use the letters, digits and dashes printed on the slip."))
    identifier, birth_date = read_person(form, today)
    if not form.is_valid:
        return None
    return PaperTyping(slip, identifier, birth_date)


def read_slip(form: Form) -> str:
    return form.text("slip", required=True, max_length=40)


def read_code_sign_in(form: Form, today: dt.date) -> tuple[str, dt.date | None]:
    """A voter's sign-in with a code: the code and their birth date."""
    code = form.text("code", required=True, max_length=40)
    birth_date = form.date("birth_date", required=True, years=(1890, today.year))
    return code, birth_date


MAX_TITLE, MAX_DESCRIPTION = 120, 3000


def area_options(round_: Round) -> list[tuple[str, object]]:
    """The districts an idea can be for: each district with a budget, and the whole city."""
    options: list[tuple[str, object]] = [
        (str(b.area_id), b.area.name) for b in round_.budgets if b.area is not None
    ]
    if rounds.budget_of(round_, None) is not None:
        options.append(("city", None))
    return options


def read_proposal(
    form: Form, round_: Round, themes: list[Theme] | None = None
) -> rounds.ProposalDraft | None:
    """A resident's idea, written in one language, with the themes they picked and the place
    they named (both optional)."""
    language = form.choice("language", LANGUAGES) or "fi"
    title = form.text("title", required=True, max_length=MAX_TITLE)
    description = form.text(
        "description", required=True, max_length=MAX_DESCRIPTION, multiline=True
    )
    area = form.choice("area", [value for value, _ in area_options(round_)])
    cost = form.euros("estimated_cost", required=True, minimum=1, maximum=rounds.MAX_COST)
    picked = form.choices("theme", [str(theme.id) for theme in themes or []])
    place_name = form.text("place_name", max_length=places.MAX_PLACE_NAME)
    if not form.is_valid:
        return None
    return rounds.ProposalDraft(
        title={language: title},
        description={language: description},
        area_id=None if area == "city" else int(area),
        estimated_cost=cost,
        theme_ids=[int(value) for value in picked],
        place_name=place_name or None,
    )


def read_report(form: Form) -> str | None:
    """Someone's reason for reporting a public idea."""
    reason = form.text(
        "reason", required=True, max_length=moderation.MAX_REPORT_LENGTH, multiline=True
    )
    return reason if form.is_valid else None


def read_moderation(form: Form) -> moderation.ModerationDecision | None:
    """A staff member's moderation decision on an idea."""
    action = form.choice("action", list(moderation.ModerationAction))
    if action == moderation.ModerationAction.HIDE:
        reason = form.translated_text("hide_reason", required=True, max_length=1000, multiline=True)
        decision = moderation.ModerationDecision(moderation.ModerationAction.HIDE, reason=reason)
    elif action == moderation.ModerationAction.EDIT_TEXT:
        title = form.translated_text("title", required=True, max_length=MAX_TITLE)
        description = form.translated_text(
            "description", required=True, max_length=MAX_DESCRIPTION, multiline=True
        )
        decision = moderation.ModerationDecision(
            moderation.ModerationAction.EDIT_TEXT, title=title, description=description
        )
    elif action is not None:
        decision = moderation.ModerationDecision(moderation.ModerationAction(action))
    else:
        return None
    return decision if form.is_valid else None


@dataclass(frozen=True)
class EnteredIdea:
    """An idea a staff member types in on a resident's behalf."""

    draft: rounds.ProposalDraft
    channel: str
    event_id: int | None


def read_entered_idea(
    form: Form, round_: Round, event_ids: list[str], themes: list[Theme] | None = None
) -> EnteredIdea | None:
    draft = read_proposal(form, round_, themes)
    channel = form.choice("channel", list(rounds.STAFF_CHANNELS))
    event = form.choice("event", event_ids, required=False)
    if draft is None or not form.is_valid:
        return None
    return EnteredIdea(draft, channel, int(event) if event else None)


def read_idea_text(form: Form) -> own_ideas.IdeaText | None:
    """The author's new text for their idea, in the one language they write in."""
    language = form.choice("language", LANGUAGES)
    title = form.text("title", required=True, max_length=MAX_TITLE)
    description = form.text(
        "description", required=True, max_length=MAX_DESCRIPTION, multiline=True
    )
    if not form.is_valid:
        return None
    return own_ideas.IdeaText(language, title, description)


def read_withdrawal(form: Form) -> bool:
    """Whether the author ticked the box that confirms withdrawing their idea."""
    if not form.boolean("confirm"):
        form.add_error("confirm", gettext("Tick the box to confirm that you withdraw the idea."))
    return form.is_valid


# Review at scale (voting/review.py) ----------------------------------------------------------


def read_review_filters(
    form: Form, *, areas: list[str], reviewers: list[str], departments: list[str]
) -> review.ReviewFilters:
    """The review list's filters from the query string. A value that is not one of the options
    is an error beside its field; the list is then shown without that filter."""
    query = read_search(form)
    status = form.choice("status", list(rounds.ALL_STATUSES), required=False)
    area = form.choice("area", [review.CITY_WIDE, *areas], required=False)
    channel = form.choice("channel", list(rounds.CHANNELS), required=False)
    reviewer = form.choice("reviewer", [review.NOBODY, review.ME, *reviewers], required=False)
    department = form.choice("department", [review.NOBODY, *departments], required=False)
    sort = form.choice("sort", list(review.SORTS), required=False) or "newest"
    page = ascii_int(form.raw("page") or "1", minimum=1, maximum=100_000) or 1
    return review.ReviewFilters(
        query=query,
        status=status,
        area=area,
        channel=channel,
        reviewer=reviewer,
        department=department,
        attention=form.boolean("attention"),
        sort=sort,
        page=page,
    )


def read_bulk_review(form: Form) -> review.BulkDecision | None:
    """One decision for the ideas ticked in the list: reject needs a reason, merge a target."""
    ids = form.values("idea")
    if not ids:
        form.add_error("idea", gettext("Tick at least one idea in the list."))
    elif len(ids) > review.MAX_SELECTED or any(ascii_int(value) is None for value in ids):
        form.add_error("idea", gettext("Choose ideas of this round from the list."))
    action = form.choice("action", list(review.BULK_ACTIONS))
    reason = None
    into = None
    if action == "reject":
        reason = form.translated_text("reason", required=True, max_length=1000, multiline=True)
    elif action == "merge":
        raw = form.raw("merge_into").strip().lstrip("#")
        into = ascii_int(raw, minimum=1, maximum=2**31 - 1)
        if into is None:
            form.add_error("merge_into", gettext("Give the number of the proposal to merge into."))
    if not form.is_valid:
        return None
    return review.BulkDecision(action, [int(value) for value in ids], reason, into)


def read_assignment(form: Form, reviewers: list[str]) -> tuple[str | None, int | None] | None:
    """(department or None, reviewer's id or None)."""
    department = form.text("department", max_length=review.MAX_DEPARTMENT_LENGTH)
    reviewer = form.choice("reviewer", reviewers, required=False)
    if not form.is_valid:
        return None
    return department or None, int(reviewer) if reviewer else None


def read_note(form: Form) -> str | None:
    note = form.text("note", required=True, max_length=review.MAX_NOTE_LENGTH, multiline=True)
    return note if form.is_valid else None


# Places and themes (voting/places.py) --------------------------------------------------------


def read_theme_name(form: Form) -> dict[str, str] | None:
    """A theme's name: Finnish and Swedish required, English optional."""
    name = {}
    for code in LANGUAGES:
        text = form.text(
            f"name_{code}",
            required=code in places.REQUIRED_THEME_LANGUAGES,
            max_length=places.MAX_THEME_NAME,
        )
        if text:
            name[code] = text
    return name if form.is_valid else None


_DEGREES = re.compile(r"[+-]?[0-9]{1,3}(?:[.,][0-9]{1,10})?")


def _degrees(form: Form, name: str) -> float | None:
    raw = form.raw(name).strip().replace("\u2212", "-")
    if not raw:
        return None
    if len(raw) > 20 or not _DEGREES.fullmatch(raw):
        form.add_error(name, gettext("Enter degrees as a decimal number, such as 60.1699."))
        return None
    return float(raw.replace(",", "."))


def read_place_and_themes(
    form: Form, round_: Round, themes: list[Theme]
) -> tuple[places.Place, list[int]] | None:
    """Where a proposal is and its themes, as staff set them."""
    name = form.text("place_name", max_length=places.MAX_PLACE_NAME)
    area = form.choice(
        "place_area", [str(area_id) for area_id in places.round_area_ids(round_)], required=False
    )
    latitude, longitude = _degrees(form, "latitude"), _degrees(form, "longitude")
    low, high = places.LATITUDES
    if latitude is not None and not low <= latitude <= high:
        form.add_error("latitude", gettext("Give a latitude in Finland, from 59 to 70.5."))
    low, high = places.LONGITUDES
    if longitude is not None and not low <= longitude <= high:
        form.add_error("longitude", gettext("Give a longitude in Finland, from 19 to 32."))
    if (latitude is None) != (longitude is None) and not (
        {"latitude", "longitude"} & set(form.errors)
    ):
        form.add_error(
            "longitude" if longitude is None else "latitude",
            gettext("Give both coordinates, or neither."),
        )
    picked = form.choices("theme", [str(theme.id) for theme in themes])
    if not form.is_valid:
        return None
    place = places.Place(name or None, int(area) if area else None, latitude, longitude)
    return place, [int(value) for value in picked]


def filter_areas(round_: Round) -> list[tuple[str, object]]:
    """The areas a list can be filtered by: each district with a budget, then the city-wide
    budget's proposals."""
    return area_options(round_)


def read_proposal_filter(form: Form, round_: Round, themes: list[Theme]) -> places.ProposalFilter:
    """The theme and area filter of a list, the ballot or the results. A value that is not an
    option is an error beside its field, and that filter is left out."""
    theme = form.choice("theme", [str(theme.id) for theme in themes], required=False)
    raw_area = form.raw("area").strip()
    area = None
    if raw_area not in ("", "all"):
        area = form.choice("area", [value for value, _ in filter_areas(round_)], required=False)
    return places.ProposalFilter(
        theme=int(theme) if theme else None,
        area=places.CITY if area == "city" else (int(area) if area else None),
    )


# Milestones of carrying out the winning proposals (voting/milestones.py) -------------------


def milestone_form(milestone: Milestone | None = None, today: dt.date | None = None) -> Form:
    """The milestone form: empty (today's date, status "being carried out") or a milestone's
    values to change."""
    if milestone is None:
        return Form.prefilled({"date": today.isoformat() if today else "", "status": "in_progress"})
    values: dict = {
        "date": milestone.date.isoformat(),
        "progress": milestone.progress,
        "cost_so_far": milestone.cost_so_far,
        "status": milestone.status,
    }
    for code, text in milestone.text.items():
        values[f"text_{code}"] = text
    return Form.prefilled(values)


def read_milestone(form: Form) -> milestones.MilestoneDraft | None:
    """A milestone: its date, its text in Finnish and Swedish (English optional), progress in
    per cent, the cost so far in whole euros (optional) and its status."""
    date = form.date("date", required=True, years=(milestones.FIRST_YEAR, milestones.LAST_YEAR))
    text = {
        code: form.text(
            f"text_{code}",
            required=code in milestones.REQUIRED_LANGUAGES,
            max_length=milestones.MAX_TEXT,
            multiline=True,
        )
        for code in milestones.TEXT_LANGUAGES
    }
    progress = form.integer("progress", required=True, minimum=0, maximum=milestones.MAX_PROGRESS)
    cost = form.euros("cost_so_far", minimum=0, maximum=rounds.MAX_COST)
    status = form.choice("status", list(milestones.STATUSES))
    if not form.is_valid:
        return None
    return milestones.MilestoneDraft(
        date=date,
        text={code: value for code, value in text.items() if value},
        progress=progress,
        status=status,
        cost_so_far=cost,
    )
