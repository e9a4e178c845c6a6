"""Pages of carrying out the winning proposals (voting/milestones.py): staff add, change and
remove a selected proposal's milestones (the form is on the staff proposal page; a form with
mistakes is shown again on a page of its own); residents read what happened to the winning
proposals of a round and of every round."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.accounts.guards import EDITORS, current_user, signed_in_staff
from app.dependencies import AppSettings, DbSession
from app.errors import NotFoundError
from app.form_posts import handle_post
from app.forms import Form
from app.i18n import N_
from app.media import MediaStore
from app.page_cache import SHARED_PAGE
from voting import milestones, pictures, rounds
from voting.forms import milestone_form, read_milestone
from voting.models import Milestone, Proposal, Round
from voting.notifications import Notifier
from voting.picture_pages import PictureActions, pictures_context
from voting.proposal_posts import back_to_proposal, proposal_post


async def staff_milestones_context(db_session, proposal: Proposal) -> dict:
    """What the staff proposal page shows of the proposal's milestones (pb/_staff_milestones.html)."""
    return {
        "milestones": await milestones.milestones_of(db_session, proposal.id),
        "may_follow": await milestones.may_follow(db_session, proposal),
        "milestone_form": milestone_form(),
        "milestone_statuses": milestones.STATUSES,
    }


def milestone_path(round_id: int, proposal_id: int, milestone_id: int) -> str:
    return f"/staff/pb/{round_id}/proposals/{proposal_id}/milestones/{milestone_id}"


async def _milestone_page(
    db_session,
    round_: Round,
    proposal: Proposal,
    form: Form,
    milestone: Milestone | None = None,
    status: int = 200,
    **picture_forms,
) -> Template:
    context = {
        "round": round_,
        "proposal": proposal,
        "milestone": milestone,
        "form": form,
        "milestone_statuses": milestones.STATUSES,
    }
    if milestone is not None:
        # A milestone's pictures (voting/picture_pages.py), once it exists.
        context |= await pictures_context(
            db_session,
            pictures.milestone_owner(milestone, proposal),
            milestone_path(round_.id, proposal.id, milestone.id),
            **picture_forms,
        )
    return Template(template_name="pb/staff_milestone.html", context=context, status_code=status)


async def _milestone_of(
    db_session, round_id: int, proposal_id: int, milestone_id: int
) -> tuple[Round, Proposal, Milestone]:
    round_, proposal = await rounds.round_and_proposal(db_session, round_id, proposal_id)
    return round_, proposal, await milestones.get_milestone(db_session, milestone_id, proposal.id)


class StaffMilestonesController(Controller):
    path = "/staff/pb/{round_id:int}/proposals/{proposal_id:int}/milestones"
    guards = [signed_in_staff]

    @post("/", opt={"roles": EDITORS}, status_code=303)
    async def add(self, request: Request, db_session: DbSession) -> Template | Redirect:
        return await proposal_post(
            request,
            db_session,
            read=lambda form, _target: read_milestone(form),
            act=lambda target, draft: milestones.add_milestone(
                db_session, target.proposal, draft, current_user(request), Notifier.of(request)
            ),
            done="milestone",
            again=lambda target, form: _milestone_page(db_session, *target, form, status=400),
        )

    @get("/{milestone_id:int}", opt={"roles": EDITORS})
    async def edit_page(
        self,
        db_session: DbSession,
        round_id: FromPath[int],
        proposal_id: FromPath[int],
        milestone_id: FromPath[int],
    ) -> Template:
        round_, proposal, milestone = await _milestone_of(
            db_session, round_id, proposal_id, milestone_id
        )
        return await _milestone_page(
            db_session, round_, proposal, milestone_form(milestone), milestone
        )

    @post("/{milestone_id:int}", opt={"roles": EDITORS}, status_code=303)
    async def edit(
        self,
        request: Request,
        db_session: DbSession,
        round_id: FromPath[int],
        proposal_id: FromPath[int],
        milestone_id: FromPath[int],
    ) -> Template | Redirect:
        return await handle_post(
            request,
            db_session,
            load=lambda: _milestone_of(db_session, round_id, proposal_id, milestone_id),
            read=lambda form, _target: read_milestone(form),
            act=lambda target, draft: milestones.update_milestone(
                db_session, target[2], draft, current_user(request)
            ),
            done=lambda _draft, _result: back_to_proposal(round_id, proposal_id, "milestone"),
            again=lambda target, form: _milestone_page(
                db_session, target[0], target[1], form, target[2], status=400
            ),
        )

    @post("/{milestone_id:int}/remove", opt={"roles": EDITORS}, status_code=303)
    async def remove(
        self,
        request: Request,
        db_session: DbSession,
        settings: AppSettings,
        round_id: FromPath[int],
        proposal_id: FromPath[int],
        milestone_id: FromPath[int],
    ) -> Redirect:
        _round, _proposal, milestone = await _milestone_of(
            db_session, round_id, proposal_id, milestone_id
        )
        await milestones.remove_milestone(
            db_session, milestone, current_user(request), MediaStore(settings.media_dir)
        )
        return back_to_proposal(round_id, proposal_id, "milestone_removed")


