"""questionnaire drafts: the next version of the standard questionnaire while staff edit it

questionnaire_version.source tells a version imported from a file ("file") from one that staff
published in the browser ("editor").

Revision ID: e3b8d5a1c694
Revises: e9a4c1d7b352
Create Date: 2026-12-07 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e3b8d5a1c694"
down_revision: str | None = "e9a4c1d7b352"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("questionnaire_version", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=16), server_default="file", nullable=False)
        )
    op.create_table(
        "questionnaire_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("based_on_id", sa.Integer(), nullable=False),
        sa.Column("intro", JSON, nullable=False),
        sa.Column("questions", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["questionnaire_template.id"],
            name="fk_questionnaire_draft_template_id_questionnaire_template",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["based_on_id"],
            ["questionnaire_version.id"],
            name="fk_questionnaire_draft_based_on_id_questionnaire_version",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_questionnaire_draft"),
        sa.UniqueConstraint("template_id", name="uq_questionnaire_draft_template_id"),
    )


def downgrade() -> None:
    op.drop_table("questionnaire_draft")
    with op.batch_alter_table("questionnaire_version", schema=None) as batch_op:
        batch_op.drop_column("source")
