"""The count: hand-checked cases, agreement with pabutools (the reference), pabulib files, `tori tally`."""

from __future__ import annotations

import functools
import hashlib
import json
import random
import subprocess
from fractions import Fraction
from pathlib import Path

import pabutools
import pytest

from tests import real_data
from tests.commands import run_tori
from tests.voting.oracle import reference
from voting.tally import Election, PabulibError, parse_pabulib, tally, write_pabulib


def pb(budget, projects, votes, vote_type="approval", points=None) -> str:
    lines = ["META", "key;value", f"budget;{budget}", f"vote_type;{vote_type}"]
    lines += ["PROJECTS", "project_id;cost", *(f"{p};{c}" for p, c in projects.items())]
    lines += ["VOTES", "voter_id;vote" + (";points" if points else "")]
    for number, vote in enumerate(votes, start=1):
        row = f"{number};{','.join(vote)}"
        if points:
            row += ";" + ",".join(str(x) for x in points[number - 1])
        lines.append(row)
    return "\n".join(lines) + "\n"


# --- hand-checked ---------------------------------------------------------------------------


def test_greedy_skips_what_does_not_fit_and_takes_an_exact_fit():
    election = parse_pabulib(
        pb(100, {"a": 60, "b": 50, "c": 40}, [["a", "b", "c"], ["a", "b"], ["a"]])
    )
    outcome = tally(election, "greedy")
    assert outcome.selected == ["a", "c"]
    assert outcome.reasons == {"a": "selected", "b": "did_not_fit", "c": "selected"}
    assert outcome.remaining["b"] == 40


def test_ties_go_to_the_project_id_compared_as_a_string():
    election = parse_pabulib(pb(10, {"9": 10, "10": 10}, [["9"], ["10"]]))
    assert tally(election, "greedy").selected == ["10"]
    # Equal shares, budget 20: each voter's 10 buys their project at the same price; "10" first.
    election = parse_pabulib(pb(20, {"9": 10, "10": 10}, [["9"], ["10"]]))
    assert tally(election, "mes").selected == ["10", "9"]


def test_greedy_fills_the_budget_even_with_unsupported_projects():
    election = parse_pabulib(pb(10, {"a": 5, "b": 5}, [["a"]]))
    assert tally(election, "greedy").selected == ["a", "b"]
    # Equal shares buys only what voters support.
    outcome = tally(election, "mes")
    assert outcome.selected == ["a"]
    assert outcome.reasons["b"] == "no_support"


def test_equal_shares_gives_the_minority_its_share():
    """10 voters, budget 10: six want X1 and X2, four want Y, each costs 4."""
    text = pb(10, {"X1": 4, "X2": 4, "Y": 4}, [["X1", "X2"]] * 6 + [["Y"]] * 4)
    election = parse_pabulib(text)
    assert tally(election, "greedy").selected == ["X1", "X2"]
    # Each voter holds 1: the six pay 4/6 each for X1 and keep 2 in all, too little for X2;
    # the four pay 1 each for Y.
    outcome = tally(election, "mes")
    assert outcome.selected == ["X1", "Y"]
    assert outcome.reasons["X2"] == "not_enough_support"
    for rule in ("greedy", "mes", "mes-add1"):
        assert sorted(tally(election, rule).selected) == reference(text, rule, "cost")


def test_arithmetic_is_exact():
    # Thirds of a cent: floats would round these into or out of the budget.
    text = pb("1", {"a": "1/3", "b": "1/3", "c": "1/3", "d": "1/1000000"}, [["a", "b", "c", "d"]])
    election = parse_pabulib(text)
    assert election.costs["a"] == Fraction(1, 3)
    assert sorted(tally(election, "greedy").selected) == ["a", "b", "c"]


# --- agreement with pabutools ---------------------------------------------------------------


def random_election(rng: random.Random) -> str:
    vote_type = rng.choice(["approval", "approval", "cumulative", "choose-1"])
    projects = {
        str(n): rng.choice([1, 2, 3, 5, 8, 10, 15, 20]) * 10 for n in range(1, rng.randint(3, 9))
    }
    budget = rng.randint(10, sum(projects.values()))
    votes, points = [], []
    for _ in range(rng.randint(1, 30)):
        if vote_type == "choose-1":
            chosen = rng.sample(list(projects), rng.randint(0, 1))
        else:
            chosen = rng.sample(list(projects), rng.randint(1, len(projects)))
        votes.append(chosen)
        points.append([rng.randint(1, 5) for _ in chosen])
    return pb(budget, projects, votes, vote_type, points if vote_type == "cumulative" else None)


