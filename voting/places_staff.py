"""Staff pages of places and themes (voting/places.py): a round's themes – adding, renaming and
removing them – and the themes and place of one proposal."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.accounts.guards import EDITORS, current_user, signed_in_staff
from app.dependencies import AppSettings, DbSession
from app.form_posts import handle_post
from app.forms import Form
from voting import places, rounds
from voting.forms import read_place_and_themes, read_theme_name
from voting.models import Round, Theme
from voting.proposal_posts import proposal_post


def _name_form(theme: Theme | None) -> Form:
    if theme is None:
        return Form()
    return Form.prefilled({f"name_{code}": text for code, text in theme.name.items()})


def _back_to_themes(round_id: int, done: str) -> Redirect:
    return Redirect(
        path=f"/staff/pb/{round_id}/themes", query_params={"done": done}, status_code=303
    )


class StaffPlacesController(Controller):
    path = "/staff/pb/{round_id:int}"
    guards = [signed_in_staff]

    async def _themes_page(
        self, db_session, round_: Round, form: Form | None = None, status: int = 200
    ) -> Template:
        themes = await places.list_themes(db_session, round_.id)
        used = await places.theme_use(db_session, round_.id)
        return Template(
            template_name="pb/staff_themes.html",
            context={
                "round": round_,
                "themes": themes,
                "used": used,
                "form": form or Form(),
                "max_name": places.MAX_THEME_NAME,
            },
            status_code=status,
        )

    @get("/themes", name="staff_pb_themes")
    async def themes(self, db_session: DbSession, round_id: FromPath[int]) -> Template:
        return await self._themes_page(db_session, await rounds.get_round(db_session, round_id))

    @post("/themes", opt={"roles": EDITORS}, status_code=303)
    async def add_theme(
        self, request: Request, db_session: DbSession, round_id: FromPath[int]
    ) -> Template | Redirect:
        return await handle_post(
            request,
            db_session,
            load=lambda: rounds.get_round(db_session, round_id),
            read=lambda form, _round: read_theme_name(form),
            act=lambda round_, name: places.create_theme(
                db_session, round_, name, current_user(request)
            ),
            done=lambda _name, _theme: _back_to_themes(round_id, "add"),
            again=lambda round_, form: self._themes_page(db_session, round_, form, status=400),
        )

    def _rename_page(self, round_, theme, form=None, status=200) -> Template:
        return Template(
            template_name="pb/staff_theme.html",
            context={
                "round": round_,
                "theme": theme,
                "form": form or _name_form(theme),
                "max_name": places.MAX_THEME_NAME,
            },
            status_code=status,
        )

    @get("/themes/{theme_id:int}", opt={"roles": EDITORS})
    async def theme(
        self, db_session: DbSession, round_id: FromPath[int], theme_id: FromPath[int]
    ) -> Template:
        round_ = await rounds.get_round(db_session, round_id)
        return self._rename_page(round_, await places.get_theme(db_session, round_.id, theme_id))

    @post("/themes/{theme_id:int}", opt={"roles": EDITORS}, status_code=303)
    async def rename_theme(
        self,
        request: Request,
        db_session: DbSession,
        round_id: FromPath[int],
        theme_id: FromPath[int],
    ) -> Template | Redirect:
        async def load() -> tuple[Round, Theme]:
            round_ = await rounds.get_round(db_session, round_id)
            return round_, await places.get_theme(db_session, round_.id, theme_id)

        return await handle_post(
            request,
            db_session,
            load=load,
            read=lambda form, _target: read_theme_name(form),
            act=lambda target, name: places.rename_theme(
                db_session, target[1], name, current_user(request)
            ),
            done=lambda _name, _result: _back_to_themes(round_id, "rename"),
            again=lambda target, form: self._rename_page(*target, form, status=400),
        )

    @post("/themes/{theme_id:int}/remove", opt={"roles": EDITORS}, status_code=303)
    async def remove_theme(
        self,
        request: Request,
        db_session: DbSession,
        round_id: FromPath[int],
        theme_id: FromPath[int],
    ) -> Redirect:
        round_ = await rounds.get_round(db_session, round_id)
        theme = await places.get_theme(db_session, round_.id, theme_id)
        await places.remove_theme(db_session, theme, current_user(request))
        return _back_to_themes(round_id, "remove")

    # One proposal's themes and place ---------------------------------------------------

    async def _place_page(
        self, db_session, settings, round_, proposal, form=None, status=200
    ) -> Template:
        themes = await places.list_themes(db_session, round_.id)
        if form is None:
            form = Form.prefilled(
                {
                    "theme": [str(i) for i in await places.theme_ids_of(db_session, proposal.id)],
                    "place_name": proposal.place_name,
                    "place_area": proposal.place_area_id,
                    "latitude": proposal.latitude,
                    "longitude": proposal.longitude,
                }
            )
        return Template(
            template_name="pb/staff_place.html",
            context={
                "round": round_,
                "proposal": proposal,
                "themes": themes,
                "form": form,
                "area_choices": [
                    (str(budget.area_id), budget.area.name)
                    for budget in round_.budgets
                    if budget.area is not None
                ],
                "max_place": places.MAX_PLACE_NAME,
                "map_link": places.map_link(settings.map_url, proposal),
            },
            status_code=status,
        )

    @get("/proposals/{proposal_id:int}/place", opt={"roles": EDITORS})
    async def place(
        self,
        db_session: DbSession,
        settings: AppSettings,
        round_id: FromPath[int],
        proposal_id: FromPath[int],
    ) -> Template:
        target = await rounds.round_and_proposal(db_session, round_id, proposal_id)
        return await self._place_page(db_session, settings, *target)

    @post("/proposals/{proposal_id:int}/place", opt={"roles": EDITORS}, status_code=303)
    async def set_place(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Template | Redirect:
        """The proposal's themes and place; recorded in the staff audit log."""

        async def read(form, target):
            themes = await places.list_themes(db_session, target.round.id)
            return read_place_and_themes(form, target.round, themes)

        return await proposal_post(
            request,
            db_session,
            read=read,
            act=lambda target, read: places.set_place_and_themes(
                db_session, *target, *read, current_user(request)
            ),
            done="place",
            again=lambda target, form: self._place_page(
                db_session, settings, *target, form, status=400
            ),
        )
