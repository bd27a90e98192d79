"""The Akol conformance plugin: hooks only; the logic lives in ``_plugin/``.

Fixtures are defined in ``_plugin/fixtures.py`` and re-exported here so pytest finds them.
"""
from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any

import httpx
import pytest

# The fixtures must be attributes of this conftest for pytest to scope them to the suite
# (a conftest's fixtures beat plugins' ones, e.g. Locust's own `session`); the hooks'
# `session` parameters shadow the fixture of that name on purpose (pluggy passes by name).
from akol_conformance._plugin.fixtures import (  # noqa: F401
    LOGS_KEY,
    NOT_CHECKED_KEY,
    OBSERVED_KEY,
    account,
    akol_run,
    api,
    clock,
    control,
    destructive_skip_reason,
    foreign_token,
    lockout2_account,
    lockout_account,
    login,
    long_password_account,
    not_checked,
    observe,
    pat,
    server_errors,
    session,
    settings,
    spare_tfa_account,
    tfa_account,
    totp,
)
from akol_conformance._plugin.options import pytest_addoption, resolve  # noqa: F401
from akol_conformance._plugin.outcomes import ClauseFailure, Inconclusive
from akol_conformance._plugin.redact import Redactor
from akol_conformance._plugin.reports import RunInfo, write_reports
from akol_conformance._plugin.run import RUN_KEY, Run, TargetUnusable, get_run
from akol_conformance._plugin.terminal import summary_lines
from akol_conformance._plugin.verdicts import run_exit_code
from akol_conformance.catalog import CLAUSES

CLAUSE_KEY = pytest.StashKey[str]()
_EVIDENCE_LIMIT = 20
ROBUST_MODULE = "test_robust.py"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "clause(id): the catalog clause (e.g. LOGIN-01) this test checks")
    config.addinivalue_line("markers", "destructive: locks an account or trips the IP rate limit "
                                       "(remote targets: needs --destructive)")
    resolved = resolve(config)
    run = Run(resolved, Redactor(resolved.credentials.values()))
    config.stash[RUN_KEY] = run
    config.pluginmanager.register(_ReportListener(run), "akol-report-listener")


class _ReportListener:
    """The report hooks that get no config: bound to the run instead."""

    def __init__(self, run: Run) -> None:
        self.run = run

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.run.verdicts.add(report)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.run.collect_errors += 1


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(RUN_KEY, None)
    if run is not None:
        run.close()


def _write_reports(run: Run) -> None:
    info = RunInfo(target=run.settings.target, test_control=run.test_control, started=run.started,
                   duration=time.monotonic() - run.started_clock, strict=run.settings.strict)
    try:
        run.reports = write_reports(run.settings.report_dir, info, run.verdicts.clauses(), run.redactor)
    except OSError as exc:
        raise pytest.UsageError(f"cannot write the reports to {run.settings.report_dir} ({exc}): "
                                "check --report-dir") from None


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _start(config: pytest.Config) -> None:
    run = get_run(config)
    if run.target is not None or config.option.collectonly:
        return
    try:
        run.start()
    except TargetUnusable as exc:
        run.verdicts.stopped = f"not run: {exc}"
        run.stop = str(exc)


def _stop_if_unusable(config: pytest.Config) -> None:
    run = get_run(config)
    if run.stop is not None:
        # Raised once the session runs, so pytest prints the message exactly once.
        pytest.exit(run.stop, returncode=pytest.ExitCode.USAGE_ERROR)


def pytest_sessionstart(session: pytest.Session) -> None:
    _start(session.config)


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session: pytest.Session) -> None:
    _stop_if_unusable(session.config)


def pytest_report_header(config: pytest.Config) -> str | None:
    run = get_run(config)
    if run.target is None:
        return None
    s = run.settings
    target = f"{s.target} (app {s.app_factory})" if s.inprocess else s.target
    return (f"akol: target {target}, test control {'yes' if run.test_control else 'no'}, "
            f"destructive {'on' if s.destructive else 'off'}, skew {s.skew:g} s"
            f"{', strict' if s.strict else ''}{', real time' if s.real_time else ''}")


