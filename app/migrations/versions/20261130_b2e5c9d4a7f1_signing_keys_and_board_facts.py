"""signing keys kept for good; what a published board holds besides the log (roll, staff audit
head, signing key)

Revision ID: b2e5c9d4a7f1
Revises: e5a7d1c93b40
Create Date: 2026-11-30 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.database

revision: str = "b2e5c9d4a7f1"
down_revision: str | None = "e5a7d1c93b40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "pb_signing_key",
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("public_key", sa.String(length=44), nullable=False),
        sa.Column("first_used_at", app.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", app.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_pb_signing_key")),
    )
    op.add_column("pb_round", sa.Column("board_key_id", sa.String(length=16), nullable=True))
    op.add_column("pb_round", sa.Column("published_roll", JSON, nullable=True))
    op.add_column("pb_round", sa.Column("published_staff_audit", JSON, nullable=True))


def downgrade() -> None:
    op.drop_column("pb_round", "published_staff_audit")
    op.drop_column("pb_round", "published_roll")
    op.drop_column("pb_round", "board_key_id")
    op.drop_table("pb_signing_key")
