"""The kill matrix: run the real conformance suite against every mutant and judge each run.

``run_matrix()`` runs, in parallel subprocesses:
- each mutant in-process (``--app-factory tests.mutants:app_factory --clause FAMILY``, env
  ``AKOL_MUTANT``), and each ``http=True`` mutant again over real HTTP (served by
  ``python -m tests.mutants.serve``, suite run with ``--target URL --destructive``);
- the correct fake: the whole suite in-process (must be clean: exit 0, no clause failed or
  errored, nothing skipped) and over HTTP (exit 0, no clause failed or errored).

Verdict rule (``judge``): a MUST mutant is killed iff the run exits non-zero AND its clause is
``failed``; a SHOULD mutant iff the run exits 0 AND its clause is ``failed`` (a warning).
"""
from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from akol_conformance.catalog import CLAUSES
from tests._mutation_probe import PROBE_ENV
from tests.mutants import Mutant

ROOT = Path(__file__).resolve().parents[1]
SUITE_TIMEOUT = 120.0
SERVER_START_TIMEOUT = 20.0
FOREIGN_ENV = "staging"
Mode = Literal["inprocess", "http"]

# Pytest plugins installed in the venv that the suite does not need (it calls schemathesis and
# hypothesis as libraries): loading them costs ~1 s of CPU in each of the matrix's subprocesses.
UNUSED_PLUGINS: tuple[str, ...] = (
    "xdist", "xdist.looponfail", "locust", "anyio", "schemathesis", "hypothesispytest",
)

_URL = re.compile(r"https?://[^\s)]+")
_FAILING = ("failed", "error")


@dataclass(frozen=True)
class Outcome:
    nodeid: str
    clause: str | None
    outcome: str  # passed | failed | error | skipped (the worst of the test's phases)


@dataclass(frozen=True)
class ClauseStatus:
    status: str  # passed | failed | skipped | error (conformance.json), or "absent"
    reason: str | None = None


@dataclass(frozen=True)
class SuiteRun:
    """One subprocess run of the conformance suite, as read from its reports."""

    label: str
    mode: Mode
    family: str | None
    exit_code: int | None  # None: it never finished (timeout, server did not start)
    duration: float
    clauses: Mapping[str, ClauseStatus]
    tests: tuple[Outcome, ...]
    skipped_summary: int  # skips counted in conformance.json's summary
    report_dir: Path
    problem: str | None = None  # why the run gave no usable report
    cpu_seconds: float | None = None  # the pytest process's own CPU time (not a served mutant's)

    def status(self, clause: str) -> ClauseStatus:
        return self.clauses.get(clause, ClauseStatus("absent"))

    @property
    def failed_clauses(self) -> list[str]:
        return [cid for cid, st in self.clauses.items() if st.status in _FAILING]

    def failing_tests(self, clause: str | None = None) -> list[str]:
        return [
            t.nodeid
            for t in self.tests
            if t.outcome in _FAILING and (clause is None or t.clause == clause)
        ]

    @property
    def skipped_tests(self) -> list[str]:
        return [t.nodeid for t in self.tests if t.outcome == "skipped"]


@dataclass(frozen=True)
class Verdict:
    killed: bool
    why: str
    run: SuiteRun


@dataclass(frozen=True)
class MutantResult:
    mutant: Mutant
    verdicts: Mapping[Mode, Verdict]

    @property
    def killed(self) -> bool:
        return all(v.killed for v in self.verdicts.values())


@dataclass(frozen=True)
class ControlResult:
    """The correct fake's run: ``problems`` lists every way it was not clean."""

    run: SuiteRun
    problems: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class ClauseCoverage:
    clause: str
    mutants: tuple[str, ...]
    killers: tuple[str, ...]


