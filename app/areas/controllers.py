from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.accounts.guards import EDITORS, signed_in_staff
from app.areas import services
from app.areas.forms import area_form, read_area, shown_rows
from app.areas.models import Area
from app.dependencies import DbSession
from app.errors import DomainError
from app.forms import Form, read_form


def area_page(form: Form, area: Area | None, status: int = 200) -> Template:
    return Template(
        template_name="areas/form.html",
        context={"form": form, "area": area, "rows": shown_rows(form)},
        status_code=status,
    )


class AreasController(Controller):
    path = "/staff/areas"
    guards = [signed_in_staff]

    @get("/")
    async def list_areas(self, db_session: DbSession) -> Template:
        areas = await services.list_areas(db_session)
        return Template(template_name="areas/list.html", context={"areas": areas})

    @get("/new", opt={"roles": EDITORS})
    async def new_area_page(self) -> Template:
        return area_page(area_form(None), None)

    @post("/new", opt={"roles": EDITORS}, status_code=303)
    async def create_area(self, request: Request, db_session: DbSession) -> Template | Redirect:
        form = Form(await read_form(request))
        data = read_area(form)
        if form.is_valid:
            await services.create_area(db_session, data)
            return Redirect(path="/staff/areas", query_params={"done": "saved"}, status_code=303)
        return area_page(form, None, 400)

    @get("/{area_id:int}", opt={"roles": EDITORS})
    async def edit_area_page(self, db_session: DbSession, area_id: FromPath[int]) -> Template:
        area = await services.get_area(db_session, area_id)
        return area_page(area_form(area), area)

    @post("/{area_id:int}", opt={"roles": EDITORS}, status_code=303)
    async def update_area(
        self, request: Request, db_session: DbSession, area_id: FromPath[int]
    ) -> Template | Redirect:
        area = await services.get_area(db_session, area_id)
        form = Form(await read_form(request))
        data = read_area(form)
        if form.is_valid:
            await services.update_area(db_session, area, data)
            return Redirect(path="/staff/areas", query_params={"done": "saved"}, status_code=303)
        return area_page(form, area, 400)

    @post("/{area_id:int}/delete", opt={"roles": EDITORS}, status_code=303)
    async def delete_area(
        self, db_session: DbSession, area_id: FromPath[int]
    ) -> Template | Redirect:
        area = await services.get_area(db_session, area_id)
        try:
            await services.delete_area(db_session, area)
        except DomainError as error:
            form = area_form(area)
            form.add_error("form", error.translated())
            return area_page(form, area, 409)
        return Redirect(path="/staff/areas", query_params={"done": "deleted"}, status_code=303)
