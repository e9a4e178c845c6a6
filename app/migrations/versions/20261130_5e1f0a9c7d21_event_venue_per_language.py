"""event: the place per language, like the name and the description

Revision ID: 5e1f0a9c7d21
Revises: 5898e7fb3c6a
Create Date: 2026-11-30 06:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5e1f0a9c7d21"
down_revision: str | None = "5898e7fb3c6a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("venue_text", JSON, nullable=True))
    # The places written so far were shown to everyone as they were: they count as Finnish.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE event SET venue_text = CASE WHEN venue = '' THEN '{}'::jsonb "
            "ELSE jsonb_build_object('fi', venue) END"
        )
    else:
        op.execute(
            "UPDATE event SET venue_text = CASE WHEN venue = '' THEN json('{}') "
            "ELSE json_object('fi', venue) END"
        )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_column("venue")
        batch_op.alter_column(
            "venue_text", new_column_name="venue", existing_type=JSON, nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("venue_plain", sa.String(length=200), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE event SET venue_plain = COALESCE(venue ->> 'fi', '')")
    else:
        op.execute("UPDATE event SET venue_plain = COALESCE(json_extract(venue, '$.fi'), '')")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_column("venue")
        batch_op.alter_column(
            "venue_plain",
            new_column_name="venue",
            existing_type=sa.String(length=200),
            nullable=False,
        )
