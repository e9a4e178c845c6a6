"""The voter roll (imported from the census), eligibility, voting codes and signing in to vote.

A personal identifier is never stored: the roll keeps HMAC-SHA256(roll key, identifier),
so the same person is found again by a re-import, a staff member checking an identity
card or an identity provider, while a copy of the database names no one.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import hmac
import io
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.passwords import bounded_hash
from app.areas.models import Area
from app.audit import record_action
from app.database import release_connection
from app.errors import DomainError
from app.i18n import N_, gettext, localized, ngettext
from app.ratelimit import (
    Attempt,
    Backoff,
    Limit,
    RateLimiter,
    address_block,
    attempt,
    counter_key,
)
from voting.models import CodeBatch, RollEntry, Round, VotingCode

MAX_ROLL_BYTES = 64 * 1024 * 1024
_IDENTIFIER = re.compile(r"[A-Z0-9+\-]{4,32}")
# Codes are read from a letter and typed: no 0/O or 1/I, groups of four.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
PUBLIC_LENGTH, SECRET_LENGTH = 8, 12
# The secret has 60 random bits, so a light argon2 setting is plenty and 50,000 letters
# are hashed in minutes, not hours.
_code_hasher = PasswordHasher(time_cost=1, memory_cost=4096, parallelism=1)
_DUMMY_CODE_HASH = _code_hasher.hash("X" * SECRET_LENGTH)
CODE_HASH_MEMORY_KIB = _code_hasher.memory_cost
REPLACED_CODE = N_(
    "This code has been replaced: your letter was printed again with a new code. Use the code "
    "in your newest letter."
)
# Per code, progressive delays: four wrong tries at once, then each waits 30 s, 1, 2, 4 ... minutes
# after the one before, at most an hour; forgotten after a day. A few dozen birth dates a day at most.
CODE_FAILURES = Backoff(count=5, seconds=24 * 3600, longest=3600)
# Per client address, a generous ceiling: 30 junk codes from a library's shared address used to
# lock out the real voters there. Guessing a code itself is hopeless (60 random bits); this
# only bounds the work one client can cause.
ADDRESS_FAILURES = Limit(count=300, seconds=15 * 60)
# The same ceiling, counted apart, for codes that were never issued in the round (a made-up or
# mistyped public part) and malformed ones: 300 made-up codes from a library's address used to
# use up the ceiling that the real voters behind that address need. A made-up code is refused
# by its own ceiling; a code whose public part was issued is held by the per-code delays and
# its own ceiling. (Past the made-up ceiling the answer tells whether a public part was issued:
# 40 random bits, with a few thousand letters issued, so probing finds one in hundreds of
# millions of tries, and the secret part and birth date still guard it.)
MADE_UP_FAILURES = Limit(count=300, seconds=15 * 60)


def person_hash(key: str, identifier: str) -> str:
    return hmac.new(
        key.encode(), normalise_identifier(identifier).encode(), hashlib.sha256
    ).hexdigest()


def normalise_identifier(identifier: str) -> str:
    return identifier.strip().upper()


def identifier_is_valid(identifier: str) -> bool:
    return bool(_IDENTIFIER.fullmatch(normalise_identifier(identifier)))


def age_on(birth: dt.date, day: dt.date) -> int:
    """Age in whole years on `day`. Someone born on 29 February has their birthday on
    28 February in other years (a period ending on a day the month lacks ends on its last day)."""
    age = day.year - birth.year
    birthday_month_day = (birth.month, birth.day)
    if birthday_month_day == (2, 29) and not _is_leap(day.year):
        birthday_month_day = (2, 28)
    if (day.month, day.day) < birthday_month_day:
        age -= 1
    return age


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def has_ballot(round_: Round, area_id: int | None) -> bool:
    """Whether a voter of this area has something to vote on: a budget for their area or a
    city-wide one. Without either their ballot would be empty."""
    return any(budget.area_id is None or budget.area_id == area_id for budget in round_.budgets)


# Why someone may not vote, as the voter reads it and as staff checking an identity read it.
_PROBLEMS = {
    "voted": (
        N_("You have already voted in this round. A vote cannot be changed."),
        N_("This person has already voted in this round. A vote cannot be changed."),
    ),
    "age": (
        N_("You can vote in this round from the day you turn %(age)d."),
        N_("This person can vote in this round from the day they turn %(age)d."),
    ),
    "no_ballot": (
        N_(
            "This round has no budget for your area, so there is nothing for you to vote on. "
            "If your area is wrong, contact the organisers."
        ),
        N_(
            "This round has no budget for this person's area, so there is nothing on their "
            "ballot to vote on."
        ),
    ),
}


def eligibility_problem(
    round_: Round, entry: RollEntry, today: dt.date, *, for_staff: bool = False
) -> str | None:
    """None when the person may vote today, else the reason (a msgid), addressed to the voter
    or, `for_staff`, to the staff member who identified them."""
    if entry.voted_via is not None:
        reason = "voted"
    elif age_on(entry.birth_date, today) < round_.min_age:
        reason = "age"
    elif not has_ballot(round_, entry.area_id):
        reason = "no_ballot"
    else:
        return None
    return _PROBLEMS[reason][1 if for_staff else 0]


# The roll import --------------------------------------------------------------------------


@dataclass(frozen=True)
class RollRow:
    person_hash: str
    birth_date: dt.date
    area_id: int | None
    reference: str | None
    batch: int | None = None


@dataclass
class RollImport:
    rows: list[RollRow]
    errors: list[tuple[int, str]]


def _area_lookup(areas: list[Area]) -> dict[str, int]:
    lookup: dict[str, int] = {}
    for area in areas:
        lookup[str(area.id)] = area.id
        lookup[area.slug.lower()] = area.id
        for name in area.name.values():
            lookup[name.strip().lower()] = area.id
    return lookup


def parse_roll(data: bytes, areas: list[Area], key: str, max_errors: int = 50) -> RollImport:
    """Read a census CSV (identifier, birth_date, area[, reference]; a header row is optional;
    comma or semicolon). Every bad row is reported with its line number; nothing is kept
    from a file with errors."""
    errors: list[tuple[int, str]] = []
    if len(data) > MAX_ROLL_BYTES:
        return RollImport([], [(0, gettext("The file is too large."))])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return RollImport([], [(0, gettext("The file is not UTF-8 text. Save it as CSV UTF-8."))])
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    lookup = _area_lookup(areas)
    rows: list[RollRow] = []
    seen: dict[str, int] = {}
    try:
        for number, record in enumerate(reader, start=1):
            if len(errors) >= max_errors:
                break
            if not record or all(not cell.strip() for cell in record):
                continue
            if number == 1 and record[0].strip().lower() in {
                "identifier",
                "id",
                "henkilötunnus",
                "hetu",
                "tunniste",
            }:
                continue
            problem, row = _roll_row(record, lookup, key)
            if problem:
                errors.append((reader.line_num, problem))
                continue
            if row.person_hash in seen:
                errors.append(
                    (
                        reader.line_num,
                        gettext("The same person is already on line %(line)d.")
                        % {"line": seen[row.person_hash]},
                    )
                )
                continue
            seen[row.person_hash] = reader.line_num
            rows.append(row)
    except csv.Error as error:
        errors.append(
            (reader.line_num, gettext("The line is not valid CSV: %(error)s") % {"error": error})
        )
    if not rows and not errors:
        errors.append((0, gettext("The file has no rows.")))
    return RollImport(rows if not errors else [], errors)


def _roll_row(  # noqa: PLR0911 - one return per kind of bad row
    record: list[str], lookup: dict[str, int], key: str
) -> tuple[str | None, RollRow | None]:
    if len(record) not in (3, 4):
        return gettext("Expected 3 or 4 columns: identifier, birth date, area, reference."), None
    identifier, birth_text, area_text = (cell.strip() for cell in record[:3])
    reference = record[3].strip() if len(record) == 4 else ""
    if not identifier_is_valid(identifier):
        return gettext("The identifier must be 4–32 letters, digits, + or -."), None
    try:
        birth = dt.date.fromisoformat(birth_text)
    except ValueError:
        return gettext("The birth date must be a date as year-month-day, such as 2010-05-31."), None
    if birth.year < 1890 or birth > dt.datetime.now(dt.UTC).date():
        return gettext("The birth date is not possible."), None
    area_id = lookup.get(area_text.lower())
    if area_id is None:
        return gettext("Unknown area: %(area)s") % {"area": area_text[:60]}, None
    if len(reference) > 40:
        return gettext("The reference can be at most 40 characters."), None
    return None, RollRow(person_hash(key, identifier), birth, area_id, reference or None)


def rows_without_budget(round_: Round, rows: list[RollRow], areas: list[Area]) -> str | None:
    """A warning for the staff member importing the roll when some people live in an area that
    has no budget in the round: they get only the city-wide part, or, without one, no ballot."""
    budgeted = {budget.area_id for budget in round_.budgets}
    counts: dict[int | None, int] = {}
    for row in rows:
        if row.area_id not in budgeted:
            counts[row.area_id] = counts.get(row.area_id, 0) + 1
    if not counts:
        return None
    names = {area.id: localized(area.name) for area in areas}
    listed = ", ".join(
        f"{names.get(area_id, area_id)} ({count})"
        for area_id, count in sorted(counts.items(), key=lambda item: str(names.get(item[0], "")))
    )
    total = sum(counts.values())
    if None in budgeted:
        text = ngettext(
            "%(count)d person on the roll lives in an area with no budget in this round "
            "(%(areas)s). They can vote only on the city-wide proposals.",
            "%(count)d people on the roll live in areas with no budget in this round "
            "(%(areas)s). They can vote only on the city-wide proposals.",
            total,
        )
    else:
        text = ngettext(
            "%(count)d person on the roll lives in an area with no budget in this round "
            "(%(areas)s). They cannot vote: their ballot would be empty.",
            "%(count)d people on the roll live in areas with no budget in this round "
            "(%(areas)s). They cannot vote: their ballot would be empty.",
            total,
        )
    return text % {"count": total, "areas": listed}


@dataclass
class ImportSummary:
    added: int
    updated: int
    removed: int
    kept_voted: int


async def import_roll(
    session: AsyncSession,
    round_: Round,
    rows: list[RollRow],
    progress: Callable[[int, int], None] | None = None,
    batch: int = 2000,
) -> ImportSummary:
    """Insert or update every row in one transaction; people no longer in the census are
    removed unless they have voted already."""
    existing = dict(
        (
            await session.execute(
                select(RollEntry.person_hash, RollEntry.id).where(RollEntry.round_id == round_.id)
            )
        ).all()
    )
    dialect = session.bind.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        statement = insert(RollEntry).values(
            [
                {
                    "round_id": round_.id,
                    "person_hash": row.person_hash,
                    "birth_date": row.birth_date,
                    "area_id": row.area_id,
                    "reference": row.reference,
                }
                for row in chunk
            ]
        )
        statement = statement.on_conflict_do_update(
            index_elements=["round_id", "person_hash"],
            set_={
                "birth_date": statement.excluded.birth_date,
                "area_id": statement.excluded.area_id,
                "reference": statement.excluded.reference,
            },
        )
        await session.execute(statement)
        if progress:
            progress(min(start + batch, len(rows)), len(rows))
    gone = set(existing) - {row.person_hash for row in rows}
    removed = kept = 0
    for start in range(0, len(gone), batch):
        hashes = list(gone)[start : start + batch]
        result = await session.execute(
            delete(RollEntry).where(
                RollEntry.round_id == round_.id,
                RollEntry.person_hash.in_(hashes),
                RollEntry.voted_via.is_(None),
            )
        )
        removed += result.rowcount
        kept += len(hashes) - result.rowcount
    updated = sum(1 for row in rows if row.person_hash in existing)
    summary = ImportSummary(
        added=len(rows) - updated, updated=updated, removed=removed, kept_voted=kept
    )
    counts = {"rows": len(rows), **dataclasses.asdict(summary)}
    await record_action(session, None, "roll.import", f"round {round_.slug}", None, counts)
    await session.commit()
    return summary


async def roll_figures(session: AsyncSession, round_id: int) -> dict[str, int]:
    """How many are on the roll, and how many voted through each channel."""
    rows = await session.execute(
        select(RollEntry.voted_via, func.count())
        .where(RollEntry.round_id == round_id)
        .group_by(RollEntry.voted_via)
    )
    figures = {"total": 0, "online": 0, "assisted": 0, "paper": 0}
    for channel, count in rows:
        figures["total"] += count
        if channel:
            figures[channel] = count
    return figures


async def find_on_roll(
    session: AsyncSession, round_id: int, key: str, identifier: str
) -> RollEntry | None:
    return await session.scalar(
        select(RollEntry).where(
            RollEntry.round_id == round_id, RollEntry.person_hash == person_hash(key, identifier)
        )
    )


async def eligible_entry(
    session: AsyncSession,
    round_: Round,
    key: str,
    identifier: str,
    birth_date: dt.date,
    today: dt.date,
) -> RollEntry:
    """The person staff identified, if on the roll with that birth date and eligible today;
    otherwise the reason, as the error staff are shown."""
    entry = await find_on_roll(session, round_.id, key, identifier)
    if entry is None or entry.birth_date != birth_date:
        raise DomainError(N_("This person is not on the voter roll of this round."))
    problem = eligibility_problem(round_, entry, today, for_staff=True)
    if problem:
        raise DomainError(problem, age=round_.min_age)
    return entry


# Voting codes -----------------------------------------------------------------------------


def format_code(public_id: str, secret: str) -> str:
    text = public_id + secret
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def split_code(code: str) -> tuple[str, str] | None:
    """(public id, secret) of a typed code, forgiving spaces, dashes and lower case."""
    text = re.sub(r"[\s\-]", "", code.upper())
    if len(text) != PUBLIC_LENGTH + SECRET_LENGTH or any(c not in CODE_ALPHABET for c in text):
        return None
    return text[:PUBLIC_LENGTH], text[PUBLIC_LENGTH:]


def _random(length: int) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


@dataclass(frozen=True)
class IssuedCode:
    roll_id: int
    code: str
    area_id: int | None
    reference: str | None
    batch: int | None = None


async def _new_codes(count: int) -> list[tuple[str, str, str]]:
    """(public id, secret, hash) for `count` new codes, hashed in worker threads."""

    def make(n: int) -> list[tuple[str, str, str]]:
        made = []
        for _ in range(n):
            public, secret = _random(PUBLIC_LENGTH), _random(SECRET_LENGTH)
            made.append((public, secret, _code_hasher.hash(secret)))
        return made

    return await anyio.to_thread.run_sync(make, count)


async def issue_letter_codes(
    session: AsyncSession,
    round_: Round,
    progress: Callable[[int, int], None] | None = None,
    *,
    languages: str = "fi sv",
    help_contact: str = "",
) -> list[IssuedCode]:
    """A letter code for everyone on the roll who has none yet and has not voted, as the next
    numbered batch. The secrets exist only in the returned list (for the mailing file or the
    letters); the database keeps hashes."""
    # One issuing run at a time per round: a second (a double submit) waits, then finds
    # everyone with a code and issues nothing.
    await session.execute(select(Round.id).where(Round.id == round_.id).with_for_update())
    has_code = select(VotingCode.roll_id).where(
        VotingCode.round_id == round_.id, VotingCode.kind == "letter"
    )
    entries = list(
        await session.execute(
            select(RollEntry.id, RollEntry.area_id, RollEntry.reference)
            .where(
                RollEntry.round_id == round_.id,
                RollEntry.voted_via.is_(None),
                RollEntry.id.not_in(has_code),
            )
            .order_by(RollEntry.id)
        )
    )
    number = None
    if entries:
        number = (
            await session.scalar(
                select(func.coalesce(func.max(CodeBatch.number), 0)).where(
                    CodeBatch.round_id == round_.id
                )
            )
        ) + 1
        session.add(
            CodeBatch(
                round_id=round_.id,
                number=number,
                letters=len(entries),
                languages=languages,
                help_contact=help_contact,
            )
        )
    issued = await add_letter_codes(session, round_, entries, number, progress)
    after = {"issued": len(issued)} | ({"batch": number} if number else {})
    await record_action(session, None, "codes.letters", f"round {round_.slug}", None, after)
    await session.commit()
    return issued


async def add_letter_codes(
    session: AsyncSession,
    round_: Round,
    entries: list,
    batch_number: int | None,
    progress: Callable[[int, int], None] | None = None,
) -> list[IssuedCode]:
    """New letter codes for (roll id, area id, reference) rows, in the caller's transaction."""
    issued: list[IssuedCode] = []
    batch = 500
    for start in range(0, len(entries), batch):
        chunk = entries[start : start + batch]
        codes = await _new_codes(len(chunk))
        for (roll_id, area_id, reference), (public, secret, hashed) in zip(
            chunk, codes, strict=True
        ):
            session.add(
                VotingCode(
                    round_id=round_.id,
                    roll_id=roll_id,
                    public_id=public,
                    secret_hash=hashed,
                    kind="letter",
                    batch=batch_number,
                )
            )
            issued.append(
                IssuedCode(roll_id, format_code(public, secret), area_id, reference, batch_number)
            )
        await session.flush()
        if progress:
            progress(min(start + batch, len(entries)), len(entries))
    return issued


