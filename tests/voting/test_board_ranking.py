"""Ranking ballots counted by Borda points, and the budgets' limits on the number of choices,
in the pure count and in the verifier's checks: known answers worked by hand, forged boards
re-signed with the genuine key, and pabulib's ordinal format (standard library only)."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from tests.voting import board_vectors as vectors
from tests.voting.test_board_checks import DATA, check, first_problem, lines_of
from voting.published import count_round
from voting.tally import parse_pabulib, write_pabulib
from voting.tally.borda import as_borda_points, borda_points, borda_scores, ranking_of
from voting.tally.count import budget_election, count_budget
from voting.tally.definition import Definition, DefinitionError

RANKING = "board-v2-ranking-signed.jsonl"


def test_borda_points_give_the_first_of_n_ranks_n_points_and_each_next_one_less():
    assert [borda_points(rank, 3) for rank in (1, 2, 3)] == [3, 2, 1]
    assert as_borda_points({"7": 2, "4": 1}, 5) == {"7": 4, "4": 5}
    assert ranking_of({"7": 2, "4": 1, "9": 3}) == ["4", "7", "9"]
    assert ranking_of({"7": 2, "4": 1, "9": 3}, {"7", "9"}) == ["7", "9"]
    for bad in (0, 4, -1):
        with pytest.raises(ValueError, match="rank"):
            borda_points(bad, 3)


def test_borda_scores_and_the_greedy_selection_of_a_known_answer_election():
    """Worked by hand: N = 3, budget 300 000. Library (200 000) ranked 1st, 2nd and 1st:
    3 + 2 + 3 = 8 points; beach (150 000) 1st, 1st, 2nd: 8 points. Greedy by Borda points per
    euro takes the beach first (8/150 000 > 8/200 000); the library no longer fits."""
    ballots = [{"5": 1}, {"5": 2, "6": 1}, {"6": 1}, {"5": 1, "6": 2}]
    assert borda_scores(ballots, 3, ["5", "6"]) == {"5": 8, "6": 8}
    election = budget_election(
        None,
        300_000,
        {"5": 200_000, "6": 150_000},
        [(None, as_borda_points(b, 3)) for b in ballots],
        points=True,
    )
    outcomes = count_budget(election, points=True)
    assert outcomes["greedy"].selected == ["6"]
    assert outcomes["greedy"].reasons == {"6": "selected", "5": "did_not_fit"}


def test_the_ranking_known_answer_board_is_valid_and_its_tally_is_the_hand_count():
    data = (DATA / RANKING).read_bytes()
    verdict = check(data)
    assert verdict.valid, verdict.problems
    tally = json.loads(lines_of(data)[-3])["budgets"]
    # Area 1: park 1st (3), lights 2nd and 1st (2 + 3); area 2: benches 2nd and 1st, gym 1st;
    # city-wide: library 3 + 2 + 3, beach 3 + 3 + 2.
    assert [b["votes"] for b in tally] == [
        {"1": 3, "2": 5},
        {"3": 5, "4": 3},
        {"5": 8, "6": 8},
    ]
    assert [b["rules"]["greedy"] for b in tally] == [["1", "2"], ["3"], ["6"]]
    assert [b["voters"] for b in tally] == [2, 2, 4]


RANKING_FORGERIES = {
    # (the forged ballot, words of the expected problem)
    "a rank given twice": ((1, {"1": 1, "2": 1}), "rank 1 is given twice"),
    "a gap in the ranks": ((1, {"1": 1, "2": 3}), "not 1 to 2 without gaps"),
    "no first rank": ((1, {"2": 2}), "not 1 to 1 without gaps"),
    "a rank beyond the ranks allowed": ((1, {"1": 4}), "rank 4, allowed 1 to 3"),
    "rank zero": ((1, {"1": 0}), "rank 0, allowed 1 to 3"),
    "a negative rank": ((1, {"1": -1}), "rank -1, allowed 1 to 3"),
    "a rank that is text": ((1, {"1": "1"}), "not a whole number"),
    "a project of another district": ((1, {"3": 1}), "belongs to area 2"),
    "a rank skipped inside one budget": (
        (2, {"3": 1, "5": 1, "6": 2, "4": 3}),
        "area 2: the ranks are not 1 to 2 without gaps",
    ),
}


@pytest.mark.parametrize("how", list(RANKING_FORGERIES))
def test_a_forged_ranking_ballot_in_a_resigned_board_is_named(how):
    forged, words = RANKING_FORGERIES[how]
    ballots = [(1, {"2": 1}), (2, {"4": 1}), forged, (1, {})]
    definition = vectors.definition("ranking", vectors.RANKING_LIMITS)
    data = vectors.build(definition, ballots, roll=vectors.roll_of(ballots), tally=[])
    problem = first_problem(data)
    assert problem.startswith("line 5 (entry 3): "), problem
    assert words in problem, problem


def _limited(rule: str) -> dict:
    """The test round with limits: area 1 at least 2, area 2 at most 1, the city at most 1."""
    return vectors.definition(
        rule,
        {1: {"min_choices": 2}, 2: {"max_choices": 1}, None: {"max_choices": 1}},
    )


LIMIT_FORGERIES = {
    # (ballot rule, the forged ballot, words of the expected problem)
    "too few in a budget with a minimum": (
        "approval",
        (1, {"2": 1}),
        "area 1: 1 choices, at least 2 required",
    ),
    "too many in a district budget": (
        "approval",
        (2, {"3": 1}),
        None,
    ),
    "too many ranked city-wide": (
        "ranking",
        (2, {"5": 1, "6": 2}),
        "city-wide: 2 choices, at most 1 allowed in this budget",
    ),
    "too many points ballots' choices": (
        "points",
        (None, {"5": 1, "6": 1}),
        "city-wide: 2 choices, at most 1 allowed in this budget",
    ),
    "too few ranked": ("ranking", (1, {"1": 1}), "area 1: 1 choices, at least 2 required"),
}


@pytest.mark.parametrize("how", list(LIMIT_FORGERIES))
def test_a_ballot_outside_its_budget_s_limits_in_a_resigned_board_is_named(how):
    rule, forged, words = LIMIT_FORGERIES[how]
    if words is None:  # a ballot within the limits: the control
        forged = (2, {"3": 1})
    ballots = [(1, {"1": 1, "2": 2 if rule == "ranking" else 1}), (2, {"4": 1}), forged]
    data = vectors.build(_limited(rule), ballots, roll=vectors.roll_of(ballots))
    verdict = check(data)
    if words is None:
        assert verdict.valid, verdict.problems
        return
    assert not verdict.valid
    assert verdict.problems[0] == f"line 5 (entry 3): {words}"


def test_a_budget_left_empty_keeps_its_limits_and_the_board_stays_valid():
    """A voter may leave a budget with a minimum wholly empty (they abstain there)."""
    ballots = [(1, {"5": 1}), (2, {}), (1, {"1": 1, "2": 1})]
    assert check(vectors.build(_limited("approval"), ballots)).valid


@pytest.mark.parametrize(
    ("limits", "words"),
    [
        ({"min_choices": 0}, "min_choices must be a whole number of at least 1"),
        ({"max_choices": "2"}, "max_choices must be a whole number of at least 1"),
        ({"max_choices": True}, "max_choices must be a whole number of at least 1"),
        ({"min_choices": 3, "max_choices": 2}, "min_choices is more than max_choices"),
        ({"min_choices": None}, "min_choices must be a whole number of at least 1"),
        ({"least": 1}, "unknown field 'least'"),
    ],
)
def test_a_definition_with_bad_limits_is_refused_naming_the_field(limits, words):
    definition = vectors.definition("approval", {1: limits})
    with pytest.raises(DefinitionError, match=words):
        Definition.parse(definition)
    problem = first_problem(vectors.build(definition, [(1, {"1": 1})]))
    assert problem.startswith("line 1 (round): budget 1: "), problem


def test_a_ranking_round_needs_its_number_of_ranks():
    definition = {**vectors.definition("ranking"), "max_choices": None}
    with pytest.raises(DefinitionError, match="max_choices"):
        Definition.parse(definition)


# --- pabulib's ordinal format -------------------------------------------------------------------

ORDINAL_VECTOR = """META
key;value
num_projects;2
num_votes;4
budget;300000
vote_type;ordinal
max_length;2
PROJECTS
project_id;cost;votes;selected
5;200000;3;0
6;150000;3;1
VOTES
voter_id;vote
1;5,6
2;6,5
3;6
4;5
"""


def _ranking_round() -> dict:
    """The city-wide budget of the test round as `count_round` reads a round, with N = 2."""
    return {
        "round": "kav2test",
        "title": {"fi": "Koe"},
        "ballot_rule": "ranking",
        "official_rule": "greedy",
        "max_choices": 2,
        "points_total": None,
        "points_per_proposal": None,
        "voting_open_at": "2026-09-01T06:00:00+00:00",
        "voting_close_at": "2026-09-15T18:00:00+00:00",
        "budgets": [
            {
                "area": None,
                "area_name": None,
                "amount": 300_000,
                "min_choices": None,
                "max_choices": 2,
            }
        ],
        "projects": [
            {"id": 5, "area": None, "cost": 200_000, "title": {"fi": "Kirjasto"}},
            {"id": 6, "area": None, "cost": 150_000, "title": {"fi": "Uimaranta"}},
        ],
        # In log order; the ranks as cast (1 the first).
        "ballots": [
            (None, {"5": 1, "6": 2}),
            (None, {"5": 2, "6": 1}),
            (None, {"6": 1}),
            (None, {}),
            (None, {"5": 1}),
        ],
    }


def test_a_ranking_round_is_exported_as_pabulib_ordinal_votes_in_rank_order():
    """The known answer: each ballot that ranked something, its projects first-ranked first;
    votes = how many ranked the project. Borda (N = 2): library 2 + 1 + 2 = 5, beach
    1 + 2 + 2 = 5; greedy by points per euro takes the beach, the library does not fit."""
    results, exports = count_round(_ranking_round())
    body = exports["city"].split("PROJECTS\n", 1)[1]
    assert "vote_type;ordinal\n" in exports["city"]
    assert "max_length;2\n" in exports["city"]
    assert (
        body.replace("name;", "").replace(";Kirjasto", "").replace(";Uimaranta", "")
        == (ORDINAL_VECTOR.split("PROJECTS\n", 1)[1])
    )
    budget = results["budgets"][0]
    assert {row["id"]: row["votes"] for row in budget["rows"]} == {5: 5, 6: 5}
    assert budget["selected"]["greedy"] == [6]


def test_pabulib_ordinal_votes_round_trip_with_their_order():
    election = parse_pabulib(ORDINAL_VECTOR)
    assert election.vote_type == "ordinal"
    assert election.rankings == [["5", "6"], ["6", "5"], ["6"], ["5"]]
    assert write_pabulib(election, selected={"6"}) == ORDINAL_VECTOR
    again = parse_pabulib(write_pabulib(election))
    assert again.rankings == election.rankings
    assert again.costs == {"5": Fraction(200_000), "6": Fraction(150_000)}
    # The Borda points of the round trip are those of the ranks read back.
    ranks = [{p: r for r, p in enumerate(ranking, start=1)} for ranking in again.rankings]
    assert borda_scores(ranks, 2, again.costs) == {"5": 5, "6": 5}
