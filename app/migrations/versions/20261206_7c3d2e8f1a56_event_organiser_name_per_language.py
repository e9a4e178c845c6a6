"""event_organiser: the name per language, like the event's place

Revision ID: 7c3d2e8f1a56
Revises: c7a4e2b9d315
Create Date: 2026-12-06 05:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "7c3d2e8f1a56"
down_revision: str | None = "c7a4e2b9d315"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("event_organiser", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_text", JSON, nullable=True))
    # The names written so far were shown to everyone as they were: they count as Finnish.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE event_organiser SET name_text = CASE WHEN name = '' THEN '{}'::jsonb "
            "ELSE jsonb_build_object('fi', name) END"
        )
    else:
        op.execute(
            "UPDATE event_organiser SET name_text = CASE WHEN name = '' THEN json('{}') "
            "ELSE json_object('fi', name) END"
        )
    with op.batch_alter_table("event_organiser", schema=None) as batch_op:
        batch_op.drop_column("name")
        batch_op.alter_column(
            "name_text", new_column_name="name", existing_type=JSON, nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("event_organiser", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_plain", sa.String(length=200), nullable=True))
    # Back to one name: the Finnish one, or else any language's (the first in fi, sv, en order).
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE event_organiser SET name_plain = "
            "COALESCE(name ->> 'fi', name ->> 'sv', name ->> 'en', '')"
        )
    else:
        op.execute(
            "UPDATE event_organiser SET name_plain = COALESCE(json_extract(name, '$.fi'), "
            "json_extract(name, '$.sv'), json_extract(name, '$.en'), '')"
        )
    with op.batch_alter_table("event_organiser", schema=None) as batch_op:
        batch_op.drop_column("name")
        batch_op.alter_column(
            "name_plain",
            new_column_name="name",
            existing_type=sa.String(length=200),
            nullable=False,
        )
