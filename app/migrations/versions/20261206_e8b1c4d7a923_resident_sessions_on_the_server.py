"""resident_session: resident sign-ins as rows (the hash of a random token), not signed cookies

Revision ID: e8b1c4d7a923
Revises: d41e9a7c2f08
Create Date: 2026-12-06 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.database

revision: str = "e8b1c4d7a923"
down_revision: str | None = "d41e9a7c2f08"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "resident_session",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", app.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["resident_account.id"],
            name=op.f("fk_resident_session_resident_id_resident_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_resident_session")),
    )
    with op.batch_alter_table("resident_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_resident_session_resident_id"), ["resident_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_resident_session_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("resident_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resident_session_expires_at"))
        batch_op.drop_index(batch_op.f("ix_resident_session_resident_id"))
    op.drop_table("resident_session")
