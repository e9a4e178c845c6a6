"""The ballot a voter sees, checking what they chose, and casting it exactly once."""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from cachetools import LRUCache, TTLCache
from sqlalchemy import Integer, String, bindparam, delete, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.areas.models import Area
from app.database import PortableJSON, RawConnection, utcnow
from app.errors import DomainError, ForbiddenError
from app.i18n import N_, gettext, ngettext
from app.requests import ascii_int
from voting.models import Budget, PendingBallot, Proposal, RollEntry, Round, VotingCode
from voting.rounds import phase_of, round_by_slug
from voting.tally.board import CHANNELS, entry_body, tracker_of
from voting.tally.definition import Definition, Project
from voting.translations import ballot_translated


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


def in_voter_order(parts: list[BallotPart], seed: bytes) -> list[BallotPart]:
    """Each part's proposals in this voter's own random order, so that no proposal gains from
    its place on the ballot. The order comes from `seed` (voting.voters.Voter.order_seed): the
    same on every page of one sign-in, a new one at the next, and stored nowhere."""
    ordered = []
    for part in parts:
        proposals = list(part.proposals)
        shuffle_seed = hmac.new(seed, part.key.encode(), hashlib.sha256).digest()
        random.Random(shuffle_seed).shuffle(proposals)  # noqa: S311 - fairness, not secrecy
        ordered.append(BallotPart(part.budget, proposals))
    return ordered


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
    # Proposal id -> points (1 for approval ballots, the rank on ranking ballots).
    choices: dict[int, int]
    errors: dict[str, str]

    @property
    def is_valid(self) -> bool:
        return not self.errors


def limits_text(budget: Budget) -> str | None:
    """The budget's limits on the number of choices in plain words, or None without limits."""
    least, most = budget.min_choices, budget.max_choices
    if least and most and least == most:
        return ngettext(
            "Choose exactly %(num)d proposal here, or leave this part empty.",
            "Choose exactly %(num)d proposals here, or leave this part empty.",
            least,
        ) % {"num": least}
    if least and most:
        return gettext(
            "Choose at least %(least)d and at most %(most)d proposals here, or leave this part"
            " empty."
        ) % {"least": least, "most": most}
    if least:
        return ngettext(
            "Choose at least %(num)d proposal here, or leave this part empty.",
            "Choose at least %(num)d proposals here, or leave this part empty.",
            least,
        ) % {"num": least}
    if most:
        return ngettext(
            "Choose at most %(num)d proposal here.", "Choose at most %(num)d proposals here.", most
        ) % {"num": most}
    return None


def _read_number(
    fields: dict[str, list[str]], name: str, most: int, errors: dict[str, str], message: str
) -> int | None:
    """A whole number 0 … `most` from one field (None when empty or wrong: wrong adds the
    error)."""
    raw = (fields.get(name) or [""])[0].strip()
    if not raw:
        return None
    value = ascii_int(raw, maximum=9999)
    if value is None:
        errors[name] = gettext("Enter a whole number of points.")
        return None
    if value > most:
        errors[name] = message
        return None
    return value


def _read_ranks(
    part: BallotPart, total: PartTotal, fields: dict[str, list[str]], ranks: int, errors: dict
) -> None:
    """The ranks given in one part: each proposal's select (empty: not ranked)."""
    given: dict[int, list[Proposal]] = {}
    for proposal in part.proposals:
        name = f"rank_{proposal.id}"
        raw = (fields.get(name) or [""])[0].strip()
        if not raw:
            continue
        value = ascii_int(raw, minimum=1, maximum=ranks)
        if value is None:
            errors[name] = ngettext(
                "Choose rank %(num)d or leave the proposal unranked.",
                "Choose a rank from 1 to %(num)d or leave the proposal unranked.",
                ranks,
            ) % {"num": ranks}
            continue
        given.setdefault(value, []).append(proposal)
        total.points[proposal.id] = value
    for rank, proposals in given.items():
        if len(proposals) > 1:
            for proposal in proposals:
                errors[f"rank_{proposal.id}"] = gettext(
                    "Rank %(num)d is given to more than one proposal. Give each rank once."
                ) % {"num": rank}
    total.chosen = sorted(
        (p for p in part.proposals if p.id in total.points), key=lambda p: total.points[p.id]
    )
    missing = [rank for rank in range(1, len(given) + 1) if rank not in given]
    if missing and not total.error:
        total.error = gettext(
            "Give the ranks in order from 1 without skipping any: rank %(num)d is missing."
        ) % {"num": missing[0]}


