"""Areas' urban/rural class and residents by age band and mother tongue per year

Revision ID: e9a4c1d7b352
Revises: b6752587226d
Create Date: 2026-12-07 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e9a4c1d7b352"
down_revision: str | None = "b6752587226d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.add_column("area", sa.Column("settlement_class", sa.String(length=16), nullable=True))
    op.create_table(
        "area_statistics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("by_age", JSON, nullable=False),
        sa.Column("by_tongue", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"],
            ["area.id"],
            name=op.f("fk_area_statistics_area_id_area"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_area_statistics")),
        sa.UniqueConstraint("area_id", "year", name=op.f("uq_area_statistics_area_id")),
    )


def downgrade() -> None:
    op.drop_table("area_statistics")
    op.drop_column("area", "settlement_class")
