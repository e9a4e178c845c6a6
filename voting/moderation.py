"""Moderation of residents' ideas: what the public may see of an idea, reports by anyone, and
staff's checks (publish, hide with a public reason, remove personal data from the text, dismiss
reports), each recorded in the staff audit log in the same transaction as the change.

An idea's `moderation` is one of:
- "pending": sent while pre-moderation is on (TORI_PREMODERATION, the default) and not yet
  checked. Only its author and staff see it; it is in no public list, count or export.
- "published": public (checked, or sent while pre-moderation is off).
- "hidden": hidden by staff with a public reason. The public sees a neutral title and the
  reason, never the text; the author and staff still see the text.

The ballot, the board and the exports hold accepted ideas only, and an idea is published when it
is accepted (a hidden one cannot be), so nothing unchecked reaches them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func, inspect, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.audit import record_action
from app.database import utcnow
from app.errors import DomainError, NotFoundError
from app.i18n import N_
from app.ratelimit import Limit, RateLimiter, address_block, counter_key
from voting.models import Proposal, ProposalReport, ProposalVersion, Resident, Round
from voting.notifications import Kind, Notifier, notify_author
from voting.translations import lacks_ballot_language


class Moderation(StrEnum):
    PENDING = "pending"
    PUBLISHED = "published"
    HIDDEN = "hidden"


MODERATION_LABELS = {
    Moderation.PENDING: N_("Waiting for a check"),
    Moderation.PUBLISHED: N_("Public"),
    Moderation.HIDDEN: N_("Hidden"),
}
MAX_REPORT_LENGTH = 1000
# Reports accepted from one network address per hour: enough for someone who finds several
# abusive ideas, too few to flood the staff's list.
REPORTS_PER_ADDRESS = Limit(5, 3600)
ATTENTION_PAGE_SIZE = 25
NO_SUCH_PROPOSAL = N_("There is no such proposal.")


class ReportThrottledError(DomainError):
    status_code = 429


def initial_moderation(premoderation: bool) -> str:
    """The state of a newly sent idea."""
    return Moderation.PENDING if premoderation else Moderation.PUBLISHED


def visible_to(proposal: Proposal, resident: Resident | None) -> bool:
    """Whether the idea's page exists for this visitor: an idea waiting for a check exists for
    its author only (staff use the staff pages)."""
    if proposal.moderation != Moderation.PENDING and proposal.status != "withdrawn":
        return True
    return resident is not None and resident.id == proposal.author_id


def shows_text_to(proposal: Proposal, resident: Resident | None) -> bool:
    """Whether the visitor sees the idea's own title and text (else a neutral title and the
    reason it is hidden)."""
    if proposal.moderation == Moderation.PUBLISHED:
        return True
    return resident is not None and resident.id == proposal.author_id


# Reports -----------------------------------------------------------------------------------


async def report_proposal(
    session: AsyncSession,
    proposal: Proposal,
    reason: str,
    limiter: RateLimiter,
    secret: str,
    address: str,
) -> ProposalReport:
    """Anyone's report of a public idea, with their reason. Counted per network address (as an
    HMAC, never the address itself); neither the address nor an account is stored."""
    if proposal.moderation != Moderation.PUBLISHED or not visible_to(proposal, None):
        raise NotFoundError(NO_SUCH_PROPOSAL)
    reason = reason.strip()
    if not reason or len(reason) > MAX_REPORT_LENGTH:
        raise DomainError(N_("Say briefly what is wrong with the idea."))
    # An IPv6 client holds a whole /64: counted as one.
    key = counter_key(secret, "idea-report", address_block(address))
    hits = await limiter.hit(key, REPORTS_PER_ADDRESS)
    if hits > REPORTS_PER_ADDRESS.count:
        raise ReportThrottledError(
            N_("You have sent many reports in a short time. Please try again in an hour.")
        )
    report = ProposalReport(proposal_id=proposal.id, reason=reason)
    session.add(report)
    await session.commit()
    return report


async def open_reports(session: AsyncSession, proposal_id: int) -> list[ProposalReport]:
    return list(
        await session.scalars(
            select(ProposalReport)
            .where(ProposalReport.proposal_id == proposal_id, ProposalReport.handled_at.is_(None))
            .order_by(ProposalReport.id)
        )
    )


async def text_versions(session: AsyncSession, proposal_id: int) -> list[ProposalVersion]:
    """The idea's earlier texts, newest first (staff only)."""
    return list(
        await session.scalars(
            select(ProposalVersion)
            .where(ProposalVersion.proposal_id == proposal_id)
            .order_by(ProposalVersion.number.desc())
        )
    )


@dataclass(frozen=True)
class TextChange:
    """One change of an idea's text, for its history on the staff page: the text it replaced
    (`version`), who replaced it (a staff member's name, or its author) and when, and which
    languages of the title and description changed."""

    version: ProposalVersion
    by_author: bool
    by_staff: str | None
    changed: dict[str, list[str]]


