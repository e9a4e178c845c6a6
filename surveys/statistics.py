"""Summaries of answer distributions: n, mean, median, spread and 95 % confidence intervals.

Pure standard-library code. Everything is computed from a distribution
{value: count}, which is what the database hands over after aggregating in SQL,
so no individual response is ever loaded to compute a figure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist

CONFIDENCE = 0.95
Z = NormalDist().inv_cdf(0.5 + CONFIDENCE / 2)  # 1.959963984540054


# Two-sided 95 % quantiles of Student's t for 1–30 degrees of freedom.
_T_975 = (
    12.706204736,
    4.302652730,
    3.182446305,
    2.776445105,
    2.570581836,
    2.446911851,
    2.364624252,
    2.306004135,
    2.262157163,
    2.228138852,
    2.200985160,
    2.178812830,
    2.160368656,
    2.144786688,
    2.131449546,
    2.119905299,
    2.109815578,
    2.100922040,
    2.093024054,
    2.085963447,
    2.079613845,
    2.073873068,
    2.068657610,
    2.063898562,
    2.059538553,
    2.055529439,
    2.051830516,
    2.048407142,
    2.045229642,
    2.042272456,
)


def t_quantile_975(degrees_of_freedom: int) -> float:
    """The 97.5 % point of Student's t: a table up to 30, then the Cornish–Fisher expansion."""
    if degrees_of_freedom < 1:
        raise ValueError("at least one degree of freedom is needed")
    if degrees_of_freedom <= len(_T_975):
        return _T_975[degrees_of_freedom - 1]
    z, n = Z, degrees_of_freedom
    return (
        z
        + (z**3 + z) / (4 * n)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * n**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * n**3)
        + (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / (92160 * n**4)
    )


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True)
class NumericSummary:
    n: int
    mean: float
    median: float
    sd: float
    ci: Interval | None
    distribution: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Proportion:
    count: int
    n: int
    share: float
    ci: Interval


def summarise_numeric(distribution: Mapping[int, int]) -> NumericSummary | None:
    """Mean with a t interval, and the median, of answers given as {value: count}."""
    items = sorted((int(value), int(count)) for value, count in distribution.items() if count > 0)
    n = sum(count for _, count in items)
    if n == 0:
        return None
    mean = sum(value * count for value, count in items) / n
    squares = sum(count * (value - mean) ** 2 for value, count in items)
    sd = math.sqrt(squares / (n - 1)) if n > 1 else 0.0
    ci = None
    if n > 1:
        margin = t_quantile_975(n - 1) * sd / math.sqrt(n)
        ci = Interval(mean - margin, mean + margin)
    return NumericSummary(
        n=n, mean=mean, median=_median(items, n), sd=sd, ci=ci, distribution=tuple(items)
    )


def _median(items: list[tuple[int, int]], n: int) -> float:
    def value_at(position: int) -> int:  # position counts from 0
        seen = 0
        for value, count in items:
            seen += count
            if position < seen:
                return value
        return items[-1][0]

    if n % 2:
        return float(value_at(n // 2))
    return (value_at(n // 2 - 1) + value_at(n // 2)) / 2


def wilson_interval(count: int, n: int) -> Interval:
    """Wilson score interval for a proportion: sound also near 0 %, 100 % and for small n."""
    if n <= 0:
        raise ValueError("n must be positive")
    p = count / n
    denominator = 1 + Z**2 / n
    centre = (p + Z**2 / (2 * n)) / denominator
    margin = Z * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2)) / denominator
    return Interval(max(0.0, centre - margin), min(1.0, centre + margin))


def proportion(count: int, n: int) -> Proportion:
    return Proportion(count=count, n=n, share=count / n, ci=wilson_interval(count, n))
