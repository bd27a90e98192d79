"""A pytest plugin the mutation matrix loads (`-p tests._mutation_probe`) into each suite run.

It writes one JSON line per test to the file named by ``AKOL_MUTATION_PROBE``: the node id,
its clause mark and its raw outcome (with ``--collect-only``: every collected test); and
at the end the process's CPU time. Raw, because the conformance plugin may render a
failed SHOULD test as a warning; the matrix still wants to know which test tripped.
Kept free of project imports so loading it costs nothing in the subprocess.
"""
from __future__ import annotations

import json
import os
from collections.abc import Generator
from typing import Any

import pytest

PROBE_ENV = "AKOL_MUTATION_PROBE"


def _outcome(call: pytest.CallInfo[Any]) -> str:
    if call.excinfo is None:
        return "passed"
    if call.excinfo.errisinstance((pytest.skip.Exception, pytest.xfail.Exception)):
        return "skipped"
    return "failed" if call.when == "call" else "error"


def _clause(item: pytest.Item) -> str | None:
    mark = item.get_closest_marker("clause")
    return str(mark.args[0]) if mark is not None and mark.args else None


def _write(record: dict[str, Any]) -> None:
    path = os.environ.get(PROBE_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[Any]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    outcome = _outcome(call)
    # Setup and teardown only matter when they went wrong; the call phase always counts.
    if call.when == "call" or outcome != "passed":
        _write({"nodeid": item.nodeid, "clause": _clause(item), "when": call.when, "outcome": outcome})
    return report


def pytest_collection_finish(session: pytest.Session) -> None:
    # Only a `--collect-only` run maps clauses to test modules, for the matrix to narrow its runs.
    if session.config.option.collectonly:
        for item in session.items:
            _write({"nodeid": item.nodeid, "clause": _clause(item), "when": "collect", "outcome": "collected"})


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _write({"nodeid": report.nodeid, "clause": None, "when": "collect", "outcome": "error"})


def pytest_unconfigure(config: pytest.Config) -> None:
    # The whole process's CPU time, start-up included: wall time lies on a shared machine.
    times = os.times()
    _write({"nodeid": "", "clause": None, "when": "session", "outcome": "cpu",
            "cpuSeconds": round(times.user + times.system, 3)})
