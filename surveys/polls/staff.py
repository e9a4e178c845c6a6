"""Staff pages of polls: writing them, live results, presentation view, kiosks and CSV export."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, ServerSentEvent, Template

from app.accounts.guards import EDITORS, signed_in_staff
from app.areas.services import list_areas
from app.database import utcnow
from app.dependencies import AppSettings, DbSession
from app.errors import DomainError
from app.forms import Form, read_form
from app.i18n import N_, gettext, localized
from app.qr import qr_svg
from app.spreadsheets import csv_text
from app.state import SETTINGS
from surveys.polls import services
from surveys.polls.controllers import public_url
from surveys.polls.forms import QUESTION_PREFIXES, poll_form, read_poll
from surveys.polls.kiosk_pages import kiosks_context, make_kiosk
from surveys.polls.live import POLL_NOTIFIER, live_stream
from surveys.staff import TYPE_LABELS

VISIBILITY_LABELS = {
    services.Visibility.IMMEDIATE: N_("Right after voting"),
    services.Visibility.AFTER_CLOSE: N_("After the poll closes"),
    services.Visibility.STAFF: N_("Staff only"),
}
CHANNEL_LABELS = {
    services.PollChannel.QR: N_("QR code"),
    services.PollChannel.LINK: N_("Link"),
    services.PollChannel.KIOSK: N_("Kiosk"),
}


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
                "events": await services.events_near(db_session, poll.event_id if poll else None),
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
            for event in await services.events_near(db_session, poll.event_id if poll else None)
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
                **await kiosks_context(
                    db_session,
                    await services.list_kiosks(db_session, poll_id=poll.id),
                    kiosk_link,
                    kiosk_form,
                ),
                "public_url": public_url(request, poll.slug),
                "embeddable": bool(SETTINGS.of(request).embed_origins),
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
        return live_stream(request, POLL_NOTIFIER.of(request), poll.id)

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

        async def page(**shown) -> Template:
            return await self._detail(request, db_session, poll.id, **shown)

        return await make_kiosk(request, db_session, poll, page)

    @post("/{poll_id:int}/kiosks/{kiosk_id:int}/revoke", opt={"roles": EDITORS}, status_code=303)
    async def revoke_kiosk(
        self, db_session: DbSession, poll_id: FromPath[int], kiosk_id: FromPath[int]
    ) -> Redirect:
        await services.revoke_kiosk(db_session, kiosk_id, poll_id=poll_id)
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