async def text_history(session: AsyncSession, proposal: Proposal) -> list[TextChange]:
    """Every change of the idea's text, newest first: each kept version compared with the text
    that replaced it (the next version, or the text now)."""
    versions = await text_versions(session, proposal.id)
    staff_ids = {v.replaced_by for v in versions if v.replaced_by is not None}
    names = {}
    if staff_ids:
        rows = await session.execute(
            select(User.id, User.display_name).where(User.id.in_(staff_ids))
        )
        names = dict(rows.all())
    history = []
    newer_title, newer_description = proposal.title, proposal.description
    for version in versions:
        replacement = ModerationDecision(
            ModerationAction.EDIT_TEXT, title=newer_title, description=newer_description
        )
        history.append(
            TextChange(
                version,
                version.by_author,
                names.get(version.replaced_by),
                text_changes(version.title, version.description, replacement),
            )
        )
        newer_title, newer_description = version.title, version.description
    return history


# Staff actions -----------------------------------------------------------------------------


class ModerationAction(StrEnum):
    PUBLISH = "publish"
    HIDE = "hide"
    EDIT_TEXT = "edit_text"
    DISMISS_REPORTS = "dismiss_reports"


@dataclass(frozen=True)
class ModerationDecision:
    """One staff decision on an idea and the values it needs."""

    action: ModerationAction
    # HIDE: the public reason, per language.
    reason: dict[str, str] | None = None
    # EDIT_TEXT: the new title and description, per language.
    title: dict[str, str] | None = None
    description: dict[str, str] | None = None


def moderation_snapshot(proposal: Proposal) -> dict:
    """What the audit log keeps: the state and the public reason, never the idea's text (a
    removal of personal data must not copy it into an append-only log)."""
    return {"moderation": proposal.moderation, "moderation_reason": proposal.moderation_reason}


async def locked_proposal(session: AsyncSession, proposal_id: int) -> Proposal:
    """The idea as committed now, its row locked until the transaction ends, so that two staff
    members' decisions (or a decision and its author's edit) queue instead of each changing a
    stale copy."""
    locked = await session.scalar(
        select(Proposal)
        .where(Proposal.id == proposal_id)
        .with_for_update(of=Proposal)
        .execution_options(populate_existing=True)
    )
    if locked is None:
        raise NotFoundError(NO_SUCH_PROPOSAL)
    return locked


async def add_version(
    session: AsyncSession, proposal: Proposal, *, actor: Any = None, by_author: bool = False
) -> int:
    """Keep the idea's text as it is now as its next numbered version, about to be replaced by
    a staff member (`actor`) or by its author; returns the version's number. The caller holds
    the idea's row locked, so two edits cannot take the same number."""
    number = (
        await session.scalar(
            select(func.max(ProposalVersion.number)).where(
                ProposalVersion.proposal_id == proposal.id
            )
        )
        or 0
    ) + 1
    session.add(
        ProposalVersion(
            proposal_id=proposal.id,
            number=number,
            title=proposal.title,
            description=proposal.description,
            replaced_by=None if by_author else getattr(actor, "id", None),
            by_author=by_author,
        )
    )
    return number


def text_changes(
    title: dict[str, str], description: dict[str, str], decision: ModerationDecision
) -> dict[str, list[str]]:
    """Which languages of the title and description an edit changes, added or removed (what
    the audit log and the history say: the languages, never the text)."""
    changes = {}
    for field, old, new in (
        ("title", title, decision.title or {}),
        ("description", description, decision.description or {}),
    ):
        languages = sorted(code for code in {*old, *new} if old.get(code) != new.get(code))
        if languages:
            changes[field] = languages
    return changes


async def _ballot_language_dropped(
    session: AsyncSession, proposal: Proposal, decision: ModerationDecision
) -> bool:
    """Whether the edit would take Finnish or Swedish text away from a proposal on the ballot
    after voting has opened (voters may be reading it; opening needed both). A proposal that
    still lacks one may be edited step by step."""
    if proposal.status != "accepted":
        return False
    round_ = await session.get(Round, proposal.round_id)
    if utcnow() < round_.voting_open_at:
        return False
    if lacks_ballot_language(proposal.title, proposal.description):
        return False
    return lacks_ballot_language(decision.title or {}, decision.description or {})


async def _close_reports(session: AsyncSession, proposal_id: int, actor: Any) -> int:
    closed = await session.execute(
        update(ProposalReport)
        .where(ProposalReport.proposal_id == proposal_id, ProposalReport.handled_at.is_(None))
        .values(handled_at=utcnow(), handled_by=getattr(actor, "id", None))
    )
    return closed.rowcount or 0


async def _board_fixed(session: AsyncSession, proposal: Proposal) -> bool:
    published_at = await session.scalar(
        select(Round.published_at).where(Round.id == proposal.round_id)
    )
    return published_at is not None and proposal.status == "accepted"


