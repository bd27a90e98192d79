"""The state of one conformance run, kept in ``config.stash``: settings, target, verdicts."""
from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, overload

import pytest

from akol_conformance._plugin.api import Exchange
from akol_conformance._plugin.options import Settings
from akol_conformance._plugin.redact import Redactor
from akol_conformance._plugin.target import InProcessTarget, RemoteTarget, Target, preflight
from akol_conformance._plugin.verdicts import Verdicts
from akol_conformance.client import Control, Session, detect_test_control

FOREIGN_ENV = "staging"


class TargetUnusable(Exception):
    """The run cannot start: the message says what was tried, what happened and the fix."""


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
    collect_errors: int = 0
    stop: str | None = None           # why the target can't be used: the run stops before any test
    sessions: dict[str, tuple[Session, float, float]] = field(default_factory=dict)
    reports: list[Path] = field(default_factory=list)
    _foreign: Target | None = None
    _foreign_control: bool | None = None

    def start(self) -> None:
        """Build the target, check it answers like Akol, detect test control."""
        s = self.settings
        if s.inprocess:
            self.target = InProcessTarget(s.app_factory)
        else:
            for url, option in ((s.target, "--target / AKOL_TARGET"),
                                (s.foreign_target, "--foreign-target / AKOL_FOREIGN_TARGET")):
                problem = preflight(url, option) if url else None
                if problem:
                    raise TargetUnusable(problem)
            self.target = RemoteTarget(s.target)
        http = self.target.client()
        self.test_control = detect_test_control(http)

    def require_target(self) -> Target:
        if self.target is None:
            raise RuntimeError("the conformance plugin did not start its target (pytest_sessionstart)")
        return self.target

    def control(self, http: Any) -> Control | None:
        return Control(http, self.redactor.add_from) if self.test_control else None

    def foreign(self) -> tuple[Target, bool] | None:
        """Another environment of Akol and whether it has test control, or None when there is none."""
        if self._foreign is None:
            if self.settings.foreign_target:
                self._foreign = RemoteTarget(self.settings.foreign_target)
            elif self.settings.inprocess:
                self._foreign = InProcessTarget(self.settings.app_factory, env=FOREIGN_ENV)
            else:
                return None
            self._foreign_control = detect_test_control(self._foreign.client())
        return self._foreign, bool(self._foreign_control)

    def close(self) -> None:
        for target in (self.target, self._foreign):
            if target is not None:
                target.close()


RUN_KEY = pytest.StashKey[Run]()


def get_run(config: pytest.Config) -> Run:
    return config.stash[RUN_KEY]
