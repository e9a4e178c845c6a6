"""The staff audit log: who did what, when, with the record before and after; append-only and
hash-chained like the ballot log.

- Each record is written by the service in the same transaction as the change it records
  (`record_action` adds it to the caller's session and never commits): no change without its
  record, no record without its change.
- On PostgreSQL triggers refuse any UPDATE, DELETE or TRUNCATE of the table, and the code has no
  path that changes or removes a record.
- The head (count and last hash) is public (/audit-log, and every bulletin board), so a removed
  tail is found by `check_audit_chain(session, saved=(count, head))`, whoever removed it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import Any

from litestar import Controller, Request, get
from litestar.params import FromQuery
from litestar.response import Stream, Template
from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.accounts.guards import signed_in_staff
from app.accounts.models import Role
from app.database import Base, PortableJSON, UTCDateTime, utcnow
from app.dependencies import DbSession
from app.i18n import N_, gettext

GENESIS = "0" * 64
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
    "paper.first_entry": N_("Paper ballot typed for the first time"),
    "paper.mismatch": N_("Paper ballot typings differ"),
    "paper.joined": N_("Paper ballot typings match"),
    "paper.discard": N_("Paper ballot typings set aside"),
    "retention.apply": N_("Old personal data removed"),
}
# Targets are stored in English words ("round d7nh7x slip 4"); these shapes are shown translated.
TARGET_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"round (?P<round>\S+) slip (?P<slip>\S+)"), N_("round %(round)s, slip %(slip)s")),
    (re.compile(r"round (?P<round>\S+)"), N_("round %(round)s")),
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


BigId = BigInteger().with_variant(Integer(), "sqlite")


class AuditRecord(Base):
    __tablename__ = "staff_audit"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL"), nullable=True
    )
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str] = mapped_column(String(120))
    before: Mapped[Any] = mapped_column(PortableJSON, nullable=True)
    after: Mapped[Any] = mapped_column(PortableJSON, nullable=True)
    # The canonical record that was hashed, kept as text so the chain can be checked byte for byte.
    record: Mapped[str] = mapped_column(Text)
    hash: Mapped[str] = mapped_column(String(64))


def canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def chain_hash(previous: str, record: str) -> str:
    return hashlib.sha256((previous + record).encode("utf-8")).hexdigest()


# The session's info key under which a request's session carries the signed-in staff member
# (set by the `db_session` dependency), so that a service records who acted without every
# caller passing it along.
ACTOR = "audit_actor"
HEAD_LOCK = 7342001


def actor_of(session: AsyncSession, actor: Any = None) -> Any:
    return actor if actor is not None else session.info.get(ACTOR)


async def record_action(
    session: AsyncSession,
    actor: Any,
    action: str,
    target: str,
    before: Any = None,
    after: Any = None,
) -> AuditRecord:
    """Append one record to the caller's transaction; it is stored by the caller's commit, with
    the change it records, or not at all. Never commits by itself.

    `actor` is the staff user (or None: the session's signed-in staff member, else "system").
    The chain head is locked until that commit (a transaction-level advisory lock on
    PostgreSQL; SQLite has one writer, and the primary key refuses a second record with the
    same number), so concurrent actions form one chain. Never pass secrets in before/after."""
    actor = actor_of(session, actor)
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": HEAD_LOCK})
    last = (
        await session.execute(
            select(AuditRecord.seq, AuditRecord.hash).order_by(AuditRecord.seq.desc()).limit(1)
        )
    ).first()
    seq, previous = (last[0] + 1, last[1]) if last else (1, GENESIS)
    at = utcnow().replace(microsecond=0)
    actor_email = getattr(actor, "email", None) or "system"
    body = canonical(
        {
            "seq": seq,
            "at": at.isoformat(),
            "actor": actor_email,
            "action": action,
            "target": target,
            "before": before,
            "after": after,
        }
    )
    record = AuditRecord(
        seq=seq,
        at=at,
        actor_id=getattr(actor, "id", None),
        actor=actor_email,
        action=action,
        target=target,
        before=before,
        after=after,
        record=body,
        hash=chain_hash(previous, body),
    )
    # Stored by the caller's commit with the change (a next record in the same transaction
    # chains on it: its query flushes this one first).
    session.add(record)
    return record


async def audit_head(session: AsyncSession) -> tuple[int, str]:
    """(number of records, hash of the last one) – 0 and 64 zeros for an empty log. Published
    on /audit-log and in every bulletin board; keep it to detect a removed tail later."""
    last = (
        await session.execute(
            select(AuditRecord.seq, AuditRecord.hash).order_by(AuditRecord.seq.desc()).limit(1)
        )
    ).first()
    return (last[0], last[1]) if last else (0, GENESIS)


_HEAD = re.compile(r"([0-9]{1,18}):([0-9a-f]{64})")


def parse_head(value: str) -> tuple[int, str] | None:
    """A head as published, "COUNT:HEAD" (e.g. "17:3fa4…"), or None when it is not one."""
    match = _HEAD.fullmatch(value.strip().lower())
    return (int(match[1]), match[2]) if match else None


def _record_problem(row: AuditRecord, previous: str, expected_seq: int) -> str | None:
    """What is wrong with one record given the hash before it, or None."""
    if row.seq != expected_seq:
        return f"record {expected_seq} is missing (found {row.seq})"
    try:
        fields = json.loads(row.record)
    except ValueError:
        return f"record {row.seq}: the hashed record is not valid JSON"
    shown = {
        "seq": row.seq,
        "at": row.at.isoformat(),
        "actor": row.actor,
        "action": row.action,
        "target": row.target,
        "before": row.before,
        "after": row.after,
    }
    if canonical(shown) != canonical(fields):
        return f"record {row.seq}: its columns differ from the record that was hashed"
    if chain_hash(previous, row.record) != row.hash:
        return f"record {row.seq}: the hash does not match the record and the previous hash"
    return None


async def check_audit_chain(
    session: AsyncSession, saved: tuple[int, str] | None = None
) -> tuple[int, str | None]:
    """(records checked, the first problem or None). With `saved` – a head published earlier,
    (count, hash) – the record at that count must still exist with that hash: a log cut short
    (or rewritten from there on) after the head was published is found."""
    previous, count = GENESIS, 0
    saved_found = saved is None or saved == (0, GENESIS)
    result = await session.stream(
        select(AuditRecord).order_by(AuditRecord.seq).execution_options(populate_existing=True)
    )
    try:
        async for row in result.scalars():
            problem = _record_problem(row, previous, count + 1)
            if problem is None and saved is not None and row.seq == saved[0]:
                if row.hash != saved[1]:
                    problem = (
                        f"record {row.seq}: its hash differs from the saved head "
                        f"{saved[0]}:{saved[1]} (the log was rewritten after it was published)"
                    )
                saved_found = True
            if problem is not None:
                return count, problem
            previous, count = row.hash, count + 1
    finally:
        # An early return must not leave the cursor open in the caller's transaction.
        await result.close()
    if not saved_found:
        return count, (
            f"the log has {count} records, fewer than the saved head {saved[0]}:{saved[1]}: "
            "records were removed from its end"
        )
    return count, None


class AuditController(Controller):
    """The staff audit log for administrators and the auditor: read, check and export."""

    path = "/staff/audit"
    guards = [signed_in_staff]
    opt = {"roles": frozenset({Role.ADMIN, Role.AUDITOR})}

    @get("/", name="staff_audit")
    async def index(self, db_session: DbSession, head: FromQuery[str | None] = None) -> Template:
        """The latest records and the chain check; with `?head=COUNT:HEAD` (a head published
        earlier, on /audit-log or in a bulletin board) the check also finds a removed tail."""
        saved = parse_head(head) if head else None
        records = list(
            await db_session.scalars(
                select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(200)
            )
        )
        checked, problem = await check_audit_chain(db_session, saved)
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
        database = request.app.state.db

        async def lines():
            # Streamed after the handler returns, so with a session of its own.
            async with database.sessionmaker() as session:
                result = await session.stream(
                    select(AuditRecord.record, AuditRecord.hash).order_by(AuditRecord.seq)
                )
                async for body, hashed in result:
                    yield (canonical({"record": body, "hash": hashed}) + "\n").encode()

        return Stream(
            lines(),
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
