"""How the voting package plugs into Tori (see app/features.py)."""

import datetime as dt
from pathlib import Path

from sqlalchemy import select

from app.database import utcnow
from app.features import Feature, Highlight, Milestone
from app.i18n import N_
from voting import retention
from voting.commands import COMMANDS
from voting.controllers import RoundsController
from voting.demo import seed_budgeting
from voting.event_report import ideas_from_event
from voting.identify import IdentifyController
from voting.letters_staff import StaffLettersController
from voting.milestone_pages import (
    ImplementationController,
    MilestonePicturesController,
    StaffMilestonesController,
)
from voting.milestones import calendar_milestones
from voting.models import Round
from voting.notifications import announce_ballots
from voting.opendata import DATASETS as OPEN_DATA
from voting.participation import published_turnouts
from voting.places_staff import StaffPlacesController
from voting.resident_accounts import account_menu
from voting.residents import (
    ResidentAccountController,
    ResidentEmailController,
    ResidentPasswordController,
    UnsubscribeController,
)
from voting.review_pages import StaffReviewController
from voting.staff import ProposalPicturesController, StaffRoundsController


async def open_round_highlights(session) -> list[Highlight]:
    """Rounds collecting ideas or votes right now."""
    now = utcnow()
    found = []
    for round_ in await session.scalars(
        select(Round).where(Round.ideas_open_at <= now, Round.voting_close_at > now)
    ):
        if now < round_.review_at:
            found.append(
                Highlight(
                    kind=N_("Participatory budgeting: send your idea"),
                    title=round_.title,
                    url=f"/pb/{round_.slug}",
                    closes_at=round_.review_at,
                )
            )
        elif now >= round_.voting_open_at:
            found.append(
                Highlight(
                    kind=N_("Participatory budgeting: vote"),
                    title=round_.title,
                    url=f"/pb/{round_.slug}",
                    closes_at=round_.voting_close_at,
                )
            )
    return found


async def open_idea_forms(session) -> list[Highlight]:
    """Rounds collecting ideas right now, each with its idea form (for the pop-up kit)."""
    now = utcnow()
    return [
        Highlight(
            kind=N_("Participatory budgeting: send your idea"),
            title=round_.title,
            url=f"/pb/{round_.slug}/propose",
            closes_at=round_.review_at,
        )
        for round_ in await session.scalars(
            select(Round)
            .where(Round.ideas_open_at <= now, Round.review_at > now)
            .order_by(Round.review_at, Round.id)
            .limit(5)
        )
    ]


MILESTONE_KINDS = {
    "ideas_open_at": N_("Participatory budgeting: ideas can be sent from today"),
    "review_at": N_("Participatory budgeting: the ideas are reviewed and costed"),
    "voting_open_at": N_("Participatory budgeting: voting opens"),
    "voting_close_at": N_("Participatory budgeting: voting closes"),
    "results_at": N_("Participatory budgeting: results"),
}


IMPLEMENTATION_KIND = N_("Carrying out a winning proposal")


async def round_milestones(session, start, end) -> list[Milestone]:
    """Every phase of every round that starts within the window, and the dated steps of
    carrying out the winning proposals (voting/milestones.py), for the public calendar."""
    found = []
    for round_ in await session.scalars(
        select(Round).where(Round.ideas_open_at < end, Round.results_at >= start)
    ):
        for name, kind in MILESTONE_KINDS.items():
            moment = getattr(round_, name)
            if start <= moment < end:
                found.append(
                    Milestone(
                        kind,
                        round_.title,
                        f"/pb/{round_.slug}",
                        moment,
                        uid=f"pb-round-{round_.id}-{name.removesuffix('_at')}",
                        updated_at=round_.created_at,
                    )
                )
    for step in await calendar_milestones(session, start.date(), end.date()):
        found.append(
            Milestone(
                IMPLEMENTATION_KIND,
                step.title,
                f"/pb/{step.round_slug}/implementation#proposal-{step.proposal_id}",
                dt.datetime.combine(step.date, dt.time(12), tzinfo=dt.UTC),
                uid=f"pb-milestone-{step.id}",
                description=step.text,
                area_id=step.area_id,
                updated_at=step.updated_at,
                day=step.date,
            )
        )
    return found


feature = Feature(
    event_report=ideas_from_event,
    open_data=OPEN_DATA,
    name="voting",
    template_directories=(Path(__file__).parent / "templates",),
    route_handlers=(
        ImplementationController,
        RoundsController,
        IdentifyController,
        ResidentAccountController,
        ResidentPasswordController,
        ResidentEmailController,
        UnsubscribeController,
        StaffRoundsController,
        ProposalPicturesController,
        StaffReviewController,
        StaffPlacesController,
        StaffLettersController,
        StaffMilestonesController,
        MilestonePicturesController,
    ),
    model_modules=("voting.models",),
    staff_links=(
        (N_("Participatory budgeting"), "/staff/pb"),
        (N_("Ideas that need attention"), "/staff/pb/attention"),
    ),
    public_links=((N_("Participatory budgeting"), "/pb"),),
    commands=COMMANDS,
    retention=retention.apply,
    timed_mail=announce_ballots,
    privacy_sections=("pb/privacy.html",),
    highlights=open_round_highlights,
    idea_forms=open_idea_forms,
    milestones=round_milestones,
    seed_demo=seed_budgeting,
    account_menu=account_menu,
    turnouts=published_turnouts,
)
