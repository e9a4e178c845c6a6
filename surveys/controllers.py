from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.areas.services import list_areas
from app.dependencies import AppSettings, DbSession
from app.errors import ForbiddenError
from app.fastpath import FAST_PATH_OPTIONS, fast_path, shown_again, take_once
from app.forms import read_form
from app.i18n import (
    N_,
    content_languages,
    gettext,
    interface_language,
    set_language,
)
from app.page_cache import SHARED_PAGE, per_request
from app.qr import qr_image
from app.requests import is_htmx, site_url
from surveys import services
from surveys.answering import (
    AnswerProblem,
    answered_ids,
    check_form_token,
    is_kiosk_answer,
    switching_language,
    take_answer,
)
from surveys.polls import services as kiosk_services
from surveys.polls.votes import KIOSK_COOKIE, KIOSK_REVOKED
from surveys.posters import event_poster
from surveys.services import QuestionnaireStatus

# The kiosk's thank-you page starts again for the next person after this many seconds; a form
# left untouched this long (a person who walked away) is cleared, after a notice.
KIOSK_RESET_SECONDS = 10
KIOSK_IDLE_SECONDS = 120
KIOSK_IDLE_NOTICE_SECONDS = 20
POSTER_CALL = N_("Tell us what you thought!")
POSTER_HELP = N_(
    "Scan the code with your phone's camera or open the address. Answering takes two minutes, and you answer anonymously."
)


