"""polls: polls, votes, choices and kiosks

Revision ID: b4df1eba3cb2
Revises: c41d0e7a2b15
Create Date: 2026-11-22 16:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.database

revision: str = "b4df1eba3cb2"
down_revision: str | None = "c41d0e7a2b15"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "poll",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=16), nullable=False),
        sa.Column(
            "title",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "questions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "languages",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("opens_at", app.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closes_at", app.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", app.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"], ["area.id"], name=op.f("fk_poll_area_id_area"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_poll_event_id_event"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_poll")),
        sa.UniqueConstraint("slug", name=op.f("uq_poll_slug")),
    )
    with op.batch_alter_table("poll", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_poll_closes_at"), ["closes_at"], unique=False)

    op.create_table(
        "poll_kiosk",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=True),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", app.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", app.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["area_id"], ["area.id"], name=op.f("fk_poll_kiosk_area_id_area"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["poll_id"], ["poll.id"], name=op.f("fk_poll_kiosk_poll_id_poll"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_poll_kiosk")),
    )
    with op.batch_alter_table("poll_kiosk", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_poll_kiosk_poll_id"), ["poll_id"], unique=False)

    op.create_table(
        "poll_vote",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("voted_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"], ["area.id"], name=op.f("fk_poll_vote_area_id_area"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["poll_id"], ["poll.id"], name=op.f("fk_poll_vote_poll_id_poll"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_poll_vote")),
        sa.UniqueConstraint("token", name=op.f("uq_poll_vote_token")),
    )
    with op.batch_alter_table("poll_vote", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_poll_vote_poll_id"), ["poll_id"], unique=False)

    op.create_table(
        "poll_choice",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("vote_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("question_key", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["poll_id"], ["poll.id"], name=op.f("fk_poll_choice_poll_id_poll"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["vote_id"],
            ["poll_vote.id"],
            name=op.f("fk_poll_choice_vote_id_poll_vote"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_poll_choice")),
    )
    with op.batch_alter_table("poll_choice", schema=None) as batch_op:
        batch_op.create_index(
            "ix_poll_choice_count",
            ["poll_id", "question_key", "value", "channel", "area_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_poll_choice_vote_id"), ["vote_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("poll_choice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_poll_choice_vote_id"))
        batch_op.drop_index("ix_poll_choice_count")

    op.drop_table("poll_choice")
    with op.batch_alter_table("poll_vote", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_poll_vote_poll_id"))

    op.drop_table("poll_vote")
    with op.batch_alter_table("poll_kiosk", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_poll_kiosk_poll_id"))

    op.drop_table("poll_kiosk")
    with op.batch_alter_table("poll", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_poll_closes_at"))

    op.drop_table("poll")
