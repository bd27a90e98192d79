"""Per-clause request counts: what reaches the password check is what a slow target charges for."""
from __future__ import annotations

import threading

import pytest

from akol_conformance._plugin.tally import KINDS, Tally, counts, total


@pytest.mark.parametrize(("method", "path", "status", "kinds"), [
    ("POST", "/api/v1/auth/login", 200, ("login", "passwordChecks")),
    ("POST", "/api/v1/auth/login", 401, ("login", "passwordChecks")),
    ("POST", "/api/v1/auth/login", 429, ("login",)),      # refused by the limiter before any hashing
    ("POST", "/api/v1/auth/login", 423, ("login",)),      # refused by the lock
    ("POST", "/api/v1/auth/login", 400, ("login",)),      # a malformed body never gets there
    ("POST", "/api/v1/auth/verify-2fa", 401, ("verify2fa",)),
    ("POST", "/__test__/users", 201, ("control", "provisioned", "passwordChecks")),
    ("POST", "/__test__/clock/advance", 200, ("control",)),
    ("GET", "/api/v1/agents", 200, ()),
])
def test_each_request_counts_as_its_kinds(method: str, path: str, status: int, kinds: tuple[str, ...]) -> None:
    assert counts(path, method, status) == kinds


def test_a_tally_adds_up_across_threads_and_clauses_sum_their_tests() -> None:
    tally = Tally()

    def send() -> None:
        for _ in range(500):
            tally.add("post", "/api/v1/auth/login", 401)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert tally.as_dict() == {"total": 2000, "login": 2000, "passwordChecks": 2000, "verify2fa": 0, "control": 0,
                               "provisioned": 0}
    assert list(tally.as_dict()) == list(KINDS)
    assert total([tally.as_dict(), {"total": 1, "control": 1}])["total"] == 2001
