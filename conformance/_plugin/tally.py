"""What each test sends, counted by kind: against a target whose password check is slow on purpose,
the cost of a run is its password checks, so conformance.json shows them per clause."""
from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

from akol_conformance.client import CONTROL_PREFIX

KINDS = ("total", "login", "passwordChecks", "verify2fa", "control", "provisioned")
# A login answered like this had its password checked (a 423 or 429 is refused before, a 400 never gets
# there). The attempt that locks an account is checked too, yet answers 423: the count is a lower bound.
_CHECKED = (200, 401)


def counts(path: str, method: str, status: int) -> tuple[str, ...]:
    """The kinds one request counts as, besides ``total``."""
    if path.startswith(CONTROL_PREFIX):
        if method == "POST" and path == f"{CONTROL_PREFIX}/users" and status == 201:
            return "control", "provisioned", "passwordChecks"  # a new account's password is hashed too
        return ("control",)
    if method == "POST" and path.endswith("/auth/login"):
        return ("login", "passwordChecks") if status in _CHECKED else ("login",)
    if method == "POST" and path.endswith("/auth/verify-2fa"):
        return ("verify2fa",)
    return ()


class Tally:
    """The requests of one test (all its runs), by kind; safe to add to from ``api.parallel`` threads."""

    def __init__(self) -> None:
        self._counts = dict.fromkeys(KINDS, 0)
        self._lock = threading.Lock()

    def add(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self._counts["total"] += 1
            for kind in counts(path, method.upper(), status):
                self._counts[kind] += 1

    def as_dict(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


def total(tallies: Iterable[Mapping[str, int]]) -> dict[str, int]:
    summed = dict.fromkeys(KINDS, 0)
    for tally in tallies:
        for kind in KINDS:
            summed[kind] += tally.get(kind, 0)
    return summed
