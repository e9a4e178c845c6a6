from __future__ import annotations

import datetime as dt
import enum
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.areas.models import Area
from app.database import Base, PortableJSON, UTCDateTime, utcnow
from app.i18n import N_, gettext, localized


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


class AddedEventType(Base):
    """An event type that staff added beside the built-in ones (`EventType`), named per language.
    Its key is made once from its name and never changes, so the events and the open data keep
    their code; a type in use is retired, not deleted: no longer offered for new events."""

    __tablename__ = "added_event_type"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[dict[str, str]] = mapped_column(PortableJSON)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


def event_type_label(key: str, added: AddedEventType | None = None) -> str:
    """The name of an event type in the current language: a built-in type through the catalogs,
    an added one from its names per language; an unknown key as it is."""
    if key in EVENT_TYPE_KEYS:
        return gettext(EVENT_TYPE_LABELS[EventType(key)])
    if added is not None:
        return localized(added.name) or key
    return key


EVENT_TYPE_KEYS = frozenset(event_type.value for event_type in EventType)


class Organiser(Base):
    """The register of organisers: each city unit, association or residents' group once, named
    per language, so that the monitoring counts an organiser once however many events it runs.
    An organiser is retired (no longer offered) rather than deleted; one merged into another
    points to it, and its events moved there."""

    __tablename__ = "organiser"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[dict[str, str]] = mapped_column(PortableJSON)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("organiser.id", ondelete="RESTRICT"), nullable=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def kind_enum(self) -> OrganiserKind:
        return OrganiserKind(self.kind)


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

    added_type: Mapped[AddedEventType | None] = relationship(
        primaryjoin="foreign(Event.event_type) == AddedEventType.key",
        viewonly=True,
        lazy="selectin",
    )

    @property
    def type_label(self) -> str:
        """The event's type, named in the current language (built-in or added by staff)."""
        return event_type_label(self.event_type, self.added_type)

    def set_local_period(self, zone: ZoneInfo) -> None:
        local = self.starts_at.astimezone(zone)
        self.local_month = f"{local.year:04d}-{local.month:02d}"
        self.local_year = local.year

    @property
    def hours(self) -> float:
        """Hours of activity, the monitoring figure that comes from start and end."""
        return (self.ends_at - self.starts_at).total_seconds() / 3600


class EventOrganiser(Base):
    """An organiser of an event: a link to the register, in the order staff gave."""

    __tablename__ = "event_organiser"
    __table_args__ = (UniqueConstraint("event_id", "organiser_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    organiser_id: Mapped[int] = mapped_column(
        ForeignKey("organiser.id", ondelete="RESTRICT"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    event: Mapped[Event] = relationship(back_populates="organisers")
    organiser: Mapped[Organiser] = relationship(lazy="joined")

    @property
    def kind(self) -> str:
        return self.organiser.kind

    @property
    def name(self) -> dict[str, str]:
        """The name per language, like the event's place: {"fi": "Kirjastopalvelut",
        "sv": "Bibliotekstjänster"}; a language without a name falls back to another."""
        return self.organiser.name

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
