"""Implementation milestones of selected proposals

Revision ID: b6752587226d
Revises: a7e2c9f4b318
Create Date: 2026-12-07 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "b6752587226d"
down_revision: str | None = "a7e2c9f4b318"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "pb_milestone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("text", JSON, nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("cost_so_far", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("updated_at", MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["pb_proposal.id"],
            name=op.f("fk_pb_milestone_proposal_id_pb_proposal"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pb_milestone")),
    )
    op.create_index(op.f("ix_pb_milestone_date"), "pb_milestone", ["date"], unique=False)
    op.create_index(
        "ix_pb_milestone_proposal_date", "pb_milestone", ["proposal_id", "date"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_pb_milestone_proposal_date", table_name="pb_milestone")
    op.drop_index(op.f("ix_pb_milestone_date"), table_name="pb_milestone")
    op.drop_table("pb_milestone")
