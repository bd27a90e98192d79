"""``Clock``: the server's time, and moving it (test clock) or waiting for it (--real-time)."""
from __future__ import annotations

import time

import pytest

from akol_conformance._plugin.api import Api
from akol_conformance.client import Control

# LOCK-03 needs lock+1800+skew: the longest real wait any clause asks for, with slack.
REAL_TIME_BUDGET = 31 * 60 + 60
# The longest real wait a check may take without --real-time (2FA-06's back-off, a TOTP step).
MAX_SHORT_WAIT = 60.0
NEEDS_CLOCK = "needs the test clock (/__test__/) or --real-time"


class Clock:
    def __init__(self, control: Control | None, api: Api, *, real_time: bool,
                 budget: float = REAL_TIME_BUDGET) -> None:
        self._control = control
        self._api = api
        self._real_time = real_time
        self._budget = budget
        self.waited = 0.0

    @property
    def controllable(self) -> bool:
        """True when ``advance`` moves a test clock instead of waiting."""
        return self._control is not None

    def now(self) -> float:
        """Server time (Unix seconds): the test clock, else the last Date header plus local time since."""
        if self._control is not None:
            return self._control.now()
        if self._api.log.last_date is None:
            self._api.agents()
        if self._api.log.last_date is None:
            return time.time()
        server, at = self._api.log.last_date
        return server + (time.monotonic() - at)

    def wait_short(self, seconds: float) -> float:
        """Let a short time pass, at most MAX_SHORT_WAIT: the test clock, else a real sleep even
        without --real-time (a wait a check needs to stay honest: the next TOTP step, a back-off)."""
        if not 0 < seconds <= MAX_SHORT_WAIT:
            raise ValueError(f"clock.wait_short({seconds}): between 0 and {MAX_SHORT_WAIT:g} s")
        if self._control is not None:
            return self._control.advance(seconds)
        time.sleep(seconds)
        return self.now()

    def advance(self, seconds: float) -> float:
        """Let ``seconds`` pass on the server; returns the new server time."""
        if seconds <= 0:
            raise ValueError(f"clock.advance({seconds}): time only moves forward")
        if self._control is not None:
            return self._control.advance(seconds)
        if not self._real_time:
            pytest.skip(NEEDS_CLOCK)
        if self.waited + seconds > self._budget:
            pytest.skip(f"needs {self.waited + seconds:.0f} s of real waiting, more than --real-time allows "
                        f"({self._budget / 60:.0f} min): use a target with the test clock (/__test__/)")
        self._api.budget.sleep(seconds, "waiting real time for a time-based check (--real-time)")
        self.waited += seconds
        return self.now()
