"""Two-sample statistics for timing checks, standard library only (no scipy in the suite)."""
from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["MannWhitney", "hodges_lehmann", "mann_whitney_u"]


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
    n1, n2 = len(first), len(second)
    if n1 < 8 or n2 < 8:
        raise ValueError(f"the normal approximation needs at least 8 values per sample, got {n1} and {n2}")
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


def hodges_lehmann(first: Sequence[float], second: Sequence[float]) -> float:
    """The shift of `first` over `second`: the median of all pairwise differences (U's effect size)."""
    if not first or not second:
        raise ValueError("the Hodges–Lehmann shift needs two non-empty samples")
    return statistics.median(a - b for a in first for b in second)
