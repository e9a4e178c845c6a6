"""Known-answer vectors of the ballot log (tests/data/board-entry-vectors.json, written out by
hand from the format in docs/board-format.md): the code must reproduce every body, tracker,
entry text and chain hash exactly, through the functions and through the one log writer."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select, text

from app.areas.models import Area
from tests.voting.factories import make_round
from voting.mixing import BallotLog, LogBallot
from voting.models import LogEntry, LogHead
from voting.tally.board import GENESIS, chain_hash, check_log, entry_body, entry_text, tracker_of

VECTORS = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "board-entry-vectors.json").read_text("utf-8")
)


def test_the_functions_reproduce_the_vectors():
    assert VECTORS["genesis"] == GENESIS
    previous = GENESIS
    for vector in VECTORS["entries"]:
        # Selections as the application holds them: int ids, in no particular order.
        selections = {int(k): v for k, v in reversed(list(vector["selections"].items()))}
        body = entry_body(vector["round"], vector["area"], vector["ballot"], selections)
        assert body == vector["body"]
        assert tracker_of(body) == vector["tracker"]
        assert entry_text(body, vector["seq"]) == vector["entry"]
        assert vector["previous"] == previous
        previous = chain_hash(previous, vector["entry"])
        assert previous == vector["hash"]
    rows = [(v["seq"], v["entry"], v["hash"]) for v in VECTORS["entries"]]
    round_link = VECTORS["entries"][0]["round"]
    assert check_log(round_link, rows) == (VECTORS["head"]["count"], VECTORS["head"]["hash"], None)


def test_the_entry_bytes_are_utf8_not_escaped():
    entry = VECTORS["entries"][0]["entry"]
    assert "kevät" in entry
    assert "\\u" not in entry


async def test_the_log_writer_appends_exactly_the_vectors(db):
    areas = sorted({v["area"] for v in VECTORS["entries"]} - {None})
    db.add_all(Area(id=area, slug=f"vector-{area}", name={"fi": f"Alue {area}"}) for area in areas)
    await db.commit()
    round_ = await make_round(db, "voting", dict.fromkeys([*areas, None], 1000))
    await db.execute(
        text("UPDATE pb_round SET slug = :slug WHERE id = :id"),
        {"slug": VECTORS["entries"][0]["round"], "id": round_.id},
    )
    await db.commit()
    await db.refresh(round_)
    count = await BallotLog.append(
        db,
        round_,
        [
            LogBallot(v["ballot"], v["area"], v["selections"], v["tracker"])
            for v in VECTORS["entries"]
        ],
    )
    await db.commit()
    assert count == VECTORS["head"]["count"]
    rows = list(
        await db.execute(
            select(LogEntry.seq, LogEntry.entry, LogEntry.hash, LogEntry.tracker)
            .where(LogEntry.round_id == round_.id)
            .order_by(LogEntry.seq)
        )
    )
    assert [tuple(r) for r in rows] == [
        (v["seq"], v["entry"], v["hash"], v["tracker"]) for v in VECTORS["entries"]
    ]
    head = await db.get(LogHead, round_.id, populate_existing=True)
    assert (head.count, head.head_hash) == (VECTORS["head"]["count"], VECTORS["head"]["hash"])
