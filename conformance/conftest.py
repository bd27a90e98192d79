"""The Akol conformance plugin: hooks only; the logic lives in ``_plugin/``.

Fixtures are defined in ``_plugin/fixtures.py`` and re-exported here so pytest finds them.
"""
from __future__ import annotations

import os
import time
from collections.abc import Generator
from datetime import datetime, timezone
from typing import Any

import pytest

import akol_fixtures
from akol_conformance._plugin.cancel import on_cancel

# The fixtures must be attributes of this conftest for pytest to scope them to the suite
# (a conftest's fixtures beat plugins' ones, e.g. Locust's own `session`); the hooks'
# `session` parameters shadow the fixture of that name on purpose (pluggy passes by name).
from akol_conformance._plugin.fixtures import (  # noqa: F401
    LOGS_KEY,
    NOT_CHECKED_KEY,
    OBSERVED_KEY,
    account,
    accounts_due,
    akol_run,
    api,
    clock,
    control,
    destructive_skip_reason,
    foreign_token,
    ip_bursts,
    lockout2_account,
    lockout_account,
    login,
    long_password_account,
    not_checked,
    observe,
    pat,
    quiet,
    renew_lockout_account,
    server_errors,
    session,
    settings,
    shared_account,
    spare_tfa_account,
    tfa_account,
    totp,
    wrong_password_account,
)
from akol_conformance._plugin.options import (  # noqa: F401
    CREDENTIAL_VARS,
    TEST_CONTROL_MODES,
    pytest_addoption,
    raw_value,
    report_dir_of,
    resolve,
)
from akol_conformance._plugin.outcomes import ClauseFailure, Inconclusive
from akol_conformance._plugin.redact import Redactor
from akol_conformance._plugin.reports import RunInfo, write_reports
from akol_conformance._plugin.rerun import ATTEMPTS, run_with_reruns
from akol_conformance._plugin.run import RUN_KEY, Run, TargetUnusable, get_run, missing_bundled_data
from akol_conformance._plugin.tally import Tally
from akol_conformance._plugin.terminal import summary_lines
from akol_conformance._plugin.transport import NETWORK_FAULTS, describe_fault
from akol_conformance._plugin.verdicts import ABORTED_NOT_RUN, Verdicts, run_exit_code
from akol_conformance.catalog import CLAUSES

CLAUSE_KEY = pytest.StashKey[str]()
TALLY_KEY = pytest.StashKey[Tally]()
_EVIDENCE_LIMIT = 20
ROBUST_MODULE = "test_robust.py"
EARLY_CLAUSE = "LOGIN-05"  # runs first: see pytest_collection_modifyitems
_CANCEL_KEY = pytest.StashKey[Any]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "clause(id): the catalog clause (e.g. LOGIN-01) this test checks")
    config.addinivalue_line("markers", "destructive: locks an account or trips the IP rate limit "
                                       "(remote targets: needs --destructive)")
    try:
        resolved = resolve(config)
    except pytest.UsageError as exc:
        _write_aborted_reports(config, str(exc))
        raise
    run = Run(resolved, Redactor(resolved.credentials.values()))
    run.verdicts.baseline = resolved.baseline
    config.stash[RUN_KEY] = run
    missing = missing_bundled_data()
    if missing is not None:
        _abort(run, missing)
    config.pluginmanager.register(_ReportListener(run), "akol-report-listener")
    if not config.option.collectonly and not _is_xdist_worker(config):
        config.stash[_CANCEL_KEY] = on_cancel(lambda name: setattr(run, "cancelled", name))


class _ReportListener:
    """The report hooks that get no config: bound to the run instead."""

    def __init__(self, run: Run) -> None:
        self.run = run

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.run.verdicts.add(report)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            lines = [line for line in str(report.longrepr).splitlines() if line.strip()]
            self.run.collect_errors.append(f"{report.nodeid or 'the suite'}: {lines[-1] if lines else 'failed'}")


def pytest_unconfigure(config: pytest.Config) -> None:
    restore = config.stash.get(_CANCEL_KEY, None)
    if restore is not None:
        restore()
    run = config.stash.get(RUN_KEY, None)
    if run is not None:
        run.close()


