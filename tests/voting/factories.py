"""Rounds, proposals, rolls and codes built through the same services the application uses."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy.ext.asyncio import AsyncSession

from app.areas.models import Area
from app.database import utcnow
from app.settings import Settings
from tests.conftest import TEST_SECRET
from voting import rounds
from voting.models import Proposal, Round
from voting.roll import RollRow, import_roll, issue_letter_codes, person_hash

# The tests' settings have no TORI_ROLL_KEY: the key is derived from the secret, as here.
ROLL_KEY = Settings(secret_key=TEST_SECRET).roll_key

PHASE_OFFSETS = {
    # Offsets in days of ideas, review, voting open, voting close, results from now.
    "upcoming": (1, 2, 3, 4, 5),
    "ideas": (-1, 2, 3, 4, 5),
    "review": (-2, -1, 3, 4, 5),
    "voting": (-3, -2, -1, 4, 5),
    "counting": (-4, -3, -2, -1, 5),
    "results": (-5, -4, -3, -2, -1),
}


def draft_in_phase(phase: str, budgets: dict[int | None, int], **changes) -> rounds.RoundDraft:
    now = utcnow().replace(microsecond=0)
    moments = [now + dt.timedelta(days=offset) for offset in PHASE_OFFSETS[phase]]
    values = {
        "title": {
            "fi": "Osallistuva budjetointi",
            "sv": "Medborgarbudget",
            "en": "Participatory budget",
        },
        "description": {"fi": "Kuvaus", "en": "Description"},
        "ideas_open_at": moments[0],
        "review_at": moments[1],
        "voting_open_at": moments[2],
        "voting_close_at": moments[3],
        "results_at": moments[4],
        "min_age": 12,
        "ballot_rule": "approval",
        "official_rule": "greedy",
        "budgets": budgets,
        **changes,
    }
    return rounds.RoundDraft(**values)


async def make_round(
    db: AsyncSession, phase: str, budgets: dict[int | None, int], **changes
) -> Round:
    return await rounds.create_round(db, draft_in_phase(phase, budgets, **changes))


async def move_to(db: AsyncSession, round_: Round, phase: str) -> None:
    """Shift a round's dates so that it is in `phase` now (ballots and proposals stay)."""
    now = utcnow().replace(microsecond=0)
    moments = [now + dt.timedelta(days=offset) for offset in PHASE_OFFSETS[phase]]
    (
        round_.ideas_open_at,
        round_.review_at,
        round_.voting_open_at,
        round_.voting_close_at,
        round_.results_at,
    ) = moments
    await db.commit()


async def add_proposal(
    db: AsyncSession,
    round_: Round,
    area: Area | None,
    title: str,
    cost: int,
    status: str = "accepted",
    *,
    moderation: str = "published",
    description: str | None = None,
) -> Proposal:
    proposal = Proposal(
        round_id=round_.id,
        area_id=area.id if area else None,
        # On the ballot in both official languages, as voting needs (voting/translations.py).
        title={"fi": title, "sv": title, "en": title},
        description=dict.fromkeys(("fi", "sv", "en"), description or f"About {title}"),
        estimated_cost=cost,
        final_cost=cost if status == "accepted" else None,
        status=status,
        reason={},
        implementation_note={},
        moderation=moderation,
        moderation_reason={},
    )
    db.add(proposal)
    await db.commit()
    return proposal


async def put_on_roll(
    db: AsyncSession, round_: Round, people: list[tuple[str, dt.date, Area]]
) -> None:
    rows = [RollRow(person_hash(ROLL_KEY, who), born, area.id, None) for who, born, area in people]
    await import_roll(db, round_, rows)


async def letter_codes(db: AsyncSession, round_: Round) -> dict[int, str]:
    """roll entry id -> code."""
    return {code.roll_id: code.code for code in await issue_letter_codes(db, round_)}


CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


async def sign_in_to_vote(client, round_: Round, code: str, born: dt.date, lang: str = "en"):
    await client.get(f"/pb/{round_.slug}/vote?lang={lang}")
    return await client.post(
        f"/pb/{round_.slug}/vote",
        data={
            "_csrf_token": client.cookies["tori_csrf"],
            "code": code,
            "birth_date": born.isoformat(),
        },
    )


def adult_birth_date() -> dt.date:
    return dt.date(1980, 5, 17)
