"""Voting-code letters: numbered batches, the letters themselves, and printing a batch again.

A code's secret is kept only as an argon2 hash, so a batch's letters can be printed only when
the batch is issued. A lost batch (a printer jam, a closed tab) is printed again by issuing
NEW codes to the batch's recipients who have not voted and replacing their old codes, which
then sign no one in. So no secret is ever stored or shown twice, and a letter that went
astray stops working when its replacement is made.

The QR code on a letter opens the round's vote page with the code's public part filled in
(`?code=ABCD-EFGH`); the resident types the secret part. The secret never goes into a URL,
where it would be kept in browser histories, proxies and phone camera apps.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.areas.models import Area
from app.audit import record_action
from app.database import utcnow
from app.errors import DomainError, NotFoundError
from app.forms import Form
from app.i18n import N_, Formatter, gettext_in, localized
from app.qr import qr_svg as svg_of
from voting.models import CodeBatch, RollEntry, Round, VotingCode
from voting.roll import (
    CODE_ALPHABET,
    PUBLIC_LENGTH,
    IssuedCode,
    add_letter_codes,
    split_code,
)

# The languages a batch's letters are written in. The census file carries no language, and
# in a bilingual city a letter in both national languages reaches everyone whatever the
# register says; staff can choose one language for a batch instead.
LETTER_LANGUAGES: dict[str, str] = {
    "fi sv": N_("Finnish and Swedish on the same letter"),
    "fi": N_("Finnish only"),
    "sv": N_("Swedish only"),
    "en": N_("English only"),
}
DEFAULT_LETTER_LANGUAGES = "fi sv"
HELP_CONTACT_LENGTH = 200

_HEADING = N_("Your code for voting: %(title)s")
_PERIOD = N_("You can vote from %(start)s to %(end)s.")
_STEP_OPEN = N_("Go to %(address)s or scan the QR code with your phone's camera.")
_STEP_TYPE = N_(
    "The QR code fills in the first part of your code. Type the rest of the code and your "
    "date of birth."
)
_STEP_VOTE = N_("Choose the proposals you support and cast your vote. You can vote once.")
_CODE_LABEL = N_("Your voting code")
_KEEP = N_("Keep this letter until you have voted and do not give the code to anyone.")
_HELP = N_("Questions or need help? Contact %(contact)s.")
_HELP_PLACES = N_(
    "No letter, or no internet connection at home? Staff at libraries and service points "
    "help you vote."
)
_QR_LABEL = N_("QR code that opens the vote page")


@dataclass(frozen=True)
class LetterText:
    """The words of a batch's letters in one language (the same on every letter)."""

    language: str
    title: str
    heading: str
    period: str
    steps: tuple[str, ...]
    code_label: str
    keep: str
    help: str
    help_places: str


@dataclass(frozen=True)
class Letter:
    code: str
    reference: str | None
    area: str
    qr_url: str
    qr_svg: str


@dataclass(frozen=True)
class BatchSummary:
    number: int
    issued_at: dt.datetime
    letters: int
    languages: str
    help_contact: str
    reprints: int
    reprinted_at: dt.datetime | None
    voted: int
    waiting: int


def letter_languages(choice: str) -> tuple[str, ...]:
    return tuple(choice.split())


def vote_address(base_url: str, round_: Round) -> str:
    return f"{base_url.rstrip('/')}/pb/{round_.slug}/vote"


def letter_url(base_url: str, round_: Round, code: str, languages: tuple[str, ...]) -> str:
    """What a letter's QR code opens: the vote page with the code's public part only."""
    parts = split_code(code)
    if parts is None:
        raise ValueError("not a voting code")
    public = parts[0]
    query = {"code": f"{public[:4]}-{public[4:]}"}
    if len(languages) == 1:
        query["lang"] = languages[0]
    return f"{vote_address(base_url, round_)}?{urlencode(query)}"


def qr_svg(url: str, label: str) -> str:
    """The letter's QR code: the posters' drawing (app/qr.py), smaller."""
    return svg_of(url, title=label, scale=4)


def letter_texts(
    round_: Round,
    languages: tuple[str, ...],
    help_contact: str,
    address: str,
    formatter: Formatter,
) -> list[LetterText]:
    texts = []
    for language in languages:

        def say(message: str, language: str = language, **params: str) -> str:
            text = gettext_in(language, message)
            return text % params if params else text

        title = localized(round_.title, language)
        texts.append(
            LetterText(
                language=language,
                title=title,
                heading=say(_HEADING, title=title),
                period=say(
                    _PERIOD,
                    start=formatter.datetime(round_.voting_open_at, language=language),
                    end=formatter.datetime(round_.voting_close_at, language=language),
                ),
                steps=(say(_STEP_OPEN, address=address), say(_STEP_TYPE), say(_STEP_VOTE)),
                code_label=say(_CODE_LABEL),
                keep=say(_KEEP),
                help=say(_HELP, contact=help_contact) if help_contact else "",
                help_places=say(_HELP_PLACES),
            )
        )
    return texts


def build_letters(
    round_: Round,
    issued: list[IssuedCode],
    areas: dict[int, Area],
    base_url: str,
    languages: tuple[str, ...],
) -> list[Letter]:
    label = " / ".join(gettext_in(language, _QR_LABEL) for language in languages)
    letters = []
    for code in issued:
        url = letter_url(base_url, round_, code.code, languages)
        area = areas.get(code.area_id) if code.area_id else None
        letters.append(
            Letter(
                code=code.code,
                reference=code.reference,
                area=" / ".join(dict.fromkeys(localized(area.name, lang) for lang in languages))
                if area
                else "",
                qr_url=url,
                qr_svg=qr_svg(url, label),
            )
        )
    return letters


