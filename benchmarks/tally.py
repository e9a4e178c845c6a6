"""Benchmark: the count. Greedy over 100,000 ballots × 200 projects; equal shares beside pabutools.

    .venv/bin/python -m benchmarks.tally [--instance PATH.pb]

Greedy runs on a generated round (each voter approves 1–10 of 200 projects). Equal shares
runs on a real pabulib instance (default: Warszawa 2024, the whole city, from the pabumeasures
0.2.2 source package, downloaded to ~/.cache/tori-test-data by the tests) with Tori and with
pabutools 1.2 in the same run; the outcomes must be identical.
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

DEFAULT = Path.home() / ".cache/tori-test-data/pabumeasures-0.2.2/data/poland_warszawa_2024_.pb"


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
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", type=Path, default=DEFAULT)
    arguments = parser.parse_args()
    election = generated()
    seconds, _ = timed(lambda: tally(election, "greedy", "cost"))
    baseline, _ = timed(lambda: sum(len(ballot) for ballot in election.ballots))
    print(
        f"greedy, 100,000 ballots x 200 projects: {seconds:.3f} s (goal < 1 s); "
        f"baseline, one pass over the ballots: {baseline:.3f} s"
    )
    if not arguments.instance.exists():
        raise SystemExit(f"{arguments.instance} is missing: run the tests once (they download it)")
    from pabutools.election import Cost_Sat
    from pabutools.election.pabulib import parse_pabulib_from_string
    from pabutools.rules import method_of_equal_shares

    text = arguments.instance.read_text(encoding="utf-8")
    real = parse_pabulib(text)
    instance, profile = parse_pabulib_from_string(text)
    ours_s, ours = timed(lambda: sorted(tally(real, "mes", "cost").selected), repeat=1)
    ref_s, ref = timed(
        lambda: sorted(
            p.name for p in method_of_equal_shares(instance, profile, sat_class=Cost_Sat)
        ),
        repeat=1,
    )
    print(
        f"equal shares (cost), {arguments.instance.name}: Tori {ours_s:.2f} s, "
        f"pabutools {ref_s:.2f} s, ratio {ref_s / ours_s:.1f}x (goal >= 10x); "
        f"identical outcome: {ours == ref}"
    )


if __name__ == "__main__":
    main()
