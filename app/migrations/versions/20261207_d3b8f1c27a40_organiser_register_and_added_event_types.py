"""The register of organisers (events link to it by id) and event types that staff add

Revision ID: d3b8f1c27a40
Revises: e3b8d5a1c694
Create Date: 2026-12-07 05:00:00
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "d3b8f1c27a40"
down_revision: str | None = "e3b8d5a1c694"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
MOMENT = sa.DateTime(timezone=True)

ORGANISER = sa.table(
    "organiser",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("name", JSON),
    sa.column("retired", sa.Boolean),
    sa.column("created_at", MOMENT),
)
LINK = sa.table(
    "event_organiser",
    sa.column("id", sa.Integer),
    sa.column("event_id", sa.Integer),
    sa.column("organiser_id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("name", JSON),
    sa.column("position", sa.Integer),
)


def identity(kind: str, name: dict) -> tuple[str, str]:
    """The same organiser as the monitoring counted it before: its kind and its name (the first
    of fi, sv, en), without case or surrounding spaces."""
    first = next((name[code] for code in ("fi", "sv", "en") if name.get(code)), "")
    return kind, first.strip().lower()


def upgrade() -> None:
    op.create_table(
        "added_event_type",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("name", JSON, nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_added_event_type")),
        sa.UniqueConstraint("key", name=op.f("uq_added_event_type_key")),
    )
    op.create_table(
        "organiser",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", JSON, nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["organiser.id"],
            name=op.f("fk_organiser_merged_into_id_organiser"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organiser")),
    )
    with op.batch_alter_table("organiser", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_organiser_kind"), ["kind"], unique=False)
    with op.batch_alter_table("event_organiser", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organiser_id", sa.Integer(), nullable=True))

    # One register entry per distinct kind and name; each event links to it once.
    bind = op.get_bind()
    now = dt.datetime.now(dt.UTC)
    registered: dict[tuple[str, str], int] = {}
    linked: set[tuple[int, int]] = set()
    rows = bind.execute(
        sa.select(LINK.c.id, LINK.c.event_id, LINK.c.kind, LINK.c.name).order_by(
            LINK.c.event_id, LINK.c.position, LINK.c.id
        )
    ).all()
    for row_id, event_id, kind, name in rows:
        key = identity(kind, name or {})
        if key not in registered:
            registered[key] = bind.execute(
                ORGANISER.insert()
                .values(kind=kind, name=name or {}, retired=False, created_at=now)
                .returning(ORGANISER.c.id)
            ).scalar_one()
        organiser_id = registered[key]
        if (event_id, organiser_id) in linked:
            bind.execute(LINK.delete().where(LINK.c.id == row_id))
            continue
        linked.add((event_id, organiser_id))
        bind.execute(LINK.update().where(LINK.c.id == row_id).values(organiser_id=organiser_id))

    with op.batch_alter_table("event_organiser", schema=None) as batch_op:
        batch_op.alter_column("organiser_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_event_organiser_organiser_id_organiser"),
            "organiser",
            ["organiser_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.create_index(
            batch_op.f("ix_event_organiser_organiser_id"), ["organiser_id"], unique=False
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_event_organiser_event_id"), ["event_id", "organiser_id"]
        )
        batch_op.drop_column("kind")
        batch_op.drop_column("name")


def downgrade() -> None:
    with op.batch_alter_table("event_organiser", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("name", JSON, nullable=True))
    bind = op.get_bind()
    for organiser_id, kind, name in bind.execute(
        sa.select(ORGANISER.c.id, ORGANISER.c.kind, ORGANISER.c.name)
    ).all():
        bind.execute(
            LINK.update().where(LINK.c.organiser_id == organiser_id).values(kind=kind, name=name)
        )
    with op.batch_alter_table("event_organiser", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_event_organiser_event_id"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_event_organiser_organiser_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_event_organiser_organiser_id_organiser"), type_="foreignkey"
        )
        batch_op.drop_column("organiser_id")
        batch_op.alter_column("kind", existing_type=sa.String(length=16), nullable=False)
        batch_op.alter_column("name", existing_type=JSON, nullable=False)
    with op.batch_alter_table("organiser", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organiser_kind"))
    op.drop_table("organiser")
    op.drop_table("added_event_type")
