"""Known answers for the public formats of a round: a fixed snapshot of a round (its
definition and its log's ballots, tests/data/vectors/round-snapshot.json) and the exact bytes of
what the count publishes from it - the results (`tori-results/1`) and each budget's pabulib
`.pb` file. A change to either format fails here; the outcomes were worked out by hand (see
test_pb_voting.py::test_results_show_every_rule_side_by_side_with_reasons for the same Kallio
round) and the files read by eye.

Kallio, 100 000 €: Big park (6 votes), Benches and Lights (5), Flowers and Sauna (4). Most
votes first selects 1, 2, 3; equal shares by cost 1, 5; by number of proposals 2, 3, 4, 5.
City-wide, 50 000 €: Library hours (3 votes) is selected, Beach (2) does not fit the 20 000 €
left.
"""

from __future__ import annotations

import json
from pathlib import Path

from app.signing import sign
from tests.conftest import TEST_SECRET, csrf_token
from tests.voting.factories import make_round
from voting.published import count_round

DATA = Path(__file__).resolve().parents[1] / "data"
VECTORS = DATA / "vectors"
BOARD = json.loads((DATA / "board-entry-vectors.json").read_text(encoding="utf-8"))


def snapshot() -> dict:
    data = json.loads((VECTORS / "round-snapshot.json").read_text(encoding="utf-8"))
    data["ballots"] = [(area, choices) for area, choices in data["ballots"]]
    return data


def test_the_count_publishes_the_known_results_and_pabulib_files():
    results, exports = count_round(snapshot())
    assert sorted(exports) == ["7", "city"]
    assert exports["7"].encode() == (VECTORS / "round-kallio.pb").read_bytes()
    assert exports["city"].encode() == (VECTORS / "round-city.pb").read_bytes()
    assert results == json.loads((VECTORS / "round-results.json").read_text(encoding="utf-8"))
    kallio = results["budgets"][0]["selected"]
    assert kallio == {"greedy": [1, 2, 3], "mes_cost": [1, 5], "mes_cardinality": [2, 3, 4, 5]}


async def test_the_receipt_file_is_the_known_text(client, db):
    """The receipt a voter downloads: the round's title, the tracker of their entry on the board
    in eight groups of eight, and where to check it. The tracker is the first entry's of the
    board's own known answers (tests/data/board-entry-vectors.json)."""
    tracker = BOARD["entries"][0]["tracker"]
    round_ = await make_round(db, "voting", {None: 100_000})
    round_.slug = "kevat-2026"
    await db.commit()
    signed = sign(TEST_SECRET, "pb-receipt", f"{round_.slug}.{tracker}")
    await csrf_token(client)
    for language in ("fi", "en"):
        response = await client.post(
            f"/pb/kevat-2026/voted/receipt.txt?lang={language}",
            data={"receipt": signed, "_csrf_token": client.cookies["tori_csrf"]},
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        assert (
            response.headers["content-disposition"]
            == 'attachment; filename="receipt-kevat-2026.txt"'
        )
        assert response.content == (VECTORS / f"receipt-{language}.txt").read_bytes()
