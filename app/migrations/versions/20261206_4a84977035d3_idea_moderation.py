"""idea moderation: an idea waits for a check or is hidden with a public reason; reports by
anyone; earlier versions of an idea's text kept for staff; ideas entered by staff on a resident's
behalf, with the channel and event

Existing ideas were public already: they stay published.

Revision ID: 4a84977035d3
Revises: 7c3d2e8f1a56
Create Date: 2026-12-06 19:35:12.930082
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.database

revision: str = "4a84977035d3"
down_revision: str | None = "7c3d2e8f1a56"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pb_proposal_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", app.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("handled_at", app.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("handled_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["handled_by"],
            ["staff_user.id"],
            name=op.f("fk_pb_proposal_report_handled_by_staff_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["pb_proposal.id"],
            name=op.f("fk_pb_proposal_report_proposal_id_pb_proposal"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pb_proposal_report")),
    )
    op.create_index(
        op.f("ix_pb_proposal_report_proposal_id"),
        "pb_proposal_report",
        ["proposal_id"],
        unique=False,
    )
    op.create_table(
        "pb_proposal_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column(
            "title",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "description",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("replaced_at", app.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("replaced_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["pb_proposal.id"],
            name=op.f("fk_pb_proposal_version_proposal_id_pb_proposal"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["replaced_by"],
            ["staff_user.id"],
            name=op.f("fk_pb_proposal_version_replaced_by_staff_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pb_proposal_version")),
        sa.UniqueConstraint(
            "proposal_id", "number", name=op.f("uq_pb_proposal_version_proposal_id")
        ),
    )
    op.add_column(
        "pb_proposal",
        sa.Column("moderation", sa.String(length=16), server_default="published", nullable=False),
    )
    op.add_column(
        "pb_proposal",
        sa.Column(
            "moderation_reason",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            server_default="{}",
            nullable=False,
        ),
    )
    op.create_index("ix_pb_proposal_moderation", "pb_proposal", ["moderation"], unique=False)
    op.add_column(
        "pb_proposal",
        sa.Column("channel", sa.String(length=16), server_default="online", nullable=False),
    )
    op.add_column("pb_proposal", sa.Column("event_id", sa.Integer(), nullable=True))
    op.add_column("pb_proposal", sa.Column("entered_by", sa.Integer(), nullable=True))
    with op.batch_alter_table("pb_proposal") as batch:
        batch.create_foreign_key(
            op.f("fk_pb_proposal_event_id_event"),
            "event",
            ["event_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_foreign_key(
            op.f("fk_pb_proposal_entered_by_staff_user"),
            "staff_user",
            ["entered_by"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("pb_proposal") as batch:
        batch.drop_constraint(op.f("fk_pb_proposal_entered_by_staff_user"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_pb_proposal_event_id_event"), type_="foreignkey")
        batch.drop_column("entered_by")
        batch.drop_column("event_id")
        batch.drop_column("channel")
    op.drop_index("ix_pb_proposal_moderation", table_name="pb_proposal")
    op.drop_column("pb_proposal", "moderation_reason")
    op.drop_column("pb_proposal", "moderation")
    op.drop_table("pb_proposal_version")
    op.drop_index(op.f("ix_pb_proposal_report_proposal_id"), table_name="pb_proposal_report")
    op.drop_table("pb_proposal_report")