class FeedbackController(Controller):
    """Residents answer an event's questionnaire: anonymous, no account, works without JavaScript."""

    path = "/f"

    async def _page(
        self,
        request: Request,
        db_session: DbSession,
        settings: AppSettings,
        slug: str,
        *,
        values: dict[str, list[str]] | None = None,
        errors: dict[str, str] | None = None,
        token: str | None = None,
        status_code: int = 200,
        notice: str | None = None,
        kiosk: bool = False,
    ) -> Template:
        questionnaire = await services.questionnaire_by_slug(db_session, slug)
        languages = services.answering_languages(questionnaire)
        # The reader's language where the questionnaire is written in it, else the interface's.
        language = request.state.language
        if language not in languages:
            language = interface_language(language)
        state = services.questionnaire_status(questionnaire)
        if (
            state == QuestionnaireStatus.OPEN
            and not kiosk
            and str(questionnaire.id) in answered_ids(request, settings.secret_key)
            and not errors
        ):
            state = "answered"
        questions = services.questions_for(questionnaire, language, await list_areas(db_session))
        instrument = services.instrument_of(questionnaire)
        secret, questionnaire_slug = settings.secret_key, questionnaire.slug
        return Template(
            template_name="surveys/answer.html",
            context={
                "questionnaire": questionnaire,
                "event": questionnaire.event,
                "questions": questions,
                "instrument": instrument,
                # The languages offered, and whether the page is in the reader's chosen one
                # (else the interface language's content is shown: see answering_languages).
                "answering_languages": languages,
                "answer_language": language,
                "content_page": language == request.state.language,
                "instrument_missing_language": bool(
                    instrument and language not in instrument.languages
                ),
                "state": state,
                "values": values or {},
                "errors": errors or {},
                "token": token
                or per_request(
                    request,
                    lambda _request: services.new_submission_token(secret, questionnaire_slug),
                ),
                "notice": notice,
                "kiosk": kiosk,
                "kiosk_home": f"/events/{questionnaire.event_id}/kit",
                "idle_seconds": KIOSK_IDLE_SECONDS,
                "idle_notice_seconds": KIOSK_IDLE_NOTICE_SECONDS,
            },
            status_code=status_code,
        )

    async def _kiosk_allowed(self, request: Request, db_session: DbSession, slug: str):
        """The questionnaire, when this device is a kiosk of its event; else ForbiddenError."""
        questionnaire = await services.questionnaire_by_slug(db_session, slug)
        kiosk = await kiosk_services.active_kiosk(db_session, request.cookies.get(KIOSK_COOKIE))
        if kiosk is None or kiosk.event_id is None or kiosk.event_id != questionnaire.event_id:
            raise ForbiddenError(KIOSK_REVOKED)
        return questionnaire

    @get("/{slug:str}", name="feedback_form", opt=SHARED_PAGE)
    async def form(
        self, request: Request, db_session: DbSession, settings: AppSettings, slug: FromPath[str]
    ) -> Template:
        return await self._page(request, db_session, settings, slug)

    @post(
        "/{slug:str}",
        status_code=303,
        middleware=[fast_path(take_answer)],
        opt=FAST_PATH_OPTIONS,
    )
    async def answer(
        self, request: Request, settings: AppSettings, slug: FromPath[str]
    ) -> Template | Redirect | Response:
        """Store an answer sheet; anything else shows the form again with the answers kept:
        errors, a language switch, an expired form (its token refused: nothing is stored)."""
        submitted = await read_form(request)
        token = (submitted.get("token") or [""])[0]
        genuine = services.token_is_genuine(settings.secret_key, slug.lower(), token)
        kiosk = is_kiosk_answer(submitted)

        async def show_again(*, expired: bool = False, **options) -> Template:
            return await shown_again(
                request,
                lambda session: self._page(
                    request, session, settings, slug, values=submitted, kiosk=kiosk, **options
                ),
                expired=expired,
            )

        try:
            switch_to = switching_language(submitted)
            if switch_to:
                check_form_token(request, submitted)
                # Another language, the answers given so far kept; nothing is stored yet.
                if switch_to in content_languages():
                    set_language(switch_to)
                    request.state.language = switch_to
                    request.state.remember_language = True
                return await show_again(token=token if genuine else None)
            taken = await take_once(request, lambda: take_answer(request, submitted))
        except AnswerProblem as problem:
            # No such questionnaire: a post without a valid token is refused all the same.
            return await show_again(
                errors=problem.errors,
                token=token if problem.keep_token and genuine else None,
                status_code=problem.status,
                expired=problem.expired,
            )
        if kiosk and is_htmx(request):
            # The kiosk's form is sent by htmx, so that no POST is left in the tablet's history
            # for the next person to step back into; the thank-you page is a page of its own.
            return Response(content="", status_code=200, headers={"HX-Redirect": taken.location})
        return Redirect(path=taken.location, status_code=303, cookies=taken.cookies)

    @get("/{slug:str}/thanks")
    async def thanks(self, db_session: DbSession, slug: FromPath[str]) -> Template:
        questionnaire = await services.questionnaire_by_slug(db_session, slug)
        return Template(template_name="surveys/thanks.html", context={"event": questionnaire.event})

    @get("/{slug:str}/kiosk", name="feedback_kiosk")
    async def kiosk(
        self, request: Request, db_session: DbSession, settings: AppSettings, slug: FromPath[str]
    ) -> Template:
        """The questionnaire on a shared tablet (a kiosk of its event, made by staff): no device
        memory of having answered, a clean start after each person and after inactivity. Like
        every page with a form it is sent `no-store`, so the back button fetches it anew."""
        questionnaire = await self._kiosk_allowed(request, db_session, slug)
        if request.query_params.get("answered"):
            return Template(
                template_name="surveys/kiosk_thanks.html",
                context={
                    "event": questionnaire.event,
                    "kiosk_home": f"/events/{questionnaire.event_id}/kit",
                    "reset_seconds": KIOSK_RESET_SECONDS,
                },
            )
        return await self._page(request, db_session, settings, slug, kiosk=True)

    @get("/{slug:str}/qr.svg", media_type="image/svg+xml")
    async def qr_code(
        self, request: Request, db_session: DbSession, slug: FromPath[str]
    ) -> Response:
        questionnaire = await services.questionnaire_by_slug(db_session, slug)
        return qr_image(public_url(request, questionnaire.slug))

    @get("/{slug:str}/poster", name="feedback_poster")
    async def poster(
        self, request: Request, db_session: DbSession, slug: FromPath[str]
    ) -> Template:
        questionnaire = await services.questionnaire_by_slug(db_session, slug)
        return event_poster(
            request,
            questionnaire.event,
            public_url(request, questionnaire.slug),
            qr_label=gettext("QR code that opens the questionnaire"),
            call=POSTER_CALL,
            help_text=POSTER_HELP,
        )


def public_url(request: Request, slug: str) -> str:
    return site_url(request, f"/f/{slug}")
