"""The ballot a voter sees, checking what they chose, and casting it exactly once."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from cachetools import TTLCache
from sqlalchemy import delete, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.areas.models import Area
from app.database import utcnow
from app.errors import DomainError
from app.i18n import N_, gettext, ngettext
from voting.models import Budget, PendingBallot, Proposal, RollEntry, Round, VotingCode
from voting.rounds import phase_of, round_by_slug
from voting.tally.board import CHANNELS, entry_body, tracker_of


@dataclass
class BallotPart:
    """The proposals of one budget on a voter's ballot: their district's, or the city-wide one."""

    budget: Budget
    proposals: list[Proposal]

    @property
    def key(self) -> str:
        return str(self.budget.area_id) if self.budget.area_id else "city"

    @property
    def area(self) -> Area | None:
        return self.budget.area


async def ballot_parts(
    session: AsyncSession, round_: Round, area_id: int | None
) -> list[BallotPart]:
    """The voter's district part (when their area has a budget) and the city-wide part."""
    parts = []
    for budget in sorted(round_.budgets, key=lambda b: b.area_id is None):
        if budget.area_id is not None and budget.area_id != area_id:
            continue
        proposals = list(
            await session.scalars(
                select(Proposal)
                .where(
                    Proposal.round_id == round_.id,
                    Proposal.status == "accepted",
                    Proposal.area_id.is_(None)
                    if budget.area_id is None
                    else Proposal.area_id == budget.area_id,
                )
                .order_by(Proposal.id)
            )
        )
        parts.append(BallotPart(budget, proposals))
    return parts


@dataclass
class PartTotal:
    part: BallotPart
    chosen: list[Proposal] = field(default_factory=list)
    points: dict[int, int] = field(default_factory=dict)
    cost: int = 0
    used_points: int = 0
    error: str | None = None

    @property
    def remaining(self) -> int:
        return self.part.budget.amount - self.cost


@dataclass
class ReadBallot:
    totals: list[PartTotal]
    # Proposal id -> points (1 for approval ballots).
    choices: dict[int, int]
    errors: dict[str, str]

    @property
    def is_valid(self) -> bool:
        return not self.errors


def read_ballot(round_: Round, parts: list[BallotPart], fields: dict[str, list[str]]) -> ReadBallot:  # noqa: PLR0912 - one branch per rule and per kind of error
    """What the voter chose, part by part, with an error in their language for a part that
    breaks the round's rule. Ids that are not on this voter's ballot are refused."""
    errors: dict[str, str] = {}
    choices: dict[int, int] = {}
    totals = []
    on_ballot = {p.id: p for part in parts for p in part.proposals}
    picked = fields.get("proposal", [])
    if len(picked) > len(on_ballot) or any(
        not value.isdecimal() or int(value) not in on_ballot for value in picked
    ):
        errors["form"] = gettext("Choose from the proposals shown on your ballot.")
        picked = []
    for part in parts:
        total = PartTotal(part)
        for proposal in part.proposals:
            if round_.ballot_rule == "points":
                raw = (fields.get(f"points_{proposal.id}") or [""])[0].strip()
                if not raw:
                    continue
                if not raw.isdecimal() or len(raw) > 4:
                    errors[f"points_{proposal.id}"] = gettext("Enter a whole number of points.")
                    continue
                value = int(raw)
                if value > (round_.points_per_proposal or 0):
                    errors[f"points_{proposal.id}"] = gettext(
                        "Give at most %(num)d points to one proposal."
                    ) % {"num": round_.points_per_proposal}
                    continue
                if value:
                    total.points[proposal.id] = value
                    total.used_points += value
                    total.chosen.append(proposal)
            elif str(proposal.id) in picked:
                total.chosen.append(proposal)
        total.cost = sum(p.cost for p in total.chosen)
        if round_.ballot_rule == "approval" and total.cost > part.budget.amount:
            total.error = gettext(
                "The proposals you chose cost more than the budget. Remove some to fit."
            )
        elif round_.ballot_rule == "k_approval" and len(total.chosen) > (round_.max_choices or 0):
            total.error = ngettext(
                "Choose at most %(num)d proposal.",
                "Choose at most %(num)d proposals.",
                round_.max_choices or 0,
            ) % {"num": round_.max_choices}
        elif round_.ballot_rule == "points" and total.used_points > (round_.points_total or 0):
            total.error = gettext("You have %(num)d points to give in this part.") % {
                "num": round_.points_total
            }
        if total.error:
            errors[f"part_{part.key}"] = total.error
        for proposal in total.chosen:
            choices[proposal.id] = total.points.get(proposal.id, 1)
        totals.append(total)
    return ReadBallot(totals, choices, errors)


