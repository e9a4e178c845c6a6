from __future__ import annotations

import logging
from functools import partial
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.areas.services import list_areas
from app.dependencies import AppSettings, DbSession
from app.errors import DomainError, ForbiddenError, NotFoundError
from app.fastpath import HandOver, fast_path, hit_once
from app.forms import read_form, translate_errors
from app.i18n import LANGUAGES, N_, gettext, set_language
from app.ratelimit import Limit, counter_key
from app.security import FORM_EXPIRED, FORM_TOKEN_CHECKED_BY_HANDLER, form_token_accepted
from surveys import services
from surveys.definitions import read_answers
from surveys.device import remember_header, remembered_ids
from surveys.posters import poster
from surveys.qr import qr_svg

POSTER_CALL = N_("Tell us what you thought!")
POSTER_HELP = N_(
    "Scan the code with your phone's camera or open the address. Answering takes two minutes, and you answer anonymously."
)
ANSWERED_COOKIE = "tori_answered"
ANSWERED_PURPOSE = "answered-questionnaires"
# Bursts from one address are slowed down (TORI_ANSWERS_PER_ADDRESS per window), a full hall is not.
ANSWER_WINDOW_SECONDS = 600

log = logging.getLogger("tori.surveys")


def answered_ids(request: Request, secret: str) -> list[str]:
    return remembered_ids(request, secret, ANSWERED_COOKIE, ANSWERED_PURPOSE)


async def answer_problem(
    request: Request, settings, questionnaire, token: str, language: str
) -> tuple[str | None, int]:
    """Why this sending cannot be taken, with its status; (None, 200) when it can."""
    if not services.token_is_genuine(settings.secret_key, questionnaire.slug, token):
        log.warning("answer refused: the form's token is not genuine on %s", request.url.path)
        return gettext("The form was not recognised. Reload the page and answer again."), 400
    if language not in LANGUAGES:
        return gettext(
            "The language of the answers was not recognised. Reload the page and answer again."
        ), 400
    if str(questionnaire.id) in answered_ids(request, settings.secret_key):
        return gettext(
            "You have already answered this questionnaire on this device. Thank you!"
        ), 409
    if services.questionnaire_status(questionnaire) != "open":
        return gettext("This questionnaire is not open for answers."), 400
    limit = Limit(count=settings.answers_per_address, seconds=ANSWER_WINDOW_SECONDS)
    address = request.client.host if request.client else "unknown"
    key = counter_key(settings.secret_key, "feedback-address", address)
    hits = await hit_once(request, request.app.state.burst_counter, key, limit)
    if hits > limit.count:
        return gettext(
            "Too many answers are coming from your network just now. Please wait a moment and send again."
        ), 429
    return None, 200


class AnswerProblem(HandOver):
    """Why an answer sheet was not stored: messages by question key ("" for the whole form)."""

    def __init__(self, errors: dict[str, str], status: int, *, keep_token: bool) -> None:
        super().__init__(next(iter(errors.values())))
        self.errors, self.status, self.keep_token = errors, status, keep_token


async def take_answer(request: Request, settings, slug: str, submitted) -> Any:
    """Check and store one answer sheet; raises AnswerProblem.

    On PostgreSQL the answer is read and stored with plain asyncpg calls outside any
    transaction: storing is one atomic statement. SQLite goes through SQLAlchemy and
    stores in two statements inside a transaction.
    """
    database = request.app.state.db
    async with database.hot_connection() as connection:
        if database.is_postgresql:
            load = partial(services.load_answering_form_pg, connection)
            area_options = partial(services.area_options_pg, connection)
            store = partial(services.submit_response_pg, connection)
        else:
            load = partial(services.load_answering_form, connection)
            area_options = partial(services.current_area_options, connection)
            store = partial(services.submit_response, connection)
        questionnaire = await load(slug)
        token = (submitted.get("token") or [""])[0]
        language = (submitted.get("answer_language") or [""])[0]
        problem, status = await answer_problem(request, settings, questionnaire, token, language)
        if problem:
            raise AnswerProblem({"": problem}, status, keep_token=status != 400)
        questions = services.questions_for(questionnaire, language, await area_options())
        answers, errors = read_answers(questions, submitted)
        if errors:
            raise AnswerProblem(translate_errors(errors), 400, keep_token=True)
        try:
            await store(
                questionnaire, questions=questions, answers=answers, language=language, token=token
            )
        except DomainError as error:
            raise AnswerProblem({"": error.translated()}, 400, keep_token=False) from error
    return questionnaire


def answered_cookie(request: Request, settings, questionnaire_id: int) -> str:
    return remember_header(
        request,
        settings.secret_key,
        ANSWERED_COOKIE,
        ANSWERED_PURPOSE,
        questionnaire_id,
        path="/f",
        https=settings.https,
    )


