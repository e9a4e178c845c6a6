"""The pop-up kit: one page per event - on a resident's phone from one QR code, or on a shared
tablet - that bundles the event's feedback questionnaire, its open polls and the idea forms open
right now.

On a tablet that staff made a kiosk of the event (surveys.polls.services.create_kiosk),
the questionnaire and the polls open in kiosk mode: no device memory of having answered, a clean
start after each person. The idea forms are not offered there: sending an idea needs the
resident's own sign-in, which must not stay behind on a shared tablet; the kit's QR code takes
the resident to them on their own phone.
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.guards import EDITORS, signed_in_staff
from app.database import utcnow
from app.dependencies import DbSession
from app.events.models import Event
from app.events.services import get_event
from app.features import Highlight, idea_forms
from app.forms import Form
from app.i18n import N_, gettext
from app.qr import qr_image, qr_svg
from app.requests import site_url
from surveys import services as feedback_services
from surveys.polls import services as poll_services
from surveys.polls.kiosk_pages import kiosks_context, make_kiosk
from surveys.polls.votes import KIOSK_COOKIE
from surveys.posters import event_poster

POSTER_CALL = N_("Take part: give feedback, answer the polls, send your idea!")
POSTER_HELP = N_(
    "Scan the code with your phone's camera or open the address. No registration; your answers are anonymous."
)


@dataclass(frozen=True)
class EventKit:
    """What the kit page of one event offers right now."""

    event: Event
    kiosk: bool
    questionnaire: Highlight | None
    polls: list[Highlight]
    ideas: list[Highlight]


async def kiosk_of_event(session: AsyncSession, token: str | None, event_id: int) -> bool:
    """Whether the kiosk cookie `token` belongs to an active kiosk of this event."""
    kiosk = await poll_services.active_kiosk(session, token)
    return kiosk is not None and kiosk.event_id == event_id


async def event_kit(session: AsyncSession, event_id: int, *, kiosk: bool) -> EventKit:
    """The event's kit: its questionnaire and polls while open (their kiosk pages on a kiosk),
    and the idea forms open now (not on a kiosk). An internal event has a kit on its kiosks only."""
    event = await get_event(session, event_id, public_only=not kiosk)
    now = utcnow()
    questionnaire = await feedback_services.questionnaire_for_event(session, event.id)
    found = None
    if (
        questionnaire is not None
        and feedback_services.questionnaire_status(questionnaire, now)
        == feedback_services.QuestionnaireStatus.OPEN
    ):
        found = Highlight(
            kind=N_("Feedback questionnaire"),
            title=event.title,
            url=f"/f/{questionnaire.slug}/kiosk" if kiosk else f"/f/{questionnaire.slug}",
            closes_at=questionnaire.closes_at,
        )
    polls = [
        Highlight(
            kind=N_("Quick poll"),
            title=poll.title,
            url=f"/p/{poll.slug}/kiosk" if kiosk else f"/p/{poll.slug}?via=qr",
            closes_at=poll.closes_at,
        )
        for poll in await poll_services.open_polls(session, now, event_id=event.id)
    ]
    ideas = [] if kiosk else await idea_forms(session)
    return EventKit(event, kiosk, found, polls, ideas)


def kit_url(request: Request, event_id: int) -> str:
    return site_url(request, f"/events/{event_id}/kit")


class KitController(Controller):
    """The public kit page of an event, its QR code and its poster."""

    path = "/events/{event_id:int}/kit"

    @get("/", name="event_kit")
    async def kit(
        self, request: Request, db_session: DbSession, event_id: FromPath[int]
    ) -> Template:
        # Not a shared page: on a kiosk it differs, and like every page with no shared copy it is
        # sent no-store (app/security.py), so a back button on the tablet fetches it anew.
        kiosk = await kiosk_of_event(db_session, request.cookies.get(KIOSK_COOKIE), event_id)
        kit = await event_kit(db_session, event_id, kiosk=kiosk)
        return Template(
            template_name="surveys/kit.html",
            context={
                "kit": kit,
                "event": kit.event,
                "url": kit_url(request, event_id),
                "qr": qr_svg(kit_url(request, event_id), title=None, scale=6),
            },
        )

    @get("/qr.svg", media_type="image/svg+xml")
    async def qr_code(
        self, request: Request, db_session: DbSession, event_id: FromPath[int]
    ) -> Response:
        event = await get_event(db_session, event_id, public_only=True)
        return qr_image(kit_url(request, event.id))

    @get("/poster", name="event_kit_poster")
    async def kit_poster(
        self, request: Request, db_session: DbSession, event_id: FromPath[int]
    ) -> Template:
        event = await get_event(db_session, event_id, public_only=True)
        return event_poster(
            request,
            event,
            kit_url(request, event.id),
            qr_label=gettext("QR code that opens the event's questionnaire, polls and idea form"),
            call=POSTER_CALL,
            help_text=POSTER_HELP,
        )


class StaffKitController(Controller):
    """Staff prepare an event's pop-up kit: its address, QR code and poster, its kiosk tablets
    (made and revoked here, recorded in the audit log) and the head counter."""

    path = "/staff/events/{event_id:int}/kit"
    guards = [signed_in_staff]

    async def _page(
        self,
        request: Request,
        db_session: DbSession,
        event_id: int,
        *,
        kiosk_link: str | None = None,
        kiosk_form: Form | None = None,
        status: int = 200,
    ) -> Template:
        event = await get_event(db_session, event_id)
        kiosks = await poll_services.list_kiosks(db_session, event_id=event.id)
        return Template(
            template_name="surveys/staff_kit.html",
            context={
                "event": event,
                "url": kit_url(request, event.id),
                **await kiosks_context(db_session, kiosks, kiosk_link, kiosk_form),
            },
            status_code=status,
        )

    @get("/", name="staff_event_kit")
    async def show(
        self, request: Request, db_session: DbSession, event_id: FromPath[int]
    ) -> Template:
        return await self._page(request, db_session, event_id)

    @post("/kiosks", opt={"roles": EDITORS}, status_code=200)
    async def add_kiosk(
        self, request: Request, db_session: DbSession, event_id: FromPath[int]
    ) -> Template:
        event = await get_event(db_session, event_id)

        async def page(**shown) -> Template:
            return await self._page(request, db_session, event.id, **shown)

        return await make_kiosk(request, db_session, event, page)

    @post("/kiosks/{kiosk_id:int}/revoke", opt={"roles": EDITORS}, status_code=303)
    async def revoke_kiosk(
        self, db_session: DbSession, event_id: FromPath[int], kiosk_id: FromPath[int]
    ) -> Redirect:
        await poll_services.revoke_kiosk(db_session, kiosk_id, event_id=event_id)
        return Redirect(path=f"/staff/events/{event_id}/kit", status_code=303)
