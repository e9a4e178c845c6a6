"""Participatory budgeting's part of an event's public card ("you said – we did"): the ideas
gathered at the event (entered by staff with the event recorded), each with where it stands.
Only what the public proposal pages show: an idea waiting for a check or withdrawn is left out,
a hidden one keeps its neutral title."""

from __future__ import annotations

from sqlalchemy import select

from app.events.report import ReportSection
from voting import moderation
from voting.models import Proposal, Round
from voting.rounds import PROPOSAL_STATUSES


async def ideas_from_event(session, event, settings) -> list[ReportSection]:
    proposals = [
        (proposal, slug)
        for proposal, slug in await session.execute(
            select(Proposal, Round.slug)
            .join(Round, Round.id == Proposal.round_id)
            .where(Proposal.event_id == event.id)
            .order_by(Proposal.id)
            .limit(200)
        )
        if moderation.visible_to(proposal, None)
    ]
    if not proposals:
        return []
    return [
        ReportSection(
            "pb/_event_ideas.html",
            {"proposals": proposals, "statuses": PROPOSAL_STATUSES},
        )
    ]
