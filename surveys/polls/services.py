"""Polls: creating and editing them, casting votes, and counting the results.

A vote is stored by one INSERT … SELECT that checks in the same breath that the
poll is open, unchanged since the voter's page was checked, and that a kiosk is not
revoked; its choices go with it (surveys/storing.py: in the same statement on
PostgreSQL, the same transaction on SQLite). A token in the form makes a double tap
or a retry count once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cachetools import TTLCache
from sqlalchemy import Date, Integer, String, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.areas.models import Area
from app.audit import record_action
from app.database import utcnow
from app.errors import DomainError, NotFoundError
from app.events.models import Event
from app.i18n import LANGUAGES, N_, content_languages, gettext_in
from app.requests import ascii_int
from app.signing import form_token, form_token_is_genuine
from app.slugs import new_slug
from surveys.definitions import (
    RESPONDENTS_VALUE,
    RESPONSES_KEY,
    DefinitionError,
    Question,
    parse_questions,
    tally_rows,
)
from surveys.polls.models import Poll, PollChoice, PollKiosk, PollVote
from surveys.storing import Executor, RowWithPairs

POLL_TYPES = ("single", "multiple", "scale5", "yes_no")
MAX_QUESTIONS = 3
MAX_OPTIONS = 8


class PollStatus(StrEnum):
    NOT_OPEN = "not_open"
    OPEN = "open"
    CLOSED = "closed"


class Visibility(StrEnum):
    """Who sees a poll's results (stored in `poll.visibility`)."""

    IMMEDIATE = "immediate"  # voters, right after voting
    AFTER_CLOSE = "after_close"
    STAFF = "staff"


class PollChannel(StrEnum):
    """How a vote came in (stored in `poll_vote.channel` and `poll_choice.channel`)."""

    QR = "qr"
    LINK = "link"
    KIOSK = "kiosk"


VISIBILITIES = tuple(Visibility)
POLL_CHANNELS = tuple(PollChannel)
TOKEN_PURPOSE = "poll-vote"  # noqa: S105 - a MAC purpose label, not a secret
# A poll's definition is read again by each process at most this often (edits also bump the
# revision, which the storing statement checks, so an outdated copy never stores a vote).
CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class PollDraft:
    """A poll as staff wrote it, checked by the form reader; `check` adds the rules across fields."""

    title: dict[str, str]
    questions: list[dict[str, Any]]
    opens_at: dt.datetime
    closes_at: dt.datetime
    visibility: str
    area_id: int | None = None
    event_id: int | None = None

    @property
    def languages(self) -> list[str]:
        return [code for code in content_languages() if code in self.title]

    def check(self) -> tuple[Question, ...]:
        if self.closes_at <= self.opens_at:
            raise DomainError(N_("The closing time must be after the opening time."))
        if self.visibility not in VISIBILITIES:
            raise DomainError(N_("Choose who sees the results."))
        if not 1 <= len(self.questions) <= MAX_QUESTIONS:
            raise DomainError(N_("A poll has one to three questions."))
        try:
            questions = parse_questions(self.questions)
        except DefinitionError as error:
            raise DomainError(N_("The questions could not be saved.")) from error
        for question in questions:
            if question.type not in POLL_TYPES or not question.required:
                raise DomainError(N_("The questions could not be saved."))
            missing = [code for code in self.languages if code not in question.text] + [
                code
                for option in question.options
                for code in self.languages
                if code not in option.label
            ]
            if missing:
                raise DomainError(
                    N_("Write every question and option in each language the poll has a title in.")
                )
        return questions


@dataclass(frozen=True)
class VotingPoll:
    """What casting a vote needs of a poll, cached per process for a few seconds."""

    id: int
    slug: str
    revision: int
    opens_at: dt.datetime
    closes_at: dt.datetime
    visibility: str
    questions: tuple[Question, ...]