async def _tell_hidden(
    session: AsyncSession,
    notifier: Notifier | None,
    proposal: Proposal,
    before: dict,
    reason: dict[str, str],
) -> None:
    """The author hears that the idea was hidden, and why; hiding it again with the same reason
    tells nothing new."""
    if before != {"moderation": Moderation.HIDDEN, "moderation_reason": reason}:
        await notify_author(session, notifier, proposal, Kind.REVIEW, event="hidden", reason=reason)


async def moderate(
    session: AsyncSession,
    proposal: Proposal,
    decision: ModerationDecision,
    actor: Any = None,
    notifier: Notifier | None = None,
) -> None:
    """Carry out one decision; the change, the handled reports, the audit record and (when the
    idea is hidden) the notice to its author are committed together, or nothing is."""
    proposal = await locked_proposal(session, inspect(proposal).identity[0])
    before = moderation_snapshot(proposal)
    target = f"proposal {proposal.id}"
    action = decision.action
    if action == ModerationAction.PUBLISH:
        proposal.moderation, proposal.moderation_reason = Moderation.PUBLISHED, {}
        closed = await _close_reports(session, proposal.id, actor)
        after = {**moderation_snapshot(proposal), "reports_closed": closed}
        await record_action(session, actor, "proposal.publish", target, before, after)
    elif action == ModerationAction.HIDE:
        if not decision.reason:
            await session.rollback()
            raise DomainError(N_("Give the public reason for hiding the idea."))
        if proposal.status == "accepted":
            await session.rollback()
            raise DomainError(
                N_(
                    "An idea on the ballot cannot be hidden. Remove the personal data or other"
                    " problem from its text instead."
                )
            )
        await _tell_hidden(session, notifier, proposal, before, decision.reason)
        proposal.moderation, proposal.moderation_reason = Moderation.HIDDEN, decision.reason
        closed = await _close_reports(session, proposal.id, actor)
        after = {**moderation_snapshot(proposal), "reports_closed": closed}
        await record_action(session, actor, "proposal.hide", target, before, after)
    elif action == ModerationAction.EDIT_TEXT:
        if not decision.title or not decision.description:
            await session.rollback()
            raise DomainError(N_("The idea needs a title and a description."))
        if await _board_fixed(session, proposal):
            await session.rollback()
            raise DomainError(
                N_(
                    "The results of this round have been published: the text of a proposal on"
                    " the ballot can no longer change."
                )
            )
        if decision.title == proposal.title and decision.description == proposal.description:
            await session.rollback()
            raise DomainError(N_("The text is unchanged."))
        if await _ballot_language_dropped(session, proposal, decision):
            await session.rollback()
            raise DomainError(
                N_(
                    "Voting has opened: a proposal on the ballot keeps its text in Finnish and"
                    " Swedish."
                )
            )
        changed = text_changes(proposal.title, proposal.description, decision)
        number = await add_version(session, proposal, actor=actor)
        proposal.title, proposal.description = decision.title, decision.description
        await record_action(
            session,
            actor,
            "proposal.edit_text",
            target,
            {"version": number},
            {"version": number + 1, "languages": sorted(decision.title), "changed": changed},
        )
    elif action == ModerationAction.DISMISS_REPORTS:
        closed = await _close_reports(session, proposal.id, actor)
        if not closed:
            await session.rollback()
            raise DomainError(N_("There are no open reports on this idea."))
        await record_action(
            session, actor, "proposal.dismiss_reports", target, None, {"reports_closed": closed}
        )
    else:
        raise ValueError(action)
    await session.commit()


# The staff's list of ideas that need attention --------------------------------------------


@dataclass(frozen=True)
class AttentionItem:
    proposal: Proposal
    round: Round
    open_reports: int


@dataclass(frozen=True)
class AttentionPage:
    items: list[AttentionItem]
    page: int
    pages: int
    total: int


async def needs_attention(
    session: AsyncSession, page: int = 1, per_page: int = ATTENTION_PAGE_SIZE
) -> AttentionPage:
    """Ideas waiting for a check and ideas with open reports, oldest first, one page of them."""
    reports = (
        select(ProposalReport.proposal_id, func.count().label("open"))
        .where(ProposalReport.handled_at.is_(None))
        .group_by(ProposalReport.proposal_id)
        .subquery()
    )
    condition = and_(
        or_(Proposal.moderation == Moderation.PENDING, reports.c.open > 0),
        # Withdrawn by its author: nothing left to check.
        Proposal.status != "withdrawn",
    )
    total = await session.scalar(
        select(func.count())
        .select_from(Proposal)
        .outerjoin(reports, reports.c.proposal_id == Proposal.id)
        .where(condition)
    )
    pages = max(1, math.ceil(total / per_page))
    page = min(max(page, 1), pages)
    rows = await session.execute(
        select(Proposal, Round, func.coalesce(reports.c.open, 0))
        .join(Round, Round.id == Proposal.round_id)
        .outerjoin(reports, reports.c.proposal_id == Proposal.id)
        .where(condition)
        .order_by(Proposal.created_at, Proposal.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    items = [AttentionItem(p, r, n) for p, r, n in rows.all()]
    return AttentionPage(items, page, pages, total)
