"""Two-sample statistics for timing checks, standard library only (no scipy in the suite)."""
from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

_MIN_VALUES = 8  # per sample: below this the normal approximations mislead

__all__ = ["MannWhitney", "Shift", "mann_whitney_u", "shift_interval"]


@dataclass(frozen=True)
class MannWhitney:
    u: float  # U of the first sample: how often one of its values beats one of the second's
    z: float  # normal approximation, tie-corrected, with continuity correction
    p: float  # two-sided


def _ranks(values: Sequence[float]) -> tuple[list[float], float]:
    """Mid-ranks (1-based) of `values` and the tie term sum(t^3 - t) over tie groups."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    ties = 0.0
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for position in range(start, end + 1):
            ranks[order[position]] = (start + end) / 2 + 1
        size = end - start + 1
        ties += size**3 - size
        start = end + 1
    return ranks, ties


def mann_whitney_u(first: Sequence[float], second: Sequence[float]) -> MannWhitney:
    """Mann–Whitney U test of `first` against `second` (normal approximation; n >= 8 each)."""
    n1, n2 = _sizes(first, second)
    ranks, ties = _ranks([*first, *second])
    u = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    n = n1 + n2
    mean = n1 * n2 / 2
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    if variance <= 0:  # every value equal: no evidence of a difference
        return MannWhitney(u, 0.0, 1.0)
    distance = max(0.0, abs(u - mean) - 0.5)
    z = math.copysign(distance / math.sqrt(variance), u - mean)
    return MannWhitney(u, z, math.erfc(abs(z) / math.sqrt(2)))


def _sizes(first: Sequence[float], second: Sequence[float]) -> tuple[int, int]:
    n1, n2 = len(first), len(second)
    if n1 < _MIN_VALUES or n2 < _MIN_VALUES:
        raise ValueError(f"the normal approximation needs at least {_MIN_VALUES} values per sample, "
                         f"got {n1} and {n2}")
    return n1, n2


@dataclass(frozen=True)
class Shift:
    estimate: float  # Hodges–Lehmann: the median of all pairwise differences (U's effect size)
    low: float       # the confidence interval's bounds
    high: float


def shift_interval(first: Sequence[float], second: Sequence[float], confidence: float) -> Shift:
    """The shift of `first` over `second` with its distribution-free confidence interval: the
    Mann–Whitney test inverted (order statistics of the pairwise differences; normal approximation)."""
    n1, n2 = _sizes(first, second)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    differences = sorted(a - b for a in first for b in second)
    pairs = n1 * n2
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    # The k-th smallest and k-th largest differences bound the interval (1-based k).
    k = max(1, math.floor(pairs / 2 - z * math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12)))
    return Shift(statistics.median(differences), differences[k - 1], differences[pairs - k])
