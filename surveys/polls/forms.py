"""Reading the staff form of a poll: its title, one to three questions, times and visibility."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from app.database import utcnow
from app.forms import Form, local_datetime
from app.i18n import content_languages
from surveys.forms import read_question
from surveys.polls import services

QUESTION_PREFIXES = tuple(f"q{number}_" for number in range(1, services.MAX_QUESTIONS + 1))


def poll_form(poll: services.Poll | None, zone: ZoneInfo) -> Form:
    now = utcnow()
    opens = poll.opens_at if poll else now.replace(second=0, microsecond=0)
    closes = poll.closes_at if poll else opens + dt.timedelta(days=7)
    values: dict = {
        "opens_date": opens.astimezone(zone).date().isoformat(),
        "opens_time": opens.astimezone(zone).strftime("%H.%M"),
        "closes_date": closes.astimezone(zone).date().isoformat(),
        "closes_time": closes.astimezone(zone).strftime("%H.%M"),
        "visibility": poll.visibility if poll else services.Visibility.IMMEDIATE,
        "area_id": poll.area_id if poll and poll.area_id else "",
        "event_id": poll.event_id if poll and poll.event_id else "",
        "q1_type": "single",
    }
    if poll:
        for code, title in poll.title.items():
            values[f"title_{code}"] = title
        for prefix, question in zip(QUESTION_PREFIXES, poll.questions, strict=False):
            values[f"{prefix}type"] = question["type"]
            for code, wording in question["text"].items():
                values[f"{prefix}text_{code}"] = wording
            for code in content_languages():
                labels = [option["label"].get(code, "") for option in question.get("options", [])]
                if any(labels):
                    values[f"{prefix}options_{code}"] = "\n".join(labels)
            if question.get("max_choices"):
                values[f"{prefix}max_choices"] = question["max_choices"]
    return Form.prefilled(values)


def read_poll(
    form: Form, zone: ZoneInfo, area_ids: list[str], event_ids: list[str]
) -> services.PollDraft | None:
    title = form.translated_text(
        "title", required=True, max_length=200, languages=content_languages()
    )
    questions = []
    for number, prefix in enumerate(QUESTION_PREFIXES, start=1):
        if number > 1 and not form.raw(f"{prefix}type").strip():
            continue  # the second and third questions are optional
        data = read_question(form, services.POLL_TYPES, prefix, content_languages())
        if data is not None:
            questions.append({"key": f"q{number}", **data, "required": True})
    opens_date, opens_time = form.date("opens_date"), form.time("opens_time")
    closes_date, closes_time = form.date("closes_date"), form.time("closes_time")
    visibility = form.choice("visibility", list(services.VISIBILITIES))
    area = form.choice("area_id", area_ids, required=False)
    event = form.choice("event_id", event_ids, required=False)
    if not form.is_valid:
        return None
    return services.PollDraft(
        title=title,
        questions=questions,
        opens_at=local_datetime(opens_date, opens_time, zone),
        closes_at=local_datetime(closes_date, closes_time, zone),
        visibility=visibility,
        area_id=int(area) if area else None,
        event_id=int(event) if event else None,
    )


def read_kiosk(form: Form, area_ids: list[str]) -> tuple[str, int | None] | None:
    """A kiosk's name and its area (None: the poll's or the event's own), or None with the
    form's errors."""
    name = form.text("name", required=True, max_length=100)
    area = form.choice("area_id", area_ids, required=False)
    if not form.is_valid:
        return None
    return name, int(area) if area else None