class AlreadyVotedError(DomainError):
    status_code = 409


ALREADY_VOTED = N_("You have already voted in this round. A vote cannot be changed.")
NOT_ON_ROLL = N_("You are not on the voter roll of this round.")
VOTING_CLOSED = N_("Voting is not open in this round.")
AREA_CHANGED = N_("Your district on the voter roll has changed. Sign in again to see your ballot.")
ANY_AREA = object()


async def cast_ballot(
    session: AsyncSession,
    round_: Round,
    roll_id: int,
    channel: str,
    choices: dict[int, int],
    area_id: Any = ANY_AREA,
) -> str:
    """Mark the roll and store the ballot as pending in one transaction: the row lock on the
    roll entry lets exactly one of many simultaneous attempts through. The voting window
    (and, when given, the district the ballot was made for) is checked by the same statement.
    The ballot gets a random id and no trace of the voter; it joins the log later, shuffled
    into a batch by the mixer (voting/mixing.py). A used assisted code is deleted. Returns the
    ballot's tracker, the voter's receipt. (PostgreSQL's busy path is `cast_ballot_pg`, one
    statement with the same effect.)"""
    if channel not in CHANNELS:
        raise ValueError(channel)
    now = utcnow()
    conditions = [
        RollEntry.id == roll_id,
        RollEntry.round_id == round_.id,
        RollEntry.voted_via.is_(None),
        exists().where(
            Round.id == round_.id,
            Round.voting_open_at <= now,
            Round.voting_close_at > now,
            Round.published_at.is_(None),
        ),
    ]
    if area_id is not ANY_AREA:
        conditions.append(RollEntry.area_id.is_not_distinct_from(area_id))
    try:
        marked = (
            await session.execute(
                update(RollEntry)
                .where(*conditions)
                .values(voted_via=channel)
                .returning(RollEntry.area_id)
                .execution_options(synchronize_session=False)
            )
        ).first()
        if marked is None:
            await _refuse(session, round_.id, roll_id, area_id)
        await session.execute(
            delete(VotingCode).where(VotingCode.roll_id == roll_id, VotingCode.kind == "assisted")
        )
        ballot_id = secrets.token_hex(16)
        tracker = tracker_of(entry_body(round_.slug, marked.area_id, ballot_id, choices))
        await session.execute(
            insert(PendingBallot).values(
                id=ballot_id,
                round_id=round_.id,
                area_id=marked.area_id,
                tracker=tracker,
                choices=canonical_choices(choices),
            )
        )
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return tracker


def canonical_choices(choices: dict[int, int]) -> dict[str, int]:
    return {str(k): int(v) for k, v in sorted(choices.items(), key=lambda item: int(item[0]))}


_PG_CAST = """
WITH marked AS (
    UPDATE voter_roll SET voted_via = $3
    WHERE id = $2 AND round_id = $1 AND voted_via IS NULL AND area_id IS NOT DISTINCT FROM $4
      AND EXISTS (
          SELECT 1 FROM pb_round
          WHERE id = $1 AND voting_open_at <= now() AND voting_close_at > now()
            AND published_at IS NULL
      )
    RETURNING id, area_id
), used AS (
    DELETE FROM voting_code
    WHERE kind = 'assisted' AND roll_id IN (SELECT id FROM marked)
)
INSERT INTO pb_pending (id, round_id, area_id, tracker, choices)
SELECT $5, $1, area_id, $7, $6::jsonb FROM marked
RETURNING tracker
"""


