from __future__ import annotations

import logging

from litestar import Controller, Request, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.accounts.guards import EDITORS, signed_in_staff
from app.areas import services
from app.areas.forms import area_form, read_area, shown_rows
from app.areas.models import (
    AGE_BAND_LABELS,
    AGE_BANDS,
    MOTHER_TONGUES,
    SETTLEMENT_CLASSES,
    SETTLEMENT_LABELS,
    TONGUE_LABELS,
    Area,
)
from app.areas.statistics_file import MAX_STATISTICS_BYTES, read_statistics
from app.dependencies import DbSession
from app.errors import DomainError
from app.forms import Form, read_form
from app.i18n import gettext
from app.off_loop import in_worker_thread
from app.security import FORM_TOKEN_CHECKED_BY_HANDLER, form_token_accepted
from app.uploads import Upload, UploadError, read_upload

log = logging.getLogger("tori.areas")
LABELS = {
    "settlement_labels": SETTLEMENT_LABELS,
    "age_bands": AGE_BANDS,
    "age_labels": AGE_BAND_LABELS,
    "tongues": MOTHER_TONGUES,
    "tongue_labels": TONGUE_LABELS,
}
# A statistics file and the form around it (its token, the multipart headers).
MAX_STATISTICS_UPLOAD = MAX_STATISTICS_BYTES + 64 * 1024


def area_page(form: Form, area: Area | None, status: int = 200) -> Template:
    return Template(
        template_name="areas/form.html",
        context={
            "form": form,
            "area": area,
            "rows": shown_rows(form),
            "settlement_options": [
                (key, gettext(SETTLEMENT_LABELS[key])) for key in SETTLEMENT_CLASSES
            ],
        },
        status_code=status,
    )


class AreasController(Controller):
    path = "/staff/areas"
    guards = [signed_in_staff]

    @get("/")
    async def list_areas(self, db_session: DbSession) -> Template:
        areas = await services.list_areas(db_session)
        return Template(
            template_name="areas/list.html",
            context={
                "areas": areas,
                "statistics": await services.latest_statistics(db_session),
                **LABELS,
            },
        )

    async def _statistics_page(
        self, db_session: DbSession, *, errors=(), summary=None, status: int = 200
    ) -> Template:
        return Template(
            template_name="areas/statistics.html",
            context={
                "areas": {area.id: area for area in await services.list_areas(db_session)},
                "statistics": await services.statistics_of(db_session),
                "errors": list(errors),
                "summary": summary,
                **LABELS,
            },
            status_code=status,
        )

    @get("/statistics")
    async def statistics_page(self, db_session: DbSession) -> Template:
        """The residents of each area by age band and mother tongue, and their import."""
        return await self._statistics_page(db_session)

    @post(
        "/statistics",
        # The file is read off the event loop (app/uploads.py), so the handler checks the form's
        # token itself.
        opt={"roles": EDITORS, **FORM_TOKEN_CHECKED_BY_HANDLER},
        status_code=200,
        request_max_body_size=MAX_STATISTICS_UPLOAD,
    )
    async def import_statistics(self, request: Request, db_session: DbSession) -> Template:
        """Import a statistics file: every line checked first, then all stored at once."""
        try:
            upload = await read_upload(request, MAX_STATISTICS_UPLOAD)
        except UploadError as error:
            log.info("statistics upload refused: %s", error)
            upload = Upload()
        if not form_token_accepted(request, upload.fields):
            raise PermissionDeniedException(detail="CSRF token verification failed")
        chosen = upload.files.get("file")
        if chosen is None or not chosen[1]:
            errors = [(0, gettext("Choose a CSV file."))]
            return await self._statistics_page(db_session, errors=errors, status=400)
        areas = await services.list_areas(db_session)
        found = await in_worker_thread(read_statistics, chosen[1], areas)
        if found.errors:
            return await self._statistics_page(db_session, errors=found.errors, status=400)
        summary = await services.import_statistics(db_session, found.rows)
        return await self._statistics_page(db_session, summary=summary)

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
