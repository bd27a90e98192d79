"""From pytest reports to one verdict per clause of the catalog.

A clause is ``failed`` when one of its tests failed on the target's answer, ``error``
(inconclusive, with a cause) when the suite could not judge one of them and none failed,
``skipped`` only when all of its tests were skipped, and ``passed`` otherwise — with
``coverage: partial`` and the list of what was not checked when some of its tests or parts
did not run. Clauses left out by ``--clause`` are "not selected", never counted as skipped.
A run has one verdict, the word on top of every report: PASS, FAIL, INCONCLUSIVE or ABORTED.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from akol_conformance._plugin.baseline import Baseline, Entry
from akol_conformance._plugin.baseline import Outcome as BaselineOutcome
from akol_conformance._plugin.baseline import apply as apply_baseline
from akol_conformance._plugin.tally import total
from akol_conformance.catalog import CLAUSES, Clause

NOT_SELECTED = "not selected (--clause)"
NO_TEST = "no test in this suite"
# Between a passed setup and the call's report: a run that stops inside the test
# (pytest.exit, Ctrl-C) must not leave its clause "passed".
UNFINISHED = "the run stopped before this test finished"
NOT_RUN = "not run: the run stopped before this test"
ABORTED_NOT_RUN = 'not run: the run was aborted before judging anything (see "aborted")'

PASS, FAIL, INCONCLUSIVE, ABORTED = "PASS", "FAIL", "INCONCLUSIVE", "ABORTED"

_RANK = {"failed": 3, "error": 2, "passed": 1, "skipped": 0}


@dataclass
class TestResult:
    nodeid: str
    clause: str
    outcome: str = "passed"           # passed | failed | skipped | error
    message: str | None = None        # failure message, inconclusive reason or skip reason, redacted
    cause: str | None = None          # for outcome "error": one of outcomes.CAUSES
    details: str | None = None        # the redacted longrepr of a failure
    expected: str | None = None       # a ClauseFailure's expected / observed, redacted
    observed_failure: str | None = None
    observed: dict[str, Any] = field(default_factory=dict)
    not_checked: list[str] = field(default_factory=list)  # parts of the test that did not run
    evidence: list[dict[str, Any]] = field(default_factory=list)
    duration: float = 0.0
    attempts: int = 1                 # runs of the test: more than one after a transport fault
    requests: dict[str, int] = field(default_factory=dict)  # what it sent, by kind (tally.KINDS)


@dataclass
class ClauseVerdict:
    clause: Clause
    status: str
    reason: str | None
    observed: dict[str, Any]
    tests: list[TestResult]
    selected: bool
    cause: str | None = None          # status "error": why the clause could not be judged
    not_checked: list[str] = field(default_factory=list)
    known: Entry | None = None        # a failure the --baseline file lists: it does not fail the run

    @property
    def id(self) -> str:
        return self.clause.id

    @property
    def partial(self) -> bool:
        return self.status == "passed" and bool(self.not_checked)

    def matters(self, strict: bool) -> bool:
        """Whether this clause's outcome decides the run: MUST always, SHOULD under --strict."""
        return self.clause.level == "MUST" or strict

    def warned(self, strict: bool) -> bool:
        """A SHOULD clause that failed: a warning unless the run is strict."""
        return self.status == "failed" and not self.matters(strict)

    def label(self, strict: bool) -> str:
        """What a reader sees: passed, partial, failed, warned, inconclusive, skipped, not selected,
        no test."""
        if not self.selected:
            return "no test" if self.reason == NO_TEST else "not selected"
        if self.known is not None:
            return "known"
        if self.warned(strict):
            return "warned"
        if self.status == "error":
            return "inconclusive"
        if self.partial:
            return "partial"
        return self.status

    def fails_run(self, strict: bool) -> bool:
        return self.status == "failed" and self.known is None and self.matters(strict)

    def inconclusive_run(self, strict: bool) -> bool:
        return self.status == "error" and self.matters(strict)

    @property
    def evidence(self) -> list[dict[str, Any]]:
        return [e for t in self.tests if t.outcome in ("failed", "error") for e in t.evidence]

    @property
    def duration(self) -> float:
        return sum(t.duration for t in self.tests)

    @property
    def requests(self) -> dict[str, int]:
        """What its tests sent, by kind (tally.KINDS)."""
        return total(t.requests for t in self.tests)

    @property
    def reruns(self) -> int:
        """Reruns of this clause's tests after transport faults."""
        return sum(t.attempts - 1 for t in self.tests)


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
    else:
        reason = str(longrepr)
    return reason.removeprefix("Skipped: ")