async def cast_ballot_pg(
    connection: Any,
    round_: Round,
    roll_id: int,
    channel: str,
    area_id: int | None,
    choices: dict[int, int],
) -> str:
    """The same as `cast_ballot` in one statement on a plain asyncpg connection (it commits
    by itself): the roll is marked and the ballot stored as pending together, or nothing
    happens; acknowledged means durable. Returns the tracker (the receipt)."""
    if channel not in CHANNELS:
        raise ValueError(channel)
    round_id = round_.id
    ballot_id = secrets.token_hex(16)
    tracker = tracker_of(entry_body(round_.slug, area_id, ballot_id, choices))
    stored = await connection.fetchval(
        _PG_CAST,
        round_id,
        roll_id,
        channel,
        area_id,
        ballot_id,
        json.dumps(canonical_choices(choices)),
        tracker,
    )
    if stored is None:
        row = await connection.fetchrow(
            "SELECT r.voted_via, r.area_id,"
            " (SELECT voting_open_at <= now() AND voting_close_at > now() FROM pb_round WHERE id = $1)"
            " FROM voter_roll r WHERE r.id = $2 AND r.round_id = $1",
            round_id,
            roll_id,
        )
        _explain(row and (row[0], row[1], row[2]), area_id)
    return stored


async def _refuse(session: AsyncSession, round_id: int, roll_id: int, area_id: Any) -> None:
    now = utcnow()
    row = (
        await session.execute(
            select(
                RollEntry.voted_via, RollEntry.area_id, Round.voting_open_at, Round.voting_close_at
            )
            .join(Round, Round.id == RollEntry.round_id)
            .where(RollEntry.id == roll_id, RollEntry.round_id == round_id)
        )
    ).first()
    _explain(row and (row[0], row[1], row[2] <= now < row[3]), area_id)


def _explain(row: tuple | None, area_id: Any) -> None:
    """Why a ballot was not stored: raises the error the voter is shown."""
    if row is None:
        raise DomainError(NOT_ON_ROLL)
    voted_via, roll_area, is_open = row
    if voted_via is not None:
        raise AlreadyVotedError(ALREADY_VOTED)
    if not is_open:
        raise DomainError(VOTING_CLOSED)
    if area_id is not ANY_AREA and roll_area != area_id:
        raise AreaChangedError(AREA_CHANGED)
    raise DomainError(VOTING_CLOSED)


class AreaChangedError(DomainError):
    status_code = 409


class BallotCache:
    """Per process, for rounds open for voting: the round by its link (a few seconds) and each
    district's ballot parts. The ballot cannot change once voting has opened, and the storing
    statement checks the voting window itself, so a cached copy never lets a late vote in."""

    def __init__(self, round_seconds: float = 5.0, parts_seconds: float = 60.0) -> None:
        self._rounds: TTLCache[str, Round] = TTLCache(
            maxsize=1000, ttl=round_seconds, timer=time.monotonic
        )
        # The link is part of the key: ids can be reused by a database rebuilt from scratch.
        self._parts: TTLCache[tuple[int, str, int | None], list[BallotPart]] = TTLCache(
            maxsize=1000, ttl=parts_seconds, timer=time.monotonic
        )

    async def round(self, session: AsyncSession, slug: str) -> Round:
        round_ = self._rounds.get(slug)
        if round_ is None:
            round_ = await round_by_slug(session, slug)
            _detach(session, round_, *round_.budgets, *(b.area for b in round_.budgets if b.area))
            self._rounds[slug] = round_
        return round_

    async def parts(
        self, session: AsyncSession, round_: Round, area_id: int | None
    ) -> list[BallotPart]:
        if phase_of(round_) != "voting":
            return await ballot_parts(session, round_, area_id)
        key = (round_.id, round_.slug, area_id)
        parts = self._parts.get(key)
        if parts is None:
            parts = await ballot_parts(session, round_, area_id)
            _detach(session, *(p for part in parts for p in part.proposals))
            self._parts[key] = parts
        return parts


def _detach(session: AsyncSession, *objects: Any) -> None:
    """Take fully loaded rows out of the request's session, so that the session's end (a
    rollback expires what it holds) leaves the cached copies readable."""
    for item in objects:
        if item in session:
            session.expunge(item)
