"""Idea notifications: what a resident does not want mailed; when a round's ballot was announced

Revision ID: b3f9c1d2e4a7
Revises: e8b1f4c6a2d9
Create Date: 2026-12-06 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "b3f9c1d2e4a7"
down_revision: str | None = "e8b1f4c6a2d9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("resident_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mail_opt_out", JSON, server_default="[]", nullable=False))
    with op.batch_alter_table("pb_round", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("ballot_announced_at", sa.DateTime(timezone=True), nullable=True)
        )
    # Rounds whose voting opened before this version: their authors are not told now, late.
    op.execute(
        sa.text(
            "UPDATE pb_round SET ballot_announced_at = voting_open_at"
            " WHERE voting_open_at <= CURRENT_TIMESTAMP"
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("pb_round", schema=None) as batch_op:
        batch_op.drop_column("ballot_announced_at")
    with op.batch_alter_table("resident_account", schema=None) as batch_op:
        batch_op.drop_column("mail_opt_out")
