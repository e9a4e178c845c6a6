"""Participatory budgeting: rounds, budgets, proposals, resident accounts, the voter roll,
voting codes and ballots.

Ballot secrecy is built into the schema: `pb_ballot` has no column that leads to a roll
entry, a code, an account or a time. Its id is random, not a sequence, so the order of
ids does not reveal the order of casting; the roll records only *that* and *how* (the
channel) a person voted, never when.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.areas.models import Area
from app.database import Base, PortableJSON, UTCDateTime, utcnow
from app.media import media_url


class Round(Base):
    """One participatory budgeting round and its phases (each phase ends where the next begins)."""

    __tablename__ = "pb_round"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(16), unique=True)
    title: Mapped[dict[str, str]] = mapped_column(PortableJSON)
    description: Mapped[dict[str, str]] = mapped_column(PortableJSON, default=dict)
    ideas_open_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    review_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    voting_open_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    voting_close_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    results_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # Residents at least this old on the day they vote may vote.
    min_age: Mapped[int] = mapped_column(Integer, default=0)
    # "approval" (within the budget), "k_approval" (up to max_choices), "points", "ranking"
    # (up to max_choices ranks, counted by Borda points: voting/tally/borda.py).
    ballot_rule: Mapped[str] = mapped_column(String(16))
    max_choices: Mapped[int | None] = mapped_column(Integer, nullable=True)
    points_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    points_per_proposal: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The rule whose outcome is official: "greedy", "mes_cost" or "mes_cardinality".
    official_rule: Mapped[str] = mapped_column(String(16))
    # "tori" for rounds run here; "pabulib" for rounds imported from a .pb file.
    source: Mapped[str] = mapped_column(String(16), default="tori")
    # Publication freezes the round: the tally, the log head it counted and the signature of
    # the bulletin board are kept; nothing that reveals counts is public before.
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    published_tally: Mapped[list | None] = mapped_column(PortableJSON, nullable=True)
    published_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    published_head: Mapped[str | None] = mapped_column(String(64), nullable=True)
    board_signature: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # What the signed board holds besides the log, fixed at publication: the key that signed
    # it (see SigningKey), the roll's marks per area and channel (the roll itself is deleted
    # after a while, see voting/retention.py) and the staff audit log's (count, head).
    board_key_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    published_roll: Mapped[list | None] = mapped_column(PortableJSON, nullable=True)
    published_staff_audit: Mapped[list | None] = mapped_column(PortableJSON, nullable=True)
    # When the authors of the ideas on the ballot were told that voting opened (once per round;
    # see voting/notifications.py announce_ballots).
    ballot_announced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    budgets: Mapped[list[Budget]] = relationship(
        back_populates="round",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="Budget.id",
    )


class Budget(Base):
    """The money of one area in a round; area None is the city-wide budget."""

    __tablename__ = "pb_budget"
    __table_args__ = (UniqueConstraint("round_id", "area_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("pb_round.id", ondelete="CASCADE"))
    area_id: Mapped[int | None] = mapped_column(
        ForeignKey("area.id", ondelete="RESTRICT"), nullable=True
    )
    amount: Mapped[int] = mapped_column(Integer)
    # The city's limits on how many of this budget's proposals one ballot chooses (or ranks,
    # or gives points to); None: no limit. A ballot may always leave the budget empty.
    min_choices: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_choices: Mapped[int | None] = mapped_column(Integer, nullable=True)

    round: Mapped[Round] = relationship(back_populates="budgets")
    area: Mapped[Area | None] = relationship(lazy="joined")


class RoundChange(Base):
    """A change of the voting period after voting opened: closing early or extending, made by an
    administrator with a public reason. Shown on the round page and written into the bulletin
    board; who made it is kept for the staff audit log only, never shown publicly."""

    __tablename__ = "pb_round_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("pb_round.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # "close_early" or "extend".
    kind: Mapped[str] = mapped_column(String(16))
    # The close time before and after the change.
    from_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    to_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # The public reason, in the languages the administrator wrote it in.
    reason: Mapped[dict[str, str]] = mapped_column(PortableJSON)
    changed_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL"), nullable=True
    )


class Resident(Base):
    """A resident's account for proposing ideas. Voting never uses it."""

    __tablename__ = "resident_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # None for a resident identified strongly who gave no address (voting/identified.py).
    email: Mapped[str | None] = mapped_column(String(254), unique=True, nullable=True)
    display_name: Mapped[str] = mapped_column(String(80))
    # None for a resident identified strongly: they sign in only through the provider.
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # A resident identified strongly (OpenID Connect): the keyed hash of the provider's subject,
    # never the subject or the personal identity code itself.
    identity_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Unused since sessions are rows (ResidentSession); kept so that the column's existing
    # values and the code that sets it keep working until a later migration drops it.
    session_generation: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The language of the pages when the account was made: messages to it are written in it.
    language: Mapped[str] = mapped_column(String(2), default="fi", server_default="fi")
    # The kinds of notice about ideas the resident does not want mailed (voting/notifications.py
    # KINDS), or ["all"].
    mail_opt_out: Mapped[list[str]] = mapped_column(PortableJSON, default=list, server_default="[]")


