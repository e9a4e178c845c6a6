"""Budget choice limits: the least and the most proposals of a budget one ballot may choose

Revision ID: c7d2a9e41b58
Revises: c4a7e2f91b05
Create Date: 2026-12-07 01:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c7d2a9e41b58"
down_revision: str | None = "c4a7e2f91b05"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pb_budget", schema=None) as batch_op:
        batch_op.add_column(sa.Column("min_choices", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("max_choices", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pb_budget", schema=None) as batch_op:
        batch_op.drop_column("max_choices")
        batch_op.drop_column("min_choices")