@dataclass(frozen=True)
class MatrixResult:
    mutants: tuple[MutantResult, ...]
    controls: Mapping[Mode, ControlResult]
    wall_seconds: float
    jobs: int
    partial: bool = False  # --only: a subset of the catalog, no coverage claim
    coverage: tuple[ClauseCoverage, ...] = field(default=())

    @property
    def killed(self) -> int:
        return sum(r.killed for r in self.mutants)

    @property
    def score(self) -> float:
        return self.killed / len(self.mutants) if self.mutants else 0.0

    @property
    def cpu_seconds(self) -> float:
        """CPU time of every suite process of the matrix (served mutants not counted)."""
        runs = [v.run for r in self.mutants for v in r.verdicts.values()] + [c.run for c in self.controls.values()]
        return sum(run.cpu_seconds or 0.0 for run in runs)

    @property
    def http_runs(self) -> list[Verdict]:
        return [r.verdicts["http"] for r in self.mutants if "http" in r.verdicts]

    @property
    def uncovered(self) -> list[str]:
        return [c.clause for c in self.coverage if not c.mutants]

    @property
    def unkilled(self) -> list[str]:
        return [c.clause for c in self.coverage if c.mutants and not c.killers]

    def problems(self) -> list[str]:
        """Every way the matrix is not a full proof of detection, one line each."""
        out = [
            f"mutant {r.mutant.name} ({r.mutant.clause}, {mode}) survived: {v.why}"
            for r in self.mutants
            for mode, v in r.verdicts.items()
            if not v.killed
        ]
        out += [f"correct fake ({mode}) not clean: {p}" for mode, c in self.controls.items() for p in c.problems]
        if not self.partial:
            out += [f"clause {c} has no mutant: add one to tests/mutants/" for c in self.uncovered]
            out += [f"clause {c}: no mutant of it is killed" for c in self.unkilled]
        return out


def judge(mutant: Mutant, run: SuiteRun) -> Verdict:
    """Apply the verdict rule for the mutant's level to one run of its clause family."""
    if run.problem is not None:
        return Verdict(False, run.problem, run)
    st = run.status(mutant.clause)
    killers = run.failing_tests(mutant.clause)
    failed = f"{mutant.clause} failed ({', '.join(killers) or 'no test recorded'})"
    others = [c for c in run.failed_clauses if c != mutant.clause]
    if st.status != "failed":
        reason = f", reason: {st.reason}" if st.reason else ""
        return Verdict(False, f"{mutant.clause} is {st.status}{reason} (exit code {run.exit_code})", run)
    if mutant.level == "MUST" and run.exit_code != 1:
        return Verdict(False, f"{failed} but the run exited {run.exit_code}: a MUST failure must fail the run "
                              "(exit 1)", run)
    if mutant.level == "SHOULD" and run.exit_code != 0:
        return Verdict(
            False,
            f"{failed} but the run exited {run.exit_code} (also failed: {', '.join(others) or 'nothing'}):"
            " a SHOULD mutant must only warn",
            run,
        )
    return Verdict(True, f"exit code {run.exit_code}, {failed}", run)


def check_control(run: SuiteRun) -> ControlResult:
    """The correct fake is clean: exit 0, no clause failed; in-process also nothing skipped."""
    if run.problem is not None:
        return ControlResult(run, (run.problem,))
    problems: list[str] = []
    if run.exit_code != 0:
        problems.append(f"exit code {run.exit_code}, expected 0")
    problems += [f"clause {c} is {run.status(c).status}" for c in run.failed_clauses]
    problems += [f"test {t} failed" for t in run.failing_tests()]
    if not run.clauses:
        problems.append("conformance.json lists no clause")
    if run.mode == "inprocess":
        problems += [f"test {t} was skipped in-process" for t in run.skipped_tests]
        if run.skipped_summary and not run.skipped_tests:
            problems.append(f"conformance.json counts {run.skipped_summary} skipped")
    return ControlResult(run, tuple(problems))


def coverage(results: Sequence[MutantResult]) -> tuple[ClauseCoverage, ...]:
    return tuple(
        ClauseCoverage(
            cid,
            tuple(r.mutant.name for r in results if r.mutant.clause == cid),
            tuple(r.mutant.name for r in results if r.mutant.clause == cid and r.killed),
        )
        for cid in CLAUSES
    )


# --- running the suite -------------------------------------------------------------------