def _clause_problems(items: list[pytest.Item]) -> list[str]:
    problems = []
    modules: dict[str, str] = {}
    for item in items:
        marks = list(item.iter_markers("clause"))
        ids = [m.args[0] if len(m.args) == 1 and not m.kwargs else None for m in marks]
        if len(marks) != 1:
            problems.append(f"{item.nodeid}: has {len(marks)} @pytest.mark.clause marks, needs exactly one")
        elif not isinstance(ids[0], str) or ids[0] not in CLAUSES:
            problems.append(f"{item.nodeid}: @pytest.mark.clause({', '.join(map(repr, marks[0].args))}) "
                            "names no clause of conformance/catalog.py (ids look like LOGIN-01)")
        else:
            module = item.nodeid.split("::", 1)[0]
            if modules.setdefault(ids[0], module) != module:
                problems.append(f"{item.nodeid}: clause {ids[0]} is already checked in {modules[ids[0]]}; "
                                "a clause id belongs to exactly one test module")
            item.stash[CLAUSE_KEY] = ids[0]
    return problems


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    run = get_run(config)
    problems = _clause_problems(items)
    if problems:
        run.verdicts.stopped = "not run: the suite's own tests are mis-marked"
        raise pytest.UsageError("every conformance test needs exactly one known clause mark:\n  "
                                + "\n  ".join(problems))
    if run.settings.clauses:
        wanted = set(run.settings.clauses)
        keep = [i for i in items if i.stash[CLAUSE_KEY] in wanted]
        dropped = [i for i in items if i.stash[CLAUSE_KEY] not in wanted]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        items[:] = keep
    # ROBUST-01 reads every 5xx of the session, so its module runs last (stable sort).
    items.sort(key=lambda i: i.path.name == ROBUST_MODULE)


def pytest_deselected(items: list[pytest.Item]) -> None:
    if not items:
        return
    run = get_run(items[0].config)
    for item in items:
        mark = item.get_closest_marker("clause")
        if mark is not None and mark.args:
            run.verdicts.deselected.add(str(mark.args[0]))


def pytest_collection_finish(session: pytest.Session) -> None:
    # This conftest is loaded late (during collection) when `--target URL` hid the
    # conformance/ path from pytest's early conftest discovery: start here then.
    _start(session.config)
    _stop_if_unusable(session.config)
    run = get_run(session.config)
    for item in session.items:
        if CLAUSE_KEY in item.stash:
            run.verdicts.collected(item.nodeid, item.stash[CLAUSE_KEY])


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("destructive") is not None:
        reason = destructive_skip_reason(get_run(item.config).settings)
        if reason:
            pytest.skip(reason)


def _scrub_longrepr(longrepr: object, redactor: Redactor) -> None:
    """Scrub pytest's structured failure report in place, keeping its layout and colours."""
    chain = getattr(longrepr, "chain", None) or [(getattr(longrepr, "reprtraceback", None),
                                                  getattr(longrepr, "reprcrash", None), None)]
    for reprtraceback, reprcrash, _ in chain:
        if reprcrash is not None:
            reprcrash.message = redactor.scrub_rendering(reprcrash.message)
        for entry in getattr(reprtraceback, "reprentries", []):
            if hasattr(entry, "lines"):
                entry.lines = [redactor.scrub_rendering(line) for line in entry.lines]
            for part in ("reprlocals", "reprfuncargs"):
                holder = getattr(entry, part, None)
                if holder is not None and hasattr(holder, "lines"):
                    holder.lines = [redactor.scrub_rendering(line) for line in holder.lines]
                if holder is not None and hasattr(holder, "args"):
                    holder.args = [(name, redactor.scrub_rendering(str(value))) for name, value in holder.args]
    sections = getattr(longrepr, "sections", None)
    if isinstance(sections, list):
        sections[:] = [(name, redactor.scrub_rendering(content), sep) for name, content, sep in sections]


def _scrub_report(report: pytest.TestReport, redactor: Redactor, headline: str | None = None) -> None:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        report.longrepr = (longrepr[0], longrepr[1], redactor.scrub_rendering(str(longrepr[2])))
    elif longrepr is not None:
        text = str(longrepr)
        if redactor.scrub_rendering(text) != text:
            _scrub_longrepr(longrepr, redactor)
            text = str(longrepr)
            clean = redactor.scrub_rendering(text)
            if clean != text:  # something the structure walk missed: fall back to plain text
                # pytest's short summary shows a text longrepr's first line: make it the verdict.
                report.longrepr = f"{headline}\n\n{clean}" if headline else clean
    report.sections = [(title, redactor.scrub_rendering(content)) for title, content in report.sections]


