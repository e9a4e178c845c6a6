"""published results stored as published: pb_publication (board bytes, every rule's outcome,
pabulib files), refusing UPDATE, DELETE and TRUNCATE

Revision ID: 3e1f7a9c5b2d
Revises: a1d3f0c2b7e9
Create Date: 2026-11-30 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.database

revision: str = "3e1f7a9c5b2d"
down_revision: str | None = "a1d3f0c2b7e9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "pb_publication",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("corrects_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("published_at", app.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=254), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("head", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("board", sa.LargeBinary(), nullable=False),
        sa.Column("results", JSON, nullable=False),
        sa.Column("exports", JSON, nullable=False),
        sa.ForeignKeyConstraint(["corrects_id"], ["pb_publication.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["round_id"], ["pb_round.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("round_id", "version", name="uq_pb_publication_version"),
    )
    # What was published stays as it was published: the database refuses to change or remove
    # it (a correction is a new row).
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION pb_publication_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'pb_publication is immutable: % refused', TG_OP;
            END;
            $$
            """
        )
        op.execute(
            "CREATE TRIGGER pb_publication_immutable BEFORE UPDATE OR DELETE ON pb_publication"
            " FOR EACH ROW EXECUTE FUNCTION pb_publication_immutable()"
        )
        op.execute(
            "CREATE TRIGGER pb_publication_no_truncate BEFORE TRUNCATE ON pb_publication"
            " FOR EACH STATEMENT EXECUTE FUNCTION pb_publication_immutable()"
        )
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER pb_publication_no_{operation.lower()} BEFORE {operation}"
                " ON pb_publication BEGIN SELECT RAISE(ABORT, 'pb_publication is immutable'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER pb_publication_no_truncate ON pb_publication")
        op.execute("DROP TRIGGER pb_publication_immutable ON pb_publication")
        op.execute("DROP FUNCTION pb_publication_immutable()")
    op.drop_table("pb_publication")
