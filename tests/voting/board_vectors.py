"""The known-answer boards in tests/data/: tiny rounds (two districts and the city-wide
budget), built by the code that publishes boards, signed with a fixed test key.

    python -m tests.voting.board_vectors   # rewrites them: only when the format changes on purpose

`build` is also the forger of the tests: it makes a correctly chained, counted and signed board
from any definition, roll and ballots, valid or not.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

from voting import board_keys
from voting.tally.board import (
    FORMAT,
    GENESIS,
    board_lines,
    canonical,
    chain_hash,
    entry_body,
    entry_text,
    recount,
    signature_line,
)

DATA = Path(__file__).resolve().parents[1] / "data"
# The test key: never used anywhere but here.
SEED = hashlib.sha256(b"tori board-v2 known-answer test key").digest()
STAFF_AUDIT = (3, hashlib.sha256(b"a staff audit log of three records").hexdigest())

PROJECTS = [
    {"id": 1, "area": 1, "cost": 60_000, "title": {"fi": "Puisto", "sv": "Park"}},
    {"id": 2, "area": 1, "cost": 30_000, "title": {"fi": "Valot", "sv": "Ljus"}},
    {"id": 3, "area": 2, "cost": 50_000, "title": {"fi": "Penkit", "sv": "Bänkar"}},
    {"id": 4, "area": 2, "cost": 40_000, "title": {"fi": "Kuntosali", "sv": "Utegym"}},
    {"id": 5, "area": None, "cost": 200_000, "title": {"fi": "Kirjasto", "sv": "Bibliotek"}},
    {"id": 6, "area": None, "cost": 150_000, "title": {"fi": "Uimaranta", "sv": "Badstrand"}},
]


# The limits of the ranking vector's budgets: area 2 at least 1 and at most 2 choices, the
# city-wide budget at most 2 (area 1 none).
RANKING_LIMITS = {2: {"min_choices": 1, "max_choices": 2}, None: {"max_choices": 2}}


def definition(ballot_rule: str = "approval", limits: dict | None = None) -> dict:
    """The test round under `ballot_rule`; `limits` (area -> {"min_choices", "max_choices"})
    gives budgets the city's limits on the number of choices."""
    points = ballot_rule == "points"
    limits = limits or {}
    budgets = [
        {"area": 1, "name": "Eteläinen", "amount": 100_000},
        {"area": 2, "name": "Läntinen", "amount": 80_000},
        {"area": None, "name": None, "amount": 300_000},
    ]
    for budget in budgets:
        budget.update(limits.get(budget["area"], {}))
    return {
        "format": FORMAT,
        "round": "kav2test",
        "title": {"fi": "Koeäänestys", "sv": "Provomröstning"},
        "ballot_rule": ballot_rule,
        "max_choices": {"k_approval": 1, "ranking": 3}.get(ballot_rule),
        "points_total": 10 if points else None,
        "points_per_proposal": 6 if points else None,
        "official_rule": "mes_cost",
        "budgets": budgets,
        "projects": copy.deepcopy(PROJECTS),
        "voting_open_at": "2026-09-01T06:00:00+00:00",
        "voting_close_at": "2026-09-15T18:00:00+00:00",
        "changes": [
            {
                "at": "2026-09-14T10:00:00+00:00",
                "kind": "extend",
                "from": "2026-09-14T18:00:00+00:00",
                "to": "2026-09-15T18:00:00+00:00",
                "reason": {
                    "fi": "Verkkopalvelun katko 14.9.",
                    "sv": "Avbrott i webbtjänsten 14.9.",
                },
            }
        ],
    }


def ballot_id(number: int) -> str:
    return hashlib.sha256(f"ballot {number}".encode()).hexdigest()[:32]


# (area, selections) of each ballot, in log order.
APPROVAL_BALLOTS = [
    (1, {"1": 1, "5": 1}),
    (2, {"3": 1, "6": 1}),
    (1, {"2": 1}),
    (2, {"4": 1, "5": 1}),
    (1, {"1": 1, "2": 1, "5": 1}),
    (None, {"6": 1}),
    (2, {}),
]
POINTS_BALLOTS = [
    (1, {"1": 6, "2": 4, "5": 6}),
    (2, {"3": 2, "4": 3, "6": 5}),
    (1, {"2": 1, "6": 1}),
    (2, {"4": 6, "5": 4}),
    (None, {"5": 3, "6": 3}),
]
# Ranks (1 the first) with 3 ranks per budget: rank r is worth 4 - r Borda points.
RANKING_BALLOTS = [
    (1, {"1": 1, "2": 2, "5": 1}),
    (2, {"3": 2, "4": 1, "5": 2, "6": 1}),
    (1, {"2": 1, "6": 1}),
    (2, {"3": 1}),
    (None, {"5": 1, "6": 2}),
]
CHANNELS = ("online", "online", "assisted", "online", "paper")


def roll_of(ballots: list[tuple]) -> list[dict]:
    """Marks per area: one per ballot, the channels taken in turn from CHANNELS."""
    rows: dict = {
        a: {"area": a, "marks": 0, "online": 0, "assisted": 0, "paper": 0} for a in (1, 2)
    }
    for number, (area, _selections) in enumerate(ballots):
        row = rows.setdefault(
            area, {"area": area, "marks": 0, "online": 0, "assisted": 0, "paper": 0}
        )
        row["marks"] += 1
        row[CHANNELS[number % len(CHANNELS)]] += 1
    return [rows[a] for a in sorted(rows, key=lambda a: (a is None, a or 0))]


def build(
    round_definition: dict,
    ballots: list[tuple],
    roll: list[dict] | None = None,
    seed: bytes = SEED,
    tally: list[dict] | None = None,
    ids: list[str] | None = None,
) -> bytes:
    """A whole signed board: entries chained, the tally recounted (unless given), signed."""
    previous, entries = GENESIS, []
    for seq, (area, selections) in enumerate(ballots, start=1):
        identifier = ids[seq - 1] if ids else ballot_id(seq)
        body = entry_body(round_definition["round"], area, identifier, {})
        # entry_body writes whole-number points; a forger writes whatever it likes.
        body = body.replace('"selections":{}', '"selections":' + canonical(selections))
        text = entry_text(body, seq)
        previous = chain_hash(previous, text)
        entries.append((seq, text, previous))
    if tally is None:
        tally = recount(round_definition, [(a, s) for a, s in ballots])
    data = b"".join(
        board_lines(
            round_definition,
            roll_of(ballots) if roll is None else roll,
            entries,
            tally,
            STAFF_AUDIT,
        )
    )
    signature = board_keys.sign(seed, hashlib.sha256(data).digest())
    return data + signature_line(board_keys.public_key_text(seed), signature)


VECTORS = {
    "board-v2-signed.jsonl": ("approval", APPROVAL_BALLOTS),
    "board-v2-points-signed.jsonl": ("points", POINTS_BALLOTS),
    "board-v2-ranking-signed.jsonl": ("ranking", RANKING_BALLOTS),
}


def vector(name: str) -> bytes:
    rule, ballots = VECTORS[name]
    return build(definition(rule, RANKING_LIMITS if rule == "ranking" else None), ballots)


def write() -> None:
    for name in VECTORS:
        (DATA / name).write_bytes(vector(name))
    (DATA / "board-v2-key.txt").write_text(
        f"# tori test key (tests/voting/board_vectors.py): key id {board_keys.key_id(SEED)}\n"
        f"{board_keys.public_key_text(SEED)}\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    write()
