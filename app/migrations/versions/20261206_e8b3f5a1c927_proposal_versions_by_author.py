"""proposal versions by the author: an idea's author edits it during the ideas phase, and the
earlier text is kept in pb_proposal_version like a staff member's edits

Existing versions were all made by staff: by_author is false for them. A withdrawn idea is a
status ("withdrawn"), which needs no change of the schema.

Revision ID: e8b3f5a1c927
Revises: d41e9a7c2f08
Create Date: 2026-12-06 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e8b3f5a1c927"
down_revision: str | None = "d41e9a7c2f08"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "pb_proposal_version",
        sa.Column("by_author", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("pb_proposal_version") as batch:
        batch.drop_column("by_author")
