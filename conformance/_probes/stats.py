"""Paired-sample statistics for timing checks, standard library only (no scipy in the suite)."""
from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

__all__ = ["Shift", "paired_shift"]

_MIN_PAIRS = 8  # below this the normal approximation misleads


@dataclass(frozen=True)
class Shift:
    estimate: float  # Hodges–Lehmann: the median of the Walsh averages of the differences
    low: float  # the confidence interval's bounds
    high: float

    def excludes(self, value: float) -> bool:
        return not self.low <= value <= self.high


def paired_shift(differences: Sequence[float], confidence: float) -> Shift:
    """The shift within pairs, from each pair's difference (first − second): the Hodges–Lehmann
    estimate with its distribution-free confidence interval, the Wilcoxon signed-rank test
    inverted (order statistics of the Walsh averages; normal approximation).

    Pairs measured back to back share the load of the moment, so their differences shed the
    noise that two independent samples would keep."""
    n = len(differences)
    if n < _MIN_PAIRS:
        raise ValueError(f"the normal approximation needs at least {_MIN_PAIRS} pairs, got {n}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    walsh = sorted((a + b) / 2 for i, a in enumerate(differences) for b in differences[i:])
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    # The k-th smallest and k-th largest Walsh averages bound the interval (1-based k).
    k = max(1, math.floor(n * (n + 1) / 4 - z * math.sqrt(n * (n + 1) * (2 * n + 1) / 24)))
    return Shift(statistics.median(walsh), walsh[k - 1], walsh[len(walsh) - k])
