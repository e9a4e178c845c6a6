"""Taking an answer sheet: every check and the storing, for the questionnaire controller and its
fast path.

`take_answer` checks the form token, the questionnaire's own token, the language, this
device, the opening times and the per-address counter, reads the answers and stores
them (one statement on PostgreSQL). A refusal is an `AnswerProblem` whose messages are in
the resident's language; the controller shows the form again with the answers kept. The
fast path (app/fastpath.py) calls the same function; whatever it meets, the controller
shows without checking again.
"""

from __future__ import annotations

import logging

from litestar import Request
from litestar.datastructures import Cookie

from app.errors import DomainError
from app.fastpath import Taken
from app.forms import translate_errors
from app.i18n import gettext
from app.ratelimit import Limit, address_block, counter_key
from app.security import FORM_EXPIRED, form_token_accepted
from app.state import BURST_COUNTER, DATABASE, LIMITER, SETTINGS
from surveys import services
from surveys.definitions import read_answers
from surveys.device import remember_cookie, remembered_ids
from surveys.polls import services as kiosk_services
from surveys.polls.votes import KIOSK_COOKIE, KIOSK_REVOKED
from surveys.services import AnsweringForm, QuestionnaireStatus

ANSWERED_COOKIE = "tori_answered"
ANSWERED_PURPOSE = "answered-questionnaires"
# Bursts from one address are slowed down (TORI_ANSWERS_PER_ADDRESS per window), a full hall is not.
ANSWER_WINDOW_SECONDS = 600
# A kiosk tablet serves one person at a time; a questionnaire takes a minute or two.
KIOSK_ANSWER_LIMIT = Limit(count=20, seconds=600)

log = logging.getLogger("tori.surveys")


def answered_ids(request: Request, secret: str) -> list[str]:
    return remembered_ids(request, secret, ANSWERED_COOKIE, ANSWERED_PURPOSE)


class AnswerProblem(Exception):  # noqa: N818 - an answer refused, not a failure of the program
    """Why an answer sheet was not stored: messages by question key ("" for the whole form),
    the status to send, and whether the form's own token may be offered again."""

    def __init__(
        self, errors: dict[str, str], status: int, *, keep_token: bool, expired: bool = False
    ) -> None:
        super().__init__(next(iter(errors.values())))
        self.errors, self.status, self.keep_token = errors, status, keep_token
        self.expired = expired


def switching_language(submitted: dict[str, list[str]]) -> str:
    """The language the resident switched to with the form's language buttons, or ""."""
    return (submitted.get("_switch_language") or [""])[0]


def is_kiosk_answer(submitted: dict[str, list[str]]) -> bool:
    """The form was sent from the questionnaire's kiosk page (the kiosk cookie is checked)."""
    return (submitted.get("kiosk") or [""])[0] == "1"


async def answer_problem(
    request: Request,
    settings,
    questionnaire: AnsweringForm,
    token: str,
    language: str,
    *,
    kiosk_id: int | None = None,
) -> tuple[str | None, int]:
    """Why this sending cannot be taken, with its status; (None, 200) when it can. From a kiosk
    (`kiosk_id`, checked against the database) this device's memory of having answered is not
    asked - one person after another answers on it - and its own counter replaces the
    address's."""
    if not services.token_is_genuine(settings.secret_key, questionnaire.slug, token):
        log.warning("answer refused: the form's token is not genuine on %s", request.url.path)
        return gettext("The form was not recognised. Reload the page and answer again."), 400
    if language not in services.answering_languages(questionnaire):
        return gettext(
            "The language of the answers was not recognised. Reload the page and answer again."
        ), 400
    if kiosk_id is None and str(questionnaire.id) in answered_ids(request, settings.secret_key):
        return gettext(
            "You have already answered this questionnaire on this device. Thank you!"
        ), 409
    if services.questionnaire_status(questionnaire) != QuestionnaireStatus.OPEN:
        return gettext("This questionnaire is not open for answers."), 400
    if kiosk_id is not None:
        limit = KIOSK_ANSWER_LIMIT
        key = counter_key(settings.secret_key, "feedback-kiosk", str(kiosk_id))
        counter = LIMITER.of(request)
    else:
        limit = Limit(count=settings.answers_per_address, seconds=ANSWER_WINDOW_SECONDS)
        address = request.client.host if request.client else "unknown"
        key = counter_key(settings.secret_key, "feedback-address", address_block(address))
        counter = BURST_COUNTER.of(request)
    if await counter.hit(key, limit) > limit.count:
        return gettext(
            "Too many answers are coming from your network just now. Please wait a moment and send again."
        ), 429
    return None, 200


def check_form_token(request: Request, submitted: dict[str, list[str]]) -> None:
    """Raises AnswerProblem (expired) unless the form token is accepted (app/security.py)."""
    if not form_token_accepted(request, submitted):
        raise AnswerProblem({"": gettext(FORM_EXPIRED)}, 403, keep_token=True, expired=True)


async def take_answer(request: Request, submitted: dict[str, list[str]]) -> Taken | None:
    """Check and store one answer sheet; where the browser goes next. Raises AnswerProblem.
    None for a language switch (nothing checked or stored: the controller shows the form)."""
    if switching_language(submitted):
        return None
    check_form_token(request, submitted)
    settings = SETTINGS.of(request)
    database = DATABASE.of(request)
    async with database.write_connection() as connection:
        questionnaire = await services.load_answering_form(connection, request.path_params["slug"])
        token = (submitted.get("token") or [""])[0]
        language = (submitted.get("answer_language") or [""])[0]
        kiosk_id = None
        if is_kiosk_answer(submitted):
            kiosk_id = await kiosk_services.event_kiosk_is_active(
                connection, request.cookies.get(KIOSK_COOKIE), questionnaire.event_id
            )
            if kiosk_id is None:
                # Not a kiosk of this event (revoked, forged, or a phone pretending): nothing stored.
                raise AnswerProblem({"": gettext(KIOSK_REVOKED)}, 403, keep_token=False)
        problem, status = await answer_problem(
            request, settings, questionnaire, token, language, kiosk_id=kiosk_id
        )
        if problem:
            raise AnswerProblem({"": problem}, status, keep_token=status != 400)
        areas = await services.current_area_options(connection)
        questions = services.questions_for(questionnaire, language, areas)
        answers, errors = read_answers(questions, submitted)
        if errors:
            raise AnswerProblem(translate_errors(errors), 400, keep_token=True)
        try:
            stored = await services.submit_response(
                connection,
                questionnaire,
                questions=questions,
                answers=answers,
                language=language,
                token=token,
            )
        except DomainError as error:
            raise AnswerProblem({"": error.translated()}, 400, keep_token=False) from error
    if stored:
        await services.fold_now_and_then(database.engine)
    if kiosk_id is not None:
        # The next person starts clean: no cookie remembers this answer on the shared tablet.
        return Taken(f"/f/{questionnaire.slug}/kiosk?answered=1")
    return Taken(
        f"/f/{questionnaire.slug}/thanks", [answered_cookie(request, settings, questionnaire.id)]
    )


def answered_cookie(request: Request, settings, questionnaire_id: int) -> Cookie:
    return remember_cookie(
        request,
        settings.secret_key,
        ANSWERED_COOKIE,
        ANSWERED_PURPOSE,
        questionnaire_id,
        path="/f",
        https=settings.https,
    )