def _limit_error(part: BallotPart, count: int) -> str | None:
    """The error of a part whose number of choices is outside its budget's limits (a part left
    empty is allowed)."""
    least, most = part.budget.min_choices, part.budget.max_choices
    if count and least and count < least:
        return ngettext(
            "Choose at least %(num)d proposal in this part, or leave it empty.",
            "Choose at least %(num)d proposals in this part, or leave it empty.",
            least,
        ) % {"num": least}
    if most and count > most:
        return ngettext(
            "Choose at most %(num)d proposal.", "Choose at most %(num)d proposals.", most
        ) % {"num": most}
    return None


def read_ballot(round_: Round, parts: list[BallotPart], fields: dict[str, list[str]]) -> ReadBallot:  # noqa: PLR0912 - one branch per rule and per kind of error
    """What the voter chose, part by part, with an error in their language for a part that
    breaks the round's rule or its budget's limits. Ids that are not on this voter's ballot are
    refused."""
    errors: dict[str, str] = {}
    choices: dict[int, int] = {}
    totals = []
    on_ballot = {p.id: p for part in parts for p in part.proposals}
    picked = fields.get("proposal", [])
    if len(picked) > len(on_ballot) or any(ascii_int(value) not in on_ballot for value in picked):
        errors["form"] = gettext("Choose from the proposals shown on your ballot.")
        picked = []
    rule = round_.ballot_rule
    for part in parts:
        total = PartTotal(part)
        if rule == "ranking":
            _read_ranks(part, total, fields, round_.max_choices or 1, errors)
        for proposal in part.proposals if rule != "ranking" else ():
            if rule == "points":
                value = _read_number(
                    fields,
                    f"points_{proposal.id}",
                    round_.points_per_proposal or 0,
                    errors,
                    gettext("Give at most %(num)d points to one proposal.")
                    % {"num": round_.points_per_proposal},
                )
                if value:
                    total.points[proposal.id] = value
                    total.used_points += value
                    total.chosen.append(proposal)
            elif str(proposal.id) in picked:
                total.chosen.append(proposal)
        total.cost = sum(p.cost for p in total.chosen)
        if total.error:
            pass
        elif rule == "approval" and total.cost > part.budget.amount:
            total.error = gettext(
                "The proposals you chose cost more than the budget. Remove some to fit."
            )
        elif rule in ("k_approval", "ranking") and len(total.chosen) > (round_.max_choices or 0):
            total.error = ngettext(
                "Choose at most %(num)d proposal.",
                "Choose at most %(num)d proposals.",
                round_.max_choices or 0,
            ) % {"num": round_.max_choices}
        elif rule == "points" and total.used_points > (round_.points_total or 0):
            total.error = gettext("You have %(num)d points to give in this part.") % {
                "num": round_.points_total
            }
        if not total.error:
            total.error = _limit_error(part, len(total.chosen))
        if total.error:
            errors[f"part_{part.key}"] = total.error
        for proposal in total.chosen:
            choices[proposal.id] = total.points.get(proposal.id, 1)
        totals.append(total)
    return ReadBallot(totals, choices, errors)


# The rules of the ballots being cast: a worker's voters share a few ballots (one per district),
# whose parts `BallotCache` keeps; the rules made of the same round and parts are the same.
# Each entry holds its round and parts, so their ids cannot be reused while it is kept.
_RULES: LRUCache[tuple, tuple[Round, list[BallotPart], Definition]] = LRUCache(maxsize=64)
_RULES_LOCK = threading.Lock()  # casts also run in worker threads (paper ballots, imports)


def ballot_rules(round_: Round, parts: list[BallotPart]) -> Definition:
    """The round's rules over one voter's ballot, as the verifier checks every board entry:
    the proposals on this ballot (the voter's district's and the city-wide ones), the budgets,
    the ballot rule and the budgets' limits. One piece of code decides, here and in tori-verify,
    whether a ballot may be counted. Made once for the same round and parts objects (a cast
    reuses the cached ones) and the same rule settings."""
    key = (
        id(round_),
        id(parts),
        round_.ballot_rule,
        round_.max_choices,
        round_.points_total,
        round_.points_per_proposal,
    )
    with _RULES_LOCK:
        kept = _RULES.get(key)
    if kept is not None and kept[0] is round_ and kept[1] is parts:
        return kept[2]
    rules = _ballot_rules(round_, parts)
    with _RULES_LOCK:
        _RULES[key] = (round_, parts, rules)
    return rules