class ResidentSession(Base):
    """A browser signed in to a resident account (app/accounts/services.py: the cookie holds a
    random token, this table only its hash). Deleting the rows signs the resident out there."""

    __tablename__ = "resident_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("resident_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class Proposal(Base):
    """A resident's idea; after review it is on the ballot (accepted), rejected or merged."""

    __tablename__ = "pb_proposal"
    __table_args__ = (
        Index("ix_pb_proposal_round_status", "round_id", "status", "area_id"),
        Index("ix_pb_proposal_moderation", "moderation"),
        Index("ix_pb_proposal_round_created", "round_id", "created_at"),
        Index("ix_pb_proposal_reviewer", "reviewer_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("pb_round.id", ondelete="CASCADE"))
    # None: a city-wide proposal.
    area_id: Mapped[int | None] = mapped_column(
        ForeignKey("area.id", ondelete="RESTRICT"), nullable=True
    )
    title: Mapped[dict[str, str]] = mapped_column(PortableJSON)
    description: Mapped[dict[str, str]] = mapped_column(PortableJSON)
    estimated_cost: Mapped[int] = mapped_column(Integer)
    final_cost: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # "submitted", "accepted", "rejected", "merged", or "withdrawn" by its author during the
    # ideas phase (then shown to nobody but its author and staff, and never reviewed).
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    # Public reason for a rejection, in the languages staff wrote it in.
    reason: Mapped[dict[str, str]] = mapped_column(PortableJSON, default=dict)
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("pb_proposal.id", ondelete="SET NULL"), nullable=True
    )
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("resident_account.id", ondelete="SET NULL"), nullable=True, index=True
    )
    # After the results: "planned", "in_progress", "done", "cancelled" (or None).
    implementation: Mapped[str | None] = mapped_column(String(16), nullable=True)
    implementation_note: Mapped[dict[str, str]] = mapped_column(PortableJSON, default=dict)
    # The project id in pabulib exports and imports.
    external_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # Moderation (see voting/moderation.py): "pending" (waiting for a staff member's check, shown
    # to nobody but its author and staff), "published" or "hidden" (its text shown to nobody but
    # staff; the public sees a neutral title and `moderation_reason`).
    moderation: Mapped[str] = mapped_column(
        String(16), default="published", server_default="published"
    )
    moderation_reason: Mapped[dict[str, str]] = mapped_column(
        PortableJSON, default=dict, server_default="{}"
    )
    # How the idea came in: "online" (a resident's own form) or, entered by staff on a
    # resident's behalf, "paper", "popup", "town_hall" or "library"; with the event it was
    # gathered at, if any, and the staff member who typed it.
    channel: Mapped[str] = mapped_column(String(16), default="online", server_default="online")
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("event.id", ondelete="SET NULL"), nullable=True
    )
    entered_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL"), nullable=True
    )
    # The language the idea was written in (None: not known, for older ideas): where the
    # reader's language is missing, the pages show this one first.
    language: Mapped[str | None] = mapped_column(String(2), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Review at scale (voting/review.py): the department that assesses the idea (free text, the
    # names already in use offered as a list) and the staff member who reviews it.
    department: Mapped[str | None] = mapped_column(String(120), nullable=True)
    reviewer_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL"), nullable=True
    )
    # Where it is (voting/places.py): an address or a place name, the area it lies in (for a
    # city-wide proposal; a district's proposal lies in its district) and optional coordinates
    # (WGS84 degrees, both or neither).
    place_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    place_area_id: Mapped[int | None] = mapped_column(
        ForeignKey("area.id", ondelete="SET NULL"), nullable=True
    )
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)

    area: Mapped[Area | None] = relationship(lazy="joined", foreign_keys=[area_id])

    @property
    def cost(self) -> int:
        return self.final_cost if self.final_cost is not None else self.estimated_cost


