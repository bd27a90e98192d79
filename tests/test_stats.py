"""conformance._stats: the Mann–Whitney U test and Hodges–Lehmann shift LOGIN-05 relies on."""
from __future__ import annotations

import math

import pytest

from akol_conformance._probes.stats import hodges_lehmann, mann_whitney_u


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
    assert math.isclose(hodges_lehmann([v + 0.0009 for v in base], base), 0.0009, abs_tol=1e-12)
