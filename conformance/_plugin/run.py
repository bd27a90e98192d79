"""The state of one conformance run, kept in ``config.stash``: settings, target, verdicts."""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, overload

import httpx
import pytest

import akol_fixtures
from akol_conformance._plugin.api import Exchange
from akol_conformance._plugin.budget import Budget
from akol_conformance._plugin.options import Settings
from akol_conformance._plugin.outcomes import Inconclusive
from akol_conformance._plugin.prefetch import Prefetch
from akol_conformance._plugin.redact import Redactor
from akol_conformance._plugin.tally import Tally
from akol_conformance._plugin.target import InProcessTarget, RemoteTarget, Target, preflight
from akol_conformance._plugin.verdicts import Verdicts
from akol_conformance.client import CONTROL_PREFIX, Account, Control, ControlError, Session, probe_test_control

FOREIGN_ENV = "staging"
# The bundled files the clause checks read (JWT-05's word list, ROBUST's OpenAPI document).
BUNDLED = (akol_fixtures.OPENAPI, akol_fixtures.JWT_SECRETS)


class TargetUnusable(Exception):
    """The run cannot start: the message says what was tried, what happened and the fix."""


def missing_bundled_data() -> str | None:
    """Why the install cannot run the suite, or None: a missing data file is the suite's fault,
    never a verdict on the target."""
    for name in BUNDLED:
        try:
            akol_fixtures.path(name)
        except akol_fixtures.MissingData as exc:
            return str(exc)
    return None


def test_control_of(http: httpx.Client, mode: str, which: str) -> tuple[bool, str]:
    """Whether to use the test-control protocol of ``which`` (a target), and why, in words.

    ``off`` never asks; ``auto`` and ``require`` ask once (with resends), and a target that
    cannot tell (faults, 5xx) stops the run rather than silently losing test control."""
    if mode == "off":
        return False, "never asked (--test-control=off)"
    try:
        probe = probe_test_control(http)
    except ControlError as exc:
        raise TargetUnusable(f"{exc}. Run again, or say which: --test-control=require (the target has "
                             "/__test__/) or --test-control=off (AKOL_TEST_CONTROL)") from None
    if mode == "require" and not probe.present:
        raise TargetUnusable(f"--test-control=require, but {which} lacks the test-control protocol: "
                             f"{probe.why} (docs/spec/TEST-CONTROL.md). Use --test-control=auto to run "
                             "without it.")
    return probe.present, probe.why


class ServerErrors(Sequence[dict[str, Any]]):
    """Live, redacted view of every 5xx answer of the session (for ROBUST-01)."""

    def __init__(self, exchanges: list[Exchange], redactor: Redactor) -> None:
        self._exchanges = exchanges
        self._redactor = redactor

    def __len__(self) -> int:
        return len(self._exchanges)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [e.redacted(self._redactor) for e in self._exchanges[index]]
        return self._exchanges[index].redacted(self._redactor)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (e.redacted(self._redactor) for e in list(self._exchanges))

    def __repr__(self) -> str:
        return f"ServerErrors({len(self)} exchanges answered 5xx)"


