from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import Base, PortableJSON, UTCDateTime, utcnow
from app.events.models import Event


class QuestionnaireTemplate(Base):
    """A questionnaire that is asked the same way again and again, such as the standard feedback."""

    __tablename__ = "questionnaire_template"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[dict[str, str]] = mapped_column(PortableJSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    versions: Mapped[list[TemplateVersion]] = relationship(
        back_populates="template", order_by="TemplateVersion.version", lazy="selectin"
    )

    @property
    def latest(self) -> TemplateVersion:
        return self.versions[-1]


class TemplateVersion(Base):
    """One wording of a template. Never edited: a change of wording is a new version."""

    __tablename__ = "questionnaire_version"
    __table_args__ = (UniqueConstraint("template_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    template_id: Mapped[int] = mapped_column(
        ForeignKey("questionnaire_template.id", ondelete="RESTRICT")
    )
    version: Mapped[int] = mapped_column(Integer)
    intro: Mapped[dict[str, str]] = mapped_column(PortableJSON, default=dict)
    questions: Mapped[list[dict]] = mapped_column(PortableJSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    # "file" (imported: the shipped definition or `tori questionnaire-import`) or "editor"
    # (published by staff in the browser; the shipped file then no longer replaces it).
    source: Mapped[str] = mapped_column(String(16), default="file", server_default="file")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    template: Mapped[QuestionnaireTemplate] = relationship(back_populates="versions", lazy="joined")


class TemplateDraft(Base):
    """The next version of a template while staff write it (one at a time per template);
    publishing stores it as a new TemplateVersion and removes the draft."""

    __tablename__ = "questionnaire_draft"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    template_id: Mapped[int] = mapped_column(
        ForeignKey("questionnaire_template.id", ondelete="RESTRICT"), unique=True
    )
    based_on_id: Mapped[int] = mapped_column(
        ForeignKey("questionnaire_version.id", ondelete="RESTRICT")
    )
    intro: Mapped[dict[str, str]] = mapped_column(PortableJSON, default=dict)
    questions: Mapped[list[dict]] = mapped_column(PortableJSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    based_on: Mapped[TemplateVersion] = relationship(lazy="joined")


class InstrumentRecord(Base):
    """An imported validated instrument; its wording is locked (nothing in Tori updates this row)."""

    __tablename__ = "instrument"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict] = mapped_column(PortableJSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Questionnaire(Base):
    """The feedback form of one event: a template version, optional extra questions and instrument."""

    __tablename__ = "questionnaire"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="RESTRICT"), unique=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("questionnaire_version.id", ondelete="RESTRICT")
    )
    instrument_id: Mapped[int | None] = mapped_column(
        ForeignKey("instrument.id", ondelete="RESTRICT"), nullable=True
    )
    slug: Mapped[str] = mapped_column(String(16), unique=True)
    extra_questions: Mapped[list[dict]] = mapped_column(PortableJSON, default=list)
    opens_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    event: Mapped[Event] = relationship(lazy="joined")
    version: Mapped[TemplateVersion] = relationship(lazy="joined")
    instrument: Mapped[InstrumentRecord | None] = relationship(lazy="joined")


class FeedbackResponse(Base):
    """One anonymous answer sheet: no account, no address, no browser details, only the day and language."""

    __tablename__ = "feedback_response"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(
        ForeignKey("questionnaire.id", ondelete="RESTRICT"), index=True
    )
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="RESTRICT"), index=True)
    language: Mapped[str] = mapped_column(String(16))
    submitted_on: Mapped[dt.date] = mapped_column(Date)
    # The random token of the form that was sent: a double tap or a retry records one response.
    submission_token: Mapped[str] = mapped_column(String(64), unique=True)
    answers: Mapped[dict] = mapped_column(PortableJSON)


class FeedbackPending(Base):
    """Counts not yet folded into the tally. Only ever inserted by answering, and deleted by folding."""

    __tablename__ = "feedback_pending"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="RESTRICT"))
    language: Mapped[str] = mapped_column(String(16))
    question_key: Mapped[str] = mapped_column(String(96))
    value: Mapped[str] = mapped_column(String(64))


class FeedbackTally(Base):
    """How many respondents gave each value to each question key, per event and language."""

    __tablename__ = "feedback_tally"
    __table_args__ = (Index("ix_feedback_tally_key", "question_key", "event_id"),)

    event_id: Mapped[int] = mapped_column(
        ForeignKey("event.id", ondelete="RESTRICT"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(16), primary_key=True)
    question_key: Mapped[str] = mapped_column(String(96), primary_key=True)
    value: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
