"""What the whole suite costs against a target whose password check is slow, as real ones are.

    .venv/bin/python bench/bench_slow_target.py [--hash-ms 250 | --hash-iterations N] [--runs 3]
                                                [--table] [-- SUITE ARGS ...]

Serves two reference fakes inside this process (the target and, for ENV-01, another
environment), each with a password check of about ``--hash-ms`` milliseconds (PBKDF2 rounds
calibrated on this machine) and an ``AuthService`` that counts its ``hash_password`` calls:
exactly the requests that reach the password check (logins with a well-formed body that the
rate limiter and the lock did not refuse first, and test-control provisioning, which hashes a
password too). Then runs the suite over HTTP with test control on and ``--destructive``, in a
child process, and prints per run: wall time, exit code, password checks (server-side), the
five slowest clauses; with ``--table``, the suite's own per-clause request counts (the
``requests`` of each clause in conformance.json). ``--runs N``: the median of N runs.
Arguments after ``--`` go to the suite (``-- --concurrency 1``, ``-- --clause LOGIN``).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

from akol_fake import AuthService, Policy, create_app  # noqa: E402
from akol_fake._serve import CallerSignalsServer, config  # noqa: E402

_CALIBRATION_ROUNDS = 200_000
_SLOWEST = 5


def calibrated_iterations(milliseconds: float) -> int:
    """PBKDF2-SHA256 rounds that take about ``milliseconds`` on this machine: the fastest of 5
    samples, as load from other processes only ever slows a sample down."""
    samples = []
    for _ in range(6):
        started = time.perf_counter()
        hashlib.pbkdf2_hmac("sha256", b"calibration", b"salt" * 4, _CALIBRATION_ROUNDS)
        samples.append(time.perf_counter() - started)
    return max(1, round(_CALIBRATION_ROUNDS * milliseconds / 1000 / min(samples[1:])))  # the first warms up


class CountingService(AuthService):
    """The fake, counting what reaches the password check (its construction's own dummy hash aside)."""

    checks = 0
    _counting = threading.Lock()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.created: set[str] = set()  # accounts made (each hashed its password), by email key
        self.logged_in: set[str] = set()  # email keys a login named

    def hash_password(self, password: str, salt: bytes) -> bytes:
        with self._counting:
            self.checks += 1
        return super().hash_password(password, salt)

    def create_user(self, email: str, password: str, **kwargs: Any) -> Any:
        user = super().create_user(email, password, **kwargs)
        with self._counting:
            self.created.add(user.email_key)
        return user

    def login(self, email: str, password: str, **kwargs: Any) -> Any:
        with self._counting:
            self.logged_in.add(self.normalize_email(email))
        return super().login(email, password, **kwargs)

    @property
    def unused(self) -> int:
        """Accounts made that no login named: made ahead and never needed, or only for a PAT."""
        return len(self.created - self.logged_in)


@dataclass
class Served:
    url: str
    service: CountingService


@contextmanager
def served(policy: Policy, env: str) -> Iterator[Served]:
    """One fake on a free loopback port, served by uvicorn on a thread of this process."""
    app = create_app(policy, service=CountingService, env=env)
    service: CountingService = app.state.service
    service.checks = 0
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = CallerSignalsServer(config(app, "warning"), "")
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"fake-{env}")
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise SystemExit(f"the {env} fake did not start")
        time.sleep(0.01)
    try:
        yield Served(f"http://127.0.0.1:{sock.getsockname()[1]}", service)
    finally:
        server.should_exit = True
        thread.join(10)


@dataclass
class Run:
    seconds: float
    exit_code: int
    target_checks: int
    foreign_checks: int
    provisioned: int  # accounts made on the target, each a password check
    unused: int  # of them, never named by a login
    verdict: str
    clauses: list[dict[str, Any]]
    times: dict[str, float]

    @property
    def checks(self) -> int:
        return self.target_checks + self.foreign_checks


def _clause_times(junit: Path) -> dict[str, float]:
    return {case.get("name", ""): float(case.get("time", 0)) for case in ET.parse(junit).getroot().iter("testcase")}