def _failure_message(report: pytest.TestReport, exc: BaseException | None) -> str:
    if isinstance(exc, ClauseFailure):
        return str(exc)
    if isinstance(exc, Inconclusive):
        return exc.reason
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message)
    lines = str(report.longrepr).strip().splitlines()
    return lines[-1] if lines else "failed"


def _judge(report: pytest.TestReport, exc: BaseException | None) -> tuple[str, str | None]:
    """(outcome, cause) of a failed phase: only a ClauseFailure in the test itself is the target's
    failure; anything else means the clause could not be judged."""
    if isinstance(exc, Inconclusive):
        return "error", exc.cause
    if isinstance(exc, httpx.TransportError):
        return "error", "transport"
    if isinstance(exc, ClauseFailure):
        return ("failed", None) if report.when == "call" else ("error", "prerequisite")
    return "error", "suite"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    clause = item.stash.get(CLAUSE_KEY, None)
    if clause is None:
        return report
    run = get_run(item.config)
    redactor = run.redactor
    report.akol_clause = clause  # type: ignore[attr-defined]
    observed: dict[str, Any] = item.stash.get(OBSERVED_KEY, {})
    report.akol_observed = dict(observed)  # type: ignore[attr-defined]
    report.akol_not_checked = [redactor.scrub(n) for n in item.stash.get(NOT_CHECKED_KEY, [])]  # type: ignore[attr-defined]
    if report.failed:
        exc = call.excinfo.value if call.excinfo is not None else None
        outcome, cause = _judge(report, exc)
        evidence = [ex.redacted(redactor) for log in item.stash.get(LOGS_KEY, []) for ex in log.exchanges]
        evidence = evidence[-_EVIDENCE_LIMIT:]
        if isinstance(exc, ClauseFailure):
            exc.evidence = evidence
            report.akol_expected = redactor.scrub_rendering(str(exc.expected))  # type: ignore[attr-defined]
            report.akol_observed_failure = redactor.scrub_rendering(  # type: ignore[attr-defined]
                exc.observed if isinstance(exc.observed, str) else repr(exc.observed))
        report.akol_outcome, report.akol_cause = outcome, cause  # type: ignore[attr-defined]
        report.akol_message = redactor.scrub_rendering(_failure_message(report, exc))  # type: ignore[attr-defined]
        report.akol_evidence = evidence  # type: ignore[attr-defined]
        report.akol_details = redactor.scrub_rendering(str(report.longrepr))  # type: ignore[attr-defined]
        decides = CLAUSES[clause].level == "MUST" or run.settings.strict
        if outcome == "error":
            report.akol_inconclusive = True  # type: ignore[attr-defined]
        if not decides:
            # A SHOULD clause not met (or not judged) is a warning: not a failure for pytest (-x).
            report.outcome = "passed"
            report.akol_warned = outcome == "failed"  # type: ignore[attr-defined]
    _scrub_report(report, redactor, getattr(report, "akol_message", None))
    return report


def pytest_report_teststatus(
    report: pytest.TestReport, config: pytest.Config
) -> tuple[str, str, tuple[str, dict[str, bool]]] | None:
    if getattr(report, "akol_warned", False):
        return "warned", "W", ("WARNED", {"yellow": True})
    if getattr(report, "akol_inconclusive", False):
        return "inconclusive", "I", ("INCONCLUSIVE", {"yellow": True})
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    run = get_run(session.config)
    if session.config.option.collectonly or _is_xdist_worker(session.config):
        return  # under pytest-xdist the controller, which gets every report, writes them
    _write_reports(run)
    if run.collect_errors or session.exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return
    session.exitstatus = run_exit_code(run.verdicts.clauses(), run.settings.strict)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    run = get_run(config)
    if config.option.collectonly:
        return
    terminalreporter.write_sep("=", "Akol conformance")
    if run.stop is not None:
        terminalreporter.write_line("no clause was checked: the run stopped (reason below)", red=True)
        terminalreporter.write_line(f"reports: {', '.join(map(str, run.reports))}")
        return
    for text, markup in summary_lines(run.verdicts.clauses(), run.settings.strict, run.redactor, run.reports):
        terminalreporter.write_line(text, **markup)