def poll_status(poll: Poll | VotingPoll, now: dt.datetime | None = None) -> PollStatus:
    now = now or utcnow()
    if now < poll.opens_at:
        return PollStatus.NOT_OPEN
    if now >= poll.closes_at:
        return PollStatus.CLOSED
    return PollStatus.OPEN


def results_public(poll: Poll | VotingPoll, now: dt.datetime | None = None) -> bool:
    if poll.visibility == Visibility.IMMEDIATE:
        return True
    return poll.visibility == Visibility.AFTER_CLOSE and poll_status(poll, now) == PollStatus.CLOSED


def questions_of(poll: Poll) -> tuple[Question, ...]:
    return parse_questions(poll.questions)


def new_vote_token(secret: str, slug: str) -> str:
    return form_token(secret, TOKEN_PURPOSE, slug)


def vote_token_is_genuine(secret: str, slug: str, token: str) -> bool:
    return form_token_is_genuine(secret, TOKEN_PURPOSE, slug, token)


# --- staff: polls and kiosks ------------------------------------------------------------------


async def events_near(session: AsyncSession, current_id: int | None) -> list[Event]:
    """Events near today (and the poll's own), for linking a poll to one."""
    now = utcnow()
    statement = (
        select(Event)
        .where(
            or_(
                Event.starts_at.between(now - dt.timedelta(days=30), now + dt.timedelta(days=90)),
                Event.id == (current_id or -1),
            )
        )
        .order_by(Event.starts_at)
        .limit(300)
    )
    return list(await session.scalars(statement))


def poll_snapshot(poll: Poll) -> dict:
    """What the staff audit log keeps of a poll, before and after a change."""
    return {
        "title": poll.title,
        "questions": poll.questions,
        "opens_at": poll.opens_at.isoformat(),
        "closes_at": poll.closes_at.isoformat(),
        "visibility": poll.visibility,
        "area": poll.area_id,
        "event": poll.event_id,
        "revision": poll.revision,
    }


async def create_poll(session: AsyncSession, draft: PollDraft) -> Poll:
    draft.check()
    poll = Poll(
        slug=await new_slug(session, Poll),
        title=draft.title,
        questions=draft.questions,
        languages=draft.languages,
        opens_at=draft.opens_at,
        closes_at=draft.closes_at,
        visibility=draft.visibility,
        area_id=draft.area_id,
        event_id=draft.event_id,
        revision=1,
    )
    session.add(poll)
    await session.flush()
    await record_action(
        session, None, "poll.create", f"poll {poll.slug}", None, poll_snapshot(poll)
    )
    await session.commit()
    return await get_poll(session, poll.id)


async def update_poll(session: AsyncSession, poll: Poll, draft: PollDraft) -> None:
    """Times, visibility, area and event can always change; the wording only before any vote."""
    draft.check()
    if (draft.questions != poll.questions or draft.title != poll.title) and await vote_count(
        session, poll.id
    ):
        raise DomainError(N_("The questions cannot be changed after the first vote."))
    before = poll_snapshot(poll)
    poll.title = draft.title
    poll.questions = draft.questions
    poll.languages = draft.languages
    poll.opens_at = draft.opens_at
    poll.closes_at = draft.closes_at
    poll.visibility = draft.visibility
    poll.area_id = draft.area_id
    poll.event_id = draft.event_id
    poll.revision += 1
    await record_action(
        session, None, "poll.edit", f"poll {poll.slug}", before, poll_snapshot(poll)
    )
    await session.commit()
    forget_cached_polls()


async def close_poll_now(session: AsyncSession, poll: Poll) -> None:
    now = utcnow()
    if poll.closes_at > now:
        before = poll_snapshot(poll)
        poll.closes_at = max(now, poll.opens_at)
        poll.revision += 1
        after = poll_snapshot(poll)
        await record_action(session, None, "poll.close", f"poll {poll.slug}", before, after)
        await session.commit()
        forget_cached_polls()


