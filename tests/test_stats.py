"""The Mann–Whitney U test and the Hodges–Lehmann shift with its confidence interval (LOGIN-05)."""
from __future__ import annotations

import math
import random

import pytest

from akol_conformance._probes.stats import mann_whitney_u, shift_interval


def test_separated_samples_match_the_textbook_value() -> None:
    # scipy.stats.mannwhitneyu(range(1, 11), range(11, 21), method="asymptotic") -> U 0, p 1.8267e-4
    result = mann_whitney_u(list(range(1, 11)), list(range(11, 21)))
    assert result.u == 0
    assert math.isclose(result.p, 1.8267e-4, rel_tol=1e-3)
    assert result.z < 0


def test_swapping_the_samples_mirrors_u_and_keeps_p() -> None:
    first = [1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0, 5.0, 9.0, 10.0]
    second = [2.0, 3.0, 3.0, 4.0, 6.0, 7.0, 8.0, 8.0, 9.0, 11.0]
    forward, backward = mann_whitney_u(first, second), mann_whitney_u(second, first)
    assert forward.u + backward.u == len(first) * len(second)
    assert math.isclose(forward.p, backward.p)
    assert math.isclose(forward.z, -backward.z)


def test_identical_values_show_no_difference() -> None:
    assert mann_whitney_u([5.0] * 10, [5.0] * 10).p == 1.0


def test_too_few_values_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 8"):
        mann_whitney_u([1.0] * 7, [2.0] * 10)


def test_hodges_lehmann_recovers_a_constant_shift() -> None:
    base = [0.0021, 0.0025, 0.0019, 0.0030, 0.0022, 0.0024, 0.0027, 0.0020]
    shift = shift_interval([v + 0.0009 for v in base], base, 0.95)
    assert math.isclose(shift.estimate, 0.0009, abs_tol=1e-12)
    assert shift.low < 0.0009 < shift.high


def test_interval_matches_the_textbook_bounds() -> None:
    # n1 = n2 = 10, 95 %: k = floor(50 - 1.96 * sqrt(175)) = 24, so the 24th smallest and the
    # 24th largest of the 100 differences (i - j for i, j in 1..10).
    first = second = list(range(1, 11))
    differences = sorted(a - b for a in first for b in second)
    shift = shift_interval(first, second, 0.95)
    assert (shift.low, shift.estimate, shift.high) == (differences[23], 0, differences[76]) == (-3, 0, 3)


def test_interval_narrows_as_samples_grow_and_covers_the_truth() -> None:
    rng = random.Random(7)
    widths = []
    for n in (12, 48, 192):
        first = [rng.gauss(1.0, 1.0) for _ in range(n)]
        second = [rng.gauss(0.0, 1.0) for _ in range(n)]
        shift = shift_interval(first, second, 0.99)
        assert shift.low < 1.0 < shift.high
        widths.append(shift.high - shift.low)
    assert widths[0] > widths[1] > widths[2]


def test_interval_needs_enough_values_and_a_sane_confidence() -> None:
    with pytest.raises(ValueError, match="at least 8"):
        shift_interval([1.0] * 7, [2.0] * 10, 0.95)
    with pytest.raises(ValueError, match="confidence"):
        shift_interval([1.0] * 8, [2.0] * 8, 1.5)
