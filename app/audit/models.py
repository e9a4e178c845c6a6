"""The staff audit log's table: one row per record, append-only (see app/audit/__init__.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.database import Base, PortableJSON, UTCDateTime

BigId = BigInteger().with_variant(Integer(), "sqlite")


class AuditRecord(Base):
    __tablename__ = "staff_audit"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL"), nullable=True
    )
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str] = mapped_column(String(120))
    before: Mapped[Any] = mapped_column(PortableJSON, nullable=True)
    after: Mapped[Any] = mapped_column(PortableJSON, nullable=True)
    # The canonical record that was hashed, kept as text so the chain can be checked byte for byte.
    record: Mapped[str] = mapped_column(Text)
    hash: Mapped[str] = mapped_column(String(64))