async def issue_assisted_code(
    session: AsyncSession,
    round_: Round,
    key: str,
    identifier: str,
    birth_date: dt.date,
    today: dt.date,
) -> str:
    """Staff checked the person's identity card: a one-time code for voting on the spot."""
    entry = await eligible_entry(session, round_, key, identifier, birth_date, today)
    ((public, secret, hashed),) = await _new_codes(1)
    session.add(
        VotingCode(
            round_id=round_.id,
            roll_id=entry.id,
            public_id=public,
            secret_hash=hashed,
            kind="assisted",
        )
    )
    # Who was helped is not recorded: the roll records the channel.
    await record_action(session, None, "codes.assisted", f"round {round_.slug}")
    await session.commit()
    return format_code(public, secret)


@dataclass(frozen=True)
class CodeGuard:
    """Counts guesses per code and per network address, across workers: each guess is counted
    before it is checked (see `app.ratelimit.attempt`) and a right one is taken back."""

    limiter: RateLimiter
    secret: str

    async def begin(
        self, code: tuple[str, str] | None, address: str, *, issued: bool = True
    ) -> Attempt:
        """Count one try of `code` (its public and secret parts) from `address`. The delays
        are per whole code: a wrong secret part is another code, so tries by someone without
        the letter (the public part is in the letter's QR code) cannot hold up the voter's own
        code. A malformed code, or one whose public part was never `issued`, is counted per
        address only, apart from the codes that were (MADE_UP_FAILURES)."""
        by_address = (
            counter_key(self.secret, "pb-code-address", address_block(address)),
            ADDRESS_FAILURES,
        )
        made_up = (
            counter_key(self.secret, "pb-made-up-address", address_block(address)),
            MADE_UP_FAILURES,
        )
        if code is None or not issued:
            counted = await attempt(self.limiter, [made_up])
        else:
            whole = "-".join(code)
            counted = await attempt(
                self.limiter,
                [(counter_key(self.secret, "pb-code", whole), CODE_FAILURES), by_address],
                gates=[counter_key(self.secret, "pb-code-gate", whole), ""],
            )
            if counted.refused_by == 0:
                raise DomainError(
                    N_(
                        "Too many wrong attempts with this code: each new try has to wait "
                        "longer. Wait a few minutes and try again, or ask for help."
                    )
                )
        if counted.refused:
            raise DomainError(
                N_("Too many wrong attempts from your network. Wait 15 minutes and try again.")
            )
        return counted


