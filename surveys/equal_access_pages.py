"""The equal-access view for staff: whom feedback and participatory budgeting reach, set
against the residents (surveys/equal_access.py)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from litestar import Controller, Request, get
from litestar.response import Template

from app.accounts.guards import signed_in_staff
from app.areas.services import list_areas
from app.dependencies import AppSettings, DbSession
from surveys.equal_access import CITY, equal_access
from surveys.forms import read_equal_access


class EqualAccessController(Controller):
    path = "/staff/feedback/equal-access"
    guards = [signed_in_staff]

    @get("/", name="equal_access")
    async def view(
        self, request: Request, db_session: DbSession, settings: AppSettings
    ) -> Template:
        areas = await list_areas(db_session)
        this_year = dt.datetime.now(ZoneInfo(settings.timezone)).year
        year, scope, form = read_equal_access(
            {key: request.query_params.getall(key, []) for key in ("year", "area")},
            areas,
            this_year,
        )
        view = await equal_access(db_session, year=year, scope=scope, areas=areas)
        return Template(
            template_name="surveys/equal_access.html",
            context={
                "view": view,
                "areas": areas,
                "form": form,
                "years": list(range(this_year + 1, this_year - 10, -1)),
                "city": CITY,
            },
            status_code=200 if form.is_valid else 400,
        )
