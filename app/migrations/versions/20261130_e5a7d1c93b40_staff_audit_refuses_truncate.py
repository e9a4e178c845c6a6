"""staff audit log: TRUNCATE refused too

The row trigger of 5898e7fb3c6a refuses UPDATE and DELETE, but TRUNCATE fires no row trigger:
`TRUNCATE staff_audit` emptied the log. A statement-level BEFORE TRUNCATE trigger refuses it.
(SQLite has no TRUNCATE: its `DELETE FROM` without WHERE still fires the row trigger there.)

Revision ID: e5a7d1c93b40
Revises: 3e1f7a9c5b2d
Create Date: 2026-11-30 05:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "e5a7d1c93b40"
down_revision: str | None = "3e1f7a9c5b2d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # staff_audit_append_only() raises for any operation; a statement trigger may call it.
        op.execute(
            "CREATE TRIGGER staff_audit_no_truncate BEFORE TRUNCATE ON staff_audit"
            " FOR EACH STATEMENT EXECUTE FUNCTION staff_audit_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER staff_audit_no_truncate ON staff_audit")