def run_once(iterations: int, suite_args: list[str], keep: Path | None = None) -> Run:
    policy = replace(Policy(), hash_iterations=iterations)
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="bench-slow-") as scratch:
        reports = keep or scratch
        target = stack.enter_context(served(policy, "production"))
        foreign = stack.enter_context(served(policy, "staging"))
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--report-dir={reports}",
                   f"--target={target.url}", f"--foreign-target={foreign.url}", "--destructive",
                   "--test-control=require", *suite_args]
        env = {k: v for k, v in os.environ.items() if not k.startswith("AKOL_")}
        started = time.monotonic()
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
        seconds = time.monotonic() - started
        try:
            report = json.loads((Path(reports) / "conformance.json").read_text())
            times = _clause_times(Path(reports) / "junit.xml")
        except (OSError, ValueError):
            raise SystemExit(f"the suite wrote no report (exit {done.returncode}):\n"
                             f"{(done.stdout + done.stderr)[-3000:]}") from None
        return Run(seconds, done.returncode, target.service.checks, foreign.service.checks,
                   len(target.service.created), target.service.unused, report["verdict"], report["clauses"], times)


def _line(run: Run) -> str:
    slowest = sorted(run.times.items(), key=lambda item: -item[1])[:_SLOWEST]
    shown = ", ".join(f"{clause} {seconds:.1f} s" for clause, seconds in slowest)
    return (f"{run.seconds:6.1f} s wall  exit {run.exit_code} ({run.verdict})  password checks {run.checks} "
            f"(target {run.target_checks}: {run.provisioned} accounts made, {run.unused} never logged in; "
            f"foreign {run.foreign_checks})  slowest: {shown}")


_TABLE_KINDS = ("passwordChecks", "login", "verify2fa", "provisioned", "total")


def _table(run: Run) -> list[str]:
    """The suite's per-clause request counts (conformance.json ``requests``), with the clause's time."""
    rows = [c for c in run.clauses if c.get("selected", True)]
    if not any("requests" in c for c in rows):
        return ["(this version of the suite reports no per-clause request counts)"]
    lines = [f"| clause | {' | '.join(_TABLE_KINDS)} | seconds |", "|---" * (len(_TABLE_KINDS) + 2) + "|"]
    totals = dict.fromkeys(_TABLE_KINDS, 0)
    for clause in rows:
        counts = clause.get("requests", {})
        for kind in _TABLE_KINDS:
            totals[kind] += counts.get(kind, 0)
        cells = " | ".join(str(counts.get(kind, 0)) for kind in _TABLE_KINDS)
        lines.append(f"| {clause['id']} | {cells} | {run.times.get(clause['id'], 0.0):.1f} |")
    lines.append(f"| **all** | {' | '.join(str(totals[k]) for k in _TABLE_KINDS)} | "
                 f"{sum(run.times.values()):.1f} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    suite_args = argv[argv.index("--") + 1:] if "--" in argv else []
    own = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    cost = parser.add_mutually_exclusive_group()
    cost.add_argument("--hash-ms", type=float, default=250.0, help="password check cost to calibrate to (ms)")
    cost.add_argument("--hash-iterations", type=int, help="PBKDF2 rounds instead of calibrating")
    parser.add_argument("--runs", type=int, default=1, help="runs; the figures of the median one are shown")
    parser.add_argument("--table", action="store_true", help="print the per-clause request counts (markdown)")
    parser.add_argument("--keep-reports", type=Path, metavar="DIR",
                        help="write the suite's reports here (the last run's), not to a scratch folder")
    args = parser.parse_args(own)
    iterations = args.hash_iterations or calibrated_iterations(args.hash_ms)
    started = time.perf_counter()
    hashlib.pbkdf2_hmac("sha256", b"check", b"salt" * 4, iterations)
    load = os.getloadavg()
    print(f"password check: {iterations} PBKDF2 rounds = {(time.perf_counter() - started) * 1000:.0f} ms; "
          f"{os.cpu_count()} CPUs; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"suite args: {' '.join(suite_args) or '(none)'}", flush=True)
    runs = []
    for number in range(args.runs):
        runs.append(run_once(iterations, suite_args, args.keep_reports))
        print(f"run {number + 1}: {_line(runs[-1])}", flush=True)
    median = sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]
    if args.runs > 1:
        print(f"median: {_line(median)}  (walls {', '.join(f'{r.seconds:.1f}' for r in runs)} s; "
              f"load average now {os.getloadavg()[0]:.2f})")
    if args.table:
        print("\n".join(_table(median)))
    return 0 if all(r.exit_code == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
