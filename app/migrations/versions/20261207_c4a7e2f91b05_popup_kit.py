"""the pop-up kit: a kiosk for a whole event (its questionnaire and its polls on one shared
tablet), and the head counter's taps

poll_kiosk.poll_id becomes optional and poll_kiosk.event_id is added: a kiosk opens either one
poll (as before) or everything of one event. event_head_tap keeps the idempotency token of each
tap of the head counter, so that a retried request is counted once.

Revision ID: c4a7e2f91b05
Revises: a4c7e2f9b813
Create Date: 2026-12-07 01:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4a7e2f91b05"
down_revision: str | None = "a4c7e2f9b813"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("poll_kiosk", schema=None) as batch_op:
        batch_op.alter_column("poll_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("event_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_poll_kiosk_event_id_event", "event", ["event_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_index("ix_poll_kiosk_event_id", ["event_id"], unique=False)
    op.create_table(
        "event_head_tap",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("tapped_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token", name="uq_event_head_tap_token"),
    )
    op.create_index("ix_event_head_tap_event_id", "event_head_tap", ["event_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_event_head_tap_event_id", table_name="event_head_tap")
    op.drop_table("event_head_tap")
    with op.batch_alter_table("poll_kiosk", schema=None) as batch_op:
        batch_op.drop_index("ix_poll_kiosk_event_id")
        batch_op.drop_constraint("fk_poll_kiosk_event_id_event", type_="foreignkey")
        batch_op.drop_column("event_id")
        batch_op.alter_column("poll_id", existing_type=sa.Integer(), nullable=False)
