"""Retention for participatory budgeting (see the privacy notice):

- voting codes are deleted once voting has closed: they open nothing any more;
- the voter roll (keyed hashes of identifiers, birth dates, districts, mailing references) and
  the paper-ballot typings are deleted TORI_KEEP_ROLL_DAYS after the results were published.
  Ballots, the ballot log and the published board stay: they hold no one's identity;
- resident accounts whose address was never confirmed go after TORI_KEEP_UNCONFIRMED_DAYS;
- expired resident sessions go (each sign-in also clears some);
- reports of ideas (anyone's reasons, which may name people) are deleted TORI_KEEP_REPORTS_DAYS
  after the round's voting closed: what staff decided stays in the staff audit log;
- the earlier texts of ideas (kept when staff removed personal data or edited them) are deleted
  TORI_KEEP_IDEA_VERSIONS_DAYS after the round's results were published, when the text can no
  longer change and no one needs to compare.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.retention import Removed, delete_where
from app.settings import Settings
from voting.models import (
    PaperEntry,
    Proposal,
    ProposalReport,
    ProposalVersion,
    Resident,
    ResidentSession,
    RollEntry,
    Round,
    VotingCode,
)


async def apply(
    session: AsyncSession, settings: Settings, now: dt.datetime, dry_run: bool
) -> list[Removed]:
    closed = select(Round.id).where(Round.voting_close_at < now)
    days = settings.keep_roll_days
    settled = select(Round.id).where(Round.published_at < now - dt.timedelta(days=days))
    unconfirmed = now - dt.timedelta(days=settings.keep_unconfirmed_days)
    report_days, version_days = settings.keep_reports_days, settings.keep_idea_versions_days
    closed_long_ago = select(Proposal.id).where(
        Proposal.round_id.in_(
            select(Round.id).where(Round.voting_close_at < now - dt.timedelta(days=report_days))
        )
    )
    published_long_ago = select(Proposal.id).where(
        Proposal.round_id.in_(
            select(Round.id).where(Round.published_at < now - dt.timedelta(days=version_days))
        )
    )
    return [
        Removed(
            "voting codes of rounds whose voting has closed",
            await delete_where(session, VotingCode, VotingCode.round_id.in_(closed), dry_run),
        ),
        Removed(
            f"voter-roll entries of rounds published over {days} days ago",
            await delete_where(session, RollEntry, RollEntry.round_id.in_(settled), dry_run),
        ),
        Removed(
            f"paper-ballot typings of rounds published over {days} days ago",
            await delete_where(session, PaperEntry, PaperEntry.round_id.in_(settled), dry_run),
        ),
        Removed(
            f"resident accounts not confirmed within {settings.keep_unconfirmed_days} days",
            await delete_where(
                session,
                Resident,
                Resident.confirmed_at.is_(None) & (Resident.created_at < unconfirmed),
                dry_run,
            ),
        ),
        Removed(
            "expired resident sessions",
            await delete_where(session, ResidentSession, ResidentSession.expires_at < now, dry_run),
        ),
        Removed(
            f"reports of ideas in rounds whose voting closed over {report_days} days ago",
            await delete_where(
                session,
                ProposalReport,
                ProposalReport.proposal_id.in_(closed_long_ago),
                dry_run,
            ),
        ),
        Removed(
            f"earlier texts of ideas in rounds published over {version_days} days ago",
            await delete_where(
                session,
                ProposalVersion,
                ProposalVersion.proposal_id.in_(published_long_ago),
                dry_run,
            ),
        ),
    ]
