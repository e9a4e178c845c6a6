"""Writing and checking the staff audit log: the hash chain, its head, and the check that finds
a changed record or a removed tail."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditRecord
from app.database import utcnow

GENESIS = "0" * 64


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


async def latest_records(session: AsyncSession, limit: int = 200) -> list[AuditRecord]:
    """The newest records first, for the staff page."""
    return list(
        await session.scalars(select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(limit))
    )


async def export_lines(sessionmaker: Callable[[], AsyncSession]) -> AsyncIterator[bytes]:
    """The whole log as JSON Lines, record and hash in order. Streamed after the handler has
    returned, so it reads in a session of its own."""
    async with sessionmaker() as session:
        result = await session.stream(
            select(AuditRecord.record, AuditRecord.hash).order_by(AuditRecord.seq)
        )
        async for body, hashed in result:
            yield (canonical({"record": body, "hash": hashed}) + "\n").encode()
