"""Accounts provisioned ahead, on a thread, for a remote target with test control.

Creating an account hashes its password: 0.25-1 s on a real deployment, on purpose. Made while
the tests send their own requests, that time overlaps theirs. A kind of account is made ahead
only once a test has asked for one (the first of each kind is made on the spot), at most
``DEPTH`` ahead and never more than the run's tests will still take (each one made for nobody
is a password check spent); ``paused()`` keeps the target quiet for a check that times it
(LOGIN-05)."""
from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from akol_conformance.client import Account, Control

DEPTH = 1
_MAX_FAILURES = 3  # then the tests provision for themselves, where faults are handled and reported


class Prefetch:
    def __init__(self, control: Control, depth: int = DEPTH) -> None:
        self._control = control
        self._depth = depth
        self._ready: dict[bool, deque[Account]] = {}  # by two_factor, once asked for
        self._due: dict[bool, int] = {}  # by two_factor: accounts the tests will still take
        self._cond = threading.Condition()
        self._pauses = 0
        self._busy = False
        self._stopped = False
        self._failures = 0
        self._thread = threading.Thread(target=self._work, daemon=True, name="akol-prefetch")
        self._thread.start()

    def take(self, two_factor: bool, due: int) -> Account | None:
        """A ready account of this kind, or None (the caller makes one; later ones come ready, at
        most ``due``: how many more of this kind the run's tests will take)."""
        with self._cond:
            self._due[two_factor] = due
            ready = self._ready.setdefault(two_factor, deque())
            account = ready.popleft() if ready else None
            self._cond.notify_all()
            return account

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No account is being made inside: the one under way, if any, is waited for."""
        with self._cond:
            self._pauses += 1
            self._cond.wait_for(lambda: not self._busy)
        try:
            yield
        finally:
            with self._cond:
                self._pauses -= 1
                self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._thread.join(30)

    def _wanted(self) -> bool | None:
        if self._stopped or self._pauses:
            return None
        return next((kind for kind, ready in self._ready.items()
                     if len(ready) < min(self._depth, self._due.get(kind, 0))), None)

    def _work(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stopped or self._wanted() is not None)
                kind = self._wanted()
                if kind is None:
                    return
                self._busy = True
            try:
                account: Account | None = self._control.create_user(two_factor=kind)
            except Exception:  # noqa: BLE001 - a fault or a refusal: the tests provision on the spot
                account = None
            with self._cond:
                self._busy = False
                if account is not None:
                    self._ready[kind].append(account)
                else:
                    self._failures += 1
                    self._stopped = self._stopped or self._failures >= _MAX_FAILURES
                self._cond.notify_all()