async def sign_in_with_code(
    session: AsyncSession,
    round_: Round,
    guard: CodeGuard,
    code: str,
    birth_date: dt.date,
    address: str,
    today: dt.date,
) -> tuple[RollEntry, str]:
    """The roll entry and the channel ("online" or "assisted") of a right code and birth date."""
    wrong = N_("The code or the birth date is wrong. Check the letter and try again.")
    parts = split_code(code)
    public_id, secret = parts or ("-", "-")
    # The round was read with this session: its connection goes back to the pool first, or a
    # burst of guesses holds every connection while each waits for one more to count itself.
    await release_connection(session)
    row = None
    if parts:
        row = (
            await session.execute(
                select(VotingCode, RollEntry)
                .join(RollEntry, RollEntry.id == VotingCode.roll_id)
                .where(VotingCode.public_id == public_id, VotingCode.round_id == round_.id)
            )
        ).first()
    # The lookup is one indexed read, made for every try. Its connection goes back to the pool
    # before the try is counted (the counters take connections of their own: held meanwhile, a
    # burst of guesses emptied the pool) and before the secret is checked.
    await release_connection(session)
    counted = await guard.begin(parts, address, issued=row is not None)
    hashed = row[0].secret_hash if row else _DUMMY_CODE_HASH
    genuine = await bounded_hash(_verify_code, hashed, secret, memory_kib=CODE_HASH_MEMORY_KIB)
    if not row or not genuine or row[1].birth_date != birth_date:
        raise DomainError(wrong)
    await counted.take_back()
    code_row, entry = row
    if code_row.replaced:
        raise DomainError(REPLACED_CODE)
    problem = eligibility_problem(round_, entry, today)
    if problem:
        raise DomainError(problem, age=round_.min_age)
    return entry, ("assisted" if code_row.kind == "assisted" else "online")


def _verify_code(hashed: str, secret: str) -> bool:
    try:
        return _code_hasher.verify(hashed, secret)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def mark_voted_on_paper(session: AsyncSession, entry_id: int) -> bool:
    result = await session.execute(
        update(RollEntry)
        .where(RollEntry.id == entry_id, RollEntry.voted_via.is_(None))
        .values(voted_via="paper")
    )
    return result.rowcount == 1