def _abort(run: Run, reason: str, *, said: bool = False) -> None:
    """Nothing can be judged: the run stops before any test, with one message and exit 4.
    ``said``: pytest prints ``reason`` already (a usage error raised with it)."""
    run.aborted = reason
    run.exit_says_why = said
    run.verdicts.stopped = ABORTED_NOT_RUN


def _write_reports(run: Run) -> None:
    s = run.settings
    verdicts = run.verdicts.clauses()
    info = RunInfo(target=s.target, test_control=run.test_control, test_control_mode=s.test_control,
                   test_control_why=run.test_control_why, started=run.started,
                   duration=time.monotonic() - run.started_clock, strict=s.strict, aborted=run.aborted,
                   stopped=run.stopped, resent=run.resent, baseline=run.verdicts.baseline_outcome)
    try:
        run.reports = write_reports(s.report_dir, info, verdicts, run.redactor)
    except OSError as exc:
        raise pytest.UsageError(f"cannot write the reports to {s.report_dir} ({exc}): "
                                "check --report-dir") from None


def _write_aborted_reports(config: pytest.Config, reason: str) -> None:
    """A usage error stops the run before it has settings: the reports still say why."""
    if config.option.collectonly or _is_xdist_worker(config):
        return
    verdicts = Verdicts()
    verdicts.stopped = ABORTED_NOT_RUN
    mode = raw_value(config, "test_control").strip().lower()
    info = RunInfo(target=raw_value(config, "target"), test_control=False,
                   test_control_mode=mode if mode in TEST_CONTROL_MODES else "auto",
                   test_control_why="not asked: the run stopped on a usage error",
                   started=datetime.now(timezone.utc), duration=0.0, strict=False, aborted=reason)
    redactor = Redactor(os.environ[name] for name in CREDENTIAL_VARS if os.environ.get(name))
    try:
        write_reports(report_dir_of(config), info, verdicts.clauses(), redactor)
    except OSError:
        pass  # the usage error is the message that matters; --report-dir may be what is wrong


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _start(config: pytest.Config) -> None:
    run = get_run(config)
    if run.target is not None or run.aborted is not None or config.option.collectonly:
        return
    try:
        run.start()
    except TargetUnusable as exc:
        _abort(run, str(exc))
    except Inconclusive as exc:  # the budget was spent before the target answered
        _abort(run, exc.reason)


def _stop_if_unusable(config: pytest.Config) -> None:
    run = get_run(config)
    if run.aborted is not None and not run.exit_says_why:
        # Raised once the session runs, so pytest prints the message exactly once.
        run.exit_says_why = True
        pytest.exit(run.aborted, returncode=pytest.ExitCode.USAGE_ERROR)


def pytest_sessionstart(session: pytest.Session) -> None:
    _start(session.config)


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session: pytest.Session) -> None:
    _stop_if_unusable(session.config)


def pytest_ignore_collect(collection_path: Any, config: pytest.Config) -> bool | None:
    # An aborted run imports no test module: a broken install would fail each import in turn.
    run = config.stash.get(RUN_KEY, None)
    return True if run is not None and run.aborted is not None else None


def _on_off(flag: bool) -> str:
    return "on" if flag else "off"