class Verdicts:
    """Accumulates test outcomes during the run; ``clauses()`` gives the catalog's verdicts."""

    def __init__(self) -> None:
        self.results: dict[str, TestResult] = {}
        self.selected: set[str] = set()
        self.deselected: set[str] = set()
        self.stopped: str | None = None   # why the run stopped before any test, if it did
        self.baseline: Baseline | None = None       # --baseline: known failures
        self.baseline_outcome: BaselineOutcome | None = None  # what it did, after clauses()

    def collected(self, nodeid: str, clause: str) -> None:
        self.selected.add(clause)
        self.results.setdefault(nodeid, TestResult(nodeid=nodeid, clause=clause, outcome="error",
                                                   cause="aborted", message=NOT_RUN))

    def starting(self, nodeid: str) -> None:
        """A test begins: until its reports come, a run that stops inside it leaves it unfinished."""
        result = self.results.get(nodeid)
        if result is not None:
            result.message = UNFINISHED

    def add(self, report: pytest.TestReport) -> None:
        clause = getattr(report, "akol_clause", None)
        if clause is None:
            return
        result = self.results.setdefault(report.nodeid, TestResult(nodeid=report.nodeid, clause=clause))
        result.duration += report.duration
        result.attempts = max(result.attempts, getattr(report, "akol_attempts", 1))
        result.requests = getattr(report, "akol_requests", None) or result.requests
        result.observed.update(getattr(report, "akol_observed", {}) or {})
        result.not_checked.extend(n for n in getattr(report, "akol_not_checked", []) if n not in result.not_checked)
        if report.when == "setup":
            result.outcome, result.message, result.cause = (
                ("error", UNFINISHED, "aborted") if report.passed else ("passed", None, None))
        elif report.when == "call" and result.message == UNFINISHED:
            result.outcome, result.message, result.cause = "passed", None, None
        outcome = getattr(report, "akol_outcome", None)  # "failed" | "error", set by the plugin
        if outcome is None and report.failed:
            outcome = "error"
        if outcome is not None:
            if _RANK[outcome] > _RANK[result.outcome] or result.outcome == "passed":
                result.outcome = outcome
                result.cause = getattr(report, "akol_cause", None) if outcome == "error" else None
                result.message = getattr(report, "akol_message", None) or report.head_line or outcome
                result.details = getattr(report, "akol_details", None)
                result.expected = getattr(report, "akol_expected", None)
                result.observed_failure = getattr(report, "akol_observed_failure", None)
                result.evidence = list(getattr(report, "akol_evidence", []) or [])
        elif report.skipped and result.outcome == "passed":
            result.outcome, result.message = "skipped", _skip_reason(report)

    def stop_remaining(self, reason: str, cause: str) -> None:
        """The run stopped early (budget spent, cancelled): every test that did not run, or did not
        finish, is inconclusive with ``cause`` and ``reason``."""
        for result in self.results.values():
            if result.message in (NOT_RUN, UNFINISHED):
                result.outcome, result.cause, result.message = "error", cause, reason

    def clauses(self) -> list[ClauseVerdict]:
        by_clause: dict[str, list[TestResult]] = {}
        for result in self.results.values():
            by_clause.setdefault(result.clause, []).append(result)
        verdicts = [self._verdict(clause, by_clause.get(cid, [])) for cid, clause in CLAUSES.items()]
        if self.baseline is not None:
            self.baseline_outcome = apply_baseline(self.baseline, verdicts, dt.date.today())
        return verdicts

    def _verdict(self, clause: Clause, tests: list[TestResult]) -> ClauseVerdict:
        if not tests:
            if self.stopped:
                return ClauseVerdict(clause, "error", self.stopped, {}, [], selected=True, cause="aborted")
            reason = NOT_SELECTED if clause.id in self.deselected else NO_TEST
            return ClauseVerdict(clause, "skipped", reason, {}, [], selected=False)
        status = max((t.outcome for t in tests), key=_RANK.__getitem__)
        ran = [t for t in tests if t.outcome != "skipped"]
        observed: dict[str, Any] = {}
        for t in ran:  # a skipped test's figures describe a check that never happened
            observed.update(t.observed)
        reason: str | None = None
        cause: str | None = None
        not_checked: list[str] = []
        if status == "passed":
            not_checked = [f"{t.nodeid.rsplit('::', 1)[-1]}: {t.message}" for t in tests if t.outcome == "skipped"]
            not_checked += [part for t in ran for part in t.not_checked]
        else:
            worst = [t for t in tests if t.outcome == status]
            reason = "; ".join(dict.fromkeys(t.message for t in worst if t.message)) or status
            if status == "error":
                cause = next((t.cause for t in worst if t.cause), "suite")
        return ClauseVerdict(clause, status, reason, observed, tests, selected=True, cause=cause,
                             not_checked=not_checked)


def run_verdict(verdicts: Sequence[ClauseVerdict], strict: bool, aborted: str | None = None) -> str:
    """ABORTED: nothing could be judged; FAIL: a deciding clause failed; INCONCLUSIVE: none
    failed but one could not be judged; PASS otherwise."""
    if aborted is not None:
        return ABORTED
    if any(v.fails_run(strict) for v in verdicts):
        return FAIL
    if any(v.inconclusive_run(strict) for v in verdicts):
        return INCONCLUSIVE
    return PASS


# Exit codes (docs/spec/INTERFACE.md): 1 a deciding clause failed, 2 none failed but one could
# not be judged, 4 usage, an unusable target or a broken install (pytest.ExitCode.USAGE_ERROR),
# 0 otherwise.
INCONCLUSIVE_EXIT = 2
EXIT_CODES = {PASS: int(pytest.ExitCode.OK), FAIL: int(pytest.ExitCode.TESTS_FAILED),
              INCONCLUSIVE: INCONCLUSIVE_EXIT, ABORTED: int(pytest.ExitCode.USAGE_ERROR)}


def run_exit_code(verdicts: Sequence[ClauseVerdict], strict: bool, aborted: str | None = None) -> int:
    return EXIT_CODES[run_verdict(verdicts, strict, aborted)]