@dataclass
class Run:
    settings: Settings
    redactor: Redactor
    verdicts: Verdicts = field(default_factory=Verdicts)
    server_errors: list[Exchange] = field(default_factory=list)
    started: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    started_clock: float = field(default_factory=time.monotonic)
    target: Target | None = None
    test_control: bool = False
    test_control_why: str = "not asked: the run stopped before asking"
    collect_errors: list[str] = field(default_factory=list)
    aborted: str | None = None        # why nothing could be judged: the run stops before any test
    cut_short: str | None = None      # why the run stopped before its end (budget spent)
    cancelled: str | None = None      # the signal that cancelled the run (SIGTERM, SIGINT)
    exit_says_why: bool = False       # pytest.exit prints ``aborted``: the summary need not
    # by email: (session, deadline in server time, deadline in time.monotonic())
    sessions: dict[str, tuple[Session, float, float]] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)  # provisioned once, by use
    foreign_account: Account | None = None  # provisioned once on --foreign-target, via its test control
    # provision() calls the run's tests will still make, by two_factor (set once collected)
    accounts_due: Counter[bool] = field(default_factory=Counter)
    reports: list[Path] = field(default_factory=list)
    current: Tally | None = None      # the running test's request counts
    _prefetch: Prefetch | None = None
    _foreign: Target | None = None
    _foreign_control: bool | None = None

    def __post_init__(self) -> None:
        self.budget = Budget(self.settings.max_duration, started=self.started_clock)

    def start(self) -> None:
        """Build the target, check it answers like Akol, detect test control."""
        s = self.settings
        if s.inprocess:
            self.target = InProcessTarget(s.app_factory)
        else:
            for url, option in ((s.target, "--target / AKOL_TARGET"),
                                (s.foreign_target, "--foreign-target / AKOL_FOREIGN_TARGET")):
                problem = preflight(url, option, self.budget) if url else None
                if problem:
                    raise TargetUnusable(problem)
            self.target = RemoteTarget(s.target)
        self.test_control, self.test_control_why = test_control_of(self.target.client(), s.test_control,
                                                                   "the target")

    def require_target(self) -> Target:
        if self.target is None:
            raise RuntimeError("the conformance plugin did not start its target (pytest_sessionstart)")
        return self.target

    def control(self, http: Any) -> Control | None:
        return Control(http, self.redactor.add_from, tally=self.tally) if self.test_control else None

    def provision(self, control: Control, *, two_factor: bool = False) -> Account:
        """A fresh account: made ahead on a thread for a remote target (see prefetch), else now."""
        if self._prefetch is None and not self.settings.inprocess:
            self._prefetch = Prefetch(Control(self.require_target().client(), self.redactor.add_from))
        self.accounts_due[two_factor] -= 1
        due = max(0, self.accounts_due[two_factor])
        account = self._prefetch.take(two_factor, due) if self._prefetch is not None else None
        if account is None:
            return control.create_user(two_factor=two_factor)
        self.tally("POST", f"{CONTROL_PREFIX}/users", 201)  # made for this test, counted for it
        return account

    @contextmanager
    def quiet(self) -> Iterator[None]:
        """No request of the run's own beside the test's (a timing check)."""
        if self._prefetch is None:
            yield
            return
        with self._prefetch.paused():
            yield

    def tally(self, method: str, path: str, status: int) -> None:
        """Count one request for the running test (none runs: preflight, the run's own probes)."""
        current = self.current
        if current is not None:
            current.add(method, path, status)

    def foreign(self) -> tuple[Target, bool] | None:
        """Another environment of Akol and whether it has test control, or None when there is none."""
        if self._foreign is None:
            if self.settings.foreign_target:
                self._foreign = RemoteTarget(self.settings.foreign_target)
            elif self.settings.inprocess:
                self._foreign = InProcessTarget(self.settings.app_factory, env=FOREIGN_ENV)
            else:
                return None
        if self._foreign_control is None:
            try:
                self._foreign_control = test_control_of(self._foreign.client(), self.settings.test_control,
                                                        "the foreign target")[0]
            except TargetUnusable as exc:
                raise Inconclusive(f"the foreign target: {exc}", cause="prerequisite") from None
        return self._foreign, self._foreign_control

    @property
    def stopped(self) -> str | None:
        """Why the run ended before its last test, in words, or None."""
        return self.cut_short or (f"cancelled by {self.cancelled}" if self.cancelled else None)

    @property
    def resent(self) -> int:
        """Requests to the targets sent again after a transport fault."""
        return sum(t.resent for t in (self.target, self._foreign) if t is not None)

    def close(self) -> None:
        if self._prefetch is not None:
            self._prefetch.stop()
        for target in (self.target, self._foreign):
            if target is not None:
                target.close()


RUN_KEY = pytest.StashKey[Run]()


def get_run(config: pytest.Config) -> Run:
    return config.stash[RUN_KEY]