@pytest.mark.parametrize("seed", range(4))
def test_same_outcome_as_pabutools_on_random_elections(seed):
    rng = random.Random(seed)
    for _ in range(25):
        text = random_election(rng)
        election = parse_pabulib(text)
        sats = ["cost", "cardinality"] + (["points"] if election.vote_type == "cumulative" else [])
        for rule in ("greedy", "mes", "mes-add1"):
            for sat in sats:
                ours = sorted(tally(election, rule, sat).selected)
                assert ours == reference(text, rule, sat), (rule, sat, text)


PINNED = json.loads(real_data.PINNED.read_text(encoding="utf-8"))
# pabutools itself runs again on every run, except where it takes half a minute of CPU or more:
# Equal Shares with add-one completion on Świecie (37 s) and Equal Shares on the whole of Warsaw
# (75,255 voters). There Tori is checked against the outcome pabutools gave when it was pinned
# (`python -m tests.real_data --pin` computes them all again), and the random elections above
# run the add-one completion through pabutools on every run.
SLOW_FOR_PABUTOOLS = {
    ("poland_swiecie_2023_.pb", "mes-add1/cost"),
    ("poland_warszawa_2024_.pb", "mes/cost"),
}


@pytest.fixture(scope="session")
def real_instances() -> Path:
    """Real pabulib instances, fetched once per machine by `make test-data` (tests/real_data.py)."""
    if problem := real_data.missing():
        pytest.fail(
            f"The real pabulib instances are fetched once per machine by `make test-data` "
            f"(python -m tests.real_data), a step of `make test`: {problem}"
        )
    return real_data.folder()


@functools.cache
def real_election(folder: Path, name: str) -> tuple[str, Election]:
    text = (folder / name).read_text(encoding="utf-8")
    return text, parse_pabulib(text)


def test_the_pinned_outcomes_belong_to_the_pinned_files_and_reference():
    assert PINNED["sha256"] == real_data.FILES
    assert set(PINNED["outcomes"]) == set(real_data.COMBINATIONS)
    for name, combinations in real_data.COMBINATIONS.items():
        assert sorted(PINNED["outcomes"][name]) == sorted(f"{r}/{s}" for r, s in combinations)
    # A new minor version of pabutools may select differently: pin again with it.
    installed = ".".join(pabutools.__version__.split(".")[:2])
    assert PINNED["reference"].startswith(f"pabutools {installed}."), (
        f"{real_data.PINNED.name} was made with {PINNED['reference']}; pabutools "
        f"{pabutools.__version__} is installed: run `python -m tests.real_data --pin`"
    )


@pytest.mark.parametrize(
    ("name", "combination"),
    [(name, combination) for name, pinned in PINNED["outcomes"].items() for combination in pinned],
)
def test_same_outcome_as_pabutools_on_real_elections(real_instances, name, combination):
    """Tori's count of each real file under each rule is what pabutools selected (pinned)."""
    rule, sat = combination.split("/")
    _text, election = real_election(real_instances, name)
    assert sorted(tally(election, rule, sat).selected) == PINNED["outcomes"][name][combination]


@pytest.mark.parametrize(
    ("name", "combination"),
    [
        (name, combination)
        for name, pinned in PINNED["outcomes"].items()
        for combination in pinned
        if (name, combination) not in SLOW_FOR_PABUTOOLS
    ],
)
def test_pabutools_still_selects_the_pinned_outcome(real_instances, name, combination):
    """The oracle itself, run again: the pinned outcomes are what pabutools selects, not a copy
    of what Tori said."""
    rule, sat = combination.split("/")
    text, _election = real_election(real_instances, name)
    assert reference(text, rule, sat) == PINNED["outcomes"][name][combination]


