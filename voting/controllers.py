"""Residents' side of participatory budgeting: rounds, proposals, signing in to vote, the
ballot with its running total, the review page, casting, and the results."""

from __future__ import annotations

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.database import utcnow
from app.dependencies import AppSettings, DbSession
from app.errors import DomainError, ForbiddenError, NotFoundError
from app.fastpath import FAST_PATH_OPTIONS, fast_path, take_once
from app.form_posts import handle_post
from app.forms import Form, read_form
from app.i18n import LANGUAGES, N_, current_language, gettext, localized, set_language
from app.page_cache import SHARED_PAGE
from app.requests import client_address, is_htmx, site_url
from app.signing import unsign
from app.state import LIMITER, RENDERER, SETTINGS
from voting import milestones, moderation, own_ideas, pictures, places, published, rounds
from voting.ballots import (
    AlreadyVotedError,
    check_not_voted,
    in_voter_order,
    limits_text,
    read_ballot,
)
from voting.board_keys import public_key_pem
from voting.casting import BALLOT_CACHE, take_cast, voter_of
from voting.exports import pabulib_response, participation_csv
from voting.forms import (
    area_options,
    read_code_sign_in,
    read_idea_text,
    read_proposal,
    read_report,
    read_withdrawal,
    require_voting_open,
)
from voting.letters import prefilled_sign_in
from voting.mixing import flush_if_closed
from voting.models import Round
from voting.notifications import Notifier
from voting.pages import proposal_filter, results_context, round_context
from voting.publication import (
    check_receipt,
    checkpoints,
    head_of,
    record_checkpoint,
    signing_keys,
)
from voting.resident_accounts import current_resident, sign_in_first
from voting.roll import CodeGuard, sign_in_with_code
from voting.tally.board import grouped, normalise_receipt
from voting.translations import VOTING_NOT_READY
from voting.verifier_archive import verifier_archive, verifier_digest
from voting.voters import (
    RECEIPT_COOKIE,
    VOTER_COOKIE,
    Voter,
    signed_in_voter,
    today_in,
    voter_cookie,
)


def _query_fields(request: Request) -> dict[str, list[str]]:
    return {key: list(values) for key, values in request.query_params.dict().items()}


def code_guard(request: Request) -> CodeGuard:
    return CodeGuard(limiter=LIMITER.of(request), secret=SETTINGS.of(request).secret_key)


def already_voted_page(request: Request, _error: AlreadyVotedError) -> Template:
    """Back at the ballot after voting: what happened and how to check the receipt."""
    return Template(
        template_name="pb/already_voted.html",
        context={"slug": str(request.path_params.get("slug", ""))},
        status_code=200 if request.method == "GET" else 409,
    )


