"""pending ballots and the mixer: pb_pending, no channel on pb_ballot, trackers on the log,
no creation time on voting codes

Revision ID: a1d3f0c2b7e9
Revises: 5e1d7c0a4b21
Create Date: 2026-11-30 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.database

revision: str = "a1d3f0c2b7e9"
down_revision: str | None = "5e1d7c0a4b21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pb_pending",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=True),
        sa.Column("tracker", sa.String(length=64), nullable=False),
        sa.Column(
            "choices",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["area_id"], ["area.id"], name=op.f("fk_pb_pending_area_id_area"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["pb_round.id"],
            name=op.f("fk_pb_pending_round_id_pb_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pb_pending")),
    )
    op.create_index("ix_pb_pending_round_area", "pb_pending", ["round_id", "area_id"])
    op.create_index(op.f("ix_pb_pending_tracker"), "pb_pending", ["tracker"])
    with op.batch_alter_table("pb_ballot", schema=None) as batch_op:
        batch_op.drop_column("channel")
    with op.batch_alter_table("pb_log_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tracker", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_pb_log_entry_tracker", ["tracker"])
    with op.batch_alter_table("voting_code", schema=None) as batch_op:
        batch_op.drop_column("created_at")


def downgrade() -> None:
    with op.batch_alter_table("voting_code", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "created_at",
                app.database.UTCDateTime(timezone=True),
                nullable=False,
                server_default=sa.func.now(),
            )
        )
    with op.batch_alter_table("pb_log_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_pb_log_entry_tracker")
        batch_op.drop_column("tracker")
    with op.batch_alter_table("pb_ballot", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("channel", sa.String(length=8), nullable=False, server_default="online")
        )
    op.drop_index(op.f("ix_pb_pending_tracker"), table_name="pb_pending")
    op.drop_index("ix_pb_pending_round_area", table_name="pb_pending")
    op.drop_table("pb_pending")
