"""Accounts made ahead: only kinds a test asked for, at most DEPTH ahead, never while paused."""
from __future__ import annotations

import threading
import time
from typing import Any, cast

from akol_conformance._plugin.prefetch import DEPTH, Prefetch
from akol_conformance.client import Account, Control


class _Control:
    """Counts create_user calls; each takes a little while, as a slow password hash does."""

    def __init__(self, fail: bool = False) -> None:
        self.made: list[bool] = []
        self.during_pause = 0
        self.paused = threading.Event()
        self.fail = fail

    def create_user(self, *, two_factor: bool = False, **_: Any) -> Account:
        if self.paused.is_set():
            self.during_pause += 1
        time.sleep(0.02)
        if self.fail:
            raise RuntimeError("refused")
        self.made.append(two_factor)
        return Account(id=str(len(self.made)), email=f"u{len(self.made)}@example.test", password="pw-long-enough",
                       totp_secret="S" if two_factor else None)


def _settle(prefetch: Prefetch) -> None:
    with prefetch.paused():
        pass


def test_only_asked_kinds_are_made_ahead_and_at_most_depth() -> None:
    control = _Control()
    prefetch = Prefetch(cast(Control, control))
    try:
        assert prefetch.take(False) is None  # the first of a kind is made on the spot
        deadline = time.monotonic() + 5
        while len(control.made) < DEPTH and time.monotonic() < deadline:
            time.sleep(0.01)
        _settle(prefetch)
        assert control.made == [False] * DEPTH  # no 2FA account: none was asked for
        first = prefetch.take(False)
        assert first is not None and first.totp_secret is None
        time.sleep(0.2)
        assert len(control.made) == DEPTH + 1  # refilled to DEPTH, no further
    finally:
        prefetch.stop()


def test_nothing_is_made_while_paused() -> None:
    control = _Control()
    prefetch = Prefetch(cast(Control, control))
    try:
        with prefetch.paused():
            control.paused.set()
            prefetch.take(True)
            time.sleep(0.2)
            control.paused.clear()
        assert control.during_pause == 0
        time.sleep(0.2)
        assert control.made.count(True) == DEPTH  # resumed after the pause
    finally:
        prefetch.stop()


def test_repeated_failures_stop_it_and_tests_make_their_own() -> None:
    control = _Control(fail=True)
    prefetch = Prefetch(cast(Control, control))
    prefetch.take(False)
    time.sleep(0.3)
    assert prefetch.take(False) is None
    prefetch.stop()
