from __future__ import annotations

from litestar import Controller, MediaType, Request, Response, get
from litestar.response import Template
from sqlalchemy import text

from app.accounts.guards import signed_in_staff
from app.dependencies import AppSettings, DbSession
from app.events.services import events_missing_counts
from app.features import privacy_sections
from app.page_cache import SHARED_PAGE


class SiteController(Controller):
    @get("/healthz", media_type=MediaType.JSON, opt={"skip_language": True})
    async def health(self, db_session: DbSession) -> Response:
        """For load balancers: 200 while this worker can reach the database, 503 otherwise."""
        try:
            await db_session.execute(text("SELECT 1"))
        except Exception:
            return Response(content={"status": "unavailable"}, status_code=503)
        return Response(content={"status": "ok"})

    @get("/accessibility", name="accessibility", opt=SHARED_PAGE)
    async def accessibility_statement(self) -> Template:
        return Template(template_name="site/accessibility.html")

    @get("/privacy", name="privacy", opt=SHARED_PAGE)
    async def privacy_notice(self, settings: AppSettings) -> Template:
        return Template(
            template_name="site/privacy.html",
            context={"settings": settings, "sections": privacy_sections()},
        )


class StaffHomeController(Controller):
    path = "/staff"
    guards = [signed_in_staff]

    @get("/", name="staff_home")
    async def staff_home(self, request: Request, db_session: DbSession) -> Template:
        missing = await events_missing_counts(db_session)
        return Template(template_name="staff/home.html", context={"missing_counts": missing})
