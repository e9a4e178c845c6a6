"""proposal versions by the author and the idea's own language: an idea's author edits it
during the ideas phase, and the earlier text is kept in pb_proposal_version like a staff
member's edits; pb_proposal.language is the language the idea was written in, which the pages
fall back to where the reader's language is missing

Existing versions were all made by staff: by_author is false for them. An existing idea with its
title in one language only was written in that one; others are left unknown. A withdrawn idea is
a status ("withdrawn"), which needs no change of the schema.

Revision ID: e8b3f5a1c927
Revises: e8b1c4d7a923
Create Date: 2026-12-06 22:40:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e8b3f5a1c927"
down_revision: str | None = "e8b1c4d7a923"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "pb_proposal_version",
        sa.Column("by_author", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("pb_proposal", sa.Column("language", sa.String(length=2), nullable=True))
    proposal = sa.table(
        "pb_proposal",
        sa.column("id", sa.Integer),
        sa.column("title", sa.JSON),
        sa.column("language"),
    )
    connection = op.get_bind()
    for row in connection.execute(sa.select(proposal.c.id, proposal.c.title)).all():
        title = row.title if isinstance(row.title, dict) else json.loads(row.title or "{}")
        if len(title) == 1:
            connection.execute(
                proposal.update().where(proposal.c.id == row.id).values(language=next(iter(title)))
            )


def downgrade() -> None:
    with op.batch_alter_table("pb_proposal") as batch:
        batch.drop_column("language")
    with op.batch_alter_table("pb_proposal_version") as batch:
        batch.drop_column("by_author")
