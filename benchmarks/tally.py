"""Benchmark: the count. Greedy over 100,000 ballots × 200 projects; equal shares beside pabutools.

    .venv/bin/python -m benchmarks.tally [--instance PATH.pb]

Greedy runs on a generated round (each voter approves 1–10 of 200 projects). Equal shares
runs on every real pabulib instance the tests use (the pabumeasures 0.2.2 files that
`make test-data` fetches; tests/real_data.py), under each satisfaction the tests pin, with Tori
and with pabutools in the same run; the script fails when an outcome differs.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from fractions import Fraction
from pathlib import Path

from voting.tally import parse_pabulib, tally
from voting.tally.pabulib import Election


def generated(voters: int = 100_000, projects: int = 200) -> Election:
    rng = random.Random(1)
    ids = [str(n) for n in range(1, projects + 1)]
    costs = {p: Fraction(rng.randint(10, 500) * 1000) for p in ids}
    weights = [rng.random() ** 2 for _ in ids]
    ballots = []
    for _ in range(voters):
        chosen = set(rng.choices(ids, weights=weights, k=rng.randint(1, 10)))
        ballots.append(dict.fromkeys(chosen, Fraction(1)))
    return Election(budget=sum(costs.values()) / 4, costs=costs, ballots=ballots)


def timed(function, repeat: int = 3) -> tuple[float, object]:
    """The median CPU time of the process (the count is single-threaded CPU work; CPU time
    varies less than wall time on a machine shared with other work) and the result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.process_time()
        result = function()
        times.append(time.process_time() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", type=Path, help="one .pb file instead of the tests' ones")
    arguments = parser.parse_args()
    election = generated()
    seconds, _ = timed(lambda: tally(election, "greedy", "cost"))
    baseline, _ = timed(lambda: sum(len(ballot) for ballot in election.ballots))
    print(
        f"greedy, 100,000 ballots x 200 projects, CPU: {seconds:.3f} s (goal < 1 s); "
        f"baseline, one pass over the ballots: {baseline:.3f} s"
    )
    instances = [arguments.instance] if arguments.instance else None
    if not equal_shares_beside_pabutools(instances):
        raise SystemExit("a count differs from pabutools")


def equal_shares_beside_pabutools(instances: list[Path] | None) -> bool:
    """Equal shares by Tori and by pabutools on each real instance the tests use (or the ones
    given), under each satisfaction the tests pin for it; True when every outcome is identical."""
    from pabutools.election import Cardinality_Sat, Cost_Sat
    from pabutools.election.pabulib import parse_pabulib_from_string
    from pabutools.rules import method_of_equal_shares

    from tests.real_data import COMBINATIONS, folder, missing

    if instances is None:
        if problem := missing():
            raise SystemExit(f"{problem}\nRun `make test-data` first.")
        instances = [folder() / name for name in COMBINATIONS]
    satisfactions = {"cost": Cost_Sat, "cardinality": Cardinality_Sat}
    all_same = True
    for path in instances:
        wanted = COMBINATIONS.get(path.name, [("mes", "cost")])
        text = path.read_text(encoding="utf-8")
        real = parse_pabulib(text)
        instance, profile = parse_pabulib_from_string(text)
        for rule, satisfaction in wanted:
            if rule != "mes":
                continue
            ours_s, ours = timed(
                lambda e=real, s=satisfaction: sorted(tally(e, "mes", s).selected), repeat=3
            )
            ref_s, ref = timed(
                lambda i=instance, p=profile, s=satisfaction: sorted(
                    project.name
                    for project in method_of_equal_shares(i, p, sat_class=satisfactions[s])
                ),
                repeat=1,
            )
            same = ours == ref
            all_same = all_same and same
            print(
                f"equal shares ({satisfaction}), {path.name} ({len(real.ballots):,} voters, "
                f"{len(real.costs)} projects), CPU: Tori {ours_s:.2f} s (median of 3), "
                f"pabutools {ref_s:.2f} s, "
                f"ratio {ref_s / ours_s:.1f}x (goal >= 10x); identical outcome: "
                f"{'yes' if same else 'NO'}",
                flush=True,
            )
    return all_same


if __name__ == "__main__":
    main()
