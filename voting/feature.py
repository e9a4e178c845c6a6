"""How the voting package plugs into Tori (see app/features.py)."""

from sqlalchemy import select

from app.database import utcnow
from app.features import Feature, Highlight
from app.i18n import N_
from voting.commands import COMMANDS
from voting.controllers import RoundsController
from voting.identify import IdentifyController
from voting.models import Round
from voting.residents import ResidentAccountController
from voting.staff import StaffRoundsController


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


feature = Feature(
    name="voting",
    route_handlers=(
        RoundsController,
        IdentifyController,
        ResidentAccountController,
        StaffRoundsController,
    ),
    model_modules=("voting.models",),
    staff_links=((N_("Participatory budgeting"), "/staff/pb"),),
    commands=COMMANDS,
    highlights=open_round_highlights,
)
