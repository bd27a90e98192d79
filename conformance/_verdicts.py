"""From pytest reports to one verdict per clause of the catalog."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from conformance._catalog import CLAUSES, Clause

NOT_SELECTED = "not selected"
NO_TEST = "no test"
# Between a passed setup and the call's report: a run that stops inside the test
# (pytest.exit, Ctrl-C) must not leave its clause "passed".
UNFINISHED = "the run stopped before this test finished"

_RANK = {"failed": 3, "error": 2, "passed": 1, "skipped": 0}


@dataclass
class TestResult:
    nodeid: str
    clause: str
    outcome: str = "passed"           # passed | failed | skipped | error
    message: str | None = None        # failure message or skip reason, redacted
    details: str | None = None        # the redacted longrepr of a failure
    expected: str | None = None       # a ClauseFailure's expected / observed, redacted
    observed_failure: str | None = None
    observed: dict[str, Any] = field(default_factory=dict)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    duration: float = 0.0


@dataclass
class ClauseVerdict:
    clause: Clause
    status: str
    reason: str | None
    observed: dict[str, Any]
    tests: list[TestResult]
    selected: bool

    @property
    def id(self) -> str:
        return self.clause.id

    def warned(self, strict: bool) -> bool:
        """A SHOULD clause that failed: a warning unless the run is strict."""
        return self.clause.level == "SHOULD" and self.status in ("failed", "error") and not strict

    def label(self, strict: bool) -> str:
        """The status a reader sees: a SHOULD failure reads "warned" unless the run is strict."""
        return "warned" if self.warned(strict) else self.status

    def fails_run(self, strict: bool) -> bool:
        return self.status in ("failed", "error") and (self.clause.level == "MUST" or strict)

    @property
    def evidence(self) -> list[dict[str, Any]]:
        return [e for t in self.tests if t.outcome in ("failed", "error") for e in t.evidence]

    @property
    def duration(self) -> float:
        return sum(t.duration for t in self.tests)


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

    def collected(self, nodeid: str, clause: str) -> None:
        self.selected.add(clause)
        self.results.setdefault(nodeid, TestResult(nodeid=nodeid, clause=clause, outcome="skipped",
                                                   message="not run"))

    def add(self, report: pytest.TestReport) -> None:
        clause = getattr(report, "akol_clause", None)
        if clause is None:
            return
        result = self.results.setdefault(report.nodeid, TestResult(nodeid=report.nodeid, clause=clause))
        result.duration += report.duration
        result.observed.update(getattr(report, "akol_observed", {}) or {})
        if report.when == "setup":
            result.outcome, result.message = ("error", UNFINISHED) if report.passed else ("passed", None)
        elif report.when == "call" and result.message == UNFINISHED:
            result.outcome, result.message = "passed", None
        warned = bool(getattr(report, "akol_warned", False))
        if report.failed or warned:
            outcome = "failed" if report.when == "call" else "error"
            if _RANK[outcome] > _RANK[result.outcome] or result.outcome == "passed":
                result.outcome = outcome
                result.message = getattr(report, "akol_message", None) or report.head_line or "failed"
                result.details = getattr(report, "akol_details", None)
                result.expected = getattr(report, "akol_expected", None)
                result.observed_failure = getattr(report, "akol_observed_failure", None)
                result.evidence = list(getattr(report, "akol_evidence", []) or [])
        elif report.skipped and result.outcome == "passed":
            result.outcome, result.message = "skipped", _skip_reason(report)

    def clauses(self) -> list[ClauseVerdict]:
        by_clause: dict[str, list[TestResult]] = {}
        for result in self.results.values():
            by_clause.setdefault(result.clause, []).append(result)
        verdicts = []
        for cid, clause in CLAUSES.items():
            tests = by_clause.get(cid, [])
            reason: str | None
            if not tests:
                reason = self.stopped or (NOT_SELECTED if cid in self.deselected else NO_TEST)
                verdicts.append(ClauseVerdict(clause, "skipped", reason, {}, [], selected=False))
                continue
            status = max((t.outcome for t in tests), key=_RANK.__getitem__)
            if status == "passed":
                reason = None
            else:
                reasons = [t.message for t in tests if t.outcome == status and t.message]
                reason = "; ".join(dict.fromkeys(reasons)) or status
            observed: dict[str, Any] = {}
            for t in tests:
                observed.update(t.observed)
            verdicts.append(ClauseVerdict(clause, status, reason, observed, tests, selected=True))
        return verdicts
