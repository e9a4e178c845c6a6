"""Staff pages of the questionnaire editor: the next version of the standard questionnaire
(surveys/drafts.py), its preview in each language with the residents' own answering page."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.accounts.guards import ADMINS, signed_in_staff
from app.database import utcnow
from app.dependencies import DbSession
from app.errors import NotFoundError
from app.forms import Form, read_form, translate_errors
from app.i18n import LANGUAGES, N_, content_languages, gettext, set_language
from surveys import drafts, services
from surveys.definitions import read_answers
from surveys.drafts import DraftError
from surveys.forms import EXTRA_TYPES, read_new_question, read_wording, wording_form
from surveys.staff import TYPE_LABELS

EDITOR = "/staff/questionnaire"
ADMIN_ONLY = {"roles": ADMINS}


@dataclass(frozen=True)
class PreviewVersion:
    intro: dict[str, str]
    version: int


@dataclass(frozen=True)
class PreviewQuestionnaire:
    """What the answering page reads of a questionnaire, for the draft's preview."""

    version: PreviewVersion
    slug: str = "preview"
    opens_at: Any = field(default_factory=utcnow)


@dataclass(frozen=True)
class PreviewEvent:
    title: dict[str, str]
    starts_at: Any = field(default_factory=utcnow)
    venue: dict[str, str] | None = None


def preview_languages(questions) -> tuple[str, ...]:
    """As residents would be offered them: the interface languages, and every content language
    in which the draft is wholly written (services.answering_languages)."""
    complete = drafts.offered_languages(questions)
    return tuple(code for code in content_languages() if code in LANGUAGES or code in complete)


