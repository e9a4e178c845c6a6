"""answers and poll votes: room for a whole language tag (fi-x-selko), not two letters

Revision ID: a7e2c9f4b318
Revises: f2a6c9d1b843
Create Date: 2026-12-07 01:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a7e2c9f4b318"
down_revision: str | None = "f2a6c9d1b843"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Content languages are BCP 47 tags (app/i18n.py): "uk", "ar", and plain-language Finnish as
# "fi-x-selko"; 16 characters hold every tag the setting accepts.
TABLES = ("feedback_response", "feedback_pending", "feedback_tally", "poll_vote")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                "language", existing_type=sa.String(length=2), type_=sa.String(length=16)
            )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                "language", existing_type=sa.String(length=16), type_=sa.String(length=2)
            )
