"""The paired Hodges–Lehmann shift and its signed-rank confidence interval (LOGIN-05)."""
from __future__ import annotations

import math
import random

import pytest

from akol_conformance._probes.stats import paired_shift


def test_interval_matches_the_textbook_bounds() -> None:
    # n = 10, 95 %: the exact signed-rank critical value is 8 (P(T+ <= 8) = 25/1024 <= 0.025), so
    # the 9th smallest and the 9th largest of the 55 Walsh averages of 1..10 (Hollander & Wolfe's
    # C = 9): 3 and 8 around the median 5.5 (the normal approximation's 8th gives the same here).
    shift = paired_shift([float(d) for d in range(1, 11)], 0.95)
    assert (shift.low, shift.estimate, shift.high) == (3.0, 5.5, 8.0)


def test_small_samples_use_exact_counts() -> None:
    # n = 12, 99 %: P(T+ <= 7) = 19/4096 <= 0.005 < P(T+ <= 8), so the 8th order statistics; the
    # normal approximation would take the 6th and give a wider interval than the confidence needs.
    differences = [float(d) ** 1.5 for d in range(1, 13)]
    shift = paired_shift(differences, 0.99)
    walsh = sorted((a + b) / 2 for i, a in enumerate(differences) for b in differences[i:])
    assert (shift.low, shift.high) == (walsh[7], walsh[-8])


def test_large_samples_use_the_normal_approximation() -> None:
    # n = 60, 99 %: k = floor(915 - 2.5758 * sqrt(60 * 61 * 121 / 24)) = 565.
    differences = [float(d) ** 1.5 for d in range(1, 61)]
    shift = paired_shift(differences, 0.99)
    walsh = sorted((a + b) / 2 for i, a in enumerate(differences) for b in differences[i:])
    assert (shift.low, shift.high) == (walsh[564], walsh[-565])


def test_exact_intervals_cover_as_promised() -> None:
    # Under no shift, a 99 % interval from 8 symmetric differences excludes 0 at most 1 % of the time.
    rng = random.Random(11)
    misses = sum(paired_shift([rng.gauss(0, 1) for _ in range(8)], 0.99).excludes(0.0) for _ in range(4000))
    assert misses <= 40 + 3 * math.sqrt(40)


def test_a_constant_difference_is_recovered_exactly() -> None:
    shift = paired_shift([0.0009] * 12, 0.99)
    assert math.isclose(shift.estimate, 0.0009) and math.isclose(shift.low, 0.0009)
    assert math.isclose(shift.high, 0.0009)


def test_load_shared_by_a_pair_cancels_out() -> None:
    # Each pair shares a large random delay; the difference within it is 1 plus small noise.
    rng = random.Random(3)
    delays = [rng.expovariate(1 / 20) for _ in range(60)]
    differences = [(d + 1 + rng.gauss(0, 0.2)) - d for d in delays]
    shift = paired_shift(differences, 0.99)
    assert shift.low < 1.0 < shift.high and shift.high - shift.low < 0.3
    assert shift.excludes(0.0) and not shift.excludes(1.0)


def test_interval_narrows_as_pairs_accumulate_and_covers_the_truth() -> None:
    rng = random.Random(7)
    widths = []
    for n in (12, 48, 192):
        shift = paired_shift([rng.gauss(1.0, 1.0) for _ in range(n)], 0.99)
        assert shift.low < 1.0 < shift.high
        widths.append(shift.high - shift.low)
    assert widths[0] > widths[1] > widths[2]


def test_too_few_pairs_or_an_odd_confidence_are_refused() -> None:
    with pytest.raises(ValueError, match="99% interval needs at least 8 pairs, got 7"):
        paired_shift([1.0] * 7, 0.99)
    with pytest.raises(ValueError, match="95% interval needs at least 6 pairs, got 5"):
        paired_shift([1.0] * 5, 0.95)
    with pytest.raises(ValueError, match="confidence"):
        paired_shift([1.0] * 8, 1.5)
