"""LOCK-05's case variants: distinct spellings of one address, enough for any threshold up to N."""
from __future__ import annotations

import importlib
from types import ModuleType

import pytest

# The suite's marks are registered by its own plugin, which this session does not load.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnknownMarkWarning")


def _lockout() -> ModuleType:
    return importlib.import_module("akol_conformance.test_lockout")


@pytest.mark.parametrize("email", ["qa@x.io", "lockout-3f2a9c@example.test", "Q@X.IO"])
def test_variants_are_distinct_spellings_of_the_address(email: str) -> None:
    variants = _lockout()._case_variants(email, 10)
    # A short address has too few one-letter flips for a threshold of 10: a variant that came
    # twice would let a per-spelling counter lock, and LOCK-05 fail a conforming server.
    assert len(variants) == len(set(variants)) == 10
    assert email not in variants
    assert {v.casefold() for v in variants} == {email.casefold()}


def test_a_lock_under_repeated_variants_does_not_show_the_threshold() -> None:
    lock = _lockout().Lock
    assert lock(5, 0.0, (), 423, spellings=6).measured
    assert not lock(8, 0.0, (), 423, spellings=6).measured
    assert lock(5, 0.0, (), 423).measured
    assert not lock(0, 0.0, (), 423).measured
