"""The staff audit log's pages: the staff page with its check and export, and the public head."""

from __future__ import annotations

import re

from litestar import Controller, Request, get
from litestar.params import FromQuery
from litestar.response import Stream, Template

from app.accounts.guards import signed_in_staff
from app.accounts.models import Role
from app.audit.services import (
    audit_head,
    check_audit_chain,
    export_lines,
    latest_records,
    parse_head,
)
from app.dependencies import DbSession
from app.i18n import N_, gettext
from app.off_loop import off_loop
from app.state import DATABASE

# What staff see for each stable action key; the key itself stays in the record and the export.
# An action without a label here is shown by its key.
ACTION_LABELS: dict[str, str] = {
    "round.save": N_("Round saved"),
    "round.publish": N_("Results published"),
    "roll.import": N_("Voter roll imported"),
    "codes.letters": N_("Voting codes made for letters"),
    "codes.reprint": N_("Letters printed again with new codes"),
    "codes.assisted": N_("Voting code given for assisted voting"),
    "proposal.accept": N_("Proposal accepted for the ballot"),
    "proposal.reject": N_("Proposal rejected"),
    "proposal.merge": N_("Proposal merged into another"),
    "proposal.implementation": N_("Implementation status changed"),
    "proposal.enter": N_("Idea entered for a resident"),
    "proposal.publish": N_("Idea checked and published"),
    "proposal.hide": N_("Idea hidden with a public reason"),
    "proposal.edit_text": N_("Idea's text edited (earlier version kept)"),
    "proposal.dismiss_reports": N_("Reports on an idea closed"),
    "proposal.assign": N_("Idea assigned to a department or reviewer"),
    "proposal.note": N_("Internal note added to an idea"),
    "picture.add": N_("Picture added"),
    "picture.replace": N_("Picture replaced with a new file"),
    "picture.describe": N_("Picture's description changed"),
    "picture.move": N_("Pictures put in a new order"),
    "picture.remove": N_("Picture removed"),
    "milestone.add": N_("Milestone added to a winning proposal"),
    "milestone.edit": N_("Milestone of a winning proposal changed"),
    "milestone.remove": N_("Milestone of a winning proposal removed"),
    "paper.first_entry": N_("Paper ballot typed for the first time"),
    "paper.mismatch": N_("Paper ballot typings differ"),
    "paper.joined": N_("Paper ballot typings match"),
    "paper.discard": N_("Paper ballot typings set aside"),
    "retention.apply": N_("Old personal data removed"),
    "organiser.create": N_("Organiser added to the register"),
    "organiser.rename": N_("Organiser renamed"),
    "organiser.retire": N_("Organiser retired"),
    "organiser.restore": N_("Organiser offered again"),
    "organiser.merge": N_("Organiser merged into another"),
    "event_type.add": N_("Event type added"),
    "event_type.rename": N_("Event type renamed"),
    "event_type.retire": N_("Event type retired"),
    "event_type.restore": N_("Event type offered again"),
}
# Targets are stored in English words ("round d7nh7x slip 4"); these shapes are shown translated.
TARGET_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"round (?P<round>\S+) slip (?P<slip>\S+)"), N_("round %(round)s, slip %(slip)s")),
    (re.compile(r"round (?P<round>\S+)"), N_("round %(round)s")),
    (
        re.compile(r"proposal (?P<proposal>\S+) milestone (?P<milestone>\S+)"),
        N_("proposal %(proposal)s, milestone %(milestone)s"),
    ),
    (re.compile(r"proposal (?P<proposal>\S+)"), N_("proposal %(proposal)s")),
    (re.compile(r"personal data"), N_("personal data")),
)


def action_label(action: str) -> str:
    label = ACTION_LABELS.get(action)
    return gettext(label) if label else action


def target_label(target: str) -> str:
    for pattern, message in TARGET_SHAPES:
        if match := pattern.fullmatch(target):
            return gettext(message) % match.groupdict()
    return target


def actor_label(actor: str) -> str:
    """The e-mail address of the staff member, or "system" for the scheduled jobs."""
    return gettext("system") if actor == "system" else actor


class AuditController(Controller):
    """The staff audit log for administrators and the auditor: read, check and export."""

    path = "/staff/audit"
    guards = [signed_in_staff]
    opt = {"roles": frozenset({Role.ADMIN, Role.AUDITOR})}

    @get("/", name="staff_audit")
    async def index(
        self, request: Request, db_session: DbSession, head: FromQuery[str | None] = None
    ) -> Template:
        """The latest records and the chain check; with `?head=COUNT:HEAD` (a head published
        earlier, on /audit-log or in a bulletin board) the check also finds a removed tail."""
        saved = parse_head(head) if head else None
        records = await latest_records(db_session)
        # Every record hashed again: seconds for a long log, so off the event loop.
        checked, problem = await off_loop(
            DATABASE.of(request), lambda session: check_audit_chain(session, saved)
        )
        count, head_hash = await audit_head(db_session)
        return Template(
            template_name="staff/audit.html",
            context={
                "records": records,
                "checked": checked,
                "problem": problem,
                "count": count,
                "head": head_hash,
                "saved": saved,
                "saved_text": head or "",
                "bad_head": bool(head) and saved is None,
                "action_label": action_label,
                "target_label": target_label,
                "actor_label": actor_label,
            },
            status_code=400 if head and saved is None else 200,
        )

    @get("/audit.jsonl")
    async def export(self, request: Request) -> Stream:
        database = DATABASE.of(request)

        return Stream(
            export_lines(database.sessionmaker),
            media_type="application/jsonl; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="tori-staff-audit.jsonl"'},
        )


class PublicAuditLogController(Controller):
    """The staff audit log's head, for anyone: write it down, and a later check finds any record
    removed from the end of the log (and any record rewritten before it)."""

    @get("/audit-log", name="audit_log")
    async def page(self, db_session: DbSession) -> Template:
        count, head = await audit_head(db_session)
        return Template(template_name="site/audit_log.html", context={"count": count, "head": head})

    @get("/audit-log.json", media_type="application/json")
    async def json(self, db_session: DbSession) -> dict:
        count, head = await audit_head(db_session)
        return {"type": "staff_audit", "count": count, "head": head}
