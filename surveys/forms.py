"""Reading the staff forms of the questionnaire: the comparison's filters, a questionnaire's
settings and an event's own questions (also the questions of a poll)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from litestar import Request

from app.areas.models import Area
from app.events.models import EventType, OrganiserKind
from app.forms import Form, local_datetime
from app.i18n import LANGUAGES, content_languages, gettext
from app.state import SETTINGS
from surveys import drafts, services
from surveys.comparison import GROUPINGS, ComparisonFilter
from surveys.definitions import Condition, Question
from surveys.drafts import Wording

EXTRA_TYPES = ("scale5", "scale10", "yes_no", "single", "multiple", "short_text", "long_text")


def read_filters(
    request: Request,
    areas: list[Area],
    type_keys: list[str] | None = None,
    organiser_ids: list[int] | tuple[int, ...] = (),
) -> tuple[ComparisonFilter, str, list[str]]:
    """The dashboard's query string; values not understood are named and left out. `type_keys`:
    every event type's key, the added ones too (else the built-in ones); `organiser_ids`: the
    register's organisers."""
    params = request.query_params
    problems: list[str] = []

    def dates(name: str) -> dt.date | None:
        if name == "end" and name not in params:
            # Feedback exists only for events that have been held: by default the period
            # ends today. An emptied "until" field asks for every event, future ones too.
            zone = ZoneInfo(SETTINGS.of(request).timezone)
            return dt.datetime.now(zone).date()
        value = params.get(name, "").strip()
        if not value:
            return None
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            problems.append(
                gettext("A date was not understood and was left out. Use the form year-month-day.")
            )
            return None
        return day if 2000 <= day.year <= 2100 else None

    def chosen(name: str, allowed: list[str]) -> tuple[str, ...]:
        values = params.getall(name, [])
        if any(value not in allowed for value in values):
            problems.append(gettext("A choice was not recognised and was left out."))
        return tuple(value for value in allowed if value in values)

    area_ids = chosen("area", [str(area.id) for area in areas])
    organiser = params.get("organiser", "").strip()[:100]
    [organiser_id] = chosen("organiser_id", [str(number) for number in organiser_ids])[:1] or [None]
    grouping = params.get("group", "type")
    if grouping not in GROUPINGS:
        problems.append(gettext("A choice was not recognised and was left out."))
        grouping = "type"
    filters = ComparisonFilter(
        start=dates("start"),
        end=dates("end"),
        event_types=chosen("type", type_keys or [t.value for t in EventType]),
        area_ids=tuple(int(a) for a in area_ids),
        languages=chosen("language", list(content_languages())),
        organiser_kinds=chosen("organiser_kind", [k.value for k in OrganiserKind]),
        organiser_name=organiser,
        organiser_id=int(organiser_id) if organiser_id else None,
    )
    return filters, grouping, problems


def settings_form(questionnaire, event, zone: ZoneInfo) -> Form:
    opens = questionnaire.opens_at if questionnaire else event.starts_at - dt.timedelta(hours=1)
    closes = questionnaire.closes_at if questionnaire else event.ends_at + dt.timedelta(days=14)
    return Form.prefilled(
        {
            "opens_date": opens.astimezone(zone).date().isoformat(),
            "opens_time": opens.astimezone(zone).strftime("%H.%M"),
            "closes_date": closes.astimezone(zone).date().isoformat(),
            "closes_time": closes.astimezone(zone).strftime("%H.%M"),
            "instrument_id": questionnaire.instrument_id
            if questionnaire and questionnaire.instrument_id
            else "",
        }
    )


def read_settings(
    form: Form, zone: ZoneInfo, instrument_ids: list[str]
) -> services.QuestionnaireSettings | None:
    opens_date, opens_time = form.date("opens_date"), form.time("opens_time")
    closes_date, closes_time = form.date("closes_date"), form.time("closes_time")
    instrument = form.choice("instrument_id", instrument_ids, required=False)
    if not form.is_valid:
        return None
    return services.QuestionnaireSettings(
        opens_at=local_datetime(opens_date, opens_time, zone),
        closes_at=local_datetime(closes_date, closes_time, zone),
        instrument_id=int(instrument) if instrument else None,
    )


def read_extra_question(form: Form) -> dict | None:
    """An event's own question, written in any of the content languages (a Town Hall meeting's
    question in Somali or Persian); a language left empty falls back as `localized` does."""
    data = read_question(form, EXTRA_TYPES, languages=content_languages())
    if data is None:
        return None
    return {"key": "extra", **data, "required": form.boolean("required")}


