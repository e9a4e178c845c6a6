"""places and themes: staff-defined themes per round (a name per language) and the themes of
each proposal; a proposal's place (an address or place name, the area it lies in, optional
coordinates)

Revision ID: a4c7e2f9b813
Revises: 5e1d7a2c9b40
Create Date: 2026-12-07 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from app import search

revision: str = "a4c7e2f9b813"
down_revision: str | None = "5e1d7a2c9b40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _search_again() -> None:
    """SQLite's batch mode copies pb_proposal, which drops the ideas' search triggers: made again
    (and the search table refilled) after it. PostgreSQL alters the table in place."""
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in [
        *search.drop_statements("sqlite", search.IDEAS),
        *search.create_statements("sqlite", search.IDEAS),
    ]:
        op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "pb_theme",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("name", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["pb_round.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_pb_theme_round_id", "pb_theme", ["round_id"])
    op.create_table(
        "pb_proposal_theme",
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("theme_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["proposal_id"], ["pb_proposal.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["theme_id"], ["pb_theme.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("proposal_id", "theme_id"),
    )
    op.create_index("ix_pb_proposal_theme_theme_id", "pb_proposal_theme", ["theme_id"])
    with op.batch_alter_table("pb_proposal") as batch:
        batch.add_column(sa.Column("place_name", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("place_area_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("latitude", sa.Float(), nullable=True))
        batch.add_column(sa.Column("longitude", sa.Float(), nullable=True))
        batch.create_foreign_key(
            "fk_pb_proposal_place_area_id_area",
            "area",
            ["place_area_id"],
            ["id"],
            ondelete="SET NULL",
        )
    _search_again()


def downgrade() -> None:
    with op.batch_alter_table("pb_proposal") as batch:
        batch.drop_constraint("fk_pb_proposal_place_area_id_area", type_="foreignkey")
        batch.drop_column("longitude")
        batch.drop_column("latitude")
        batch.drop_column("place_area_id")
        batch.drop_column("place_name")
    _search_again()
    op.drop_index("ix_pb_proposal_theme_theme_id", table_name="pb_proposal_theme")
    op.drop_table("pb_proposal_theme")
    op.drop_index("ix_pb_theme_round_id", table_name="pb_theme")
    op.drop_table("pb_theme")
