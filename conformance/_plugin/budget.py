"""The run's time budget (``--max-duration``): what is left, and waits and requests capped by it.

When it is spent, what could not be judged is inconclusive with cause ``budget``: a slow
target makes a run stop with its reports written, never run on until an outer timeout kills it.
"""
from __future__ import annotations

import time

import httpx

from akol_conformance._plugin.outcomes import Inconclusive


class Budget:
    def __init__(self, seconds: float, *, started: float | None = None) -> None:
        self.seconds = seconds
        self._deadline = (time.monotonic() if started is None else started) + seconds

    def remaining(self) -> float:
        return max(0.0, self._deadline - time.monotonic())

    @property
    def spent(self) -> bool:
        return self.remaining() <= 0

    @property
    def reason(self) -> str:
        return f"the run's --max-duration of {self.seconds:g} s was spent"

    def check(self, what: str) -> float:
        """The seconds left; Inconclusive (cause budget) when none are."""
        left = self.remaining()
        if left <= 0:
            raise Inconclusive(f"{what} not done: {self.reason}", cause="budget")
        return left

    def timeout(self, default: httpx.Timeout, what: str) -> httpx.Timeout:
        """``default``, each part capped by what is left of the budget."""
        left = self.check(what)

        def cap(value: float | None) -> float:
            return left if value is None else min(value, left)

        return httpx.Timeout(connect=cap(default.connect), read=cap(default.read), write=cap(default.write),
                             pool=cap(default.pool))

    def sleep(self, seconds: float, what: str) -> None:
        """Wait ``seconds`` of real time, unless that would pass the end of the budget."""
        left = self.check(what)
        if seconds > left:
            raise Inconclusive(f"{what}: waiting {seconds:g} s more would pass the end of the run's "
                               f"--max-duration of {self.seconds:g} s ({left:.0f} s left)", cause="budget")
        time.sleep(seconds)
