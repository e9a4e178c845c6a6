"""/staff/pb/<round>/ideas: the staff review list of a round's ideas (search, filters, sorting,
paging) and one decision for the ideas ticked in it (voting/review.py)."""

from __future__ import annotations

from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.accounts.guards import EDITORS, current_user, signed_in_staff
from app.dependencies import DbSession
from app.forms import Form, read_form
from app.i18n import gettext, localized
from voting import review, rounds
from voting.forms import read_bulk_review, read_review_filters
from voting.models import Round
from voting.notifications import Notifier


def _filter_form(request: Request) -> Form:
    return Form({key: list(values) for key, values in request.query_params.dict().items()})


async def review_page(
    request: Request,
    db_session,
    round_: Round,
    *,
    bulk_form: Form | None = None,
    status: int = 200,
) -> Template:
    """The list as the query string filters it, with the bulk decision form around its rows."""
    areas = [str(budget.area_id) for budget in round_.budgets if budget.area_id is not None]
    reviewers = await review.possible_reviewers(db_session)
    departments = await review.departments_in_use(db_session, round_.id)
    filter_form = _filter_form(request)
    filters = read_review_filters(
        filter_form,
        areas=areas,
        reviewers=[str(user.id) for user in reviewers],
        departments=departments,
    )
    listing = await review.review_list(db_session, round_.id, filters, me=current_user(request).id)
    return Template(
        template_name="pb/staff_review.html",
        context={
            "round": round_,
            "phase": rounds.phase_of(round_),
            "frozen": await rounds.frozen_by(db_session, round_),
            "listing": listing,
            "filters": filters,
            "filter_form": filter_form,
            "bulk_form": bulk_form or Form(),
            "reviewers": reviewers,
            "departments": departments,
            "statuses": rounds.ALL_STATUSES,
            "channels": rounds.CHANNELS,
            "sorts": review.SORTS,
            "bulk_actions": review.BULK_ACTIONS,
            "labels": {"city": review.CITY_WIDE, "nobody": review.NOBODY, "me": review.ME},
        },
        status_code=400 if filter_form.errors else status,
    )


class StaffReviewController(Controller):
    path = "/staff/pb"
    guards = [signed_in_staff]

    @get("/{round_id:int}/ideas", name="staff_pb_review")
    async def review_list(
        self, request: Request, db_session: DbSession, round_id: FromPath[int]
    ) -> Template:
        return await review_page(request, db_session, await rounds.get_round(db_session, round_id))

    @post("/{round_id:int}/ideas/bulk", opt={"roles": EDITORS}, status_code=303)
    async def bulk(
        self, request: Request, db_session: DbSession, round_id: FromPath[int]
    ) -> Template | Redirect:
        """Accept, reject or merge the ticked ideas with one reason: all in one transaction."""
        round_ = await rounds.get_round(db_session, round_id)
        form = Form(await read_form(request))
        decision = read_bulk_review(form)
        if decision is not None:
            try:
                done = await review.bulk_review(
                    db_session, round_, decision, current_user(request), Notifier.of(request)
                )
            except review.BulkReviewError as error:
                db_session.expunge_all()
                form.add_error(
                    "form",
                    gettext("Nothing was changed. The idea “%(title)s”: %(problem)s")
                    % {"title": localized(error.title), "problem": error.translated()},
                )
            except review.DomainError as error:
                await db_session.rollback()
                db_session.expunge_all()
                form.add_error("form", error.translated())
            else:
                # Back to the list as it was filtered (the form's address carries the query).
                query = {
                    key: value
                    for key, value in request.query_params.items()
                    if key not in {"done", "count", "lang"}
                }
                query.update(done=decision.action, count=str(done))
                return Redirect(
                    path=f"/staff/pb/{round_id}/ideas?{urlencode(query)}", status_code=303
                )
        round_ = await rounds.get_round(db_session, round_id)
        return await review_page(request, db_session, round_, bulk_form=form, status=400)