def prefilled_sign_in(public: str | None) -> Form | None:
    """The vote page's form with a letter's public part filled in (from its QR code). Only a
    public part is taken: a whole code in a URL is not filled in, so none is ever asked for."""
    text = re.sub(r"[\s\-]", "", (public or "").upper())
    if len(text) != PUBLIC_LENGTH or any(c not in CODE_ALPHABET for c in text):
        return None
    return Form({"code": [f"{text[:4]}-{text[4:]}-"]})


# Batches -----------------------------------------------------------------------------------


async def latest_help_contact(session: AsyncSession, round_: Round) -> str | None:
    return await session.scalar(
        select(CodeBatch.help_contact)
        .where(CodeBatch.round_id == round_.id)
        .order_by(CodeBatch.number.desc())
        .limit(1)
    )


async def get_batch(session: AsyncSession, round_: Round, number: int) -> CodeBatch:
    batch = await session.scalar(
        select(CodeBatch).where(CodeBatch.round_id == round_.id, CodeBatch.number == number)
    )
    if batch is None:
        raise NotFoundError(N_("This round has no batch %(number)s of letters."), number=number)
    return batch


async def list_batches(session: AsyncSession, round_: Round) -> list[BatchSummary]:
    """Every batch of the round with how many of its recipients have voted and how many live
    codes are still waiting (the counts a reprint would skip and replace)."""
    voted_case = func.count(func.distinct(VotingCode.roll_id)).filter(
        RollEntry.voted_via.is_not(None)
    )
    waiting_case = func.count(VotingCode.id).filter(
        RollEntry.voted_via.is_(None), VotingCode.replaced.is_(False)
    )
    counts = {
        number: (voted, waiting)
        for number, voted, waiting in await session.execute(
            select(VotingCode.batch, voted_case, waiting_case)
            .join(RollEntry, RollEntry.id == VotingCode.roll_id)
            .where(VotingCode.round_id == round_.id, VotingCode.batch.is_not(None))
            .group_by(VotingCode.batch)
        )
    }
    batches = await session.scalars(
        select(CodeBatch).where(CodeBatch.round_id == round_.id).order_by(CodeBatch.number)
    )
    return [
        BatchSummary(
            number=batch.number,
            issued_at=batch.issued_at,
            letters=batch.letters,
            languages=batch.languages,
            help_contact=batch.help_contact,
            reprints=batch.reprints,
            reprinted_at=batch.reprinted_at,
            voted=counts.get(batch.number, (0, 0))[0],
            waiting=counts.get(batch.number, (0, 0))[1],
        )
        for batch in batches
    ]


@dataclass(frozen=True)
class Reprint:
    batch: CodeBatch
    issued: list[IssuedCode]


async def reprint_batch(
    session: AsyncSession,
    round_: Round,
    number: int,
    seen_reprints: int,
    actor: object = None,
) -> Reprint:
    """Print batch `number` again: new codes for its recipients who have not voted, their old
    codes replaced, in one transaction with the audit record (counts only).

    `seen_reprints` is the batch's reprint count the staff member's form was made with: the
    batch row is locked, and a second press of the same form finds the count moved on and
    prints nothing."""
    if utcnow() >= round_.voting_close_at:
        raise DomainError(N_("Voting has closed in this round: letters can no longer be printed."))
    batch = await session.scalar(
        select(CodeBatch)
        .where(CodeBatch.round_id == round_.id, CodeBatch.number == number)
        .with_for_update()
    )
    if batch is None:
        raise NotFoundError(N_("This round has no batch %(number)s of letters."), number=number)
    if batch.reprints != seen_reprints:
        raise DomainError(
            N_(
                "Batch %(number)s was just printed again, so no new codes were made now. If you "
                "do not have those letters, print the batch again."
            ),
            number=number,
        )
    live = (
        select(VotingCode.id, RollEntry.id, RollEntry.area_id, RollEntry.reference)
        .join(RollEntry, RollEntry.id == VotingCode.roll_id)
        .where(
            VotingCode.round_id == round_.id,
            VotingCode.batch == number,
            VotingCode.kind == "letter",
            VotingCode.replaced.is_(False),
        )
    )
    waiting = list(
        await session.execute(live.where(RollEntry.voted_via.is_(None)).order_by(RollEntry.id))
    )
    voted = await session.scalar(
        select(func.count()).select_from(live.where(RollEntry.voted_via.is_not(None)).subquery())
    )
    if not waiting:
        raise DomainError(
            N_(
                "Everyone who got a letter in batch %(number)s has voted: there is nothing to print."
            ),
            number=number,
        )
    await session.execute(
        update(VotingCode)
        .where(VotingCode.id.in_([code_id for code_id, *_rest in waiting]))
        .values(replaced=True)
    )
    issued = await add_letter_codes(session, round_, [tuple(row[1:]) for row in waiting], number)
    batch.reprints += 1
    batch.reprinted_at = utcnow()
    await record_action(
        session,
        actor,
        "codes.reprint",
        f"round {round_.slug}",
        None,
        {"batch": number, "issued": len(issued), "replaced": len(waiting), "voted": voted},
    )
    await session.commit()
    return Reprint(batch, issued)
