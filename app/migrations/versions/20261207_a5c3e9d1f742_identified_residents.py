"""Residents identified strongly (OpenID Connect) send ideas without an e-mail account: the
keyed hash of the provider's subject; e-mail address and password become optional

Revision ID: a5c3e9d1f742
Revises: c7d2a9e41b58
Create Date: 2026-12-07 01:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a5c3e9d1f742"
down_revision: str | None = "c7d2a9e41b58"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("resident_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("identity_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint("uq_resident_account_identity_hash", ["identity_hash"])
        batch_op.alter_column("email", existing_type=sa.String(length=254), nullable=True)
        batch_op.alter_column("password_hash", existing_type=sa.String(length=255), nullable=True)


def downgrade() -> None:
    # Identified residents have no address or password to keep: they go with their sessions.
    op.execute(sa.text("DELETE FROM resident_account WHERE email IS NULL OR password_hash IS NULL"))
    with op.batch_alter_table("resident_account", schema=None) as batch_op:
        batch_op.alter_column("password_hash", existing_type=sa.String(length=255), nullable=False)
        batch_op.alter_column("email", existing_type=sa.String(length=254), nullable=False)
        batch_op.drop_constraint("uq_resident_account_identity_hash", type_="unique")
        batch_op.drop_column("identity_hash")