# --- pabulib files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no META section"),
        ("META\nkey;value\nbudget;10\nvote_type;approval\n", "no PROJECTS section"),
        (pb(10, {"a": 5}, [["b"]]), "line 10: unknown project 'b'"),
        (pb(10, {"a": "five"}, [["a"]]), "line 7: the cost is not a number"),
        (pb(10, {"a": -5}, [["a"]]), "line 7: the cost cannot be negative"),
        (pb(10, {"a": 5}, [["a", "a"]]), "line 10: a project is chosen twice"),
        (pb(10, {"a": 5, "b": 5}, [["a", "b"]], "choose-1"), "more than one project"),
        (pb(10, {"a": 5}, [["a"]], "cumulative", [[1, 2]]), "1 projects but 2 points"),
        (pb(10, {"a": 5}, [["a"]], "scoring"), "vote_type must be one of"),
        (pb(10, {"a": 5}, [["a"]]).replace("1;a", "1;a;extra"), "line 10: 3 fields"),
        (pb(10, {"a": 5}, [["a"]]).replace("a;5", "a;5\na;6"), "line 8: missing or repeated"),
        ("hello;world\n", "line 1: expected META, PROJECTS or VOTES first"),
    ],
)
def test_malformed_files_name_the_line(text, message):
    with pytest.raises(PabulibError, match=message):
        parse_pabulib(text)


@pytest.mark.parametrize("vote_type", ["approval", "cumulative", "ordinal", "choose-1"])
def test_written_files_read_back_the_same(vote_type):
    rng = random.Random(7)
    projects = {str(n): n * 10 for n in range(1, 6)}
    votes = [rng.sample(list(projects), 1 if vote_type == "choose-1" else 3) for _ in range(20)]
    points = [[rng.randint(1, 4) for _ in vote] for vote in votes]
    election = parse_pabulib(
        pb(100, projects, votes, vote_type, points if vote_type == "cumulative" else None)
    )
    again = parse_pabulib(write_pabulib(election))
    assert (again.budget, again.costs, again.ballots) == (
        election.budget,
        election.costs,
        election.ballots,
    )
    assert again.meta["num_votes"] == "20"


@pytest.mark.parametrize("name", real_data.CHECKED)
def test_exported_files_pass_pabulib_checker_with_our_selection(real_instances, name):
    """Written back with the projects Tori selects under the file's own rule (Equal Shares with
    add-one completion for both), the file passes pabulib-checker without an error or a
    warning - the checker recomputes the rule and would report "rule not followed" - and a
    wrong selection (greedy's) is refused by the same check.

    The checker takes half a minute of CPU per file, so its verdicts are pinned with the
    SHA-256 of the exact files it judged (`python -m tests.real_data --pin`): the same bytes get
    the same verdict. When Tori writes other bytes, the checker runs again here on the new ones,
    and the test fails until the new verdicts are pinned."""
    pinned = PINNED["checker"][name]
    files = real_data.checker_files(name)
    changed = {
        verdict: text
        for verdict, text in files.items()
        if hashlib.sha256(text.encode()).hexdigest() != pinned[verdict]
    }
    if changed:
        verdicts = {verdict: real_data.checker_summary(text) for verdict, text in changed.items()}
        assert verdicts.get("accepted", {}) == {}, "the checker refuses Tori's selection"
        assert verdicts.get("refused", {"refused": True}) != {}, "the checker accepts a wrong one"
        pytest.fail(
            f"Tori writes {name} differently now ({', '.join(changed)}); the checker's verdicts "
            "on the new bytes are right: pin them with `python -m tests.real_data --pin`"
        )


# --- the command ----------------------------------------------------------------------------


def run_tally(*arguments: str) -> subprocess.CompletedProcess:
    return run_tori("tally", *arguments)


def test_tori_tally_prints_the_selection_as_json(tmp_path):
    path = tmp_path / "round.pb"
    path.write_text(pb(10, {"X1": 4, "X2": 4, "Y": 4}, [["X1", "X2"]] * 6 + [["Y"]] * 4))
    for rule, expected in (("greedy", ["X1", "X2"]), ("mes", ["X1", "Y"])):
        result = run_tally(str(path), "--rule", rule, "--sat", "cost")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == expected


def test_tori_tally_refuses_a_bad_file_clearly(tmp_path):
    path = tmp_path / "bad.pb"
    path.write_text(pb(10, {"a": 5}, [["zzz"]]))
    result = run_tally(str(path))
    assert result.returncode == 2
    assert "line 10: unknown project 'zzz'" in result.stderr
    assert result.stdout == ""
    missing = run_tally(str(tmp_path / "none.pb"))
    assert missing.returncode == 2
    assert "cannot be read" in missing.stderr
    points = run_tally(str(path.with_name("bad.pb")), "--sat", "points")
    assert points.returncode == 2
