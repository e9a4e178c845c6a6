"""event reply: the staff's reply to what residents said at an event ("you said – we did"),
text per language and whether it is published on the event's public card

Revision ID: 5e1d7a2c9b40
Revises: a4c8e1f7b250
Create Date: 2026-12-07 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.database import PortableJSON, UTCDateTime

revision: str = "5e1d7a2c9b40"
down_revision: str | None = "a4c8e1f7b250"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_reply",
        sa.Column(
            "event_id",
            sa.Integer(),
            sa.ForeignKey("event.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("text", PortableJSON, nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("event_reply")
