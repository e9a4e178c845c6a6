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

from app.audit.models import AuditRecord
from app.audit.services import (
    ACTOR,
    GENESIS,
    audit_head,
    canonical,
    chain_hash,
    check_audit_chain,
    parse_head,
    record_action,
)

__all__ = [
    "ACTOR",
    "GENESIS",
    "AuditRecord",
    "audit_head",
    "canonical",
    "chain_hash",
    "check_audit_chain",
    "parse_head",
    "record_action",
]