def read_question(
    form: Form, types: tuple[str, ...], prefix: str = "", languages: Sequence[str] = LANGUAGES
) -> dict | None:
    """One question written by staff: kind, wording in each language, options one per line.

    Fields are named `<prefix>type`, `<prefix>text_fi`, `<prefix>options_fi`, `<prefix>max_choices`
    … so one form can hold several questions (polls have up to three, in every content language).
    """
    kind = form.choice(f"{prefix}type", list(types))
    text = form.translated_text(f"{prefix}text", required=True, max_length=300, languages=languages)
    options: list[dict] = []
    if kind in ("single", "multiple"):
        columns = {
            language: form.lines(f"{prefix}options_{language}", max_lines=12, max_length=120)
            for language in languages
        }
        count = max((len(lines) for lines in columns.values()), default=0)
        if count < 2:
            form.add_error(
                f"{prefix}options_fi", gettext("Give at least two options, one per line.")
            )
        elif any(lines and len(lines) != count for lines in columns.values()):
            form.add_error(
                f"{prefix}options_fi",
                gettext("Give the same number of options in every language you use."),
            )
        elif untranslated := [code for code in text if not columns.get(code)]:
            # A question in Somali with its options in Finnish only is half a translation.
            form.add_error(
                f"{prefix}options_{untranslated[0]}",
                gettext("Write the options in every language the question is written in."),
            )
        else:
            for index in range(count):
                label = {language: lines[index] for language, lines in columns.items() if lines}
                options.append({"key": f"o{index + 1}", "label": label})
    max_choices = (
        form.integer(f"{prefix}max_choices", minimum=1, maximum=12) if kind == "multiple" else None
    )
    if not form.is_valid:
        return None
    data = {"type": kind, "text": text, "options": options}
    if max_choices:
        data["max_choices"] = max_choices
    return data


def read_equal_access(
    params: dict[str, list[str]], areas: list[Area], this_year: int
) -> tuple[int, str, Form]:
    """The equal-access view's year (of the events; default this year) and scope (the whole
    city, or one area's events); a value not understood is named and the default used."""
    form = Form(params)
    year = form.integer("year", minimum=2000, maximum=this_year + 1) or this_year
    scope = form.choice("area", ["city", *(str(area.id) for area in areas)], required=False)
    return year, scope or "city", form


# --- the questionnaire editor (surveys/drafts.py) ---------------------------------------------


def wording_form(question: Question) -> Form:
    """The edit form of a draft question, filled with its present wording."""
    values: dict[str, object] = {"required": question.required}
    for name in ("text", "help", "low", "high"):
        for language, value in getattr(question, name).items():
            values[f"{name}_{language}"] = value
    for option in question.options:
        for language, value in option.label.items():
            values[f"option_{option.key}_{language}"] = value
    if question.show_if:
        values["show_if_key"] = question.show_if.key
        values["show_if_shown_for"] = question.show_if.key
        values["show_if_values"] = list(question.show_if.values)
    return Form.prefilled(values)


def condition_key(form: Form, sources: Sequence[Question]) -> str:
    """The earlier question chosen for the condition ("" for none); unknown keys are an error."""
    key = form.choice("show_if_key", [q.key for q in sources], required=False)
    return key or ""


def read_wording(form: Form, question: Question, sources: Sequence[Question]) -> Wording | None:
    """The edit form of one draft question. The checks of length and control characters are
    made here; the rules (Finnish and Swedish needed, no markup, a sound condition) by the
    service. None when the condition's question was changed without its answers chosen."""
    languages = content_languages()

    def texts(name: str, limit: int) -> dict[str, str]:
        return {
            language: form.text(f"{name}_{language}", max_length=limit) for language in languages
        }

    text = texts("text", drafts.TEXT_LENGTHS["text"])
    help_text = texts("help", drafts.TEXT_LENGTHS["help"])
    numeric = question.scale is not None
    low = texts("low", drafts.TEXT_LENGTHS["low"]) if numeric else {}
    high = texts("high", drafts.TEXT_LENGTHS["high"]) if numeric else {}
    options = {
        option.key: texts(f"option_{option.key}", drafts.TEXT_LENGTHS["option"])
        for option in question.options
    }
    key = condition_key(form, sources)
    show_if = None
    if key:
        source = next(q for q in sources if q.key == key)
        if form.raw("show_if_shown_for") != key:
            # A question was chosen without JavaScript: its answers are shown to choose from.
            form.add_error(
                "show_if_values", gettext("Choose the answers after which the question is shown.")
            )
        else:
            values = form.choices("show_if_values", drafts.condition_answers(source), at_least=1)
            show_if = Condition(key, tuple(values))
    if not form.is_valid:
        return None
    return Wording(
        text=text,
        required=form.boolean("required"),
        help=help_text,
        low=low,
        high=high,
        options=options,
        show_if=show_if,
    )


def read_new_question(form: Form) -> tuple[str, str, Wording] | None:
    """A question added to the draft: its new key, its kind, its wording and options."""
    key = form.text("key", required=True, max_length=40)
    data = read_question(form, EXTRA_TYPES, languages=content_languages())
    if data is None or not form.is_valid:
        return None
    options = {option["key"]: option["label"] for option in data["options"]}
    return key, data["type"], Wording(text=data["text"], options=options)
