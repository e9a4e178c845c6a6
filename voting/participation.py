"""Who took part in a round: turnout per area (per 1,000 on the roll), by age band and by
channel, computed at publication from the roll – before retention deletes it – and kept with
the published results.

Only counts leave the roll, and small groups never do: a group with fewer than five voters or
fewer than five non-voters is withheld (with a second group where the total would give it back;
`app.disclosure.withheld`), so the figures never tell whether a given person voted. A round
imported from a pabulib file has no roll of its own, so it has no participation figures.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.areas.models import AGE_BANDS as AGE_BAND_KEYS
from app.areas.models import Area
from app.disclosure import withheld
from app.features import Turnout, TurnoutGroup
from app.i18n import N_
from voting.models import RollEntry, Round
from voting.published import in_force, results_of
from voting.roll import age_on

PARTICIPATION_FORMAT = "tori-participation/1"
# Lower bounds of the age bands (the first band starts at the round's minimum age).
AGE_BANDS = (0, 18, 30, 45, 65, 75)
CHANNELS = ("online", "assisted", "paper")
CHANNEL_LABELS = {
    "online": N_("Online"),
    "assisted": N_("With help at a service point"),
    "paper": N_("On paper"),
}


def age_band(age: int) -> int:
    """The index of the band an age falls in."""
    return max(index for index, bound in enumerate(AGE_BANDS) if bound <= max(age, 0))


def band_label(index: int) -> str:
    """'18–29' style labels; the last band is open ('75+'), the first ends at 17 ('–17')."""
    lower = AGE_BANDS[index]
    if index == len(AGE_BANDS) - 1:
        return f"{lower}+"
    upper = AGE_BANDS[index + 1] - 1
    return f"–{upper}" if lower == 0 else f"{lower}–{upper}"


def reference_day(round_: Round) -> dt.date:
    """Ages are counted on the last day of voting (the day of the last second before the close,
    in UTC: a close at local midnight belongs to the day before)."""
    return (round_.voting_close_at - dt.timedelta(seconds=1)).date()


def per_thousand(voted: int, eligible: int) -> float:
    return round(voted * 1000 / eligible, 1) if eligible else 0.0


def _rows(groups: dict, labels: dict) -> list[dict]:
    """One row per group in `labels`' order, the small ones withheld (no figures at all)."""
    hidden = withheld({key: (voted, eligible - voted) for key, (eligible, voted) in groups.items()})
    rows = []
    for key, label in labels.items():
        eligible, voted = groups[key]
        if key in hidden:
            rows.append({"key": key, "label": label, "withheld": True})
        else:
            rows.append(
                {
                    "key": key,
                    "label": label,
                    "withheld": False,
                    "eligible": eligible,
                    "voted": voted,
                    "per_1000": per_thousand(voted, eligible),
                }
            )
    return rows


async def participation(session: AsyncSession, round_: Round) -> dict | None:
    """The round's participation figures, or None for a round without a roll of its own."""
    if round_.source == "pabulib":
        return None
    by_area: dict[int | None, list[int]] = {}
    by_birth: Counter[tuple[dt.date, bool]] = Counter()
    channels: Counter[str] = Counter()
    # One pass over the roll's three columns, grouped in SQL: counts, never people.
    rows = await session.execute(
        select(RollEntry.area_id, RollEntry.birth_date, RollEntry.voted_via, func.count())
        .where(RollEntry.round_id == round_.id)
        .group_by(RollEntry.area_id, RollEntry.birth_date, RollEntry.voted_via)
    )
    for area_id, born, channel, count in rows:
        figures = by_area.setdefault(area_id, [0, 0])
        figures[0] += count
        voted = channel is not None
        if voted:
            figures[1] += count
            channels[channel] += count
        by_birth[(born, voted)] += count
    eligible = sum(figures[0] for figures in by_area.values())
    if not eligible:
        return None
    voted_total = sum(figures[1] for figures in by_area.values())
    day = reference_day(round_)
    ages: dict[int, list[int]] = {}
    for (born, voted), count in by_birth.items():
        figures = ages.setdefault(age_band(age_on(born, day)), [0, 0])
        figures[0] += count
        figures[1] += count if voted else 0
    names = dict(
        (
            await session.execute(
                select(Area.id, Area.name).where(Area.id.in_([a for a in by_area if a]))
            )
        ).all()
    )
    area_order = sorted(by_area, key=lambda a: (a is None, a or 0))
    band_order = sorted(ages)
    return {
        "format": PARTICIPATION_FORMAT,
        "age_on": day.isoformat(),
        "eligible": eligible,
        "voted": voted_total,
        "per_1000": per_thousand(voted_total, eligible),
        "areas": _rows(
            {key: tuple(by_area[key]) for key in area_order},
            {key: names.get(key) if key is not None else None for key in area_order},
        ),
        "ages": _rows(
            {band_label(key): tuple(ages[key]) for key in band_order},
            {band_label(key): band_label(key) for key in band_order},
        ),
        # Channels split the voters only (no one is eligible "by channel"): withheld when fewer
        # than five voted that way, with a second channel when the total would give it back.
        "channels": _channel_rows(channels, voted_total),
    }


def _channel_rows(channels: Counter[str], voted_total: int) -> list[dict]:
    present = {channel: (channels[channel],) for channel in CHANNELS if channels[channel]}
    hidden = withheld(present)
    rows = []
    for channel in present:
        row = {"key": channel, "label": CHANNEL_LABELS[channel], "withheld": channel in hidden}
        if channel not in hidden:
            count = channels[channel]
            row |= {"voted": count, "share": round(count * 100 / voted_total, 1)}
        rows.append(row)
    return rows


# The app's age bands (the questionnaire's) in the order of AGE_BANDS above.
_AGE_KEYS = dict(zip((band_label(i) for i in range(len(AGE_BANDS))), AGE_BAND_KEYS, strict=True))


def _turnout_groups(rows: list[dict], key_of) -> tuple[TurnoutGroup, ...]:
    return tuple(
        TurnoutGroup(
            key=key_of(row["key"]),
            eligible=None if row["withheld"] else row["eligible"],
            voted=None if row["withheld"] else row["voted"],
        )
        for row in rows
    )


async def published_turnouts(session: AsyncSession) -> list[Turnout]:
    """Who voted in each published round (the publication in force), for the equal-access
    view (app.features.Feature.turnouts): the figures published with the results, nothing
    recounted from the roll."""
    found = []
    for round_ in await session.scalars(select(Round).order_by(Round.id)):
        publication = await in_force(session, round_.id)
        if publication is None:
            continue
        figures = (await results_of(session, publication)).get("participation")
        if not figures:
            continue
        found.append(
            Turnout(
                title=round_.title,
                published_at=publication.published_at,
                min_age=round_.min_age,
                eligible=figures["eligible"],
                voted=figures["voted"],
                areas=_turnout_groups(
                    figures["areas"], lambda key: "" if key is None else str(key)
                ),
                ages=_turnout_groups(figures["ages"], lambda key: _AGE_KEYS.get(key, key)),
            )
        )
    return found