class QuestionnaireEditorController(Controller):
    """Admins write the next version of the standard questionnaire and publish it."""

    path = EDITOR
    guards = [signed_in_staff]
    opt = ADMIN_ONLY

    async def _page(
        self, db_session, *, add_form: Form | None = None, problem: str = "", status: int = 200
    ) -> Template:
        template = await drafts.standard_template(db_session)
        draft = await drafts.current_draft(db_session)
        versions = list(template.versions)
        changes = [
            (version, drafts.version_changes(versions[index - 1] if index else None, version))
            for index, version in enumerate(versions)
        ]
        context: dict[str, Any] = {
            "template": template,
            "versions": list(reversed(changes)),
            "draft": draft,
            "problem": problem,
            "add_form": add_form or Form.prefilled({"type": "scale5"}),
            "extra_types": EXTRA_TYPES,
            "type_labels": TYPE_LABELS,
            "more_languages": [code for code in content_languages() if code not in LANGUAGES],
        }
        if draft is not None:
            questions = drafts.draft_questions(draft)
            context.update(
                questions=questions,
                offered=drafts.offered_languages(questions),
                previews=preview_languages(questions),
                next_version=template.latest.version + 1,
            )
        return Template(template_name="surveys/editor.html", context=context, status_code=status)

    @get("/", name="questionnaire_editor")
    async def overview(self, db_session: DbSession) -> Template:
        return await self._page(db_session)

    @post("/draft", status_code=303)
    async def start(self, db_session: DbSession) -> Redirect:
        await drafts.start_draft(db_session)
        return Redirect(path=EDITOR, query_params={"done": "started"}, status_code=303)

    async def _question_page(
        self, db_session, key: str, form: Form | None = None, *, status: int = 200
    ) -> Template:
        draft = await drafts.require_draft(db_session)
        question = drafts.question_of(draft, key)
        sources = drafts.condition_sources(drafts.draft_questions(draft), key)
        form = form or wording_form(question)
        chosen = next((q for q in sources if q.key == form.raw("show_if_key")), None)
        return Template(
            template_name="surveys/editor_question.html",
            context={
                "question": question,
                "form": form,
                "sources": sources,
                "chosen": chosen,
                "answers": drafts.condition_answers(chosen) if chosen else (),
                "type_labels": TYPE_LABELS,
                "more_languages": [code for code in content_languages() if code not in LANGUAGES],
            },
            status_code=status,
        )

    @get("/draft/questions/{key:str}")
    async def question(self, db_session: DbSession, key: FromPath[str]) -> Template:
        return await self._question_page(db_session, key)

    @post("/draft/questions/{key:str}", status_code=303)
    async def reword(
        self, request: Request, db_session: DbSession, key: FromPath[str]
    ) -> Template | Redirect:
        form = Form(await read_form(request))
        draft = await drafts.require_draft(db_session)
        question = drafts.question_of(draft, key)
        sources = drafts.condition_sources(drafts.draft_questions(draft), key)
        if form.raw("_choose_condition"):
            # Without JavaScript: the chosen question's answers are shown to pick from; nothing saved.
            form.data["show_if_shown_for"] = [form.raw("show_if_key")]
            return await self._question_page(db_session, key, form)
        wording = read_wording(form, question, sources)
        if wording is not None:
            try:
                await drafts.reword_question(db_session, key, wording)
            except DraftError as error:
                form.add_error(error.field or "form", error.translated())
            else:
                return Redirect(path=EDITOR, query_params={"done": "saved"}, status_code=303)
        return await self._question_page(db_session, key, form, status=400)

    @post("/draft/questions", status_code=303)
    async def add(self, request: Request, db_session: DbSession) -> Template | Redirect:
        form = Form(await read_form(request))
        new = read_new_question(form)
        if new is not None:
            try:
                await drafts.add_question(db_session, *new)
            except DraftError as error:
                field_name = {"options": "options_fi"}.get(error.field, error.field or "form")
                form.add_error(field_name, error.translated())
            else:
                return Redirect(path=EDITOR, query_params={"done": "added"}, status_code=303)
        return await self._page(db_session, add_form=form, status=400)

    @post("/draft/questions/{key:str}/move", status_code=303)
    async def move(
        self, request: Request, db_session: DbSession, key: FromPath[str]
    ) -> Template | Redirect:
        direction = (await read_form(request)).get("direction", [""])[0]
        try:
            await drafts.move_question(db_session, key, direction)
        except DraftError as error:
            return await self._page(db_session, problem=error.translated(), status=400)
        return Redirect(path=EDITOR, query_params={"done": "moved"}, status_code=303)

    @post("/draft/questions/{key:str}/retire", status_code=303)
    async def retire(self, db_session: DbSession, key: FromPath[str]) -> Template | Redirect:
        try:
            await drafts.retire_question(db_session, key)
        except DraftError as error:
            return await self._page(db_session, problem=error.translated(), status=400)
        return Redirect(path=EDITOR, query_params={"done": "retired"}, status_code=303)

    @post("/draft/publish", status_code=303)
    async def publish(self, db_session: DbSession) -> Template | Redirect:
        try:
            await drafts.publish_draft(db_session)
        except DraftError as error:
            return await self._page(db_session, problem=error.translated(), status=400)
        return Redirect(path=EDITOR, query_params={"done": "published"}, status_code=303)

    @post("/draft/discard", status_code=303)
    async def discard(self, db_session: DbSession) -> Redirect:
        await drafts.discard_draft(db_session)
        return Redirect(path=EDITOR, query_params={"done": "discarded"}, status_code=303)

    async def _preview(
        self,
        request: Request,
        db_session,
        language: str,
        *,
        values: dict[str, list[str]] | None = None,
        errors: dict | None = None,
        checked: bool = False,
    ) -> Template:
        draft = await drafts.require_draft(db_session)
        areas = await services.current_area_options(db_session)
        questions = drafts.preview_questions(draft, areas)
        # Judged on the draft's own texts: the areas' names come from elsewhere (as in answering).
        languages = preview_languages(drafts.draft_questions(draft))
        if language not in languages:
            raise NotFoundError(N_("The draft is not written in this language."))
        # The page as a resident reading this language gets it.
        set_language(language)
        request.state.language = language
        errors = translate_errors(errors) if errors else {}
        template = await drafts.standard_template(db_session)
        title = gettext("Preview of the draft")
        return Template(
            template_name="surveys/answer.html",
            context={
                "questionnaire": PreviewQuestionnaire(
                    PreviewVersion(dict(draft.intro), template.latest.version + 1)
                ),
                "event": PreviewEvent({language: title}),
                "questions": questions,
                "instrument": None,
                "answering_languages": languages,
                "answer_language": language,
                "content_page": True,
                "instrument_missing_language": False,
                "state": "open",
                "values": values or {},
                "errors": errors,
                "token": "preview",
                "notice": None,
                "kiosk": False,
                "preview": {"checked": checked, "back": EDITOR},
                "form_action": f"{EDITOR}/draft/preview/{language}",
            },
            status_code=400 if errors else 200,
        )

    @get("/draft/preview/{language:str}")
    async def preview(
        self, request: Request, db_session: DbSession, language: FromPath[str]
    ) -> Template:
        return await self._preview(request, db_session, language)

    @post("/draft/preview/{language:str}", status_code=200)
    async def try_preview(
        self, request: Request, db_session: DbSession, language: FromPath[str]
    ) -> Template | Redirect:
        """The preview's answers checked as a resident's would be; nothing is stored."""
        submitted = await read_form(request)
        switch_to = (submitted.get("_switch_language") or [""])[0]
        if switch_to:
            if switch_to not in content_languages():
                raise NotFoundError(N_("The draft is not written in this language."))
            return Redirect(path=f"{EDITOR}/draft/preview/{switch_to}", status_code=303)
        draft = await drafts.require_draft(db_session)
        questions = drafts.preview_questions(draft, await services.current_area_options(db_session))
        _answers, errors = read_answers(questions, submitted)
        return await self._preview(
            request,
            db_session,
            language,
            values=submitted,
            errors=errors,
            checked=not errors,
        )
