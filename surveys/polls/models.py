from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.areas.models import Area
from app.database import Base, PortableJSON, UTCDateTime, utcnow
from app.events.models import Event

# SQLite numbers its rows only through INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Poll(Base):
    """A poll of one to three questions. Its questions are locked once the first vote is in."""

    __tablename__ = "poll"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(16), unique=True)
    title: Mapped[dict[str, str]] = mapped_column(PortableJSON)
    questions: Mapped[list[dict]] = mapped_column(PortableJSON)
    # The languages the poll is written in, in the order fi, sv, en.
    languages: Mapped[list[str]] = mapped_column(PortableJSON)
    opens_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    area_id: Mapped[int | None] = mapped_column(
        ForeignKey("area.id", ondelete="RESTRICT"), nullable=True
    )
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("event.id", ondelete="RESTRICT"), nullable=True
    )
    # Who sees the results: "immediate" (voters, right after voting), "after_close", "staff".
    visibility: Mapped[str] = mapped_column(String(16))
    # Raised by every edit; a vote checked against an older revision is not stored.
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    area: Mapped[Area | None] = relationship(lazy="joined")
    event: Mapped[Event | None] = relationship(lazy="joined")


class PollVote(Base):
    """One resident's answers to a poll: no account, address or browser details; the day only."""

    __tablename__ = "poll_vote"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("poll.id", ondelete="CASCADE"), index=True)
    # The random token of the form that was sent: a double tap or a retry records one vote.
    token: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(8))
    area_id: Mapped[int | None] = mapped_column(
        ForeignKey("area.id", ondelete="SET NULL"), nullable=True
    )
    language: Mapped[str] = mapped_column(String(16))
    voted_on: Mapped[dt.date] = mapped_column(Date)


class PollChoice(Base):
    """One chosen value of one vote, with the vote's channel and area so results need no join."""

    __tablename__ = "poll_choice"
    __table_args__ = (
        Index("ix_poll_choice_count", "poll_id", "question_key", "value", "channel", "area_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("poll_vote.id", ondelete="CASCADE"), index=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("poll.id", ondelete="CASCADE"))
    question_key: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(8))
    area_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class PollKiosk(Base):
    """A shared tablet allowed to collect votes for one poll, or answers for everything of one
    event (its questionnaire and its polls: the pop-up kit), until staff revoke it. Exactly one
    of `poll_id` and `event_id` is set (surveys.polls.services.create_kiosk)."""

    __tablename__ = "poll_kiosk"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    poll_id: Mapped[int | None] = mapped_column(
        ForeignKey("poll.id", ondelete="CASCADE"), index=True, nullable=True
    )
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("event.id", ondelete="CASCADE"), index=True, nullable=True
    )
    name: Mapped[str] = mapped_column(String(100))
    area_id: Mapped[int | None] = mapped_column(
        ForeignKey("area.id", ondelete="SET NULL"), nullable=True
    )
    # SHA-256 of the secret half of the kiosk token; the secret itself is shown once.
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
