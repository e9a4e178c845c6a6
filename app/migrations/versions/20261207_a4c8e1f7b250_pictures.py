"""pictures of proposals (and, later, of implementation milestones): pb_picture holds each
picture's alternative text per language, its place among its owner's pictures, and the random
key and widths of its files under TORI_MEDIA_DIR (the files themselves are not in the database)

Revision ID: a4c8e1f7b250
Revises: b3f9c1d2e4a7
Create Date: 2026-12-07 01:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "a4c8e1f7b250"
down_revision: str | None = "b3f9c1d2e4a7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "pb_picture",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_kind", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("alt", JSON, nullable=False),
        sa.Column("file_key", sa.String(length=32), nullable=False),
        sa.Column("widths", JSON, nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["staff_user.id"],
            name=op.f("fk_pb_picture_created_by_staff_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pb_picture")),
        sa.UniqueConstraint("file_key", name=op.f("uq_pb_picture_file_key")),
    )
    op.create_index(
        "ix_pb_picture_owner", "pb_picture", ["owner_kind", "owner_id", "position"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_pb_picture_owner", table_name="pb_picture")
    op.drop_table("pb_picture")
