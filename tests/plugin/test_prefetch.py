"""Accounts made ahead: only kinds a test asked for, at most DEPTH ahead and no more than the tests
will take, never while paused."""
from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any, cast

from akol_conformance._plugin.fixtures import accounts_due
from akol_conformance._plugin.prefetch import DEPTH, Prefetch
from akol_conformance.client import Account, Control

_MANY = 10  # accounts the tests will still take: more than DEPTH


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
        assert prefetch.take(False, _MANY) is None  # the first of a kind is made on the spot
        deadline = time.monotonic() + 5
        while len(control.made) < DEPTH and time.monotonic() < deadline:
            time.sleep(0.01)
        _settle(prefetch)
        assert control.made == [False] * DEPTH  # no 2FA account: none was asked for
        first = prefetch.take(False, _MANY)
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
            prefetch.take(True, _MANY)
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
    prefetch.take(False, _MANY)
    time.sleep(0.3)
    assert prefetch.take(False, _MANY) is None
    prefetch.stop()


def test_none_is_made_beyond_what_the_tests_will_take() -> None:
    control = _Control()
    prefetch = Prefetch(cast(Control, control))
    try:
        assert prefetch.take(False, 1) is None  # made on the spot; one more to come
        deadline = time.monotonic() + 5
        while not control.made and time.monotonic() < deadline:
            time.sleep(0.01)
        _settle(prefetch)
        assert prefetch.take(False, 0) is not None  # the last one the tests take
        time.sleep(0.2)
        assert control.made == [False]  # none made for nobody
    finally:
        prefetch.stop()


def _item(*fixtures: str) -> SimpleNamespace:
    return SimpleNamespace(fixturenames=list(fixtures))


def test_accounts_due_counts_fresh_accounts_per_test_and_shared_ones_once() -> None:
    items = [_item("api", "account", "login"), _item("account", "session"), _item("login", "session"),
             _item("shared_account"), _item("spare_tfa_account", "tfa_account"), _item("tfa_account"),
             _item("pat"), _item("pat", "account"), _item("wrong_password_account", "lockout_account")]
    due = accounts_due(cast(Any, items))
    # plain: 3 `account` + wrong_password; shared once each: login, session, pat owner, lockout
    assert due[False] == 4 + 4
    assert due[True] == 2  # the spare account, and the shared 2FA account once