def suite_env(mutant: str | None) -> dict[str, str]:
    """The caller's environment minus anything that would steer the suite elsewhere."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AKOL_", "PYTEST_"))
    }
    if mutant is not None:
        env["AKOL_MUTANT"] = mutant
    return env


def suite_command(
    report_dir: Path,
    *,
    family: str | None,
    paths: Sequence[str] = (),
    app_factory: str | None = None,
    target: str | None = None,
    foreign_target: str | None = None,
) -> list[str]:
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-p", "tests._mutation_probe"]
    for plugin in UNUSED_PLUGINS:
        cmd += ["-p", f"no:{plugin}"]
    cmd.append(f"--report-dir={report_dir}")
    if app_factory is not None:
        cmd.append(f"--app-factory={app_factory}")
    if family is not None:
        cmd.append(f"--clause={family}")
    if target is not None:
        cmd += [f"--target={target}", "--destructive"]
    if foreign_target is not None:
        cmd.append(f"--foreign-target={foreign_target}")
    return cmd + list(paths)


def family_modules(out_dir: Path, timeout: float = SUITE_TIMEOUT) -> dict[str, tuple[str, ...]]:
    """Which test modules hold each family's clauses, from one `--collect-only` run.

    A family's run collects only these, so no run pays for another family's imports (a test
    module importing schemathesis at its top cost every run ~1 s of CPU). Empty when collection
    fails: runs then collect the whole suite, and the correct-fake run reports the error.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    probe = out_dir / "collect.jsonl"
    probe.unlink(missing_ok=True)
    env = {**suite_env(None), PROBE_ENV: str(probe)}
    cmd = [*suite_command(out_dir / "collect-report", family=None), "--collect-only"]
    if _run_bounded(cmd, env, out_dir / "collect.log", timeout) != 0 or not probe.exists():
        return {}
    modules: dict[str, set[str]] = {}
    for line in probe.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if rec["outcome"] == "collected" and rec["clause"] in CLAUSES:
            modules.setdefault(CLAUSES[rec["clause"]].family, set()).add(rec["nodeid"].split("::")[0])
    return {family: tuple(sorted(paths)) for family, paths in modules.items()}


