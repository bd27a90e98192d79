"""Paired-sample statistics for timing checks, standard library only (no scipy in the suite)."""
from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from statistics import NormalDist

__all__ = ["Shift", "paired_shift"]

# Up to here the signed-rank distribution is counted exactly (cheap: n³/2 additions); beyond,
# its normal approximation is as good, and a small sample gets an interval that truly holds.
_EXACT_UP_TO = 50


@dataclass(frozen=True)
class Shift:
    estimate: float  # Hodges–Lehmann: the median of the Walsh averages of the differences
    low: float  # the confidence interval's bounds
    high: float

    def excludes(self, value: float) -> bool:
        return not self.low <= value <= self.high


@cache
def _signed_rank_counts(n: int) -> tuple[int, ...]:
    """How many of the 2ⁿ sign patterns give each signed-rank sum T⁺ = 0 … n(n+1)/2."""
    counts = [1] + [0] * (n * (n + 1) // 2)
    for rank in range(1, n + 1):
        for total in range(rank * (rank + 1) // 2, rank - 1, -1):
            counts[total] += counts[total - rank]
    return tuple(counts)


def _exact_k(n: int, confidence: float) -> int:
    """The largest 1-based k with P(T⁺ < k) ≤ (1 − confidence)/2; 0 if even k = 1 misses it."""
    tail, below, k = (1 - confidence) / 2 * 2 ** n, 0, 0
    for count in _signed_rank_counts(n):
        below += count
        if below > tail:
            return k
        k += 1
    return k


def _normal_k(n: int, confidence: float) -> int:
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    return max(1, math.floor(n * (n + 1) / 4 - z * math.sqrt(n * (n + 1) * (2 * n + 1) / 24)))


def paired_shift(differences: Sequence[float], confidence: float) -> Shift:
    """The shift within pairs, from each pair's difference (first − second): the Hodges–Lehmann
    estimate with its distribution-free confidence interval, the Wilcoxon signed-rank test
    inverted (order statistics of the Walsh averages; exact counts for small samples).

    Pairs measured back to back share the load of the moment, so their differences shed the
    noise that two independent samples would keep."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    n = len(differences)
    k = _exact_k(n, confidence) if n <= _EXACT_UP_TO else _normal_k(n, confidence)
    if k == 0:
        least = next(m for m in range(1, _EXACT_UP_TO) if _exact_k(m, confidence))
        raise ValueError(f"a {confidence:.0%} interval needs at least {least} pairs, got {n}")
    walsh = sorted((a + b) / 2 for i, a in enumerate(differences) for b in differences[i:])
    # The k-th smallest and k-th largest Walsh averages bound the interval.
    return Shift(statistics.median(walsh), walsh[k - 1], walsh[len(walsh) - k])