class MilestonePicturesController(PictureActions):
    """The pictures of an implementation milestone, on its staff page."""

    path = "/staff/pb/{round_id:int}/proposals/{proposal_id:int}/milestones/{milestone_id:int}"

    async def _milestone(self, db_session, params: dict):
        return await _milestone_of(
            db_session, params["round_id"], params["proposal_id"], params["milestone_id"]
        )

    async def owner_of(self, db_session, params: dict) -> tuple[pictures.PictureOwner, str]:
        round_, proposal, milestone = await self._milestone(db_session, params)
        return (
            pictures.milestone_owner(milestone, proposal),
            milestone_path(round_.id, proposal.id, milestone.id),
        )

    async def page_again(self, db_session, params: dict, **forms) -> Template:
        round_, proposal, milestone = await self._milestone(db_session, params)
        return await _milestone_page(
            db_session, round_, proposal, milestone_form(milestone), milestone, 400, **forms
        )


async def milestone_pictures(db_session, followed_rounds) -> dict[int, list]:
    """The pictures of every milestone on a public page, by milestone id (one query)."""
    ids = [
        milestone.id
        for followed in followed_rounds
        for budget in followed.budgets
        for proposal in budget.proposals
        for milestone in proposal.milestones
    ]
    return await pictures.pictures_by_owner(db_session, "milestone", ids)


class ImplementationController(Controller):
    """What happened to the winning proposals: of one round, and of every published round."""

    path = "/pb"

    @get("/implementation", name="pb_implementation_all", opt=SHARED_PAGE)
    async def every_round(self, db_session: DbSession) -> Template:
        followed = await milestones.followed_rounds(db_session)
        return await _implementation_page(
            db_session, "pb/implementation_all.html", followed, followed
        )

    @get("/{slug:str}/implementation", name="pb_implementation", opt=SHARED_PAGE)
    async def one_round(self, db_session: DbSession, slug: FromPath[str]) -> Template:
        round_ = await rounds.round_by_slug(db_session, slug)
        followed = await milestones.followed_round(db_session, round_)
        if followed is None:
            raise NotFoundError(N_("The results of this round have not been published yet."))
        return await _implementation_page(
            db_session, "pb/implementation.html", followed, [followed]
        )


async def _implementation_page(
    db_session, template_name: str, followed, followed_rounds: list
) -> Template:
    """The winners of `followed_rounds` (`followed`: one round, or the list of every one),
    their milestones and the milestones' pictures."""
    return Template(
        template_name=template_name,
        context={
            "followed": followed,
            "statuses": milestones.STATUSES,
            "milestone_pictures": await milestone_pictures(db_session, followed_rounds),
        },
    )