class _Live:
    """The matrix's running processes, so an interrupted matrix stops them (each in its own session)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: set[subprocess.Popen[Any]] = set()

    @contextmanager
    def started(self, cmd: Sequence[str], env: Mapping[str, str], **popen: Any) -> Iterator[subprocess.Popen[Any]]:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=dict(env), start_new_session=True, **popen)
        with self._lock:
            self._procs.add(proc)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                kill(proc)
            with self._lock:
                self._procs.discard(proc)

    def kill_all(self) -> None:
        with self._lock:
            procs = list(self._procs)
        for proc in procs:
            kill(proc)


def kill(proc: subprocess.Popen[Any]) -> None:
    """Kill the process group of a process this module started (its own session), and reap it."""
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


_LIVE = _Live()


def _run_bounded(cmd: Sequence[str], env: Mapping[str, str], log: Path, timeout: float) -> int | None:
    """Run to completion within `timeout` (exit code), else kill its process group (None)."""
    with log.open("w", encoding="utf-8") as out, _LIVE.started(cmd, env, stdout=out, stderr=subprocess.STDOUT) as proc:
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill(proc)
            return None


def _last_line(log: Path) -> str:
    lines = [ln.strip() for ln in log.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "no output"


def _read_probe(probe: Path) -> tuple[tuple[Outcome, ...], float | None]:
    """Each test's worst outcome over its phases, and the run's CPU seconds (None: not recorded)."""
    rank = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}
    worst: dict[str, Outcome] = {}
    cpu: float | None = None
    if probe.exists():
        for line in probe.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            if rec["outcome"] == "cpu":
                cpu = float(rec["cpuSeconds"])
            if rec["outcome"] not in rank:
                continue
            seen = worst.get(rec["nodeid"])
            if seen is None or rank[rec["outcome"]] > rank[seen.outcome]:
                worst[rec["nodeid"]] = Outcome(rec["nodeid"], rec["clause"], rec["outcome"])
    return tuple(worst.values()), cpu


def run_suite(
    label: str,
    mode: Mode,
    out_dir: Path,
    *,
    family: str | None,
    paths: Sequence[str] = (),
    mutant: str | None = None,
    target: str | None = None,
    foreign_target: str | None = None,
    timeout: float = SUITE_TIMEOUT,
) -> SuiteRun:
    """One suite subprocess; its reports, output and probe land in ``out_dir/label``."""
    run_dir = out_dir / label
    run_dir.mkdir(parents=True, exist_ok=True)
    app_factory = "tests.mutants:app_factory" if mutant is not None and target is None else None
    cmd = suite_command(
        run_dir, family=family, paths=paths, app_factory=app_factory, target=target, foreign_target=foreign_target
    )
    env = suite_env(mutant if target is None else None)
    env[PROBE_ENV] = str(run_dir / "tests.jsonl")
    log = run_dir / "pytest.log"
    started = time.monotonic()
    code = _run_bounded(cmd, env, log, timeout)
    duration = time.monotonic() - started
    tests, cpu = _read_probe(run_dir / "tests.jsonl")
    common = dict(label=label, mode=mode, family=family, exit_code=code, duration=duration, tests=tests,
                  report_dir=run_dir, cpu_seconds=cpu)
    if code is None:
        return SuiteRun(clauses={}, skipped_summary=0, problem=f"timeout: no result within {timeout:.0f} s",
                        **common)
    report = run_dir / "conformance.json"
    if not report.exists():
        return SuiteRun(clauses={}, skipped_summary=0, problem=(
            f"no conformance.json (exit code {code}; last output line: {_last_line(log)}; see {log})"), **common)
    data = json.loads(report.read_text(encoding="utf-8"))
    clauses = {c["id"]: ClauseStatus(c["status"], c.get("reason")) for c in data.get("clauses", [])}
    skipped = sum(int(level.get("skipped", 0)) for level in data.get("summary", {}).values())
    return SuiteRun(clauses=clauses, skipped_summary=skipped, **common)


def _read_url(proc: subprocess.Popen[str], timeout: float, log: Path) -> str:
    """The URL the server prints on start-up, read within `timeout`."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while len(seen) < 100:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([proc.stdout], [], [], left)[0]:
            break
        line = proc.stdout.readline()
        if not line:  # it closed stdout, so it is exiting: the exit code and the log say why
            with suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
            break
        seen.append(line.strip())
        match = _URL.search(line)
        if match:
            return match.group(0)
    raise RuntimeError(
        f"expected the server to print its URL within {timeout:.0f} s; it printed {seen[-3:] or 'nothing'}"
        f" (exit code {proc.poll()}, see {log})"
    )


@contextmanager
def served(cmd: Sequence[str], log: Path, env: Mapping[str, str]) -> Iterator[str]:
    """Start a server process that prints its URL; yield the URL; stop the process."""
    with log.open("w", encoding="utf-8") as err, _LIVE.started(
        cmd, env, stdout=subprocess.PIPE, stderr=err, text=True
    ) as proc:
        try:
            url = _read_url(proc, SERVER_START_TIMEOUT, log)
            # Keep draining stdout so a chatty server can never block on a full pipe.
            threading.Thread(target=proc.stdout.read, daemon=True).start()  # type: ignore[union-attr]
            yield url.rstrip("/")
        finally:
            proc.terminate()  # a graceful stop first; `started` kills it if that takes too long
            with suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)


def mutant_server_command(name: str, env: str | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "tests.mutants.serve", name, "--port", "0", "--host", "127.0.0.1"]
    return cmd + (["--env", env] if env else [])


def fake_server_command(env: str | None = None) -> list[str]:
    cmd = [str(Path(sys.executable).with_name("akol-fake")), "--port", "0", "--host", "127.0.0.1"]
    return cmd + (["--env", env] if env else [])