def pytest_report_header(config: pytest.Config) -> str | None:
    run = get_run(config)
    if run.target is None:
        return None
    s = run.settings
    target = f"{s.target} (app {s.app_factory})" if s.inprocess else s.target
    return (f"akol: target {target}; test control {_on_off(run.test_control)} ({s.test_control}: "
            f"{run.test_control_why}); destructive {_on_off(s.destructive)}; skew {s.skew:g} s; "
            f"budget {s.max_duration:g} s{'; strict' if s.strict else ''}{'; real time' if s.real_time else ''}")


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
        message = "every conformance test needs exactly one known clause mark:\n  " + "\n  ".join(problems)
        _abort(run, message, said=True)
        raise pytest.UsageError(message)
    if run.settings.clauses:
        wanted = set(run.settings.clauses)
        keep = [i for i in items if i.stash[CLAUSE_KEY] in wanted]
        dropped = [i for i in items if i.stash[CLAUSE_KEY] not in wanted]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        items[:] = keep
    # ROBUST-01 reads every 5xx of the session, so its module runs last (stable sort). Without
    # test control LOGIN-05 sends its wrong passwords to the lockout account, which it must find
    # unlocked: it runs before the lockout checks lock it (LOCK-03 ends a lock only with a clock).
    # The tests that read the shared `session` run next, together: one login serves them all
    # while no test between them moves the clock past its access token (a slow password check each).
    items.sort(key=lambda i: (i.path.name == ROBUST_MODULE, i.stash[CLAUSE_KEY] != EARLY_CLAUSE,
                              "session" not in getattr(i, "fixturenames", ())))


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
    run.accounts_due = accounts_due(session.items)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    if CLAUSE_KEY not in item.stash:
        return None
    run = get_run(item.config)
    if run.budget.spent:
        # Stop here: the tests not run yet are inconclusive (budget) and the reports are written.
        run.cut_short = run.budget.reason
        item.session.shouldstop = f"{run.budget.reason}: the clauses not judged yet are inconclusive"
        return True
    run.verdicts.starting(item.nodeid)
    # A test that locks an account or trips a limit leaves state a rerun would meet, unless test
    # control gives it fresh accounts and a clock to wait the limits out: then one run only.
    dirty = item.get_closest_marker("destructive") is not None and not run.test_control
    run.current = item.stash[TALLY_KEY] = Tally()
    try:
        run_with_reruns(item, nextitem, run.budget, (LOGS_KEY, OBSERVED_KEY, NOT_CHECKED_KEY),
                        attempts=1 if dirty else ATTEMPTS)
    finally:
        run.current = None
    return True


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


def _find(exc: BaseException | None, kinds: type[BaseException] | tuple[type[BaseException], ...]
          ) -> BaseException | None:
    """``exc`` or the first exception of ``kinds`` inside it (exception groups: Hypothesis wraps
    what a generated example raised)."""
    if exc is None or isinstance(exc, kinds):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _find(inner, kinds)
            if found is not None:
                return found
    return None


def _failure_message(report: pytest.TestReport, exc: BaseException | None, faults: list[str],
                     oversized: list[str]) -> str:
    if isinstance(exc, ClauseFailure):
        return f"{oversized[-1]}; the check said: {exc}" if oversized else str(exc)
    inconclusive = _find(exc, Inconclusive)
    if isinstance(inconclusive, Inconclusive):
        return inconclusive.reason
    fault = _find(exc, NETWORK_FAULTS)
    if fault is not None:
        return describe_fault(fault)
    if faults:
        return f"{faults[-1]} (then {type(exc).__name__})"
    if oversized:
        return f"{oversized[-1]} (then {type(exc).__name__})"
    missing = _find(exc, akol_fixtures.MissingData)
    if missing is not None:
        return str(missing)
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message)
    # A fixture pytest could not find: its repr ends with a file position, not the name.
    lookup = getattr(report.longrepr, "errorstring", None)
    if lookup:
        return str(lookup).strip().splitlines()[0]
    lines = str(report.longrepr).strip().splitlines()
    return lines[-1] if lines else "failed"