async def get_poll(session: AsyncSession, poll_id: int) -> Poll:
    poll = await session.get(Poll, poll_id, populate_existing=True)
    if poll is None:
        raise NotFoundError(N_("No such poll."))
    return poll


async def poll_by_slug(session: AsyncSession, slug: str) -> Poll:
    if len(slug) > 16:
        raise NotFoundError(N_("No such poll."))
    poll = await session.scalar(select(Poll).where(Poll.slug == slug.lower()))
    if poll is None:
        raise NotFoundError(N_("No such poll."))
    return poll


async def list_polls(session: AsyncSession) -> list[Poll]:
    return list(await session.scalars(select(Poll).order_by(Poll.closes_at.desc(), Poll.id.desc())))


async def open_polls(
    session: AsyncSession, now: dt.datetime | None = None, *, event_id: int | None = None
) -> list[Poll]:
    """Polls open now, soonest closing first; with `event_id`, only that event's."""
    now = now or utcnow()
    statement = (
        select(Poll)
        .where(Poll.opens_at <= now, Poll.closes_at > now)
        .order_by(Poll.closes_at, Poll.id)
        .limit(20)
    )
    if event_id is not None:
        statement = statement.where(Poll.event_id == event_id)
    return list(await session.scalars(statement))


async def polls_opening_between(
    session: AsyncSession, start: dt.datetime, end: dt.datetime
) -> list[Poll]:
    """Polls whose opening falls in [start, end), in order (at most 500: a year's worth)."""
    return list(
        await session.scalars(
            select(Poll)
            .where(Poll.opens_at >= start, Poll.opens_at < end)
            .order_by(Poll.opens_at, Poll.id)
            .limit(500)
        )
    )


async def vote_count(session: AsyncSession | AsyncConnection, poll_id: int) -> int:
    return await session.scalar(select(func.count()).where(PollVote.poll_id == poll_id)) or 0


def kiosk_secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_kiosk(
    session: AsyncSession, owner: Poll | Event, name: str, area_id: int | None
) -> tuple[PollKiosk, str]:
    """A kiosk of one poll, or of everything of one event - its questionnaire and its polls -
    and its token (`<id>.<secret>`). An event's kiosk counts in the event's area unless staff
    name another.

    Only staff make one, and only the hash of its secret is stored: a resident cannot turn a
    phone into a kiosk (which answers without the device's memory of having answered) by any
    address or setting of their own, and a lost tablet stops working when staff revoke it."""
    secret = secrets.token_urlsafe(24)
    if isinstance(owner, Poll):
        kiosk = PollKiosk(poll_id=owner.id, area_id=area_id)
        owner_name = f"poll {owner.slug}"
    else:
        kiosk = PollKiosk(event_id=owner.id, area_id=owner.area_id if area_id is None else area_id)
        owner_name = f"event {owner.id}"
    kiosk.name = name
    kiosk.secret_hash = kiosk_secret_hash(secret)
    session.add(kiosk)
    await session.flush()
    # The token and its hash stay out of the audit log.
    await record_action(
        session,
        None,
        "kiosk.create",
        f"kiosk {kiosk.id} ({owner_name})",
        None,
        {"name": name, "area": kiosk.area_id},
    )
    await session.commit()
    return kiosk, f"{kiosk.id}.{secret}"


def _kiosks_of(poll_id: int | None, event_id: int | None) -> tuple[Any, str]:
    """The condition for the kiosks of one poll or of one event (exactly one of the two is
    given), and the owner's name in the audit log."""
    if (poll_id is None) == (event_id is None):
        raise ValueError("a kiosk belongs to one poll or to one event")
    if poll_id is not None:
        return PollKiosk.poll_id == poll_id, f"poll {poll_id}"
    return PollKiosk.event_id == event_id, f"event {event_id}"


async def list_kiosks(
    session: AsyncSession, *, poll_id: int | None = None, event_id: int | None = None
) -> list[PollKiosk]:
    owned, _name = _kiosks_of(poll_id, event_id)
    return list(await session.scalars(select(PollKiosk).where(owned).order_by(PollKiosk.id)))


