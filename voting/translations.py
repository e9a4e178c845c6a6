"""The languages of a proposal's text on the ballot.

Every proposal on a round's ballot needs its title (and its description, if it has one) in
Finnish and Swedish, the city's two official languages, before voting opens: a voter reads the
ballot in the language of the pages, and a Swedish-speaking voter must not get a Finnish one.
English is shown to staff as missing but does not hold voting back. Where a text is missing
all the same, the pages fall back to another language and mark it with `lang`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.i18n import LANGUAGES, N_
from voting.models import Proposal

BALLOT_LANGUAGES = ("fi", "sv")
OPTIONAL_LANGUAGES = tuple(code for code in LANGUAGES if code not in BALLOT_LANGUAGES)
BALLOT_NOT_TRANSLATED = N_(
    "Voting opens once every proposal on the ballot has its text in Finnish and Swedish."
)
# What a voter is told meanwhile.
VOTING_NOT_READY = N_(
    "Voting has not opened yet: the ballot is still being translated. Please try again later."
)
OPENING_REFUSED = N_(
    "Voting cannot open yet: these proposals on the ballot lack their text in Finnish or"
    " Swedish: %(titles)s. Add the translations first."
)


def missing_languages(title: dict[str, str], description: dict[str, str]) -> tuple[str, ...]:
    """The languages (in the order of LANGUAGES) in which the title, or a description that
    exists at all, has no text."""
    return tuple(
        code
        for code in LANGUAGES
        if not (title or {}).get(code) or (description and not description.get(code))
    )


def lacks_ballot_language(title: dict[str, str], description: dict[str, str]) -> bool:
    missing = missing_languages(title, description)
    return any(code in missing for code in BALLOT_LANGUAGES)


@dataclass(frozen=True)
class TranslationGap:
    """A proposal on the ballot with a language missing: `required` holds voting back,
    `optional` does not."""

    proposal: Proposal
    required: tuple[str, ...]
    optional: tuple[str, ...]


async def translation_gaps(session: AsyncSession, round_id: int) -> list[TranslationGap]:
    """The round's proposals on the ballot that lack a language, required ones first."""
    proposals = await session.scalars(
        select(Proposal)
        .where(Proposal.round_id == round_id, Proposal.status == "accepted")
        .order_by(Proposal.id)
    )
    gaps = []
    for proposal in proposals:
        missing = missing_languages(proposal.title, proposal.description)
        if missing:
            gaps.append(
                TranslationGap(
                    proposal,
                    tuple(code for code in missing if code in BALLOT_LANGUAGES),
                    tuple(code for code in missing if code in OPTIONAL_LANGUAGES),
                )
            )
    return sorted(gaps, key=lambda gap: not gap.required)


async def ballot_translated(session: AsyncSession, round_id: int) -> bool:
    """Whether every proposal on the ballot has its Finnish and Swedish text."""
    return not any(gap.required for gap in await translation_gaps(session, round_id))
