"""Demo participatory budgeting: a round open for voting (with a roll and a few codes printed
for trying it out), a counted round with results, and a round collecting ideas."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.areas.services import list_areas
from app.database import utcnow
from voting import milestones, rounds
from voting.ballots import cast_ballot
from voting.mixing import mix_round
from voting.models import Proposal, RollEntry, Round
from voting.publication import publish
from voting.roll import RollRow, import_roll, issue_letter_codes, person_hash

IDEAS = [
    (
        {
            "fi": "Lisää penkkejä rantapolulle",
            "sv": "Fler bänkar längs strandstigen",
            "en": "More benches on the shore path",
        },
        25_000,
    ),
    (
        {
            "fi": "Valaistus kuntoportaisiin",
            "sv": "Belysning i motionstrappan",
            "en": "Lights for the exercise stairs",
        },
        60_000,
    ),
    (
        {
            "fi": "Nuorten kesäkahvila",
            "sv": "Sommarkafé för unga",
            "en": "Summer café for young people",
        },
        40_000,
    ),
    (
        {
            "fi": "Pölyttäjäniitty puistoon",
            "sv": "Pollinatörsäng i parken",
            "en": "Pollinator meadow in the park",
        },
        15_000,
    ),
    (
        {
            "fi": "Koirapuiston aitaus",
            "sv": "Staket kring hundparken",
            "en": "A fence for the dog park",
        },
        35_000,
    ),
]
CITY_IDEAS = [
    (
        {
            "fi": "Kirjastojen iltapäivät lapsiperheille",
            "sv": "Bibliotekseftermiddagar för barnfamiljer",
            "en": "Library afternoons for families",
        },
        120_000,
    ),
    ({"fi": "Kaupunkipyöriä lisää", "sv": "Fler stadscyklar", "en": "More city bikes"}, 250_000),
    ({"fi": "Ulkokuntosalit", "sv": "Utegym", "en": "Outdoor gyms"}, 180_000),
]
DEMO_PEOPLE = 300


def demo_identifier(number: int) -> str:
    return f"DEMO{number:05d}"


async def _round(session, title, phase_days, budgets, official="mes_cost") -> Round:
    now = utcnow().replace(second=0, microsecond=0)
    moments = [now + dt.timedelta(days=days) for days in phase_days]
    return await rounds.create_round(
        session,
        rounds.RoundDraft(
            title=title,
            description={
                "fi": "Asukkaat ideoivat ja äänestävät, miten osa budjetista käytetään.",
                "sv": "Invånarna kommer med idéer och röstar om hur en del av budgeten används.",
                "en": "Residents propose and vote on how part of the budget is spent.",
            },
            ideas_open_at=moments[0],
            review_at=moments[1],
            voting_open_at=moments[2],
            voting_close_at=moments[3],
            results_at=moments[4],
            min_age=12,
            ballot_rule="approval",
            official_rule=official,
            budgets=budgets,
        ),
    )


async def _proposals(session, round_: Round, areas) -> None:
    offered = [(area.id, IDEAS) for area in areas] + [(None, CITY_IDEAS)]
    for area_id, ideas in offered:
        for title, cost in ideas:
            session.add(
                Proposal(
                    round_id=round_.id,
                    area_id=area_id,
                    title=title,
                    description={code: f"{text}." for code, text in title.items()},
                    estimated_cost=cost,
                    final_cost=cost,
                    status="accepted",
                    reason={},
                    implementation_note={},
                )
            )
    await session.commit()


DEMO_MILESTONES = [
    (
        -200,
        {
            "fi": "Suunnitelma valmistui ja hankinta käynnistyi.",
            "sv": "Planen blev klar och upphandlingen inleddes.",
            "en": "The plan was finished and procurement started.",
        },
        20,
        "done",
        4_000,
    ),
    (
        -30,
        {
            "fi": "Työt alkoivat paikan päällä.",
            "sv": "Arbetet på plats har börjat.",
            "en": "Work on site has started.",
        },
        60,
        "in_progress",
        21_000,
    ),
    (
        30,
        {
            "fi": "Valmis käyttöön.",
            "sv": "Klart att användas.",
            "en": "Ready for use.",
        },
        100,
        "planned",
        None,
    ),
]


async def _demo_milestones(session: AsyncSession, round_: Round) -> None:
    """Milestones of the first two winning proposals of the counted round."""
    today = utcnow().date()
    for proposal_id in sorted(await milestones.selected_ids(session, round_.id))[:2]:
        proposal = await session.get(Proposal, proposal_id)
        for days, text, progress, status, cost in DEMO_MILESTONES:
            await milestones.add_milestone(
                session,
                proposal,
                milestones.MilestoneDraft(
                    today + dt.timedelta(days=days), text, progress, status, cost_so_far=cost
                ),
            )


async def seed_budgeting(session: AsyncSession, settings) -> str:
    if await session.scalar(select(func.count()).select_from(Round)):
        return "Participatory budgeting: demo rounds exist already."
    rng = random.Random(2024)  # noqa: S311 - demo data
    areas = (await list_areas(session))[:3]
    budgets = {area.id: 100_000 for area in areas} | {None: 400_000}
    title = {
        "fi": "Osallistuva budjetointi",
        "sv": "Medborgarbudget",
        "en": "Participatory budgeting",
    }
    voting = await _round(
        session, {k: f"{v} 2027" for k, v in title.items()}, (-60, -30, -2, 12, 20), budgets
    )
    counted = await _round(
        session,
        {k: f"{v} 2025" for k, v in title.items()},
        (-400, -370, -340, -326, -320),
        budgets,
        "greedy",
    )
    await _round(session, {k: f"{v} 2028" for k, v in title.items()}, (-1, 40, 70, 84, 90), budgets)
    people = [
        RollRow(
            person_hash(settings.roll_key, demo_identifier(n)),
            dt.date(1980, 1, 1) + dt.timedelta(days=n * 37),
            areas[n % len(areas)].id,
            f"demo-{n}",
        )
        for n in range(DEMO_PEOPLE)
    ]
    for round_ in (voting, counted):
        await _proposals(session, round_, areas)
        await import_roll(session, round_, people)
    issued = await issue_letter_codes(session, voting)
    # The counted round gets ballots from most of its roll.
    proposals = list(await session.scalars(select(Proposal).where(Proposal.round_id == counted.id)))
    now = utcnow()
    counted.voting_close_at, counted.results_at = (
        now + dt.timedelta(days=1),
        now + dt.timedelta(days=2),
    )
    await session.commit()
    entries = list(await session.scalars(select(RollEntry).where(RollEntry.round_id == counted.id)))
    city_budget = next(b.amount for b in counted.budgets if b.area_id is None)
    for entry in entries[: DEMO_PEOPLE * 2 // 3]:
        own = [p for p in proposals if p.area_id == entry.area_id]
        city = [p for p in proposals if p.area_id is None]
        chosen, spent = {}, 0
        for proposal in rng.sample(own, k=len(own)):
            if spent + proposal.cost <= 100_000 and rng.random() < 0.6:
                chosen[proposal.id] = 1
                spent += proposal.cost
        city_spent = 0
        for proposal in rng.sample(city, k=rng.randint(0, 2)):
            if city_spent + proposal.cost <= city_budget:
                chosen[proposal.id] = 1
                city_spent += proposal.cost
        await cast_ballot(
            session, counted, entry.id, rng.choice(["online", "online", "assisted"]), chosen
        )
    counted.voting_close_at = now - dt.timedelta(days=326)
    counted.results_at = now - dt.timedelta(days=320)
    await session.commit()
    await mix_round(session, counted, final=True)
    await publish(session, counted, settings.signing_seed, None)
    await _demo_milestones(session, counted)
    born = {row.person_hash: row.birth_date for row in people}
    samples = []
    for code in issued[:3]:
        entry = await session.get(RollEntry, code.roll_id)
        samples.append(f"{code.code} (born {born[entry.person_hash].isoformat()})")
    return (
        f"Participatory budgeting: 3 demo rounds; vote at /pb/{voting.slug}/vote with e.g. "
        + "; ".join(samples)
    )
