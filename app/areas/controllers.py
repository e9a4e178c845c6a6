from __future__ import annotations

import re

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.accounts.guards import EDITORS, signed_in_staff
from app.areas import services
from app.areas.models import Area
from app.dependencies import DbSession
from app.errors import DomainError
from app.forms import Form, read_form
from app.i18n import LANGUAGES, gettext

# Blank population rows offered beside the saved ones.
EXTRA_POPULATION_ROWS = 2
MAX_POPULATION_ROWS = 40


def area_form(area: Area | None) -> Form:
    values: dict[str, object] = {}
    rows = list(area.populations) if area else []
    for language in LANGUAGES:
        values[f"name_{language}"] = area.name.get(language, "") if area else ""
    for index, row in enumerate(rows):
        values[f"year_{index}"] = row.year
        values[f"population_{index}"] = row.population
    values["rows"] = len(rows) + EXTRA_POPULATION_ROWS
    return Form.prefilled(values)


def shown_rows(form: Form) -> int:
    """How many population rows the form shows: the sent count, kept within 0 to the maximum (a
    sent "rows=10^39" once made the template draw rows until the worker ran out of memory)."""
    sent = form.raw("rows").strip()
    if not re.fullmatch(r"[+-]?[0-9]{1,40}", sent):
        return EXTRA_POPULATION_ROWS
    return min(max(int(sent), 0), MAX_POPULATION_ROWS)


def area_page(form: Form, area: Area | None, status: int = 200) -> Template:
    return Template(
        template_name="areas/form.html",
        context={"form": form, "area": area, "rows": shown_rows(form)},
        status_code=status,
    )


def read_area(form: Form) -> services.AreaInput:
    name = form.translated_text("name", required=True, max_length=120)
    rows = form.integer("rows", minimum=0, maximum=MAX_POPULATION_ROWS) or 0
    populations: dict[int, int] = {}
    for index in range(rows):
        year = form.integer(f"year_{index}", minimum=1900, maximum=2100)
        population = form.integer(f"population_{index}", minimum=0, maximum=10_000_000)
        if year is None and population is None:
            continue
        if year is None:
            form.add_error(f"year_{index}", gettext("Give the year of this population figure."))
        elif population is None:
            form.add_error(f"population_{index}", gettext("Give the population for this year."))
        elif year in populations:
            form.add_error(f"year_{index}", gettext("This year is given twice."))
        else:
            populations[year] = population
    return services.AreaInput(name=name, populations=populations)


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
