"""Shared page version: a commit that changes something bumps it, every worker's cache of
shared pages reads it (app.page_cache)

Revision ID: f2a6c9d1b843
Revises: a5c3e9d1f742
Create Date: 2026-12-07 01:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f2a6c9d1b843"
down_revision: str | None = "a5c3e9d1f742"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SLOTS = 16


def upgrade() -> None:
    table = op.create_table(
        "page_version",
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("slot", name=op.f("pk_page_version")),
    )
    op.bulk_insert(table, [{"slot": slot, "version": 0} for slot in range(SLOTS)])


def downgrade() -> None:
    op.drop_table("page_version")