async def revoke_kiosk(
    session: AsyncSession,
    kiosk_id: int,
    *,
    poll_id: int | None = None,
    event_id: int | None = None,
) -> None:
    owned, owner_name = _kiosks_of(poll_id, event_id)
    revoked = await session.execute(
        update(PollKiosk)
        .where(PollKiosk.id == kiosk_id, owned, PollKiosk.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    if revoked.rowcount:
        target = f"kiosk {kiosk_id} ({owner_name})"
        await record_action(
            session, None, "kiosk.revoke", target, {"revoked": False}, {"revoked": True}
        )
    await session.commit()


def kiosk_opens_poll(kiosk: PollKiosk | None, poll: Poll) -> bool:
    """Whether this kiosk may collect votes for `poll`: its own, or one of its event's."""
    if kiosk is None:
        return False
    return kiosk.poll_id == poll.id or (
        kiosk.event_id is not None and kiosk.event_id == poll.event_id
    )


async def event_kiosk_is_active(
    connection: Executor, token: str | None, event_id: int | None
) -> int | None:
    """The id of the event's kiosk this token opens (not revoked), or None."""
    parts = split_kiosk_token(token)
    if parts is None or event_id is None:
        return None
    return await connection.scalar(
        select(PollKiosk.id).where(
            PollKiosk.id == parts[0],
            PollKiosk.event_id == event_id,
            PollKiosk.secret_hash == kiosk_secret_hash(parts[1]),
            PollKiosk.revoked_at.is_(None),
        )
    )


def split_kiosk_token(token: str | None) -> tuple[int, str] | None:
    if not token or len(token) > 80:
        return None
    kiosk_id, _, secret = token.partition(".")
    number = ascii_int(kiosk_id, maximum=10**9)
    if number is None or not secret:
        return None
    return number, secret


async def active_kiosk(session: AsyncSession, token: str | None) -> PollKiosk | None:
    """The kiosk this token opens, or None when it is unknown, forged or revoked."""
    parts = split_kiosk_token(token)
    if parts is None:
        return None
    kiosk = await session.get(PollKiosk, parts[0])
    if (
        kiosk is None
        or kiosk.revoked_at is not None
        or not secrets.compare_digest(kiosk.secret_hash, kiosk_secret_hash(parts[1]))
    ):
        return None
    return kiosk


# --- casting votes --------------------------------------------------------------------------

# Public links are answered from a copy kept CACHE_SECONDS per process (the storing statement
# checks the poll's revision, so a stale copy never stores a vote against a changed poll).
_voting_polls: TTLCache[str, VotingPoll] = TTLCache(maxsize=1000, ttl=CACHE_SECONDS)


def forget_cached_polls() -> None:
    _voting_polls.clear()


_VOTING_POLL = select(
    Poll.id,
    Poll.slug,
    Poll.revision,
    Poll.opens_at,
    Poll.closes_at,
    Poll.visibility,
    Poll.questions,
).where(Poll.slug == bindparam("slug"))


async def voting_poll(connection: Executor, slug: str, *, fresh: bool = False) -> VotingPoll:
    """The poll behind a public link, cached per process for a few seconds."""
    slug = slug.lower()
    cached = None if fresh else _voting_polls.get(slug)
    if cached is not None:
        return cached
    if len(slug) > 16:
        raise NotFoundError(N_("No such poll."))
    found = (await connection.execute(_VOTING_POLL, {"slug": slug})).mappings().first()
    if found is None:
        raise NotFoundError(N_("No such poll."))
    poll = VotingPoll(
        id=found["id"],
        slug=found["slug"],
        revision=found["revision"],
        opens_at=found["opens_at"],
        closes_at=found["closes_at"],
        visibility=found["visibility"],
        questions=parse_questions(found["questions"]),
    )
    _voting_polls[slug] = poll
    return poll


@dataclass(frozen=True)
class PollBallot:
    """A checked vote, ready to store."""

    poll: VotingPoll
    token: str
    channel: str
    language: str
    voted_on: dt.date
    rows: list[tuple[str, str]]
    area_id: int | None = None
    kiosk_id: int | None = None
    kiosk_secret_hash: str | None = None


class CastOutcome(StrEnum):
    """What storing a ballot came to."""

    STORED = "stored"
    DUPLICATE = "duplicate"
    CHANGED = "changed"
    NOT_OPEN = "not_open"
    KIOSK_REVOKED = "kiosk_revoked"


STORED, DUPLICATE, CHANGED, NOT_OPEN, KIOSK_REVOKED = CastOutcome


def _vote_statements() -> RowWithPairs:
    """The vote, stored only while the poll is open and at the revision the ballot was checked
    against, and (from a kiosk) while the kiosk is not revoked; its area is the kiosk's, else
    the one sent when it exists, else the poll's. Its choices go with it."""
    kiosk = (
        PollKiosk.id == bindparam("kiosk_id", type_=Integer),
        # A poll's own kiosk, or the kiosk of the poll's event (the pop-up kit's tablet).
        or_(PollKiosk.poll_id == Poll.id, PollKiosk.event_id == Poll.event_id),
        PollKiosk.secret_hash == bindparam("kiosk_secret_hash", type_=String),
        PollKiosk.revoked_at.is_(None),
    )
    values = select(
        Poll.id,
        bindparam("token", type_=String),
        bindparam("channel", type_=String),
        func.coalesce(
            select(PollKiosk.area_id).where(*kiosk).scalar_subquery(),
            select(Area.id).where(Area.id == bindparam("area_id", type_=Integer)).scalar_subquery(),
            Poll.area_id,
        ),
        bindparam("language", type_=String),
        bindparam("voted_on", type_=Date),
    ).where(
        Poll.id == bindparam("poll_id", type_=Integer),
        Poll.revision == bindparam("revision", type_=Integer),
        Poll.opens_at <= bindparam("now"),
        Poll.closes_at > bindparam("now"),
        or_(
            bindparam("kiosk_id", type_=Integer).is_(None),
            select(PollKiosk.id).where(*kiosk).exists(),
        ),
    )
    return RowWithPairs.build(
        PollVote.__table__,
        ["poll_id", "token", "channel", "area_id", "language", "voted_on"],
        values,
        "token",
        PollChoice.__table__,
        copied={"vote_id": "id", "channel": "channel", "area_id": "area_id"},
        fixed={"poll_id": bindparam("poll_id", type_=Integer)},
    )


_STORE_VOTE = _vote_statements()


async def cast_vote(connection: Executor, ballot: PollBallot) -> CastOutcome:
    """Store a ballot and its choices (surveys/storing.py: one statement on PostgreSQL, one
    transaction on SQLite); when nothing was stored, say why."""
    now = utcnow()
    parameters = {
        "poll_id": ballot.poll.id,
        "revision": ballot.poll.revision,
        "now": now,
        "token": ballot.token,
        "channel": str(ballot.channel),
        "area_id": ballot.area_id,
        "language": ballot.language,
        "voted_on": ballot.voted_on,
        "kiosk_id": ballot.kiosk_id,
        "kiosk_secret_hash": ballot.kiosk_secret_hash,
    }
    if await _STORE_VOTE.store(connection, parameters, ballot.rows):
        return CastOutcome.STORED
    return await _why_not_stored(connection, ballot, now)


async def _why_not_stored(
    connection: Executor, ballot: PollBallot, now: dt.datetime
) -> CastOutcome:
    poll_id = ballot.poll.id
    used, revision, is_open = (
        await connection.execute(
            select(
                select(func.count()).where(PollVote.token == ballot.token).scalar_subquery(),
                select(Poll.revision).where(Poll.id == poll_id).scalar_subquery(),
                select(func.count())
                .where(Poll.id == poll_id, Poll.opens_at <= now, Poll.closes_at > now)
                .scalar_subquery(),
            )
        )
    ).one()
    await connection.commit()
    if used:
        return CastOutcome.DUPLICATE
    if revision != ballot.poll.revision:
        forget_cached_polls()
        return CastOutcome.CHANGED
    if not is_open:
        return CastOutcome.NOT_OPEN
    return CastOutcome.KIOSK_REVOKED


def ballot_rows(questions: tuple[Question, ...], answers: dict[str, Any]) -> list[tuple[str, str]]:
    """The (question, value) rows of one vote: one per answer, plus one counting the voter."""
    return tally_rows(questions, answers)


# --- results ---------------------------------------------------------------------------------


@dataclass
class OptionResult:
    key: str
    label: dict[str, str]
    count: int = 0
    # Votes by (channel, area id).
    cells: dict[tuple[str, int | None], int] = field(default_factory=dict)
    by_channel: dict[str, int] = field(default_factory=dict)
    by_area: dict[int | None, int] = field(default_factory=dict)

    def share(self, respondents: int) -> float:
        return self.count / respondents if respondents else 0.0


@dataclass
class QuestionResult:
    question: Question
    respondents: int
    options: list[OptionResult]

    @property
    def mean(self) -> float | None:
        if self.question.scale is None or not self.respondents:
            return None
        return sum(int(o.key) * o.count for o in self.options) / self.respondents


@dataclass
class PollResults:
    votes: int
    by_channel: dict[str, int]
    by_area: dict[int | None, int]
    questions: list[QuestionResult]
    # Votes by (channel, area id).
    cells: dict[tuple[str, int | None], int] = field(default_factory=dict)


YES_NO_LABELS = {"yes": N_("Yes"), "no": N_("No")}


def option_labels(question: Question) -> list[tuple[str, dict[str, str]]]:
    """Each option's key and label by language; the points of a scale are labelled by number."""
    if question.type == "yes_no":
        return [
            (key, {code: gettext_in(code, YES_NO_LABELS[key]) for code in LANGUAGES})
            for key in ("yes", "no")
        ]
    if question.scale is not None:
        return [(str(value), {code: str(value) for code in LANGUAGES}) for value in question.scale]
    return [(option.key, dict(option.label)) for option in question.options]


async def poll_results(session: AsyncSession | AsyncConnection, poll: Poll) -> PollResults:
    rows = await session.execute(
        select(
            PollChoice.question_key,
            PollChoice.value,
            PollChoice.channel,
            PollChoice.area_id,
            func.count(),
        )
        .where(PollChoice.poll_id == poll.id)
        .group_by(PollChoice.question_key, PollChoice.value, PollChoice.channel, PollChoice.area_id)
    )
    counts: dict[tuple[str, str], dict[tuple[str, int | None], int]] = defaultdict(dict)
    for key, value, channel, area_id, count in rows:
        counts[key, value][channel, area_id] = count

    def summed(cells: dict[tuple[str, int | None], int], by: int) -> dict:
        totals: dict = defaultdict(int)
        for parts, count in cells.items():
            totals[parts[by]] += count
        return dict(totals)

    voters = counts.get((RESPONSES_KEY, ""), {})
    results = []
    for question in questions_of(poll):
        options = []
        for key, label in option_labels(question):
            cells = counts.get((question.key, key), {})
            options.append(
                OptionResult(
                    key=key,
                    label=label,
                    count=sum(cells.values()),
                    cells=cells,
                    by_channel=summed(cells, 0),
                    by_area=summed(cells, 1),
                )
            )
        if question.type == "multiple":
            respondents = sum(counts.get((question.key, RESPONDENTS_VALUE), {}).values())
        else:
            respondents = sum(option.count for option in options)
        results.append(QuestionResult(question, respondents, options))
    return PollResults(
        votes=sum(voters.values()),
        by_channel=summed(voters, 0),
        by_area=summed(voters, 1),
        questions=results,
        cells=dict(voters),
    )
