"""The thanks page after a vote says what is true: the receipt joins the public ballot log with
the next shuffled batch (voting/mixing.py), not at once, and it can be checked on the receipt
page. On PostgreSQL, over HTTP."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.i18n import gettext_in
from tests.factories import make_area
from tests.voting.factories import (
    add_proposal,
    adult_birth_date,
    letter_codes,
    make_round,
    put_on_roll,
    sign_in_to_vote,
)
from voting.models import Ballot, PendingBallot

THANKS = (
    "Your receipt will appear in the public ballot log once the next batch of ballots is "
    "published. Ballots are published in shuffled batches, so that the log does not show the "
    "order of voting. You can check your receipt on the receipt page. It does not tell anyone "
    "who you are."
)
ALREADY_VOTED = (
    "After voting you were shown a receipt. It will appear in the public ballot log once the "
    "batch of ballots it belongs to is published. You can check it on the receipt page. It does "
    "not tell anyone who you are."
)
# The old wording promised the vote was in the log "now": false until the batch is mixed.
OLD_THANKS = (
    "With the receipt you can check that your vote is in the ballot log, now and after the "
    "results are published. It does not tell anyone who you are."
)
OLD_ALREADY_VOTED = (
    "After voting you were shown a receipt. With it you can check that your vote is in the "
    "ballot log, now and after the results are published. It does not tell anyone who you are."
)


def html(text: str) -> str:
    return text.replace("'", "&#39;")


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
async def test_thanks_page_says_the_receipt_joins_the_log_with_the_next_batch(client, db, lang):
    kallio = await make_area(db, "Kallio")
    round_ = await make_round(db, "voting", {kallio.id: 100_000})
    park = await add_proposal(db, round_, kallio, "Park benches", 60_000)
    await put_on_roll(db, round_, [("131052-308T", adult_birth_date(), kallio)])
    code = next(iter((await letter_codes(db, round_)).values()))
    signed_in = await sign_in_to_vote(client, round_, code, adult_birth_date(), lang)
    assert signed_in.status_code == 303
    cast = await client.post(
        f"/pb/{round_.slug}/cast",
        data={"_csrf_token": client.cookies["tori_csrf"], "proposal": [str(park.id)]},
    )
    assert cast.status_code == 303
    thanks = await client.get(cast.headers["location"])
    assert thanks.status_code == 200
    assert html(gettext_in(lang, THANKS)) in thanks.text
    assert html(gettext_in(lang, OLD_THANKS)) not in thanks.text
    # What the page says is so: the ballot waits for its batch, and the receipt page says that.
    assert await db.scalar(select(func.count()).select_from(Ballot)) == 0
    assert await db.scalar(select(func.count()).select_from(PendingBallot)) == 1
    receipt = re.search(r"receipt\?r=([0-9a-f]{64})", thanks.text)
    assert receipt is not None
    checked = await client.get(f"/pb/{round_.slug}/receipt?r={receipt.group(1)}")
    assert html(gettext_in(lang, "Received; it joins the public log with the next batch.")) in (
        checked.text
    )
    back = await client.get(f"/pb/{round_.slug}/ballot")
    assert html(gettext_in(lang, ALREADY_VOTED)) in back.text
    assert html(gettext_in(lang, OLD_ALREADY_VOTED)) not in back.text
