"""Conforming targets that differ from the reference fake in ways the page allows.

The suite must pass each of them (``tests/test_conforming.py``): they are what a careful team
builds from popular libraries, where a wrong verdict would be a false alarm. Each is an app
factory for ``--app-factory tests.conforming:NAME`` (``callable(env) -> ASGI app``).
"""
from __future__ import annotations

import dataclasses

import akol_fake
from tests.mutants._base import ASGIApp
from tests.mutants.pat import slow_pats


def sliding_window_1s(env: str | None = None) -> ASGIApp:
    """The login limit as a 1-second sliding window (Retry-After: 1), and PAT lookups of 400 ms:
    a 429 lapses while PAT requests are still being made (issue 10, PAT-03's false alarm)."""
    policy = dataclasses.replace(akol_fake.Policy(), rate_window=1)
    return slow_pats(akol_fake.create_app(policy, env=env))
