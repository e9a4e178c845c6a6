"""mail_outbox: outbound e-mail written with what causes it; resident_account.language

Revision ID: d41e9a7c2f08
Revises: 4a84977035d3
Create Date: 2026-12-06 19:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "d41e9a7c2f08"
down_revision: str | None = "4a84977035d3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("template", sa.String(length=60), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("context", JSON, nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", MOMENT, nullable=False),
        sa.Column("claim", sa.String(length=32), nullable=True),
        sa.Column("lease_until", MOMENT, nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("sent_at", MOMENT, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outbox")),
        sa.UniqueConstraint("message_id", name=op.f("uq_mail_outbox_message_id")),
    )
    op.create_index(
        "ix_mail_outbox_status_due", "mail_outbox", ["status", "next_attempt_at"], unique=False
    )
    with op.batch_alter_table("resident_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("language", sa.String(length=2), server_default="fi", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("resident_account", schema=None) as batch_op:
        batch_op.drop_column("language")
    op.drop_index("ix_mail_outbox_status_due", table_name="mail_outbox")
    op.drop_table("mail_outbox")