def _judge(report: pytest.TestReport, exc: BaseException | None, faults: list[str],
           oversized: list[str]) -> tuple[str, str | None]:
    """(outcome, cause) of a failed phase: only a ClauseFailure in the test itself is the target's
    failure (it always rests on an answer the target gave), unless the test met an answer too long
    to read whole; anything else means the clause could not be judged. ``faults``: transport
    faults the test met, which explain whatever it raised."""
    if isinstance(exc, ClauseFailure):
        if oversized:
            return "error", "oversize"
        return ("failed", None) if report.when == "call" else ("error", "prerequisite")
    inconclusive = _find(exc, Inconclusive)
    if isinstance(inconclusive, Inconclusive):
        return "error", inconclusive.cause
    if _find(exc, NETWORK_FAULTS) is not None or faults:
        return "error", "transport"
    if oversized:
        return "error", "oversize"
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
    if report.when == "teardown" and TALLY_KEY in item.stash:
        report.akol_requests = item.stash[TALLY_KEY].as_dict()  # type: ignore[attr-defined]
    if report.failed:
        exc = call.excinfo.value if call.excinfo is not None else None
        logs = item.stash.get(LOGS_KEY, [])
        faults = [fault for log in logs for fault in log.faults]
        oversized = [note for log in logs for note in log.oversized]
        outcome, cause = _judge(report, exc, faults, oversized)
        missing = _find(exc, akol_fixtures.MissingData)
        if missing is not None:  # a broken install, found mid-run: stop, exit 4, never a verdict
            _abort(run, str(missing))
            item.session.shouldstop = str(missing)
        evidence = [ex.redacted(redactor) for log in logs for ex in log.exchanges]
        evidence = evidence[-_EVIDENCE_LIMIT:]
        if isinstance(exc, ClauseFailure):
            exc.evidence = evidence
            report.akol_expected = redactor.scrub_rendering(str(exc.expected))  # type: ignore[attr-defined]
            report.akol_observed_failure = redactor.scrub_rendering(  # type: ignore[attr-defined]
                exc.observed if isinstance(exc.observed, str) else repr(exc.observed))
        report.akol_outcome, report.akol_cause = outcome, cause  # type: ignore[attr-defined]
        report.akol_message = redactor.scrub_rendering(_failure_message(report, exc, faults, oversized))  # type: ignore[attr-defined]
        report.akol_evidence = evidence  # type: ignore[attr-defined]
        report.akol_details = redactor.scrub_rendering(str(report.longrepr))  # type: ignore[attr-defined]
        decides = CLAUSES[clause].level == "MUST" or run.settings.strict
        known = outcome == "failed" and _known_failure(run, clause)
        if outcome == "error":
            report.akol_inconclusive = True  # type: ignore[attr-defined]
        if (known or not decides) and report.when == "call":
            # A SHOULD clause not met (or not judged), or a failure the baseline lists, is not a
            # failure for pytest (-x). Only in the call: a setup that "passed" would run the test
            # without its fixtures.
            report.outcome = "passed"
            report.akol_warned = outcome == "failed" and not known  # type: ignore[attr-defined]
            report.akol_known = known  # type: ignore[attr-defined]
    _scrub_report(report, redactor, getattr(report, "akol_message", None))
    return report


def _known_failure(run: Run, clause: str) -> bool:
    """The --baseline file lists this clause and its entry has not expired."""
    entry = run.settings.baseline.entries.get(clause) if run.settings.baseline else None
    return entry is not None and not entry.expired(datetime.now(timezone.utc).date())


def pytest_report_teststatus(
    report: pytest.TestReport, config: pytest.Config
) -> tuple[str, str, tuple[str, dict[str, bool]]] | None:
    if getattr(report, "akol_known", False):
        return "known", "K", ("KNOWN", {"yellow": True})
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
    if run.collect_errors and run.aborted is None:
        _abort(run, f"the suite's own tests could not be collected: {'; '.join(run.collect_errors)}")
    if run.cancelled:
        run.verdicts.stop_remaining(f"the run was cancelled by {run.cancelled} before this test was judged", "aborted")
    elif run.cut_short:
        run.verdicts.stop_remaining(f"{run.cut_short} before this test was judged", "budget")
    _write_reports(run)
    decided_by_verdicts = (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)
    if run.aborted is None and session.exitstatus not in decided_by_verdicts and not run.stopped:
        return  # pytest.exit(returncode=…) inside a test: its code stands
    session.exitstatus = run_exit_code(run.verdicts.clauses(), run.settings.strict, run.aborted)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    run = get_run(config)
    if config.option.collectonly:
        return
    terminalreporter.write_sep("=", "Akol conformance")
    if run.aborted is not None:
        why = "(reason below)" if run.exit_says_why else run.redactor.scrub_rendering(run.aborted)
        terminalreporter.write_line(f"ABORTED: no clause was judged {why}", red=True, bold=True)
        terminalreporter.write_line(f"reports: {', '.join(map(str, run.reports))}")
        return
    for text, markup in summary_lines(run.verdicts.clauses(), run.settings.strict, run.redactor, run.reports,
                                      stopped=run.stopped, resent=run.resent,
                                      baseline=run.verdicts.baseline_outcome):
        terminalreporter.write_line(text, **markup)
