"""A pytest plugin (`-p tests._login_count`): how many requests of each clause reach the password
or code check, read from the suite's own exchange logs, written as JSON to $AKOL_LOGIN_COUNT."""
from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Generator
from typing import Any

import pytest

from akol_conformance._plugin.fixtures import LOGS_KEY

COUNT_ENV = "AKOL_LOGIN_COUNT"
_COUNTED = {"POST /api/v1/auth/login": "login", "POST /api/v1/auth/verify-2fa": "verify-2fa"}
_COUNTS_KEY = pytest.StashKey[dict[str, Counter[str]]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[None, Any, Any]:
    report = yield
    mark = item.get_closest_marker("clause")
    if call.when == "teardown" and mark is not None:
        counts = item.config.stash.setdefault(_COUNTS_KEY, {}).setdefault(str(mark.args[0]), Counter())
        for log in item.stash.get(LOGS_KEY, []):
            for exchange in log.exchanges:
                path = exchange.url.split("://", 1)[-1].partition("/")[2].split("?")[0]
                kind = _COUNTED.get(f"{exchange.method} /{path}")
                if kind is not None:
                    counts[kind] += 1
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get(COUNT_ENV)
    if target:
        counts = session.config.stash.get(_COUNTS_KEY, {})
        with open(target, "w", encoding="utf-8") as out:
            json.dump({clause: dict(c) for clause, c in sorted(counts.items())}, out, indent=1)
