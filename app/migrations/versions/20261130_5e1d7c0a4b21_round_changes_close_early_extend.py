"""pb_round_change: closing voting early or extending it, with a public reason

Revision ID: 5e1d7c0a4b21
Revises: 5e1f0a9c7d21
Create Date: 2026-11-30 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.database

revision: str = "5e1d7c0a4b21"
down_revision: str | None = "5e1f0a9c7d21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pb_round_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("at", app.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("from_at", app.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("to_at", app.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "reason",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("changed_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["changed_by"],
            ["staff_user.id"],
            name=op.f("fk_pb_round_change_changed_by_staff_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["pb_round.id"],
            name=op.f("fk_pb_round_change_round_id_pb_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pb_round_change")),
    )
    op.create_index(
        op.f("ix_pb_round_change_round_id"), "pb_round_change", ["round_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_pb_round_change_round_id"), table_name="pb_round_change")
    op.drop_table("pb_round_change")
