import math
import random

import pytest
from scipy import stats

from surveys.statistics import proportion, summarise_numeric, t_quantile_975, wilson_interval


def test_summary_of_a_small_distribution_computed_by_hand():
    # Answers 1, 2, 2, 3, 5: mean 2.6, median 2, sample variance (2.56+0.36*2+0.16+5.76)/4 = 2.3
    summary = summarise_numeric({1: 1, 2: 2, 3: 1, 5: 1})
    assert summary.n == 5
    assert summary.mean == pytest.approx(2.6)
    assert summary.median == 2
    assert summary.sd == pytest.approx(math.sqrt(2.3))
    margin = 2.776445105 * math.sqrt(2.3) / math.sqrt(5)
    assert summary.ci.low == pytest.approx(2.6 - margin)
    assert summary.ci.high == pytest.approx(2.6 + margin)


def test_median_of_an_even_count_is_the_middle_pair_average():
    assert summarise_numeric({4: 2, 5: 2}).median == 4.5
    assert summarise_numeric({0: 1, 10: 1}).median == 5


def test_one_answer_has_no_interval_and_none_gives_no_summary():
    assert summarise_numeric({3: 1}).ci is None
    assert summarise_numeric({}) is None
    assert summarise_numeric({3: 0}) is None


@pytest.mark.parametrize("degrees", [1, 2, 5, 10, 29, 30, 31, 40, 60, 120, 1000, 100_000])
def test_t_quantile_matches_scipy(degrees):
    assert t_quantile_975(degrees) == pytest.approx(stats.t.ppf(0.975, degrees), rel=1e-6)


def test_mean_interval_matches_scipy_on_random_answers():
    rng = random.Random(7)
    for n in (2, 7, 33, 400):
        answers = [rng.randint(1, 5) for _ in range(n)]
        distribution = {v: answers.count(v) for v in set(answers)}
        summary = summarise_numeric(distribution)
        low, high = stats.t.interval(0.95, n - 1, loc=summary.mean, scale=stats.sem(answers))
        if summary.sd == 0:
            continue
        assert summary.ci.low == pytest.approx(low, rel=1e-6)
        assert summary.ci.high == pytest.approx(high, rel=1e-6)
        assert summary.median == pytest.approx(
            float(sorted(answers)[n // 2])
            if n % 2
            else sum(sorted(answers)[n // 2 - 1 : n // 2 + 1]) / 2
        )


@pytest.mark.parametrize(("count", "n"), [(0, 10), (10, 10), (3, 10), (47, 120), (1, 1)])
def test_wilson_interval_matches_scipy(count, n):
    result = stats.binomtest(count, n).proportion_ci(confidence_level=0.95, method="wilson")
    interval = wilson_interval(count, n)
    assert interval.low == pytest.approx(result.low, abs=1e-9)
    assert interval.high == pytest.approx(result.high, abs=1e-9)


def test_proportion_carries_share_and_interval():
    share = proportion(30, 40)
    assert share.share == 0.75
    assert share.ci.low < 0.75 < share.ci.high
    with pytest.raises(ValueError, match="positive"):
        wilson_interval(0, 0)
