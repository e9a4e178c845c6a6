"""/staff/mail: what the outbox holds, for administrators. Without SMTP_URL (development) the
messages are shown whole, since nothing sends them; with a server, only their delivery state."""

from __future__ import annotations

from litestar import Controller, get
from litestar.response import Template

from app.accounts.guards import ADMINS, signed_in_staff
from app.dependencies import AppSettings, DbSession
from app.mail.services import outbox_overview


class MailController(Controller):
    path = "/staff/mail"
    guards = [signed_in_staff]
    opt = {"roles": ADMINS}

    @get("/", name="staff_mail")
    async def index(self, db_session: DbSession, settings: AppSettings) -> Template:
        overview = await outbox_overview(db_session, settings)
        return Template(template_name="staff/mail.html", context={"overview": overview})
