"""Slow runs that mostly wait (TOTP steps, rate windows of black-box targets), started on threads
when collection ends, so the rest of the session's tests use those minutes.

A test module registers the run of one of its tests with ``@starts_early(module, test)``; the
test takes it with ``run.outcome(tmp_path)``, which runs it on the spot when the session did not
start it (the test was run alone, say). tests/conftest.py starts the selected ones."""
from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

import pytest

T = TypeVar("T")
_JOIN_SECONDS = 1800.0

_RUNS: dict[str, EarlyRun[Any]] = {}


class _Started:
    def __init__(self, run: Callable[[Path], Any], tmp: Path) -> None:
        self.tmp = tmp
        self._outcome: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(run,), daemon=True)
        self._thread.start()

    def _run(self, run: Callable[[Path], Any]) -> None:
        try:
            self._outcome = run(self.tmp)
        except BaseException as exc:  # noqa: BLE001 - handed to the test that waits for it
            self._error = exc

    def result(self) -> Any:
        self._thread.join(_JOIN_SECONDS)
        if self._thread.is_alive():
            raise TimeoutError(f"the early run did not end within {_JOIN_SECONDS:.0f} s")
        if self._error is not None:
            raise self._error
        return self._outcome


_STARTED: dict[str, _Started] = {}


def _key(module: str, test: str) -> str:
    return f"{module}::{test}"


class EarlyRun(Generic[T]):
    """``run(tmp_dir)``, registered as what one test waits for; the test calls ``outcome``."""

    def __init__(self, key: str, run: Callable[[Path], T]) -> None:
        self._key = key
        self._run = run

    def __call__(self, tmp: Path) -> T:
        return self._run(tmp)

    def outcome(self, tmp_path: Path) -> tuple[T, Path]:
        """The run's outcome and the directory it used: started early, or run now in ``tmp_path``."""
        started = _STARTED.pop(self._key, None)
        if started is not None:
            return started.result(), started.tmp
        return self._run(tmp_path), tmp_path


def starts_early(module: str, test: str) -> Callable[[Callable[[Path], T]], EarlyRun[T]]:
    """Register ``run(tmp_dir)`` as what ``module``'s ``test`` waits for."""
    def register(run: Callable[[Path], T]) -> EarlyRun[T]:
        _RUNS[_key(module, test)] = early = EarlyRun(_key(module, test), run)
        return early
    return register


def start(items: list[pytest.Item], mktemp: Callable[[str], Path]) -> None:
    """Start the registered runs of the selected tests."""
    for item in items:
        module = getattr(getattr(item, "module", None), "__name__", "")
        key = _key(module, getattr(item, "originalname", item.name))
        if key in _RUNS and key not in _STARTED:
            _STARTED[key] = _Started(_RUNS[key], mktemp(key.rpartition("::")[2][:40]))
