"""Each voter sees the proposals in their own random order (so that no proposal gains from its
place on the ballot), the same order on every page of one sign-in – a reload, a mistake shown
again – and an order that is stored nowhere."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.factories import make_area
from tests.voting.factories import (
    add_proposal,
    adult_birth_date,
    letter_codes,
    make_round,
    put_on_roll,
    sign_in_to_vote,
)
from voting.models import RollEntry

TITLES = [f"Proposal{n}" for n in range(8)]


def order(page: str) -> list[str]:
    found = re.findall(r"Proposal\d", page)
    return list(dict.fromkeys(found))


async def test_every_voter_gets_their_own_order_and_keeps_it(client, db):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "voting", {kallio.id: 100_000})
    proposals = []
    for title in TITLES:
        proposals.append(await add_proposal(db, round_, kallio, title, 20_000))
    await put_on_roll(
        db, round_, [(f"ORDER{n:03d}", adult_birth_date(), kallio) for n in range(20)]
    )
    codes = await letter_codes(db, round_)
    entries = list(await db.scalars(select(RollEntry).order_by(RollEntry.id)))
    orders = []
    for entry in entries:
        client.cookies.clear()
        signed_in = await sign_in_to_vote(client, round_, codes[entry.id], adult_birth_date())
        assert signed_in.status_code == 303, signed_in.text
        first = (await client.get(f"/pb/{round_.slug}/ballot?lang=en")).text
        seen = order(first)
        assert sorted(seen) == TITLES
        # A reload, and the ballot shown again after a mistake, keep the voter's order.
        assert order((await client.get(f"/pb/{round_.slug}/ballot?lang=en")).text) == seen
        wrong = await client.post(
            f"/pb/{round_.slug}/ballot?lang=en",
            # Every proposal: 160 000 € against a budget of 100 000 €.
            data={
                "_csrf_token": client.cookies["tori_csrf"],
                "action": "review",
                "proposal": [str(p.id) for p in proposals],
            },
        )
        assert wrong.status_code == 400
        assert order(wrong.text) == seen
        orders.append(tuple(seen))
    # Twenty sign-ins: not one shared order, and the first place goes round (with a fixed
    # order, or one sorted by id, both would fail).
    assert len(set(orders)) > 15
    assert len({seen[0] for seen in orders}) >= 4