def _ballot_rules(round_: Round, parts: list[BallotPart]) -> Definition:
    budgets = [part.budget for part in parts]
    return Definition(
        record={},
        ballot_rule=round_.ballot_rule,
        max_choices=round_.max_choices,
        points_total=round_.points_total,
        points_per_proposal=round_.points_per_proposal,
        amounts={b.area_id: b.amount for b in budgets},
        projects={str(p.id): Project(p.area_id, p.cost) for part in parts for p in part.proposals},
        limits={
            b.area_id: (b.min_choices or 0, b.max_choices)
            for b in budgets
            if b.min_choices is not None or b.max_choices is not None
        },
    )


class BallotRulesError(DomainError):
    status_code = 400


BREAKS_RULES = N_(
    "This ballot does not keep the rules of the round, so it was not stored. Go back to the"
    " ballot and check your choices."
)


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
    database: Any = None,
    parts: list[BallotPart] | None = None,
) -> str:
    """Mark the roll and store the ballot as pending in one transaction, or do neither: the row
    lock on the roll entry lets exactly one of many simultaneous attempts through, and the
    voting window and the district the ballot was made for (the voter's district on the roll
    when `area_id` is not given) are checked by the marking statement itself. The ballot gets a
    random id and no trace of the voter; it joins the log later, shuffled into a batch by the
    mixer (voting/mixing.py). A used assisted code is deleted. Commits; acknowledged means
    durable. Returns the ballot's tracker, the voter's receipt.

    The one write path of a cast, on PostgreSQL and SQLite alike; the only difference,
    PostgreSQL's single statement, lives in `_store`. `database` (the app's Database) lets
    a voter's cast on PostgreSQL run that statement on a plain asyncpg connection.

    The choices must keep the round's rules on the ballot of that district (`parts`, the
    ballot's parts when the caller has them from `ballot_parts`, else read here): proposals
    of this round's ballot only, within the budget, the number of choices, the points and the
    ranks – the same check as tori-verify's (`ballot_rules`). A ballot that breaks them is
    refused with `BallotRulesError` before anything is stored, whoever calls."""
    if channel not in CHANNELS:
        raise ValueError(channel)
    try:
        if area_id is ANY_AREA:
            area_id = await session.scalar(
                select(RollEntry.area_id).where(
                    RollEntry.id == roll_id, RollEntry.round_id == round_.id
                )
            )
        if parts is None:
            idle = not session.in_transaction()
            parts = await ballot_parts(session, round_, area_id)
            if idle:
                # End the read: a cast begun with nothing in the session stays one statement
                # of its own (`_store`). Nothing was written; nothing loaded is expired.
                await session.commit()
        problem = ballot_rules(round_, parts).ballot_problem(
            area_id, {str(k): v for k, v in choices.items()}
        )
        if problem is not None:
            raise BallotRulesError(BREAKS_RULES)
        ballot_id = secrets.token_hex(16)
        values = {
            "p_roll": roll_id,
            "p_round": round_.id,
            "p_area": area_id,
            "p_now": utcnow(),
            "p_channel": str(channel),
            "p_ballot": ballot_id,
            "p_tracker": tracker_of(entry_body(round_.slug, area_id, ballot_id, choices)),
            "p_choices": canonical_choices(choices),
        }
        if not await _store(session, values, database):
            await _refuse(session, round_.id, roll_id, area_id)
        if session.in_transaction():  # not after the plain connection's statement alone
            await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return values["p_tracker"]


def _cast_statements() -> tuple[Any, Any, Any, Any]:
    """The statements of a cast, built once (Core, with named parameters: no per-cast
    statement building or ORM work on the busiest write of a round): marking the roll,
    deleting an assisted code, storing the pending ballot, and PostgreSQL's one statement
    that does all three."""
    roll, round_, codes = RollEntry.__table__, Round.__table__, VotingCode.__table__
    pending = PendingBallot.__table__
    mark = (
        update(roll)
        .where(
            roll.c.id == bindparam("p_roll"),
            roll.c.round_id == bindparam("p_round"),
            roll.c.voted_via.is_(None),
            roll.c.area_id.is_not_distinct_from(bindparam("p_area", type_=Integer)),
            exists().where(
                round_.c.id == bindparam("p_round"),
                round_.c.voting_open_at <= bindparam("p_now"),
                round_.c.voting_close_at > bindparam("p_now"),
                round_.c.published_at.is_(None),
            ),
        )
        .values(voted_via=bindparam("p_channel"))
        .returning(roll.c.id)
    )
    unused = delete(codes).where(codes.c.kind == "assisted")
    row = (
        bindparam("p_ballot", type_=String),
        bindparam("p_round", type_=Integer),
        bindparam("p_area", type_=Integer),
        bindparam("p_tracker", type_=String),
        bindparam("p_choices", type_=PortableJSON),
    )
    columns = ["id", "round_id", "area_id", "tracker", "choices"]
    store = insert(pending).values(dict(zip(columns, row, strict=True)))
    marked = mark.cte("marked")
    at_once = (
        insert(pending)
        .from_select(columns, select(*row).select_from(marked))
        .returning(pending.c.id)
        .add_cte(unused.where(codes.c.roll_id.in_(select(marked.c.id))).cte("used"))
    )
    return mark, unused.where(codes.c.roll_id == bindparam("p_roll")), store, at_once


