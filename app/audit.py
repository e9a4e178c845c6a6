"""The staff audit log: who did what, when, with the record before and after; append-only and
hash-chained like the ballot log. On PostgreSQL a trigger refuses any UPDATE or DELETE of it,
and the code has no path that changes or removes a record."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from litestar import Controller, Request, get
from litestar.response import Stream, Template
from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.accounts.guards import signed_in_staff
from app.accounts.models import Role
from app.database import Base, PortableJSON, UTCDateTime, utcnow
from app.dependencies import DbSession

GENESIS = "0" * 64
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


async def record_action(
    session: AsyncSession,
    actor: Any,
    action: str,
    target: str,
    before: Any = None,
    after: Any = None,
) -> None:
    """Append one record in the caller's transaction (the caller commits). Appends are
    serialised by a transaction-level advisory lock on PostgreSQL (SQLite has one writer)."""
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(7342001)"))
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
    session.add(
        AuditRecord(
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
    )


async def check_audit_chain(session: AsyncSession) -> tuple[int, str | None]:
    """(records checked, the first problem or None)."""
    previous, expected_seq = GENESIS, 1
    count = 0
    result = await session.stream(
        select(AuditRecord).order_by(AuditRecord.seq).execution_options(populate_existing=True)
    )
    async for row in result.scalars():
        seq, body, hashed = row.seq, row.record, row.hash
        if seq != expected_seq:
            return count, f"record {expected_seq} is missing (found {seq})"
        fields = json.loads(body)
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
            return count, f"record {seq}: its columns differ from the record that was hashed"
        if chain_hash(previous, body) != hashed:
            return count, f"record {seq}: the hash does not match the record and the previous hash"
        previous, expected_seq, count = hashed, expected_seq + 1, count + 1
    return count, None


class AuditController(Controller):
    """The staff audit log for administrators and the auditor: read, check and export."""

    path = "/staff/audit"
    guards = [signed_in_staff]
    opt = {"roles": frozenset({Role.ADMIN, Role.AUDITOR})}

    @get("/", name="staff_audit")
    async def index(self, db_session: DbSession) -> Template:
        records = list(
            await db_session.scalars(
                select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(200)
            )
        )
        checked, problem = await check_audit_chain(db_session)
        return Template(
            template_name="staff/audit.html",
            context={"records": records, "checked": checked, "problem": problem},
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


async def audit_head(session: AsyncSession) -> tuple[int, str]:
    """The staff audit log's length and the hash of its last record (GENESIS when empty),
    as each published board names them."""
    last = (
        await session.execute(
            select(AuditRecord.seq, AuditRecord.hash).order_by(AuditRecord.seq.desc()).limit(1)
        )
    ).first()
    return (int(last[0]), last[1]) if last else (0, GENESIS)
