"""Staff pages of participatory budgeting: rounds, proposal review, the voter roll, voting
codes (letters and staff-assisted), results and the pabulib export."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.accounts.guards import ADMINS, EDITORS, current_user, signed_in_staff
from app.accounts.models import Role
from app.areas.services import list_areas
from app.database import utcnow
from app.dependencies import AppSettings, DbSession
from app.errors import DomainError, ForbiddenError, NotFoundError
from app.form_posts import handle_post
from app.forms import Form, read_form
from app.i18n import N_, current_language, gettext
from app.mail.services import undelivered
from app.off_loop import in_worker_thread, off_loop
from app.requests import ascii_int
from app.security import FORM_TOKEN_CHECKED_BY_HANDLER, form_token_accepted
from app.state import DATABASE, RENDERER
from app.uploads import Upload, UploadError, read_upload
from voting import moderation, pictures, places, publication, published, review, rounds
from voting.ballots import ballot_parts, read_ballot
from voting.board_keys import public_key_text
from voting.exports import pabulib_response
from voting.forms import (
    CHOOSE_A_FILE,
    PHASE_FIELD_LABELS,
    PHASE_FIELDS,
    area_options,
    close_form_for,
    read_assignment,
    read_entered_idea,
    read_moderation,
    read_note,
    read_paper_typing,
    read_person,
    read_review,
    read_roll_upload,
    read_round,
    read_slip,
    read_voting_close,
    require_voting_open,
    round_form,
)
from voting.letters_staff import issue_letters
from voting.milestone_pages import staff_milestones_context
from voting.mixing import RoundRef, flush_if_closed
from voting.notifications import Notifier
from voting.pages import MIX_SCHEDULER, proposal_filter, results_context
from voting.paper import (
    PAPER_STATUSES,
    discard_flagged,
    enter_paper_ballot,
    flagged_slips,
    paper_entries,
)
from voting.picture_pages import PictureActions, pictures_context
from voting.proposal_posts import back_to_proposal, proposal_path, proposal_post
from voting.roll import (
    MAX_ROLL_BYTES,
    ImportSummary,
    find_on_roll,
    import_roll,
    issue_assisted_code,
    parse_roll,
    roll_figures,
    rows_without_budget,
)
from voting.tally.board import grouped
from voting.translations import (
    BALLOT_LANGUAGES,
    BALLOT_NOT_TRANSLATED,
    ballot_translated,
    missing_languages,
    translation_gaps,
)
from voting.voters import today_in

log = logging.getLogger("tori.voting")
# A census file and the form around it (its token, the multipart headers).
MAX_ROLL_UPLOAD = MAX_ROLL_BYTES + 64 * 1024

ATTENTION_ROWS = 20


@dataclass(frozen=True)
class Paged:
    """One page of a list on the attention page, with its own page number."""

    items: list
    page: int
    total: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


class StaffRoundsController(Controller):
    path = "/staff/pb"
    guards = [signed_in_staff]

    @get("/", name="staff_pb")
    async def index(self, db_session: DbSession) -> Template:
        return Template(
            template_name="pb/staff_rounds.html",
            context={
                "rounds": await rounds.list_rounds(db_session),
                "phase_of": rounds.phase_of,
                "phase_labels": rounds.PHASE_LABELS,
            },
        )

    async def _form_page(
        self, db_session, settings, round_=None, form=None, status=200
    ) -> Template:
        return Template(
            template_name="pb/staff_round_form.html",
            context={
                "round": round_,
                "frozen": await rounds.frozen_by(db_session, round_) if round_ else None,
                "form": form or round_form(round_, ZoneInfo(settings.timezone)),
                "areas": await list_areas(db_session),
                "phase_fields": PHASE_FIELDS,
                "phase_field_labels": PHASE_FIELD_LABELS,
                "ballot_rules": rounds.BALLOT_RULES,
                "official_rules": rounds.OFFICIAL_RULES,
            },
            status_code=status,
        )

    async def _save(self, request, db_session, settings, round_id=None) -> Template | Redirect:
        async def load():
            return await rounds.get_round(db_session, round_id) if round_id else None

        async def read(form, round_):
            areas = [area.id for area in await list_areas(db_session)]
            return read_round(form, ZoneInfo(settings.timezone), areas, round_)

        async def save(round_, draft):
            if round_ is None:
                return await rounds.create_round(db_session, draft, actor=current_user(request))
            return await rounds.update_round(db_session, round_, draft, actor=current_user(request))

        return await handle_post(
            request,
            db_session,
            load=load,
            read=read,
            act=save,
            done=lambda _draft, saved: Redirect(path=f"/staff/pb/{saved.id}", status_code=303),
            again=lambda round_, form: self._form_page(
                db_session, settings, round_, form, status=400
            ),
        )

    @get("/new", opt={"roles": EDITORS})
    async def new(self, db_session: DbSession, settings: AppSettings) -> Template:
        return await self._form_page(db_session, settings)

    @post("/new", opt={"roles": EDITORS}, status_code=303)
    async def create(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Template | Redirect:
        return await self._save(request, db_session, settings)

    @get("/{round_id:int}/edit", opt={"roles": EDITORS})
    async def edit(
        self, db_session: DbSession, settings: AppSettings, round_id: FromPath[int]
    ) -> Template:
        return await self._form_page(
            db_session, settings, await rounds.get_round(db_session, round_id)
        )

    @post("/{round_id:int}/edit", opt={"roles": EDITORS}, status_code=303)
    async def update(
        self,
        request: Request,
        db_session: DbSession,
        settings: AppSettings,
        round_id: FromPath[int],
    ) -> Template | Redirect:
        return await self._save(request, db_session, settings, round_id)

    async def _detail(
        self,
        db_session,
        round_id,
        *,
        form=None,
        status=200,
        roll_summary=None,
        roll_errors=None,
        roll_warning=None,
        assisted_code=None,
        close_form=None,
        settings=None,
    ) -> Template:
        round_ = await rounds.get_round(db_session, round_id)
        proposals = await rounds.list_proposals(db_session, round_.id)
        zone = ZoneInfo(settings.timezone) if settings else None
        return Template(
            template_name="pb/staff_round.html",
            context={
                "round": round_,
                "phase": rounds.phase_of(round_),
                "phase_labels": rounds.PHASE_LABELS,
                "phases": rounds.phase_dates(round_),
                "ballot_rules": rounds.BALLOT_RULES,
                "official_rules": rounds.OFFICIAL_RULES,
                "proposals": proposals,
                "statuses": rounds.ALL_STATUSES,
                "moderation_labels": moderation.MODERATION_LABELS,
                "roll": await roll_figures(db_session, round_.id),
                "ballots": await rounds.ballot_count(db_session, round_.id),
                "form": form or Form(),
                "roll_summary": roll_summary,
                "roll_errors": roll_errors,
                "roll_warning": roll_warning,
                "assisted_code": assisted_code,
                "frozen": await rounds.frozen_by(db_session, round_),
                "translation_gaps": await translation_gaps(db_session, round_.id),
                "changes": await rounds.round_changes(db_session, round_.id),
                "change_kinds": rounds.CHANGE_KINDS,
                "close_form": close_form or close_form_for(round_, zone),
            },
            status_code=status,
        )

    @get("/{round_id:int}", name="staff_pb_round")
    async def detail(
        self, db_session: DbSession, settings: AppSettings, round_id: FromPath[int]
    ) -> Template:
        return await self._detail(db_session, round_id, settings=settings)

    @post("/{round_id:int}/voting-close", opt={"roles": ADMINS}, status_code=303)
    async def change_voting_close(
        self,
        request: Request,
        db_session: DbSession,
        settings: AppSettings,
        round_id: FromPath[int],
    ) -> Template | Redirect:
        """Close voting early or extend it: an administrator's public, recorded action."""
        return await handle_post(
            request,
            db_session,
            load=lambda: rounds.get_round(db_session, round_id),
            read=lambda form, _round: read_voting_close(form, ZoneInfo(settings.timezone)),
            act=lambda round_, read: rounds.change_voting_close(
                db_session, round_, *read, current_user(request)
            ),
            done=lambda _read, _result: Redirect(
                path=f"/staff/pb/{round_id}", query_params={"done": "close"}, status_code=303
            ),
            again=lambda _round, form: self._detail(
                db_session, round_id, close_form=form, settings=settings, status=400
            ),
        )

    @post(
        "/{round_id:int}/roll",
        # The form's token is checked here, after the body is parsed off the event loop (the
        # CSRF middleware would parse it on the loop to find the token).
        opt={"roles": EDITORS, **FORM_TOKEN_CHECKED_BY_HANDLER},
        status_code=200,
        request_max_body_size=MAX_ROLL_UPLOAD,
    )
    async def upload_roll(
        self,
        request: Request,
        db_session: DbSession,
        settings: AppSettings,
        round_id: FromPath[int],
    ) -> Template:
        """Import the census file: every row checked first, then all stored in one transaction."""
        try:
            upload = await read_upload(request, MAX_ROLL_UPLOAD)
        except UploadError as error:
            log.info("roll upload refused: %s", error)
            upload = Upload()
        # The token first, as for every other form: a request without it learns nothing, not
        # even whether the round exists.
        if not form_token_accepted(request, upload.fields):
            raise PermissionDeniedException(detail="CSRF token verification failed")
        round_ = await rounds.get_round(db_session, round_id)
        data = read_roll_upload(upload)
        if data is None:
            return await self._detail(
                db_session,
                round_id,
                roll_errors=[(0, gettext(CHOOSE_A_FILE))],
                status=400,
                settings=settings,
            )
        areas = await list_areas(db_session)
        # A census file of 100,000 lines: every line read and hashed, in a worker thread.
        parsed = await in_worker_thread(parse_roll, data, areas, settings.roll_key)
        if parsed.errors:
            return await self._detail(
                db_session, round_id, roll_errors=parsed.errors, status=400, settings=settings
            )

        async def store(session) -> ImportSummary:
            return await import_roll(
                session, await rounds.get_round(session, round_id), parsed.rows
            )

        await db_session.commit()  # the request's own transaction ends before the import's
        summary = await off_loop(DATABASE.of(request), store, audit_actor=current_user(request))
        return await self._detail(
            db_session,
            round_id,
            roll_summary=summary,
            roll_warning=rows_without_budget(round_, parsed.rows, areas),
            settings=settings,
        )

    @post("/{round_id:int}/codes", opt={"roles": EDITORS}, status_code=200)
    async def letter_codes(
        self,
        request: Request,
        db_session: DbSession,
        settings: AppSettings,
        round_id: FromPath[int],
    ) -> Response | Template:
        """The next batch of letter codes for everyone on the roll without one. The secrets are
        in this response only: as CSV for the mailing house, or as printable letters."""
        return await issue_letters(request, db_session, settings, round_id)

    @post("/{round_id:int}/assisted", opt={"roles": EDITORS}, status_code=200)
    async def assisted(
        self,
        request: Request,
        db_session: DbSession,
        settings: AppSettings,
        round_id: FromPath[int],
    ) -> Template:
        """Staff checked an identity card: a one-time code for voting on the spot."""
        round_ = await rounds.get_round(db_session, round_id)
        form = Form(await read_form(request))
        identifier, birth_date = read_person(form, today_in(settings))
        require_voting_open(form, round_)
        if form.is_valid and not await ballot_translated(db_session, round_.id):
            form.add_error("form", gettext(BALLOT_NOT_TRANSLATED))
        if form.is_valid:
            try:
                code = await issue_assisted_code(
                    db_session,
                    round_,
                    settings.roll_key,
                    identifier,
                    birth_date,
                    today_in(settings),
                )
            except DomainError as error:
                form.add_error("form", error.translated())
            else:
                return await self._detail(
                    db_session, round_id, assisted_code=code, settings=settings
                )
        return await self._detail(db_session, round_id, form=form, status=400, settings=settings)

    # Proposal review -------------------------------------------------------------------

    async def _proposal_page(
        self,
        db_session,
        round_,
        proposal,
        form=None,
        status=200,
        moderation_form=None,
        text_form=None,
        assignment_form=None,
        note_form=None,
        picture_form=None,
        alt_forms=None,
    ) -> Template:
        frozen = await rounds.frozen_by(db_session, round_)
        owner = pictures.proposal_owner(proposal, frozen)
        base = f"/staff/pb/{round_.id}/proposals/{proposal.id}"
        others = [
            p
            for p in await rounds.list_proposals(db_session, round_.id)
            if p.id != proposal.id and p.status != "merged"
        ]
        values = {
            "final_cost": proposal.final_cost or proposal.estimated_cost,
            "implementation": proposal.implementation or "",
        }
        for code, text in proposal.reason.items():
            values[f"reason_{code}"] = text
        for code, text in proposal.implementation_note.items():
            values[f"note_{code}"] = text
        text_values = {}
        for code, text in proposal.title.items():
            text_values[f"title_{code}"] = text
        for code, text in proposal.description.items():
            text_values[f"description_{code}"] = text
        reason_values = {}
        for code, text in proposal.moderation_reason.items():
            reason_values[f"hide_reason_{code}"] = text
        return Template(
            template_name="pb/staff_proposal.html",
            context={
                "round": round_,
                "phase": rounds.phase_of(round_),
                "frozen": frozen,
                "proposal": proposal,
                # Who sent the idea, for staff who need to ask about it (never shown publicly).
                "author": await rounds.author_of(db_session, proposal),
                "channels": rounds.CHANNELS,
                "gathered_at": await rounds.gathered_at(db_session, proposal),
                "others": others,
                "form": form or Form.prefilled(values),
                "statuses": rounds.ALL_STATUSES,
                "implementation": rounds.IMPLEMENTATION_STATUSES,
                "moderation_form": moderation_form or Form.prefilled(reason_values),
                "text_form": text_form or Form.prefilled(text_values),
                "missing": missing_languages(proposal.title, proposal.description),
                "ballot_languages": BALLOT_LANGUAGES,
                "moderation_labels": moderation.MODERATION_LABELS,
                "reports": await moderation.open_reports(db_session, proposal.id),
                "history": await moderation.text_history(db_session, proposal),
                # Review at scale: assignment and internal notes (staff only).
                "assignment_form": assignment_form
                or Form.prefilled(
                    {"department": proposal.department, "reviewer": proposal.reviewer_id}
                ),
                "note_form": note_form or Form(),
                "notes": await review.notes_of(db_session, proposal.id),
                "reviewers": await review.possible_reviewers(db_session),
                "departments": await review.departments_in_use(db_session, round_.id),
                **await pictures_context(db_session, owner, base, picture_form, alt_forms),
                "proposal_themes": await places.themes_of(db_session, proposal.id),
                # Carrying out a selected proposal: its milestones (voting/milestone_pages.py).
                **await staff_milestones_context(db_session, proposal),
            },
            status_code=status,
        )

    def _proposal_again(self, db_session, form_name: str | Callable[[Form], str]):
        """The proposal page again, with the refused form in its place (`form_name`, or the
        name read from the form)."""

        def again(target: rounds.RoundProposal, form: Form) -> Awaitable[Template]:
            name = form_name if isinstance(form_name, str) else form_name(form)
            return self._proposal_page(db_session, *target, status=400, **{name: form})

        return again

    async def _enter_page(self, db_session, round_, form=None, status=200) -> Template:
        return Template(
            template_name="pb/staff_enter_idea.html",
            context={
                "round": round_,
                "form": form or Form.prefilled({"language": current_language()}),
                "channels": rounds.STAFF_CHANNELS,
                "events": await rounds.ideas_events(db_session, round_),
                "area_options": area_options(round_),
                "themes": await places.list_themes(db_session, round_.id),
            },
            status_code=status,
        )

    @get("/{round_id:int}/ideas/new", opt={"roles": EDITORS})
    async def enter_idea_page(self, db_session: DbSession, round_id: FromPath[int]) -> Template:
        return await self._enter_page(db_session, await rounds.get_round(db_session, round_id))

    @post("/{round_id:int}/ideas/new", opt={"roles": EDITORS}, status_code=303)
    async def enter_idea(
        self, request: Request, db_session: DbSession, round_id: FromPath[int]
    ) -> Template | Redirect:
        """An idea gathered on paper, at a pop-up, a Town Hall meeting or a library, typed in
        on the resident's behalf with the channel and the event."""

        async def read(form, round_):
            events = [str(event.id) for event in await rounds.ideas_events(db_session, round_)]
            themes = await places.list_themes(db_session, round_.id)
            return read_entered_idea(form, round_, events, themes)

        return await handle_post(
            request,
            db_session,
            load=lambda: rounds.get_round(db_session, round_id),
            read=read,
            act=lambda round_, entered: rounds.enter_proposal(
                db_session,
                round_,
                entered.draft,
                entered.channel,
                entered.event_id,
                current_user(request),
            ),
            done=lambda _entered, proposal: back_to_proposal(round_id, proposal.id, "enter"),
            again=lambda round_, form: self._enter_page(db_session, round_, form, status=400),
        )

    @get("/attention", name="staff_pb_attention")
    async def attention(self, request: Request, db_session: DbSession) -> Template:
        """Ideas waiting for a check and reported ideas, flagged paper slips and undelivered
        mail, oldest first, each a page at a time."""

        def page_of(name: str) -> int:
            raw = request.query_params.get(name, "1")
            return ascii_int(raw, minimum=1, maximum=999_999) or 1

        slips, slip_total = await flagged_slips(db_session, page_of("slips_page"), ATTENTION_ROWS)
        mail, mail_total = await undelivered(db_session, page_of("mail_page"), ATTENTION_ROWS)
        return Template(
            template_name="pb/staff_attention.html",
            context={
                "listing": await moderation.needs_attention(db_session, page_of("page")),
                "slips": Paged(slips, page_of("slips_page"), slip_total, ATTENTION_ROWS),
                "mail": Paged(mail, page_of("mail_page"), mail_total, ATTENTION_ROWS),
                "moderation_labels": moderation.MODERATION_LABELS,
                "statuses": rounds.ALL_STATUSES,
            },
        )

    @post(
        "/{round_id:int}/proposals/{proposal_id:int}/moderation",
        opt={"roles": EDITORS},
        status_code=303,
    )
    async def moderate(self, request: Request, db_session: DbSession) -> Template | Redirect:
        """Publish, hide with a public reason, remove personal data from the text, or dismiss
        the reports: each recorded in the staff audit log (see voting/moderation.py)."""

        def form_name(form: Form) -> str:
            if form.raw("action") == moderation.ModerationAction.EDIT_TEXT:
                return "text_form"
            return "moderation_form"

        return await proposal_post(
            request,
            db_session,
            read=lambda form, _target: read_moderation(form),
            act=lambda target, decision: moderation.moderate(
                db_session, target.proposal, decision, current_user(request), Notifier.of(request)
            ),
            done=lambda decision: decision.action.value,
            again=self._proposal_again(db_session, form_name),
        )

    @post(
        "/{round_id:int}/proposals/{proposal_id:int}/assignment",
        opt={"roles": EDITORS},
        status_code=303,
    )
    async def assign(self, request: Request, db_session: DbSession) -> Template | Redirect:
        """The department and the reviewer of an idea; recorded in the staff audit log."""

        async def read(form, _target):
            reviewers = [str(user.id) for user in await review.possible_reviewers(db_session)]
            return read_assignment(form, reviewers)

        return await proposal_post(
            request,
            db_session,
            read=read,
            act=lambda target, assignment: review.assign(
                db_session, target.proposal, *assignment, current_user(request)
            ),
            done="assign",
            again=self._proposal_again(db_session, "assignment_form"),
        )

    @post(
        "/{round_id:int}/proposals/{proposal_id:int}/notes",
        opt={"roles": EDITORS},
        status_code=303,
    )
    async def add_note(self, request: Request, db_session: DbSession) -> Template | Redirect:
        """An internal note: staff only, never public, in no export; audited."""
        return await proposal_post(
            request,
            db_session,
            read=lambda form, _target: read_note(form),
            act=lambda target, text: review.add_note(
                db_session, target.proposal, text, current_user(request)
            ),
            done="note",
            again=self._proposal_again(db_session, "note_form"),
        )

    @get("/{round_id:int}/proposals/{proposal_id:int}")
    async def proposal(
        self, db_session: DbSession, round_id: FromPath[int], proposal_id: FromPath[int]
    ) -> Template:
        target = await rounds.round_and_proposal(db_session, round_id, proposal_id)
        return await self._proposal_page(db_session, *target)

    @post("/{round_id:int}/proposals/{proposal_id:int}", opt={"roles": EDITORS}, status_code=303)
    async def review(self, request: Request, db_session: DbSession) -> Template | Redirect:
        async def read(form, target):
            proposals = await rounds.list_proposals(db_session, target.round.id)
            return read_review(form, [str(p.id) for p in proposals])

        return await proposal_post(
            request,
            db_session,
            read=read,
            act=lambda target, decision: rounds.review_proposal(
                db_session, target.proposal, decision, current_user(request), Notifier.of(request)
            ),
            done=lambda decision: decision.action,
            again=self._proposal_again(db_session, "form"),
        )

    # Results and export ----------------------------------------------------------------

    @staticmethod
    def _may_see_counts(request: Request, round_) -> None:
        """No early tallies: before publication only the auditor sees counts, after the close."""
        if rounds.phase_of(round_) not in ("counting", "results"):
            raise NotFoundError(N_("There is nothing to count before voting closes."))
        if current_user(request).role_enum != Role.AUDITOR:
            raise ForbiddenError(
                N_("Until the results are published, only the auditor can see counts.")
            )

    async def _counted(self, request, db_session, round_, exports=False):
        """(results, pabulib files or None, the publication or None when provisional): the
        stored publication; before it, for the auditor only, the log as it stands counted in a
        worker thread."""
        stored = await published.in_force(db_session, round_.id)
        if stored is not None:
            files = await published.exports_of(db_session, stored.id) if exports else None
            return await published.results_of(db_session, stored), files, stored
        self._may_see_counts(request, round_)
        # The mixer's last batch first: the provisional count is of every ballot cast.
        await flush_if_closed(db_session, round_)
        results, files = await published.provisional(db_session, round_)
        return results, files, None

    @get("/{round_id:int}/results")
    async def results(
        self, request: Request, db_session: DbSession, round_id: FromPath[int]
    ) -> Template:
        round_ = await rounds.get_round(db_session, round_id)
        results, _files, stored = await self._counted(request, db_session, round_)
        fields = {key: list(values) for key, values in request.query_params.dict().items()}
        return Template(
            template_name="pb/results.html",
            context=await results_context(
                db_session,
                round_,
                results,
                RENDERER.of(request),
                (stored.id, stored.digest, round_.slug) if stored else None,
                staff_view=True,
                provisional=stored is None,
                **await proposal_filter(db_session, round_, fields),
            ),
        )

    @get("/{round_id:int}/ballots.pb")
    async def export(
        self, request: Request, db_session: DbSession, round_id: FromPath[int]
    ) -> Response:
        round_ = await rounds.get_round(db_session, round_id)
        _results, files, _stored = await self._counted(request, db_session, round_, exports=True)
        return await pabulib_response(request, round_, files)

    # Paper ballots ---------------------------------------------------------------------

    async def _paper_page(
        self, db_session, round_, form=None, status=200, outcome=None, errors=None
    ):
        parts = [
            part
            for budget in round_.budgets
            for part in await ballot_parts(db_session, round_, budget.area_id)
            if part.budget.area_id == budget.area_id
        ]
        return Template(
            template_name="pb/staff_paper.html",
            context={
                "round": round_,
                "phase": rounds.phase_of(round_),
                "parts": parts,
                "form": form or Form(),
                "outcome": outcome,
                "ballot_errors": errors or {},
                "entries": await paper_entries(db_session, round_.id),
                "paper_statuses": PAPER_STATUSES,
            },
            status_code=status,
        )

    @get("/{round_id:int}/paper", opt={"roles": EDITORS})
    async def paper(self, db_session: DbSession, round_id: FromPath[int]) -> Template:
        return await self._paper_page(db_session, await rounds.get_round(db_session, round_id))

    @post("/{round_id:int}/paper", opt={"roles": EDITORS}, status_code=200)
    async def enter_paper(
        self,
        request: Request,
        db_session: DbSession,
        settings: AppSettings,
        round_id: FromPath[int],
    ) -> Template:
        """One staff member's typing of one paper ballot (see voting/paper.py)."""
        round_ = await rounds.get_round(db_session, round_id)
        fields = await read_form(request)
        form = Form(fields)
        typing = read_paper_typing(form, today_in(settings))
        if typing is None:
            return await self._paper_page(db_session, round_, form, status=400)
        entry = await find_on_roll(db_session, round_.id, settings.roll_key, typing.identifier)
        if entry is None or entry.birth_date != typing.birth_date:
            form.add_error("form", gettext("This person is not on the voter roll of this round."))
            return await self._paper_page(db_session, round_, form, status=400)
        read = read_ballot(round_, await ballot_parts(db_session, round_, entry.area_id), fields)
        if not read.is_valid:
            form.add_error("form", next(iter(read.errors.values())))
            return await self._paper_page(db_session, round_, form, status=400, errors=read.errors)
        try:
            outcome = await enter_paper_ballot(
                db_session,
                round_,
                settings.roll_key,
                typing.slip,
                typing.identifier,
                typing.birth_date,
                read.choices,
                today_in(settings),
                current_user(request),
            )
        except DomainError as error:
            await db_session.rollback()
            db_session.expunge_all()
            round_ = await rounds.get_round(db_session, round_id)
            form.add_error("form", error.translated())
            return await self._paper_page(db_session, round_, form, status=400)
        page = await self._paper_page(db_session, round_, outcome=outcome)
        if outcome == "joined":
            # The slip's ballot is pending like an online one: a mix attempt after the response.
            page.background = BackgroundTask(
                MIX_SCHEDULER.of(request).after_cast,
                DATABASE.of(request),
                RoundRef(round_.id, round_.slug),
            )
        return page

    @post("/{round_id:int}/paper/discard", opt={"roles": ADMINS}, status_code=303)
    async def discard_paper(
        self, request: Request, db_session: DbSession, round_id: FromPath[int]
    ) -> Redirect:
        round_ = await rounds.get_round(db_session, round_id)
        slip = read_slip(Form(await read_form(request)))
        await discard_flagged(db_session, round_, slip, current_user(request))
        return Redirect(path=f"/staff/pb/{round_.id}/paper", status_code=303)

    # Publication and audit -------------------------------------------------------------

    async def _publish_page(
        self, db_session, settings, round_, error: str | None = None, status: int = 200
    ) -> Template:
        ready = await published.readiness(db_session, round_, utcnow())
        return Template(
            template_name="pb/staff_publish.html",
            context={
                "round": round_,
                "phase": rounds.phase_of(round_),
                "ready": ready,
                "official_rules": rounds.OFFICIAL_RULES,
                "key_id": published.key_id(public_key_text(settings.signing_seed)),
                "stored": await published.in_force(db_session, round_.id),
                "error": error,
            },
            status_code=status,
        )

    @get("/{round_id:int}/publish", opt={"roles": ADMINS})
    async def publish_page(
        self, db_session: DbSession, settings: AppSettings, round_id: FromPath[int]
    ) -> Template:
        """What publishing would publish now, and what stands in the way."""
        round_ = await rounds.get_round(db_session, round_id)
        # After the close, the ballots still pending join the log first (the final mix), so
        # that the page shows what publishing would count.
        if await flush_if_closed(db_session, round_):
            round_ = await rounds.get_round(db_session, round_id)
        return await self._publish_page(db_session, settings, round_)

    @post("/{round_id:int}/publish", opt={"roles": ADMINS}, status_code=303)
    async def publish(
        self,
        request: Request,
        db_session: DbSession,
        settings: AppSettings,
        round_id: FromPath[int],
    ) -> Template | Redirect:
        round_ = await rounds.get_round(db_session, round_id)
        actor = current_user(request)
        notifier = Notifier.of(request)

        async def publish(session) -> None:
            # Counting every rule, signing and storing the board: seconds, off the event loop.
            await publication.publish(
                session,
                await rounds.get_round(session, round_id),
                settings.signing_seed,
                actor,
                notifier,
            )

        try:
            await db_session.commit()  # the request's own transaction ends before the work's
            await off_loop(DATABASE.of(request), publish, audit_actor=actor)
        except publication.PublicationError as error:
            await db_session.rollback()
            db_session.expunge_all()
            round_ = await rounds.get_round(db_session, round_id)
            return await self._publish_page(
                db_session, settings, round_, error.translated(), error.status_code
            )
        return Redirect(path=f"/staff/pb/{round_id}/audit", status_code=303)

    @get("/{round_id:int}/audit")
    async def audit(
        self,
        request: Request,
        db_session: DbSession,
        settings: AppSettings,
        round_id: FromPath[int],
    ) -> Template:
        round_ = await rounds.get_round(db_session, round_id)

        async def audit_round(session) -> publication.Audit:
            # The whole log checked line by line, as tori-verify does: off the event loop.
            return await publication.audit_round(
                session, await rounds.get_round(session, round_id), settings.signing_seed
            )

        verdict = await off_loop(DATABASE.of(request), audit_round)
        return Template(
            template_name="pb/staff_audit.html",
            context={
                "round": round_,
                "phase": rounds.phase_of(round_),
                "verdict": verdict,
                "grouped": grouped,
                "checkpoints": await publication.checkpoints(db_session, round_.id),
            },
            status_code=200 if verdict.valid else 409,
        )


class ProposalPicturesController(PictureActions):
    """The pictures of a proposal, on its staff page."""

    path = "/staff/pb/{round_id:int}/proposals/{proposal_id:int}"

    async def owner_of(self, db_session, params: dict) -> tuple[pictures.PictureOwner, str]:
        round_, proposal = await self._target(db_session, params)
        owner = pictures.proposal_owner(proposal, await rounds.frozen_by(db_session, round_))
        return owner, proposal_path(round_.id, proposal.id)

    async def page_again(self, db_session, params: dict, **forms) -> Template:
        return await StaffRoundsController._proposal_page(
            None, db_session, *await self._target(db_session, params), status=400, **forms
        )

    @staticmethod
    async def _target(db_session, params: dict) -> rounds.RoundProposal:
        return await rounds.round_and_proposal(
            db_session, params["round_id"], params["proposal_id"]
        )