_MARK, _UNUSED_CODE, _STORE, _AT_ONCE = _cast_statements()


async def _store(session: AsyncSession, values: dict[str, Any], database: Any = None) -> bool:
    """Mark the roll, delete the voter's assisted code and store the pending ballot; False
    when the roll was not marked (and nothing was stored). On PostgreSQL the three are one
    statement, atomic by itself: when the session has begun nothing yet (a voter's cast) it
    runs as its own transaction – on the database's plain asyncpg connection when one is given
    (the voters' busy path; benchmarks/pb_cast.py), else without BEGIN and COMMIT – and
    otherwise (a paper ballot's second typing) in the session's transaction. Elsewhere three
    statements in the session's transaction, the later two only after the first has marked
    the roll."""
    if session.get_bind().dialect.name == "postgresql":
        if database is not None and not session.in_transaction():
            async with database.raw_connection() as connection:
                return await RawConnection(connection).scalar(_AT_ONCE, values) is not None
        alone = {} if session.in_transaction() else {"isolation_level": "AUTOCOMMIT"}
        connection = await session.connection(execution_options=alone)
        return (await connection.execute(_AT_ONCE, values)).first() is not None
    connection = await session.connection()
    if (await connection.execute(_MARK, values)).first() is None:
        return False
    await connection.execute(_UNUSED_CODE, values)
    await connection.execute(_STORE, values)
    return True


def canonical_choices(choices: dict[int, int]) -> dict[str, int]:
    return {str(k): int(v) for k, v in sorted(choices.items(), key=lambda item: int(item[0]))}


async def _refuse(session: AsyncSession, round_id: int, roll_id: int, area_id: Any) -> None:
    """Why a ballot was not stored: raises the error the voter is shown."""
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
    if row is None:
        raise DomainError(NOT_ON_ROLL)
    voted_via, roll_area, opens, closes = row
    if voted_via is not None:
        raise AlreadyVotedError(ALREADY_VOTED)
    if not opens <= now < closes:
        raise DomainError(VOTING_CLOSED)
    if roll_area != area_id:
        raise AreaChangedError(AREA_CHANGED)
    raise DomainError(VOTING_CLOSED)


async def check_not_voted(session: AsyncSession, round_: Round, roll_id: int) -> None:
    """The signed-in voter's roll entry is in this round and has not voted yet."""
    entry = await session.get(RollEntry, roll_id)
    if entry is None or entry.round_id != round_.id:
        raise ForbiddenError(N_("Sign in to vote first. Your sign-in lasts 30 minutes."))
    if entry.voted_via is not None:
        raise AlreadyVotedError(ALREADY_VOTED)


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
        self._translated: TTLCache[tuple[int, str], bool] = TTLCache(
            maxsize=1000, ttl=parts_seconds, timer=time.monotonic
        )

    async def translated(self, session: AsyncSession, round_: Round) -> bool:
        """Whether the round's ballot has its Finnish and Swedish text, so voting may open. A
        yes is kept: a proposal on the ballot cannot lose either once voting has opened."""
        key = (round_.id, round_.slug)
        if self._translated.get(key):
            return True
        ready = await ballot_translated(session, round_.id)
        if ready:
            self._translated[key] = True
        return ready

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
            idle = not session.in_transaction()
            parts = await ballot_parts(session, round_, area_id)
            if idle:
                # End the read: a cast begun with nothing in the session stays one statement
                # of its own (`_store`). Nothing was written; nothing loaded is expired.
                await session.commit()
            _detach(session, *(p for part in parts for p in part.proposals))
            self._parts[key] = parts
        return parts


def _detach(session: AsyncSession, *objects: Any) -> None:
    """Take fully loaded rows out of the request's session, so that the session's end (a
    rollback expires what it holds) leaves the cached copies readable."""
    for item in objects:
        if item in session:
            session.expunge(item)