class RoundsController(Controller):
    path = "/pb"
    exception_handlers = {AlreadyVotedError: already_voted_page}

    @get("/signing-key", name="pb_signing_key")
    async def signing_key(self, db_session: DbSession, settings: AppSettings) -> Template:
        keys = await signing_keys(db_session, settings.signing_seed)
        return Template(
            template_name="pb/signing_key.html",
            context={"keys": keys, "pems": {k.key_id: public_key_pem(k.public_key) for k in keys}},
        )

    @get("/tori-verify.pyz")
    async def verifier_file(self) -> Response:
        """The standalone verifier as one reproducible file (voting/verifier_archive.py)."""
        return Response(
            verifier_archive(),
            media_type="application/octet-stream",
            headers={
                "Content-Disposition": 'attachment; filename="tori-verify.pyz"',
                "Cache-Control": "public, max-age=300",
            },
        )

    @get("/signing-key.json", media_type=MediaType.JSON)
    async def signing_key_json(self, db_session: DbSession, settings: AppSettings) -> dict:
        """Every key that has signed a board, for `tori-verify --public-key FILE`."""
        return {
            "keys": [
                {
                    "key_id": k.key_id,
                    "algorithm": "ed25519",
                    "public_key": k.public_key,
                    "fingerprint": k.fingerprint,
                    "first_used_at": k.first_used_at.isoformat() if k.first_used_at else None,
                    "last_used_at": k.last_used_at.isoformat() if k.last_used_at else None,
                    "current": k.current,
                }
                for k in await signing_keys(db_session, settings.signing_seed)
            ]
        }

    @get("/", name="pb_rounds", opt=SHARED_PAGE)
    async def index(self, db_session: DbSession) -> Template:
        all_rounds = await rounds.list_rounds(db_session)
        return Template(
            template_name="pb/index.html",
            context={
                "rounds": all_rounds,
                "phase_of": rounds.phase_of,
                "phase_labels": rounds.PHASE_LABELS,
            },
        )

    @get("/{slug:str}", name="pb_round", opt=SHARED_PAGE)
    async def show(
        self, request: Request, db_session: DbSession, settings: AppSettings, slug: FromPath[str]
    ) -> Template:
        round_ = await rounds.round_by_slug(db_session, slug)
        counts = {
            status: len(
                await rounds.list_proposals(db_session, round_.id, statuses=(status,), public=True)
            )
            for status in rounds.PROPOSAL_STATUSES
        }
        return Template(
            template_name="pb/round.html",
            context={
                **round_context(round_),
                "counts": counts,
                "changes": await rounds.round_changes(db_session, round_.id),
                "change_kinds": rounds.CHANGE_KINDS,
                "resident": await current_resident(request, db_session),
            },
        )

    # Proposals -------------------------------------------------------------------------

    @get("/{slug:str}/proposals", name="pb_proposals")
    async def proposals(
        self, request: Request, db_session: DbSession, slug: FromPath[str]
    ) -> Template:
        round_ = await rounds.round_by_slug(db_session, slug)
        status = request.query_params.get("status", "")
        problems = False
        if status and status not in rounds.PROPOSAL_STATUSES:
            problems, status = True, ""
        filtered = await proposal_filter(db_session, round_, _query_fields(request))
        problems = problems or not filtered["filter_form"].is_valid
        listed = await rounds.list_proposals(
            db_session, round_.id, statuses=(status,) if status else None, public=True
        )
        total = len(listed)
        if filtered["shown"] is not None:
            listed = [proposal for proposal in listed if proposal.id in filtered["shown"]]
        return Template(
            template_name="pb/proposals.html",
            context={
                **round_context(round_),
                **filtered,
                "proposals": listed,
                "total": total,
                "chosen_status": status,
                "statuses": rounds.PROPOSAL_STATUSES,
                "implementation": rounds.IMPLEMENTATION_STATUSES,
                "filter_problem": problems,
                "pictures": await pictures.pictures_by_owner(
                    db_session, "proposal", [p.id for p in listed]
                ),
            },
            status_code=400 if problems else 200,
        )

    async def _proposal_page(
        self, request, db_session, settings, slug, proposal_id, form=None, status=200
    ) -> Template:
        """An idea's public page. An idea waiting for a check exists for its author only; a
        hidden one shows the public a neutral title and the reason, never its text."""
        round_ = await rounds.round_by_slug(db_session, slug)
        proposal = await rounds.get_proposal(db_session, proposal_id, round_.id)
        resident = await current_resident(request, db_session)
        if not moderation.visible_to(proposal, resident):
            raise NotFoundError(N_("There is no such proposal."))
        merged_into = await rounds.merged_into(db_session, proposal)
        if merged_into is not None and not moderation.shows_text_to(merged_into, None):
            merged_into = None
        followed = (
            await milestones.milestones_of(db_session, proposal.id)
            if proposal.status == "accepted"
            else []
        )
        return Template(
            template_name="pb/proposal.html",
            context={
                **round_context(round_),
                "proposal": proposal,
                "shows_text": moderation.shows_text_to(proposal, resident),
                "may_change": own_ideas.may_change(proposal, resident, round_),
                "merged_into": merged_into,
                "statuses": rounds.ALL_STATUSES,
                "moderation_labels": moderation.MODERATION_LABELS,
                "implementation": rounds.IMPLEMENTATION_STATUSES,
                # How carrying out a winning proposal goes (voting/milestones.py).
                "milestones": followed,
                "milestone_pictures": await pictures.pictures_by_owner(
                    db_session, "milestone", [milestone.id for milestone in followed]
                ),
                "report_form": form or Form(),
                "max_report": moderation.MAX_REPORT_LENGTH,
                "pictures": await pictures.pictures_of(
                    db_session, pictures.proposal_owner(proposal)
                ),
                "proposal_themes": await places.themes_of(db_session, proposal.id),
                "map_link": places.map_link(settings.map_url, proposal),
            },
            status_code=status,
        )

    @get("/{slug:str}/proposals/{proposal_id:int}", name="pb_proposal")
    async def proposal(
        self,
        request: Request,
        db_session: DbSession,
        settings: AppSettings,
        slug: FromPath[str],
        proposal_id: FromPath[int],
    ) -> Template:
        return await self._proposal_page(request, db_session, settings, slug, proposal_id)

    @post("/{slug:str}/proposals/{proposal_id:int}/report", status_code=303)
    async def report(
        self,
        request: Request,
        db_session: DbSession,
        settings: AppSettings,
        slug: FromPath[str],
        proposal_id: FromPath[int],
    ) -> Template | Redirect:
        """Anyone may report a public idea, with a reason; no account needed."""
        round_ = await rounds.round_by_slug(db_session, slug)
        proposal = await rounds.get_proposal(db_session, proposal_id, round_.id)
        form = Form(await read_form(request))
        reason = read_report(form)
        status = 400
        if reason is not None:
            try:
                await moderation.report_proposal(
                    db_session,
                    proposal,
                    reason,
                    LIMITER.of(request),
                    settings.secret_key,
                    client_address(request),
                )
            except NotFoundError:
                raise
            except DomainError as error:
                form.add_error("reason", error.translated())
                status = error.status_code
            else:
                return Redirect(
                    path=f"/pb/{round_.slug}/proposals/{proposal_id}",
                    query_params={"reported": "1"},
                    status_code=303,
                )
        return await self._proposal_page(
            request, db_session, settings, slug, proposal_id, form, status
        )

    # The author's own idea: editing and withdrawing it ---------------------------------

    async def _own_idea(self, request, db_session, settings, slug, proposal_id):
        """The round, the idea and its author signed in; anyone else's idea does not exist
        for them (404, as for an idea they may not see)."""
        round_ = await rounds.round_by_slug(db_session, slug)
        proposal = await rounds.get_proposal(db_session, proposal_id, round_.id)
        resident = await current_resident(request, db_session)
        if resident is None:
            raise ForbiddenError(N_("Sign in to change your idea."))
        if proposal.author_id != resident.id:
            raise NotFoundError(N_("There is no such proposal."))
        return round_, proposal, resident

    def _edit_page(self, settings, round_, proposal, form=None, withdraw_form=None, status=200):
        language = next(iter(proposal.title), current_language())
        return Template(
            template_name="pb/edit_idea.html",
            context={
                **round_context(round_),
                "proposal": proposal,
                "form": form
                or Form.prefilled(
                    {
                        "language": language,
                        "title": proposal.title.get(language, ""),
                        "description": proposal.description.get(language, ""),
                    }
                ),
                "withdraw_form": withdraw_form or Form(),
                "refusal": own_ideas.refusal_of(proposal, round_),
                "premoderation": settings.premoderation,
            },
            status_code=status,
        )

    @get("/{slug:str}/proposals/{proposal_id:int}/edit", name="pb_edit_idea")
    async def edit_idea_page(
        self,
        request: Request,
        db_session: DbSession,
        settings: AppSettings,
        slug: FromPath[str],
        proposal_id: FromPath[int],
    ) -> Template | Redirect:
        resident = await current_resident(request, db_session)
        if resident is None:
            return sign_in_first(f"/pb/{slug[:16]}/proposals/{proposal_id}/edit")
        round_, proposal, _ = await self._own_idea(request, db_session, settings, slug, proposal_id)
        return self._edit_page(settings, round_, proposal)

    async def _own_idea_post(
        self, request, db_session, settings, slug, proposal_id, *, read, act, done, form_name
    ) -> Template | Redirect:
        """The author's form about their idea: on success back to the idea's page saying what
        was done (`done`), else the edit page again with the form in its place (`form_name`).
        An idea that is not theirs, or no longer there, is a 404, never the form's error; the
        page again answers with the refusal's status (429 for too many edits)."""
        return await handle_post(
            request,
            db_session,
            load=lambda: self._own_idea(request, db_session, settings, slug, proposal_id),
            read=read,
            act=act,
            done=lambda _value, _result: Redirect(
                path=f"/pb/{slug}/proposals/{proposal_id}",
                query_params={done: "1"},
                status_code=303,
            ),
            again=lambda target, form: self._edit_page(
                settings, target[0], target[1], status=400, **{form_name: form}
            ),
            passes=(NotFoundError,),
            refusal_status=True,
        )

    @post("/{slug:str}/proposals/{proposal_id:int}/edit", status_code=303)
    async def edit_idea(
        self,
        request: Request,
        db_session: DbSession,
        settings: AppSettings,
        slug: FromPath[str],
        proposal_id: FromPath[int],
    ) -> Template | Redirect:
        """The author's new text; the earlier one is kept for staff."""
        return await self._own_idea_post(
            request,
            db_session,
            settings,
            slug,
            proposal_id,
            read=lambda form, _target: read_idea_text(form),
            act=lambda target, text: own_ideas.edit_own_idea(
                db_session, target[1], target[2], text, premoderation=settings.premoderation
            ),
            done="edited",
            form_name="form",
        )

    @post("/{slug:str}/proposals/{proposal_id:int}/withdraw", status_code=303)
    async def withdraw_idea(
        self,
        request: Request,
        db_session: DbSession,
        settings: AppSettings,
        slug: FromPath[str],
        proposal_id: FromPath[int],
    ) -> Template | Redirect:
        """The author takes the idea back, after ticking a box that says so."""
        return await self._own_idea_post(
            request,
            db_session,
            settings,
            slug,
            proposal_id,
            read=lambda form, _target: True if read_withdrawal(form) else None,
            act=lambda target, _confirmed: own_ideas.withdraw_own_idea(
                db_session, target[1], target[2]
            ),
            done="withdrawn",
            form_name="withdraw_form",
        )

    async def _propose_page(self, request, db_session, settings, round_, form=None, status=200):
        resident = await current_resident(request, db_session)
        if resident is None:
            return sign_in_first(f"/pb/{round_.slug}/propose")
        return Template(
            template_name="pb/propose.html",
            context={
                **round_context(round_),
                "form": form or Form.prefilled({"language": current_language()}),
                "area_options": area_options(round_),
                "resident": resident,
                "themes": await places.list_themes(db_session, round_.id),
            },
            status_code=status,
        )

    @get("/{slug:str}/propose", name="pb_propose")
    async def propose_page(
        self, request: Request, db_session: DbSession, settings: AppSettings, slug: FromPath[str]
    ) -> Template | Redirect:
        round_ = await rounds.round_by_slug(db_session, slug)
        return await self._propose_page(request, db_session, settings, round_)

    @post("/{slug:str}/propose", status_code=303)
    async def propose(
        self, request: Request, db_session: DbSession, settings: AppSettings, slug: FromPath[str]
    ) -> Template | Redirect:
        round_ = await rounds.round_by_slug(db_session, slug)
        resident = await current_resident(request, db_session)
        if resident is None:
            raise ForbiddenError(N_("Sign in to send an idea."))
        form = Form(await read_form(request))
        if switch_to := form.raw("_switch_language"):
            # The page in another language, the text written so far kept; nothing is sent yet.
            if switch_to in LANGUAGES:
                set_language(switch_to)
                request.state.language = switch_to
                request.state.remember_language = True
            return await self._propose_page(request, db_session, settings, round_, form)
        draft = read_proposal(form, round_, await places.list_themes(db_session, round_.id))
        status = 400
        if draft is not None:
            try:
                proposal = await rounds.submit_proposal(
                    db_session,
                    round_,
                    resident.id,
                    draft,
                    premoderation=settings.premoderation,
                    notifier=Notifier.of(request),
                )
            except DomainError as error:
                form.add_error("form", error.translated())
                status = error.status_code
            else:
                return Redirect(
                    path=f"/pb/{round_.slug}/proposals/{proposal.id}",
                    query_params={"sent": "1"},
                    status_code=303,
                )
        return await self._propose_page(request, db_session, settings, round_, form, status=status)

    # Voting ----------------------------------------------------------------------------

    def _sign_in_page(
        self,
        round_: Round,
        form: Form | None = None,
        status: int = 200,
        oidc: bool = False,
        translated: bool = True,
    ) -> Template:
        return Template(
            template_name="pb/vote_sign_in.html",
            context={
                **round_context(round_),
                "form": form or Form(),
                "oidc": oidc,
                # Voting opens only once the ballot has its Finnish and Swedish text.
                "not_ready": not translated,
            },
            status_code=status,
        )

    async def _translated(self, request, db_session, round_) -> bool:
        if rounds.phase_of(round_) != "voting":
            return True
        return await BALLOT_CACHE.of(request).translated(db_session, round_)

    @get("/{slug:str}/vote", name="pb_vote")
    async def vote_page(
        self, request: Request, db_session: DbSession, settings: AppSettings, slug: FromPath[str]
    ) -> Template | Redirect:
        round_ = await rounds.round_by_slug(db_session, slug)
        if signed_in_voter(request, settings.secret_key, round_):
            return Redirect(path=f"/pb/{slug}/ballot", status_code=303)
        # A letter's QR code fills in the code's public part (never its secret).
        prefilled = prefilled_sign_in(request.query_params.get("code"))
        translated = await self._translated(request, db_session, round_)
        return self._sign_in_page(
            round_, prefilled, oidc=settings.oidc_configured, translated=translated
        )

    @post("/{slug:str}/vote", status_code=303)
    async def sign_in(
        self, request: Request, db_session: DbSession, settings: AppSettings, slug: FromPath[str]
    ) -> Template | Redirect:
        round_ = await rounds.round_by_slug(db_session, slug)
        oidc = settings.oidc_configured
        form = Form(await read_form(request))
        code, birth_date = read_code_sign_in(form, today_in(settings))
        require_voting_open(form, round_)
        translated = await self._translated(request, db_session, round_)
        if form.is_valid and not translated:
            form.add_error("form", gettext(VOTING_NOT_READY))
        if form.is_valid:
            try:
                entry, channel = await sign_in_with_code(
                    db_session,
                    round_,
                    code_guard(request),
                    code,
                    birth_date,
                    client_address(request),
                    today_in(settings),
                )
            except DomainError as error:
                form.add_error("form", error.translated())
            else:
                return Redirect(
                    path=f"/pb/{slug}/ballot",
                    status_code=303,
                    cookies=[voter_cookie(settings, round_, entry, channel)],
                )
        return self._sign_in_page(round_, form, status=400, oidc=oidc, translated=translated)

    def _voter(self, request, settings, round_) -> Voter:
        return voter_of(request, settings.secret_key, round_)

    async def _ballot_page(
        self, request, db_session, round_, voter, fields=None, status=200, template="pb/ballot.html"
    ):
        parts = await BALLOT_CACHE.of(request).parts(db_session, round_, voter.area_id)
        parts = in_voter_order(parts, voter.order_seed)
        read = read_ballot(round_, parts, fields or {})
        proposal_ids = [proposal.id for part in parts for proposal in part.proposals]
        # The theme and area filter hides rows, never choices: the ballot's own form sends it,
        # with every choice, and a choice in a hidden row stays in the form as a hidden field.
        filtered = (
            {}
            if template == "pb/_totals.html"
            else await proposal_filter(db_session, round_, fields or _query_fields(request))
        )
        return Template(
            template_name=template,
            context={
                **round_context(round_),
                **filtered,
                "parts": parts,
                "read": read,
                "totals": {t.part.key: t for t in read.totals},
                # Only the ballot itself shows pictures (not the review page or the totals).
                "pictures": await pictures.pictures_by_owner(db_session, "proposal", proposal_ids)
                if template == "pb/ballot.html"
                else {},
                "limits_text": limits_text,
            },
            status_code=status,
        )

    @get("/{slug:str}/ballot", name="pb_ballot")
    async def ballot(
        self, request: Request, db_session: DbSession, settings: AppSettings, slug: FromPath[str]
    ) -> Template:
        round_ = await BALLOT_CACHE.of(request).round(db_session, slug)
        voter = self._voter(request, settings, round_)
        await check_not_voted(db_session, round_, voter.roll_id)
        return await self._ballot_page(request, db_session, round_, voter)

    @post("/{slug:str}/ballot", status_code=200)
    async def ballot_action(
        self, request: Request, db_session: DbSession, settings: AppSettings, slug: FromPath[str]
    ) -> Template:
        """Recalculate (no JavaScript), the running total (htmx), or on to the review page."""
        round_ = await BALLOT_CACHE.of(request).round(db_session, slug)
        voter = self._voter(request, settings, round_)
        fields = await read_form(request)
        action = (fields.get("action") or [""])[0]
        if is_htmx(request) and action != "review":
            return await self._ballot_page(
                request, db_session, round_, voter, fields, template="pb/_totals.html"
            )
        page = await self._ballot_page(request, db_session, round_, voter, fields)
        read = page.context["read"]
        if action == "review":
            if read.is_valid:
                page.template_name = "pb/review.html"
            else:
                page.status_code = 400
        elif not read.is_valid:
            page.status_code = 400
        return page

    @post(
        "/{slug:str}/cast",
        status_code=303,
        middleware=[fast_path(take_cast)],
        opt=FAST_PATH_OPTIONS,
    )
    async def cast(
        self, request: Request, db_session: DbSession, settings: AppSettings, slug: FromPath[str]
    ) -> Template | Redirect:
        """Cast the signed-in voter's ballot (`voting.casting.take_cast`, usually taken by the
        fast path before this handler); a ballot that breaks the rule is shown again."""
        fields = await read_form(request)
        taken = await take_once(request, lambda: take_cast(request, fields))
        if taken is None:
            round_ = await BALLOT_CACHE.of(request).round(db_session, slug)
            voter = voter_of(request, settings.secret_key, round_)
            return await self._ballot_page(request, db_session, round_, voter, fields, status=400)
        return Redirect(path=taken.location, status_code=303, cookies=taken.cookies)

    @staticmethod
    def _receipt(signed: str | None, settings, round_: Round) -> str | None:
        value = unsign(settings.secret_key, "pb-receipt", signed, 300)
        if not value or not value.startswith(f"{round_.slug}."):
            return None
        return value.split(".", 1)[1]

    @get("/{slug:str}/voted", name="pb_voted")
    async def voted(
        self, request: Request, db_session: DbSession, settings: AppSettings, slug: FromPath[str]
    ) -> Template:
        round_ = await rounds.round_by_slug(db_session, slug)
        signed = request.cookies.get(RECEIPT_COOKIE)
        receipt = self._receipt(signed, settings, round_)
        response = Template(
            template_name="pb/voted.html",
            context={
                **round_context(round_),
                "receipt": receipt,
                "receipt_grouped": grouped(receipt) if receipt else None,
                # The download form carries the signed receipt: the cookie is gone by then.
                "receipt_signed": signed if receipt else None,
            },
            # Not kept by the browser either: the back button shows the next person nothing.
            headers={"Cache-Control": "no-store"},
        )
        # Shown once: on a shared device the next person must not find it.
        response.delete_cookie(RECEIPT_COOKIE, path=f"/pb/{round_.slug}/voted")
        return response

    @post("/{slug:str}/voted/receipt.txt", status_code=200)
    async def receipt_file(
        self, request: Request, db_session: DbSession, settings: AppSettings, slug: FromPath[str]
    ) -> Response:
        round_ = await rounds.round_by_slug(db_session, slug)
        form = await read_form(request)
        receipt = self._receipt((form.get("receipt") or [None])[0], settings, round_)
        if receipt is None:
            raise NotFoundError(N_("The receipt is shown only right after voting, on this device."))
        check_url = site_url(request, f"/pb/{round_.slug}/receipt")
        heading, check = gettext("Your receipt"), gettext("Check it at")
        text = (
            f"{localized(round_.title)}\n\n{heading}:\n{grouped(receipt)}\n\n{check} {check_url}\n"
        )
        return Response(
            text,
            media_type="text/plain",
            headers={"Content-Disposition": f'attachment; filename="receipt-{round_.slug}.txt"'},
        )

    # The log and receipts ---------------------------------------------------------------

    @get("/{slug:str}/receipt", name="pb_receipt")
    async def receipt_check(
        self, request: Request, db_session: DbSession, slug: FromPath[str]
    ) -> Template:
        round_ = await rounds.round_by_slug(db_session, slug)
        typed = request.query_params.get("r", "")
        form, outcome, status = Form.prefilled({"r": typed[:200]}), None, 200
        if typed:
            receipt = normalise_receipt(typed[:200])
            if receipt is None:
                form.add_error(
                    "r",
                    gettext(
                        "A receipt is 64 characters: the digits 0–9 and the letters a–f, "
                        "in groups or not."
                    ),
                )
                status = 400
            else:
                await flush_if_closed(db_session, round_)
                stored = await published.in_force(db_session, round_.id)
                if stored is not None:
                    # After publication: the board as published, not the tables of today.
                    outcome = await published.published_receipt(db_session, stored, receipt)
                else:
                    outcome = await check_receipt(db_session, round_, receipt)
                status = 200 if outcome.found or outcome.pending else 404
        return Template(
            template_name="pb/receipt.html",
            context={**round_context(round_), "form": form, "outcome": outcome},
            status_code=status,
        )

    async def _log_context(self, db_session, round_) -> dict:
        await flush_if_closed(db_session, round_)
        await record_checkpoint(db_session, round_.id)
        head = await head_of(db_session, round_.id)
        return {
            **round_context(round_),
            "head": head,
            "head_grouped": grouped(head.head_hash),
            "checkpoints": await checkpoints(db_session, round_.id),
        }

    @get("/{slug:str}/log", name="pb_log")
    async def log(self, request: Request, db_session: DbSession, slug: FromPath[str]) -> Template:
        round_ = await rounds.round_by_slug(db_session, slug)
        name = "pb/_log_head.html" if is_htmx(request) else "pb/log.html"
        return Template(template_name=name, context=await self._log_context(db_session, round_))

    @get("/{slug:str}/log.json", media_type=MediaType.JSON)
    async def log_json(self, db_session: DbSession, slug: FromPath[str]) -> dict:
        round_ = await rounds.round_by_slug(db_session, slug)
        context = await self._log_context(db_session, round_)
        return {
            "round": round_.slug,
            "count": context["head"].count,
            "head": context["head"].head_hash,
            "at": utcnow().replace(microsecond=0).isoformat(),
            "checkpoints": [
                {"count": c.count, "head": c.head_hash, "at": c.recorded_at.isoformat()}
                for c in context["checkpoints"]
            ],
        }

    async def _published(self, db_session, round_: Round) -> published.Published:
        """What was published: the only source of the results, the board and the exports."""
        stored = await published.in_force(db_session, round_.id)
        if stored is None:
            raise NotFoundError(N_("The results are published when the counting is over."))
        return stored

    @get("/{slug:str}/board.jsonl")
    async def board_file(self, db_session: DbSession, slug: FromPath[str]) -> Response:
        round_ = await rounds.round_by_slug(db_session, slug)
        stored = await self._published(db_session, round_)
        return Response(
            await published.board_bytes(db_session, stored.id),
            media_type="application/jsonl; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="tori-board-{round_.slug}.jsonl"'
            },
        )

    @get("/{slug:str}/ballots.pb")
    async def ballots_file(
        self, request: Request, db_session: DbSession, slug: FromPath[str]
    ) -> Response:
        round_ = await rounds.round_by_slug(db_session, slug)
        stored = await self._published(db_session, round_)
        return await pabulib_response(
            request, round_, await published.exports_of(db_session, stored.id)
        )

    @get("/{slug:str}/check", name="pb_check", opt=SHARED_PAGE)
    async def how_to_check(self, db_session: DbSession, slug: FromPath[str]) -> Template:
        """How anyone checks the published result: receipt, board, keys and the verifier."""
        round_ = await rounds.round_by_slug(db_session, slug)
        await self._published(db_session, round_)
        return Template(
            template_name="pb/check.html",
            context={"round": round_, "verifier_sha256": verifier_digest()},
        )

    @get("/{slug:str}/participation.csv")
    async def participation_file(self, db_session: DbSession, slug: FromPath[str]) -> Response:
        round_ = await rounds.round_by_slug(db_session, slug)
        stored = await self._published(db_session, round_)
        figures = (await published.results_of(db_session, stored)).get("participation")
        if not figures:
            raise NotFoundError(N_("This round has no participation figures."))
        return participation_csv(round_, figures)

    @post("/{slug:str}/sign-out", status_code=303)
    async def voter_sign_out(self, slug: FromPath[str]) -> Redirect:
        response = Redirect(path=f"/pb/{slug[:16]}", status_code=303)
        response.delete_cookie(VOTER_COOKIE, path="/pb/")
        return response

    # Results ---------------------------------------------------------------------------

    @get("/{slug:str}/results", name="pb_results", opt=SHARED_PAGE)
    async def results(
        self, request: Request, db_session: DbSession, slug: FromPath[str]
    ) -> Template:
        round_ = await rounds.round_by_slug(db_session, slug)
        stored = await self._published(db_session, round_)
        filtered = await proposal_filter(db_session, round_, _query_fields(request))
        return Template(
            template_name="pb/results.html",
            context=await results_context(
                db_session,
                round_,
                await published.results_of(db_session, stored),
                RENDERER.of(request),
                (stored.id, stored.digest, round_.slug),
                **filtered,
            ),
            status_code=200 if filtered["filter_form"].is_valid else 400,
        )