async def answer_fast(request: Request, fields: dict[str, list[str]]) -> tuple[str, str] | None:
    """The fast path's attempt (app/fastpath.py): an answer sheet that is in order."""
    if fields.get("_switch_language"):
        return None
    settings = request.app.state.settings
    questionnaire = await take_answer(request, settings, request.path_params["slug"], fields)
    return f"/f/{questionnaire.slug}/thanks", answered_cookie(request, settings, questionnaire.id)


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
    ) -> Template:
        questionnaire = await services.questionnaire_by_slug(db_session, slug)
        language = request.state.language
        state = services.questionnaire_status(questionnaire)
        if (
            state == "open"
            and str(questionnaire.id) in answered_ids(request, settings.secret_key)
            and not errors
        ):
            state = "answered"
        questions = services.questions_for(questionnaire, language, await list_areas(db_session))
        instrument = services.instrument_of(questionnaire)
        return Template(
            template_name="surveys/answer.html",
            context={
                "questionnaire": questionnaire,
                "event": questionnaire.event,
                "questions": questions,
                "instrument": instrument,
                "instrument_missing_language": bool(
                    instrument and language not in instrument.languages
                ),
                "state": state,
                "values": values or {},
                "errors": errors or {},
                "token": token
                or services.new_submission_token(settings.secret_key, questionnaire.slug),
                "notice": notice,
            },
            status_code=status_code,
        )

    @get("/{slug:str}", name="feedback_form")
    async def form(
        self, request: Request, db_session: DbSession, settings: AppSettings, slug: FromPath[str]
    ) -> Template:
        return await self._page(request, db_session, settings, slug)

    @post(
        "/{slug:str}",
        status_code=303,
        middleware=[fast_path(answer_fast)],
        opt=FORM_TOKEN_CHECKED_BY_HANDLER,
    )
    async def answer(
        self, request: Request, settings: AppSettings, slug: FromPath[str]
    ) -> Template | Redirect:
        """Store an answer sheet; anything else shows the form again with the answers kept:
        errors, a language switch, an expired form (its token refused: nothing is stored)."""
        submitted = await read_form(request)
        token = (submitted.get("token") or [""])[0]
        genuine = services.token_is_genuine(settings.secret_key, slug.lower(), token)

        async def show_again(**options) -> Template:
            async with request.app.state.db.sessionmaker() as session:
                return await self._page(
                    request, session, settings, slug, values=submitted, **options
                )

        if not form_token_accepted(request, submitted):
            try:
                return await show_again(
                    errors={"": gettext(FORM_EXPIRED)},
                    token=token if genuine else None,
                    status_code=403,
                )
            except NotFoundError:
                # No such questionnaire: a post without a valid token is refused all the same.
                raise ForbiddenError(FORM_EXPIRED) from None
        switch_to = (submitted.get("_switch_language") or [""])[0]
        if switch_to:
            # Another language, the answers given so far kept; nothing is stored yet.
            if switch_to in LANGUAGES:
                set_language(switch_to)
                request.state.language = switch_to
                request.state.remember_language = True
            return await show_again(token=token if genuine else None)
        try:
            questionnaire = await take_answer(request, settings, slug, submitted)
        except AnswerProblem as problem:
            return await show_again(
                errors=problem.errors,
                token=token if problem.keep_token else None,
                status_code=problem.status,
            )
        return Redirect(
            path=f"/f/{questionnaire.slug}/thanks",
            status_code=303,
            headers={"Set-Cookie": answered_cookie(request, settings, questionnaire.id)},
        )

    @get("/{slug:str}/thanks")
    async def thanks(self, db_session: DbSession, slug: FromPath[str]) -> Template:
        questionnaire = await services.questionnaire_by_slug(db_session, slug)
        return Template(template_name="surveys/thanks.html", context={"event": questionnaire.event})

    @get("/{slug:str}/qr.svg", media_type="image/svg+xml")
    async def qr_code(
        self, request: Request, db_session: DbSession, slug: FromPath[str]
    ) -> Response:
        questionnaire = await services.questionnaire_by_slug(db_session, slug)
        return Response(
            content=qr_svg(public_url(request, questionnaire.slug)),
            media_type="image/svg+xml",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @get("/{slug:str}/poster", name="feedback_poster")
    async def poster(
        self, request: Request, db_session: DbSession, slug: FromPath[str]
    ) -> Template:
        questionnaire = await services.questionnaire_by_slug(db_session, slug)
        event = questionnaire.event
        languages = [code for code in LANGUAGES if code in event.languages] or ["fi"]
        return poster(
            title=event.title,
            languages=languages,
            url=public_url(request, questionnaire.slug),
            qr_url=public_url(request, questionnaire.slug),
            qr_label=gettext("QR code that opens the questionnaire"),
            call=POSTER_CALL,
            help_text=POSTER_HELP,
            size=request.query_params.get("size"),
        )


def public_url(request: Request, slug: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/f/{slug}"
