"""Retention of what moderation keeps: the reasons of idea reports go TORI_KEEP_REPORTS_DAYS after
the round's voting closed, the earlier texts of ideas (where removed personal data lives on)
TORI_KEEP_IDEA_VERSIONS_DAYS after its results were published; the idea itself stays."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import func, select

from app.audit.models import AuditRecord
from app.database import utcnow
from app.retention import apply_retention
from tests.factories import make_area
from tests.voting.factories import add_proposal, make_round
from voting.models import Proposal, ProposalReport, ProposalVersion

REPORTS = "reports of ideas in rounds whose voting closed over 30 days ago"
VERSIONS = "earlier texts of ideas in rounds published over 90 days ago"


def days_ago(days: float) -> dt.datetime:
    return utcnow() - dt.timedelta(days=days)


async def count(db, model, *where) -> int:
    return await db.scalar(select(func.count()).select_from(model).where(*where))


async def idea_with_history(db, round_, area, title: str) -> Proposal:
    proposal = await add_proposal(db, round_, area, title, 1_000, "rejected")
    db.add(ProposalReport(proposal_id=proposal.id, reason=f"{title}: names Matti, 040 123"))
    db.add(
        ProposalVersion(
            proposal_id=proposal.id,
            number=1,
            title={"fi": f"{title} Matti 040 123"},
            description={"fi": "Soita Matille"},
        )
    )
    await db.commit()
    return proposal


async def test_reports_and_earlier_texts_go_after_their_periods_and_the_idea_stays(db, settings):
    area = await make_area(db, "Kallio")
    old = await make_round(db, "results", {area.id: 100_000})
    recent = await make_round(db, "results", {area.id: 100_000})
    closed_only = await make_round(db, "results", {area.id: 100_000})
    # Old: voting closed 120 days ago, published 100 days ago: both periods are over.
    old.voting_open_at, old.voting_close_at = days_ago(130), days_ago(120)
    old.results_at = old.published_at = days_ago(100)
    # Recent: closed 20 days ago, published 10 days ago: neither is.
    recent.voting_open_at, recent.voting_close_at = days_ago(30), days_ago(20)
    recent.results_at = recent.published_at = days_ago(10)
    # Closed 40 days ago, never published: its reports go, its earlier texts stay.
    closed_only.voting_open_at, closed_only.voting_close_at = days_ago(50), days_ago(40)
    await db.commit()
    gone = (await idea_with_history(db, old, area, "Vanha")).id
    kept = (await idea_with_history(db, recent, area, "Uusi")).id
    half = (await idea_with_history(db, closed_only, area, "Puoli")).id

    dry = {
        item.what: item.count
        for item in await apply_retention(db, settings, utcnow(), dry_run=True)
    }
    assert (dry[REPORTS], dry[VERSIONS]) == (2, 1)
    assert await count(db, ProposalReport) == 3
    done = {item.what: item.count for item in await apply_retention(db, settings, utcnow())}
    assert (done[REPORTS], done[VERSIONS]) == (2, 1)

    assert list(await db.scalars(select(ProposalReport.proposal_id))) == [kept]
    assert set(await db.scalars(select(ProposalVersion.proposal_id))) == {kept, half}
    # Nothing of the removed text is left anywhere for the old round; the idea itself stays.
    assert await count(db, Proposal) == 3
    assert await count(db, ProposalVersion, ProposalVersion.proposal_id == gone) == 0
    record = await db.scalar(
        select(AuditRecord.record).where(AuditRecord.action == "retention.apply")
    )
    assert "reports of ideas" in record
    assert "Matti" not in record
    again = {item.what: item.count for item in await apply_retention(db, settings, utcnow())}
    assert (again[REPORTS], again[VERSIONS]) == (0, 0)


async def test_the_periods_are_settings(db, settings):
    area = await make_area(db, "Kallio")
    round_ = await make_round(db, "results", {area.id: 100_000})
    round_.voting_open_at, round_.voting_close_at = days_ago(12), days_ago(10)
    round_.results_at = round_.published_at = days_ago(8)
    await db.commit()
    await idea_with_history(db, round_, area, "Idea")
    short = dataclasses.replace(settings, keep_reports_days=7, keep_idea_versions_days=5)
    done = {item.what: item.count for item in await apply_retention(db, short, utcnow())}
    assert done["reports of ideas in rounds whose voting closed over 7 days ago"] == 1
    assert done["earlier texts of ideas in rounds published over 5 days ago"] == 1
    assert await count(db, ProposalReport) == await count(db, ProposalVersion) == 0
