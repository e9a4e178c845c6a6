"""Review at scale: full-text search over ideas and events, an idea's department and reviewer,
internal notes, the events' start index

Revision ID: e8b1f4c6a2d9
Revises: e8b3f5a1c927
Create Date: 2026-12-06 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app import search

revision: str = "e8b1f4c6a2d9"
down_revision: str | None = "e8b3f5a1c927"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("pb_proposal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("department", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("reviewer_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_pb_proposal_reviewer_id_staff_user"),
            "staff_user",
            ["reviewer_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index("ix_pb_proposal_round_created", ["round_id", "created_at"])
        batch_op.create_index("ix_pb_proposal_reviewer", ["reviewer_id"])
    op.create_table(
        "pb_proposal_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["staff_user.id"],
            name=op.f("fk_pb_proposal_note_author_id_staff_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["pb_proposal.id"],
            name=op.f("fk_pb_proposal_note_proposal_id_pb_proposal"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pb_proposal_note")),
    )
    op.create_index(
        op.f("ix_pb_proposal_note_proposal_id"), "pb_proposal_note", ["proposal_id"], unique=False
    )
    op.create_index("ix_event_starts", "event", ["starts_at"], unique=False)
    # The search structures after the columns: SQLite's batch mode copies pb_proposal, which
    # would drop triggers made before it.
    dialect = op.get_bind().dialect.name
    for searched in search.SEARCHED:
        for statement in search.create_statements(dialect, searched):
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for searched in search.SEARCHED:
        for statement in search.drop_statements(dialect, searched):
            op.execute(statement)
    op.drop_index("ix_event_starts", table_name="event")
    op.drop_index(op.f("ix_pb_proposal_note_proposal_id"), table_name="pb_proposal_note")
    op.drop_table("pb_proposal_note")
    with op.batch_alter_table("pb_proposal", schema=None) as batch_op:
        batch_op.drop_index("ix_pb_proposal_reviewer")
        batch_op.drop_index("ix_pb_proposal_round_created")
        batch_op.drop_constraint(
            batch_op.f("fk_pb_proposal_reviewer_id_staff_user"), type_="foreignkey"
        )
        batch_op.drop_column("reviewer_id")
        batch_op.drop_column("department")