class Picture(Base):
    """A picture of a proposal or of an implementation milestone (`owner_kind`, `owner_id`:
    no foreign key, as the owner is one of two tables; voting/pictures.py removes a picture
    with its owner). The files are under TORI_MEDIA_DIR, named by `file_key` and each width
    (app/media.py); the alternative text is required in the owner's languages."""

    __tablename__ = "pb_picture"
    __table_args__ = (Index("ix_pb_picture_owner", "owner_kind", "owner_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # "proposal" or "milestone".
    owner_kind: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[int] = mapped_column(Integer)
    # 1 for the first picture shown (the one on lists and cards), then 2, 3, ...
    position: Mapped[int] = mapped_column(Integer)
    alt: Mapped[dict[str, str]] = mapped_column(PortableJSON)
    file_key: Mapped[str] = mapped_column(String(32), unique=True)
    # The widths stored, narrowest first; `width` and `height` are the widest one's.
    widths: Mapped[list[int]] = mapped_column(PortableJSON)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL"), nullable=True
    )

    @property
    def src(self) -> str:
        """The narrowest file: what a browser without `srcset` shows."""
        return media_url(self.file_key, self.widths[0])

    def srcset_upto(self, widest: int | None = None) -> str:
        """The files up to `widest` px (every file without it) for `srcset`
        ("/media/<key>-160.webp 160w, /media/<key>-320.webp 320w, ...")."""
        widths = [w for w in self.widths if widest is None or w <= widest] or self.widths[:1]
        return ", ".join(f"{media_url(self.file_key, w)} {w}w" for w in widths)


class Theme(Base):
    """A theme staff define for a round (e.g. "Parks and nature"), named in each language;
    proposals have any number of themes, and the public lists, the ballot and the results can
    be filtered by one."""

    __tablename__ = "pb_theme"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("pb_round.id", ondelete="CASCADE"), index=True)
    # {"fi": ..., "sv": ..., "en": ...}: Finnish and Swedish always, English optional.
    name: Mapped[dict[str, str]] = mapped_column(PortableJSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProposalTheme(Base):
    """A proposal's theme. Removing the theme or the proposal removes these rows."""

    __tablename__ = "pb_proposal_theme"

    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("pb_proposal.id", ondelete="CASCADE"), primary_key=True
    )
    theme_id: Mapped[int] = mapped_column(
        ForeignKey("pb_theme.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ProposalReport(Base):
    """Someone's report that a public idea breaks the rules (no account needed). Only the reason
    and the time are kept: no address, no account. Open until staff handle it."""

    __tablename__ = "pb_proposal_report"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("pb_proposal.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    handled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    handled_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL"), nullable=True
    )


class ProposalNote(Base):
    """A staff member's internal note on an idea: shown on staff pages only, never to the public
    and in no export; notes are added, never changed."""

    __tablename__ = "pb_proposal_note"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("pb_proposal.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL"), nullable=True
    )
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProposalVersion(Base):
    """An idea's title and description as they were before someone changed them: its author
    (during the ideas phase) or a staff member (a translation, a correction, removing personal
    data). An internal history, shown to staff only."""

    __tablename__ = "pb_proposal_version"
    __table_args__ = (UniqueConstraint("proposal_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("pb_proposal.id", ondelete="CASCADE"))
    # 1 for the text as first sent, then 2, 3, ...
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[dict[str, str]] = mapped_column(PortableJSON)
    description: Mapped[dict[str, str]] = mapped_column(PortableJSON)
    # When this text was replaced and by whom: the staff member, or the idea's author
    # (`by_author`; no staff member then).
    replaced_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    replaced_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL"), nullable=True
    )
    by_author: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class RollEntry(Base):
    """One eligible person on a round's voter roll: a keyed hash of their identifier, never
    the identifier itself. `voted_via` is the only trace of voting: no time, no ballot."""

    __tablename__ = "voter_roll"
    __table_args__ = (UniqueConstraint("round_id", "person_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("pb_round.id", ondelete="CASCADE"))
    person_hash: Mapped[str] = mapped_column(String(64))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    area_id: Mapped[int | None] = mapped_column(
        ForeignKey("area.id", ondelete="RESTRICT"), nullable=True
    )
    # The census office's own reference for mailing the letter (optional, not personal data).
    reference: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # "online", "assisted" or "paper" once the person has voted.
    voted_via: Mapped[str | None] = mapped_column(String(8), nullable=True)


class VotingCode(Base):
    """A code for signing in to vote: a public id and a secret kept only as an argon2 hash."""

    __tablename__ = "voting_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("pb_round.id", ondelete="CASCADE"))
    roll_id: Mapped[int] = mapped_column(
        ForeignKey("voter_roll.id", ondelete="CASCADE"), index=True
    )
    public_id: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(255))
    # "letter" (mailed) or "assisted" (issued by staff who checked the person's identity).
    # No creation time: an assisted code is issued moments before its holder votes, so its
    # time (like its row) would follow the order of voting. A code is deleted when its holder
    # votes (see voting/ballots.py).
    kind: Mapped[str] = mapped_column(String(8))
    # Letter codes: the number of the batch (CodeBatch.number) whose letters carry them.
    batch: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # A letter printed again replaces its code: the old one then signs no one in.
    replaced: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class CodeBatch(Base):
    """One run of issuing letter codes in a round (see voting/letters.py). The secrets are not
    kept, so a batch's letters are printed when it is issued; printing it again makes new codes
    for those who have not voted and replaces their old ones."""

    __tablename__ = "pb_code_batch"
    __table_args__ = (UniqueConstraint("round_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("pb_round.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    letters: Mapped[int] = mapped_column(Integer)
    # The letters' languages, e.g. "fi sv" for a letter in Finnish and Swedish.
    languages: Mapped[str] = mapped_column(String(16))
    # Whom to ask for help, as printed on the letters: a phone number, an e-mail address.
    help_contact: Mapped[str] = mapped_column(String(200))
    # How many times the batch was printed again; the reprint form carries the count it saw,
    # so a second press of the same form prints nothing new.
    reprints: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reprinted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PendingBallot(Base):
    """A cast ballot waiting for the mixer (voting/mixing.py), which moves pending ballots in
    shuffled batches of at least k into `pb_ballot` and the log. The casting transaction
    writes this row and the roll mark together; nothing here outlives the mix. No serial id,
    no time: the id is the ballot's random id."""

    __tablename__ = "pb_pending"
    __table_args__ = (Index("ix_pb_pending_round_area", "round_id", "area_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("pb_round.id", ondelete="CASCADE"))
    area_id: Mapped[int | None] = mapped_column(
        ForeignKey("area.id", ondelete="RESTRICT"), nullable=True
    )
    # The voter's receipt: SHA-256 of the entry's body (voting/tally/board.py tracker_of).
    tracker: Mapped[str] = mapped_column(String(64), index=True)
    choices: Mapped[dict[str, int]] = mapped_column(PortableJSON)


class Ballot(Base):
    """One ballot in the log: the voter's district and the proposals chosen (id -> points; 1
    for approval). No link to the voter, no time, no channel (channels are counted on the
    roll); the id is random and the row was written by the mixer with a batch of others."""

    __tablename__ = "pb_ballot"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("pb_round.id", ondelete="CASCADE"), index=True)
    area_id: Mapped[int | None] = mapped_column(
        ForeignKey("area.id", ondelete="RESTRICT"), nullable=True
    )
    choices: Mapped[dict[str, int]] = mapped_column(PortableJSON)


class LogEntry(Base):
    """One entry of a round's ballot log (see voting/tally/board.py for the exact format):
    the canonical text of the ballot and the chain hash over it and the previous hash."""

    __tablename__ = "pb_log_entry"
    __table_args__ = (
        Index("ix_pb_log_entry_hash", "hash"),
        Index("ix_pb_log_entry_tracker", "tracker"),
    )

    round_id: Mapped[int] = mapped_column(
        ForeignKey("pb_round.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    entry: Mapped[str] = mapped_column(Text)
    hash: Mapped[str] = mapped_column(String(64))
    # The entry's tracker (the voter's receipt), kept beside the text to find it quickly.
    tracker: Mapped[str | None] = mapped_column(String(64), nullable=True)


class LogHead(Base):
    """The end of a round's ballot log. Every append locks this row, so the log is one chain."""

    __tablename__ = "pb_log_head"

    round_id: Mapped[int] = mapped_column(
        ForeignKey("pb_round.id", ondelete="CASCADE"), primary_key=True
    )
    count: Mapped[int] = mapped_column(Integer, default=0)
    head_hash: Mapped[str] = mapped_column(String(64))
    # The head before the last append (the statement that appends reads it from here).
    prev_hash: Mapped[str] = mapped_column(String(64))


class Checkpoint(Base):
    """A head of the log recorded at a moment: a later rewrite of any earlier entry no longer
    matches it. Observers can save the same figures from the public log page."""

    __tablename__ = "pb_checkpoint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("pb_round.id", ondelete="CASCADE"), index=True)
    count: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PaperEntry(Base):
    """One staff member's typing of one paper ballot. Two matching entries by different staff
    join the log; then the person's hash and the choices are erased from these rows."""

    __tablename__ = "pb_paper_entry"
    __table_args__ = (Index("ix_pb_paper_entry_slip", "round_id", "slip"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("pb_round.id", ondelete="CASCADE"))
    slip: Mapped[str] = mapped_column(String(40))
    person_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    choices: Mapped[dict[str, int] | None] = mapped_column(PortableJSON, nullable=True)
    entered_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL"), nullable=True
    )
    # "pending", "joined", "flagged" (two entries differ), "discarded".
    status: Mapped[str] = mapped_column(String(10), default="pending")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Publication(Base):
    """What a round's publication published, kept as published: the signed bulletin board's
    exact bytes, the outcome of every rule per budget and each budget's pabulib file. The
    public results, board and exports are served from here, never recounted. The database
    refuses UPDATE, DELETE and TRUNCATE of these rows (triggers, see the migration): a
    correction is a new row (version n + 1) that names the row it corrects and why."""

    __tablename__ = "pb_publication"
    __table_args__ = (UniqueConstraint("round_id", "version", name="uq_pb_publication_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("pb_round.id", ondelete="RESTRICT"))
    # 1 for the publication; each correction takes the next number.
    version: Mapped[int] = mapped_column(Integer)
    corrects_id: Mapped[int | None] = mapped_column(
        ForeignKey("pb_publication.id", ondelete="RESTRICT"), nullable=True
    )
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by: Mapped[str] = mapped_column(String(254))
    # The log that was counted: its length and head.
    count: Mapped[int] = mapped_column(Integer)
    head: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16))
    # SHA-256 (hex) of `board`, the whole signed board file as served.
    digest: Mapped[str] = mapped_column(String(64))
    board: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    results: Mapped[dict] = mapped_column(PortableJSON)
    # Budget key ("city" or the area id) -> that budget's pabulib file.
    exports: Mapped[dict[str, str]] = mapped_column(PortableJSON, deferred=True)


class SigningKey(Base):
    """Every key that has signed a bulletin board, kept for good: an administrator who rotates
    TORI_SIGNING_KEY leaves the old boards signed by a key that is still published (at
    /pb/signing-key) and still serves them with it. Only the public half is stored."""

    __tablename__ = "pb_signing_key"

    # The first 16 hex characters of the SHA-256 of the raw public key (as in the board).
    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    # Base64 of the 32 raw bytes.
    public_key: Mapped[str] = mapped_column(String(44))
    first_used_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Milestone(Base):
    """A dated step in carrying out a selected proposal, written by staff for residents (see
    voting/milestones.py): what happened or will happen, in Finnish and Swedish (English
    optional), how far the work is in per cent, what it has cost so far and the step's status.
    Shown on the public "what happened to the winning proposals" pages and in the calendar."""

    __tablename__ = "pb_milestone"
    __table_args__ = (Index("ix_pb_milestone_proposal_date", "proposal_id", "date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("pb_proposal.id", ondelete="CASCADE"))
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    text: Mapped[dict[str, str]] = mapped_column(PortableJSON)
    # 0-100.
    progress: Mapped[int] = mapped_column(Integer)
    # Whole euros spent so far, None: not told.
    cost_so_far: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # "planned", "in_progress", "done" or "cancelled" (voting.rounds.ImplementationStatus).
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
