"""event: local month and year of the start, for grouping in reports

Revision ID: c41d0e7a2b15
Revises: 8ae59d34e0fa
Create Date: 2026-11-22 15:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c41d0e7a2b15"
down_revision: str | None = "8ae59d34e0fa"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("local_month", sa.String(length=7), nullable=True))
        batch_op.add_column(sa.Column("local_year", sa.Integer(), nullable=True))
    # Existing events get the month in Finnish time (the default TORI_TIMEZONE); SQLite keeps UTC.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE event SET local_month = to_char(timezone('Europe/Helsinki', starts_at), 'YYYY-MM'), "
            "local_year = CAST(extract(year FROM timezone('Europe/Helsinki', starts_at)) AS INTEGER)"
        )
    else:
        op.execute(
            "UPDATE event SET local_month = strftime('%Y-%m', starts_at), "
            "local_year = CAST(strftime('%Y', starts_at) AS INTEGER)"
        )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.alter_column("local_month", existing_type=sa.String(length=7), nullable=False)
        batch_op.alter_column("local_year", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f("ix_event_local_month"), ["local_month"], unique=False)
        batch_op.create_index(batch_op.f("ix_event_local_year"), ["local_year"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_local_year"))
        batch_op.drop_index(batch_op.f("ix_event_local_month"))
        batch_op.drop_column("local_year")
        batch_op.drop_column("local_month")
