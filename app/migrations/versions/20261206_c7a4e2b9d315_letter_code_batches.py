"""letter codes in numbered batches; a code replaced when its letter is printed again

Revision ID: c7a4e2b9d315
Revises: b2e5c9d4a7f1
Create Date: 2026-12-06 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.database

revision: str = "c7a4e2b9d315"
down_revision: str | None = "b2e5c9d4a7f1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pb_code_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("issued_at", app.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("letters", sa.Integer(), nullable=False),
        sa.Column("languages", sa.String(length=16), nullable=False),
        sa.Column("help_contact", sa.String(length=200), nullable=False),
        sa.Column("reprints", sa.Integer(), server_default="0", nullable=False),
        sa.Column("reprinted_at", app.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["pb_round.id"],
            name=op.f("fk_pb_code_batch_round_id_pb_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pb_code_batch")),
        sa.UniqueConstraint("round_id", "number", name=op.f("uq_pb_code_batch_round_id")),
    )
    op.add_column("voting_code", sa.Column("batch", sa.Integer(), nullable=True))
    op.add_column(
        "voting_code",
        sa.Column("replaced", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("voting_code", "replaced")
    op.drop_column("voting_code", "batch")
    op.drop_table("pb_code_batch")
