from __future__ import annotations

import datetime as dt
import enum
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.areas.models import Area
from app.database import Base, PortableJSON, UTCDateTime, utcnow
from app.i18n import N_


class EventType(enum.StrEnum):
    RESIDENT_EVENING = "resident_evening"
    THEME_PANEL = "theme_panel"
    TOWN_HALL = "town_hall"
    POP_UP = "pop_up"
    CITY_MEETUP = "city_meetup"
    DIGITAL = "digital"
    CO_CREATION = "co_creation"
    # Kuopio's "yhdessä tekeminen": residents and the city doing something together (a clean-up,
    # a community garden), counted in the monitoring like any other activity.
    FUNCTIONAL = "functional"

    @property
    def label(self) -> str:
        return EVENT_TYPE_LABELS[self]


EVENT_TYPE_LABELS = {
    EventType.RESIDENT_EVENING: N_("Resident evening"),
    EventType.THEME_PANEL: N_("Theme panel"),
    EventType.TOWN_HALL: N_("Town Hall meeting for foreign-language residents"),
    EventType.POP_UP: N_("Pop-up"),
    EventType.CITY_MEETUP: N_("City meet-up"),
    EventType.DIGITAL: N_("Digital event"),
    EventType.CO_CREATION: N_("Co-creation workshop"),
    EventType.FUNCTIONAL: N_("Functional participation (doing things together)"),
}


class OrganiserKind(enum.StrEnum):
    CITY_UNIT = "city_unit"
    ASSOCIATION = "association"
    RESIDENTS = "residents"

    @property
    def label(self) -> str:
        return ORGANISER_KIND_LABELS[self]


ORGANISER_KIND_LABELS = {
    OrganiserKind.CITY_UNIT: N_("City unit"),
    OrganiserKind.ASSOCIATION: N_("Association"),
    OrganiserKind.RESIDENTS: N_("Residents"),
}


class EventSeries(Base):
    """Events that repeat: each occurrence is its own event, tied together here."""

    __tablename__ = "event_series"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recurrence: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Event(Base):
    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_public_starts", "is_public", "starts_at"),
        # The staff list of past events, newest first, a page deep in 20,000 events.
        Index("ix_event_starts", "starts_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[dict[str, str]] = mapped_column(PortableJSON)
    description: Mapped[dict[str, str]] = mapped_column(PortableJSON, default=dict)
    theme: Mapped[dict[str, str]] = mapped_column(PortableJSON, default=dict)
    event_type: Mapped[str] = mapped_column(String(32), index=True)
    area_id: Mapped[int | None] = mapped_column(
        ForeignKey("area.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    # The place per language: "Sellon kirjasto" / "Sellos bibliotek" (the JSON of every
    # per-language text, with the same fallback).
    venue: Mapped[dict[str, str]] = mapped_column(PortableJSON, default=dict)
    # Languages the event is held in, e.g. ["fi", "en"].
    languages: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    participant_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    visitor_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    # The local month ("2026-11") and year of the start, kept with the event so that reports can
    # group by them as plain columns (the database then knows how many there are).
    local_month: Mapped[str] = mapped_column(String(7), index=True)
    local_year: Mapped[int] = mapped_column(Integer, index=True)
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("event_series.id", ondelete="SET NULL"), nullable=True, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    area: Mapped[Area | None] = relationship(lazy="joined")
    organisers: Mapped[list[EventOrganiser]] = relationship(
        back_populates="event",
        cascade="all, delete-orphan",
        order_by="EventOrganiser.position",
        lazy="selectin",
    )

    @property
    def type_enum(self) -> EventType:
        return EventType(self.event_type)

    def set_local_period(self, zone: ZoneInfo) -> None:
        local = self.starts_at.astimezone(zone)
        self.local_month = f"{local.year:04d}-{local.month:02d}"
        self.local_year = local.year

    @property
    def hours(self) -> float:
        """Hours of activity, the monitoring figure that comes from start and end."""
        return (self.ends_at - self.starts_at).total_seconds() / 3600


class EventOrganiser(Base):
    __tablename__ = "event_organiser"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    # The name per language, like the event's place: {"fi": "Kirjastopalvelut",
    # "sv": "Bibliotekstjänster"}; a language without a name falls back to another.
    name: Mapped[dict[str, str]] = mapped_column(PortableJSON, default=dict)
    position: Mapped[int] = mapped_column(Integer, default=0)
    event: Mapped[Event] = relationship(back_populates="organisers")

    @property
    def kind_enum(self) -> OrganiserKind:
        return OrganiserKind(self.kind)


class EventReply(Base):
    """The staff's reply to what residents said at an event ("you said – we did"), per
    language; shown on the event's public card once published."""

    __tablename__ = "event_reply"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("event.id", ondelete="CASCADE"), primary_key=True
    )
    text: Mapped[dict[str, str]] = mapped_column(PortableJSON, default=dict)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class HeadCount(enum.StrEnum):
    """What the head counter counts: the event's two monitoring figures."""

    PARTICIPANTS = "participants"
    VISITORS = "visitors"


class EventHeadTap(Base):
    """One tap of the head counter. The token is the tap's own (a fresh one for every tap): a
    request sent again after a lost answer carries the same token and is counted once."""

    __tablename__ = "event_head_tap"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    tapped_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