def run_over_http(
    label: str,
    out_dir: Path,
    server: Sequence[str],
    foreign_server: Sequence[str],
    *,
    family: str | None,
    paths: Sequence[str] = (),
    timeout: float = SUITE_TIMEOUT,
) -> SuiteRun:
    """Serve `server`, plus `foreign_server` (another environment) when ENV clauses run; run the suite."""
    run_dir = out_dir / label
    run_dir.mkdir(parents=True, exist_ok=True)
    env = suite_env(None)
    started = time.monotonic()
    try:
        with served(server, run_dir / "server.log", env) as url:
            if family not in (None, "ENV"):
                return run_suite(label, "http", out_dir, family=family, paths=paths, target=url, timeout=timeout)
            with served(foreign_server, run_dir / "foreign.log", env) as foreign:
                return run_suite(label, "http", out_dir, family=family, paths=paths, target=url,
                                 foreign_target=foreign, timeout=timeout)
    except RuntimeError as exc:
        return SuiteRun(label=label, mode="http", family=family, exit_code=None,
                        duration=time.monotonic() - started, clauses={}, tests=(), skipped_summary=0,
                        report_dir=run_dir, problem=str(exc))


# --- the matrix ----------------------------------------------------------------------------


def run_matrix(
    catalog: Mapping[str, Mutant],
    out_dir: Path,
    *,
    jobs: int = 2,
    timeout: float = SUITE_TIMEOUT,
    only: Sequence[str] | None = None,
    controls: bool = True,
    progress: Callable[[str], None] | None = None,
) -> MatrixResult:
    """Run every (or every `only`-named) mutant, in-process and over HTTP, plus the correct fake."""
    unknown = sorted(set(only or ()) - set(catalog))
    if unknown:
        raise LookupError(f"no mutant named {', '.join(unknown)}; known: {', '.join(sorted(catalog))}")
    chosen = [catalog[n] for n in (only or catalog)]
    runs_dir = out_dir / "mutation-runs"
    shutil.rmtree(runs_dir, ignore_errors=True)
    started = time.monotonic()
    say = progress or (lambda _line: None)

    def timed(task: Callable[[], SuiteRun]) -> Callable[[], SuiteRun]:
        def go() -> SuiteRun:
            run = task()
            say(f"{run.label:<40} exit {run.exit_code}  {run.duration:5.1f} s")
            return run
        return go

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        # Longest runs first so both workers finish together: whole-suite controls, then HTTP.
        control_futs: dict[Mode, Future[SuiteRun]] = {}
        if controls:
            control_futs["inprocess"] = pool.submit(timed(lambda: run_suite(
                "correct-fake", "inprocess", runs_dir, family=None, timeout=timeout)))
            control_futs["http"] = pool.submit(timed(lambda: run_over_http(
                "correct-fake.http", runs_dir, fake_server_command(), fake_server_command(FOREIGN_ENV),
                family=None, timeout=timeout)))
        # Mapped while the workers run the controls.
        modules = family_modules(runs_dir, timeout)
        http_futs = {
            m.name: pool.submit(timed(lambda m=m: run_over_http(
                f"{m.name}.http", runs_dir, mutant_server_command(m.name),
                mutant_server_command(m.name, FOREIGN_ENV), family=m.family,
                paths=modules.get(m.family, ()), timeout=timeout)))
            for m in chosen if m.http
        }
        inproc_futs = {
            m.name: pool.submit(timed(lambda m=m: run_suite(
                m.name, "inprocess", runs_dir, family=m.family, paths=modules.get(m.family, ()), mutant=m.name,
                timeout=timeout)))
            for m in chosen
        }
        try:
            results = []
            for m in chosen:
                verdicts: dict[Mode, Verdict] = {"inprocess": judge(m, inproc_futs[m.name].result())}
                if m.name in http_futs:
                    verdicts["http"] = judge(m, http_futs[m.name].result())
                results.append(MutantResult(m, verdicts))
            control_results = {mode: check_control(f.result()) for mode, f in control_futs.items()}
        except BaseException:  # Ctrl-C included: drop queued runs and stop the running ones
            pool.shutdown(wait=False, cancel_futures=True)
            _LIVE.kill_all()
            raise
    return MatrixResult(
        mutants=tuple(results),
        controls=control_results,
        wall_seconds=time.monotonic() - started,
        jobs=jobs,
        partial=bool(only) or not controls,
        coverage=coverage(results),
    )
