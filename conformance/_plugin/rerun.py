"""Running one clause test: from scratch again after a transport fault, at most twice.

A fault after a request may have been processed leaves state the suite cannot know (a refresh
may have rotated, a wrong password may have counted): the only honest recovery is to run the
test again with fresh fixtures (fresh accounts where test control allows). Only the last run's
reports are logged, so pytest, the terminal and the reports see one outcome per test.
"""
from __future__ import annotations

from collections.abc import Sequence

import pytest
from _pytest.runner import runtestprotocol

from akol_conformance._plugin.budget import Budget

ATTEMPTS = 3   # the first run and at most two reruns


def _transport_fault(reports: Sequence[pytest.TestReport]) -> bool:
    return any(getattr(r, "akol_cause", None) == "transport" for r in reports)


def run_with_reruns(item: pytest.Item, nextitem: pytest.Item | None, budget: Budget,
                    fresh_state: Sequence[pytest.StashKey[object]], *, attempts: int = ATTEMPTS) -> None:
    """Run ``item`` (setup, call, teardown) until it ends without a transport fault, at most
    ``attempts`` times; then log the last run's reports. ``fresh_state`` is what one run leaves
    in the item's stash (exchange logs, observations) and the next must not inherit."""
    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    attempt = 0
    reports: list[pytest.TestReport] = []
    while attempt < attempts:
        attempt += 1
        for key in fresh_state:
            if key in item.stash:
                del item.stash[key]
        reports = runtestprotocol(item, nextitem=nextitem, log=False)
        if not _transport_fault(reports) or budget.spent:
            break
    for report in reports:
        report.akol_attempts = attempt  # type: ignore[attr-defined]
        if attempt > 1 and getattr(report, "akol_cause", None) == "transport":
            report.akol_message = (f"{getattr(report, 'akol_message', '')} (a transport fault in each "  # type: ignore[attr-defined]
                                   f"of {attempt} runs of this test)")
        item.ihook.pytest_runtest_logreport(report=report)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
