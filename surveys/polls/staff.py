"""Staff pages of polls: writing them, live results, presentation view, kiosks and CSV export."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, ServerSentEvent, Template
from sqlalchemy import or_, select

from app.accounts.guards import EDITORS, signed_in_staff
from app.areas.services import list_areas
from app.database import utcnow
from app.dependencies import AppSettings, DbSession
from app.errors import DomainError
from app.events.models import Event
from app.forms import Form, local_datetime, read_form
from app.i18n import LANGUAGES, N_, gettext, localized
from app.spreadsheets import csv_text
from surveys.polls import services
from surveys.polls.controllers import live_updates, notifier_of, public_url
from surveys.qr import qr_svg
from surveys.staff import TYPE_LABELS, read_question

VISIBILITY_LABELS = {
    "immediate": N_("Right after voting"),
    "after_close": N_("After the poll closes"),
    "staff": N_("Staff only"),
}
CHANNEL_LABELS = {"qr": N_("QR code"), "link": N_("Link"), "kiosk": N_("Kiosk")}
QUESTION_PREFIXES = tuple(f"q{number}_" for number in range(1, services.MAX_QUESTIONS + 1))


async def event_choices(session, current_id: int | None) -> list[Event]:
    """Events near today (and the poll's own), for linking a poll to one."""
    now = utcnow()
    statement = (
        select(Event)
        .where(
            or_(
                Event.starts_at.between(now - dt.timedelta(days=30), now + dt.timedelta(days=90)),
                Event.id == (current_id or -1),
            )
        )
        .order_by(Event.starts_at)
        .limit(300)
    )
    return list(await session.scalars(statement))


def poll_form(poll: services.Poll | None, zone: ZoneInfo) -> Form:
    now = utcnow()
    opens = poll.opens_at if poll else now.replace(second=0, microsecond=0)
    closes = poll.closes_at if poll else opens + dt.timedelta(days=7)
    values: dict = {
        "opens_date": opens.astimezone(zone).date().isoformat(),
        "opens_time": opens.astimezone(zone).strftime("%H.%M"),
        "closes_date": closes.astimezone(zone).date().isoformat(),
        "closes_time": closes.astimezone(zone).strftime("%H.%M"),
        "visibility": poll.visibility if poll else "immediate",
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
            for code in LANGUAGES:
                labels = [option["label"].get(code, "") for option in question.get("options", [])]
                if any(labels):
                    values[f"{prefix}options_{code}"] = "\n".join(labels)
            if question.get("max_choices"):
                values[f"{prefix}max_choices"] = question["max_choices"]
    return Form.prefilled(values)


def read_poll(
    form: Form, zone: ZoneInfo, area_ids: list[str], event_ids: list[str]
) -> services.PollDraft | None:
    title = form.translated_text("title", required=True, max_length=200)
    questions = []
    for number, prefix in enumerate(QUESTION_PREFIXES, start=1):
        if number > 1 and not form.raw(f"{prefix}type").strip():
            continue  # the second and third questions are optional
        data = read_question(form, services.POLL_TYPES, prefix)
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


class StaffPollsController(Controller):
    path = "/staff/polls"
    guards = [signed_in_staff]

    @get("/", name="staff_polls")
    async def index(self, db_session: DbSession) -> Template:
        polls = await services.list_polls(db_session)
        return Template(
            template_name="polls/staff_list.html",
            context={"polls": polls, "poll_status": services.poll_status},
        )

    async def _form_page(
        self, db_session, settings, *, poll=None, form=None, status: int = 200
    ) -> Template:
        zone = ZoneInfo(settings.timezone)
        return Template(
            template_name="polls/staff_form.html",
            context={
                "poll": poll,
                "form": form or poll_form(poll, zone),
                "areas": await list_areas(db_session),
                "events": await event_choices(db_session, poll.event_id if poll else None),
                "prefixes": QUESTION_PREFIXES,
                "poll_types": services.POLL_TYPES,
                "type_labels": TYPE_LABELS,
                "visibility_labels": VISIBILITY_LABELS,
                "locked": bool(poll and await services.vote_count(db_session, poll.id)),
            },
            status_code=status,
        )

    async def _save(self, request, db_session, settings, poll=None) -> Template | Redirect:
        form = Form(await read_form(request))
        areas = [str(area.id) for area in await list_areas(db_session)]
        events = [
            str(event.id)
            for event in await event_choices(db_session, poll.event_id if poll else None)
        ]
        draft = read_poll(form, ZoneInfo(settings.timezone), areas, events)
        if draft is not None:
            try:
                if poll is None:
                    poll = await services.create_poll(db_session, draft)
                else:
                    await services.update_poll(db_session, poll, draft)
            except DomainError as error:
                form.add_error("title_fi", error.translated())
            else:
                return Redirect(path=f"/staff/polls/{poll.id}", status_code=303)
        return await self._form_page(db_session, settings, poll=poll, form=form, status=400)

    @get("/new")
    async def new(self, db_session: DbSession, settings: AppSettings) -> Template:
        return await self._form_page(db_session, settings)

    @post("/new", opt={"roles": EDITORS}, status_code=303)
    async def create(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Template | Redirect:
        return await self._save(request, db_session, settings)

    @get("/{poll_id:int}/edit")
    async def edit(
        self, db_session: DbSession, settings: AppSettings, poll_id: FromPath[int]
    ) -> Template:
        poll = await services.get_poll(db_session, poll_id)
        return await self._form_page(db_session, settings, poll=poll)

    @post("/{poll_id:int}/edit", opt={"roles": EDITORS}, status_code=303)
    async def update(
        self, request: Request, db_session: DbSession, settings: AppSettings, poll_id: FromPath[int]
    ) -> Template | Redirect:
        poll = await services.get_poll(db_session, poll_id)
        return await self._save(request, db_session, settings, poll)

    async def _detail(
        self, request, db_session, poll_id: int, *, kiosk_link=None, kiosk_form=None, status=200
    ) -> Template:
        poll = await services.get_poll(db_session, poll_id)
        return Template(
            template_name="polls/staff_poll.html",
            context={
                "poll": poll,
                "state": services.poll_status(poll),
                "results": await services.poll_results(db_session, poll),
                "areas": {area.id: area for area in await list_areas(db_session)},
                "kiosks": await services.list_kiosks(db_session, poll.id),
                "public_url": public_url(request, poll.slug),
                "kiosk_link": kiosk_link,
                "kiosk_qr": qr_svg(kiosk_link, title=None) if kiosk_link else None,
                "kiosk_form": kiosk_form or Form(),
                "visibility_labels": VISIBILITY_LABELS,
                "channel_labels": CHANNEL_LABELS,
                "channels": services.POLL_CHANNELS,
                "live_source": f"/staff/polls/{poll.id}/live",
                "fragment_url": f"/staff/polls/{poll.id}/results",
            },
            status_code=status,
        )

    @get("/{poll_id:int}", name="staff_poll")
    async def detail(
        self, request: Request, db_session: DbSession, poll_id: FromPath[int]
    ) -> Template:
        return await self._detail(request, db_session, poll_id)

    @get("/{poll_id:int}/results")
    async def results_fragment(self, db_session: DbSession, poll_id: FromPath[int]) -> Template:
        poll = await services.get_poll(db_session, poll_id)
        return Template(
            template_name="polls/_staff_results.html",
            context={
                "poll": poll,
                "results": await services.poll_results(db_session, poll),
                "areas": {area.id: area for area in await list_areas(db_session)},
                "channel_labels": CHANNEL_LABELS,
                "channels": services.POLL_CHANNELS,
            },
        )

    @get("/{poll_id:int}/live", opt={"skip_compression": True})
    async def live(
        self, request: Request, db_session: DbSession, poll_id: FromPath[int]
    ) -> ServerSentEvent:
        poll = await services.get_poll(db_session, poll_id)
        return ServerSentEvent(live_updates(notifier_of(request), poll.id))

    @get("/{poll_id:int}/present")
    async def present(
        self, request: Request, db_session: DbSession, poll_id: FromPath[int]
    ) -> Template:
        """A large-screen view for a pop-up stand: the QR code and the results as they come."""
        poll = await services.get_poll(db_session, poll_id)
        return Template(
            template_name="polls/present.html",
            context={
                "poll": poll,
                "results": await services.poll_results(db_session, poll),
                "qr": qr_svg(public_url(request, poll.slug, "?via=qr"), title=None),
                "public_url": public_url(request, poll.slug),
                "live_source": f"/staff/polls/{poll.id}/live",
                "fragment_url": f"/staff/polls/{poll.id}/present/results",
                "presenting": True,
            },
        )

    @get("/{poll_id:int}/present/results")
    async def present_fragment(self, db_session: DbSession, poll_id: FromPath[int]) -> Template:
        poll = await services.get_poll(db_session, poll_id)
        return Template(
            template_name="polls/_results.html",
            context={
                "poll": poll,
                "results": await services.poll_results(db_session, poll),
                "results_public": True,
            },
        )

    @post("/{poll_id:int}/close", opt={"roles": EDITORS}, status_code=303)
    async def close(self, db_session: DbSession, poll_id: FromPath[int]) -> Redirect:
        poll = await services.get_poll(db_session, poll_id)
        await services.close_poll_now(db_session, poll)
        return Redirect(path=f"/staff/polls/{poll.id}", status_code=303)

    @post("/{poll_id:int}/kiosks", opt={"roles": EDITORS}, status_code=200)
    async def add_kiosk(
        self, request: Request, db_session: DbSession, poll_id: FromPath[int]
    ) -> Template:
        poll = await services.get_poll(db_session, poll_id)
        form = Form(await read_form(request))
        name = form.text("name", required=True, max_length=100)
        areas = [str(area.id) for area in await list_areas(db_session)]
        area = form.choice("area_id", areas, required=False)
        if not form.is_valid:
            return await self._detail(request, db_session, poll.id, kiosk_form=form, status=400)
        _kiosk, token = await services.create_kiosk(
            db_session, poll, name, int(area) if area else None
        )
        # Shown once, on this page only: the token opens the kiosk until it is revoked.
        link = f"{str(request.base_url).rstrip('/')}/kiosk?t={token}"
        return await self._detail(request, db_session, poll.id, kiosk_link=link)

    @post("/{poll_id:int}/kiosks/{kiosk_id:int}/revoke", opt={"roles": EDITORS}, status_code=303)
    async def revoke_kiosk(
        self, db_session: DbSession, poll_id: FromPath[int], kiosk_id: FromPath[int]
    ) -> Redirect:
        await services.revoke_kiosk(db_session, poll_id, kiosk_id)
        return Redirect(path=f"/staff/polls/{poll_id}", status_code=303)

    @get("/{poll_id:int}/results.csv")
    async def export(self, db_session: DbSession, poll_id: FromPath[int]) -> Response:
        poll = await services.get_poll(db_session, poll_id)
        results = await services.poll_results(db_session, poll)
        areas = {area.id: localized(area.name) for area in await list_areas(db_session)}
        rows: list[list] = [
            [
                gettext("Question"),
                gettext("Question key"),
                gettext("Option"),
                gettext("Option key"),
                gettext("Channel"),
                gettext("Channel key"),
                gettext("Area"),
                gettext("Votes"),
            ]
        ]
        for result in results.questions:
            for option in result.options:
                for channel in services.POLL_CHANNELS:
                    for area_id, count in sorted(
                        _cells(option, channel).items(), key=lambda item: item[0] or 0
                    ):
                        rows.append(
                            [
                                localized(result.question.text),
                                result.question.key,
                                localized(option.label),
                                option.key,
                                gettext(CHANNEL_LABELS[channel]),
                                channel,
                                areas.get(area_id, "") if area_id else "",
                                count,
                            ]
                        )
        filename = f"tori-poll-{poll.slug}-{utcnow().date().isoformat()}.csv"
        return Response(
            csv_text(rows),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )


def _cells(option: services.OptionResult, channel: str) -> dict[int | None, int]:
    return {area: count for (ch, area), count in option.cells.items() if ch == channel}
