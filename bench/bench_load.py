"""Requests/second each load profile sustains against the served fake, next to a raw-tool ceiling.

    .venv/bin/python bench/bench_load.py [--users 32] [--seconds 15] [--processes 1]
                                         [--host URL --fake-pid PID]

Starts `akol-fake` on loopback (or uses a running fake with test control, --host), provisions
accounts and a PAT, then runs each profile with Locust (FastHttpUser, answers validated), a
bare FastHttpUser and a bare HttpUser on GET /agents (the generator's own cost), and `wrk`
(apt-get install wrk) on GET /agents and POST /auth/login at the same concurrency.

CPU of the generator and of the fake is sampled over each run. A side near 100 % of a core
is the bottleneck; when neither is, requests wait on something else (latency, or other
processes on the machine). "us/req" (CPU microseconds per request) does not depend on how
busy the machine is: 1e6 / us/req is what one core of that side can carry.
"""
from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from akol_conformance.client import Control  # noqa: E402
from akol_load._fake import start_fake  # noqa: E402

PROFILES = ["LoginUser", "RefreshUser", "SessionUser", "PatUser"]
BARE_LOCUSTFILE = '''
from locust import FastHttpUser, HttpUser, task

PAT = {pat!r}


class BareFastHttpUser(FastHttpUser):
    @task
    def agents(self):
        self.client.get("/api/v1/agents", headers={{"Authorization": "Bearer " + PAT}}, name="GET /agents")


class BareHttpUser(HttpUser):
    @task
    def agents(self):
        self.client.get("/api/v1/agents", headers={{"Authorization": "Bearer " + PAT}}, name="GET /agents")
'''
WRK_LOGIN = '''
wrk.method = "POST"
wrk.body = {body!r}
wrk.headers["Content-Type"] = "application/json"
'''


@dataclass(frozen=True)
class Target:
    url: str
    pid: int | None


@dataclass(frozen=True)
class Cpu:
    """CPU % (100 = one core) of the generator and of the fake over the measured window."""
    generator: float | None
    fake: float | None


@dataclass(frozen=True)
class Row:
    tool: str
    workload: str
    rps: float
    p50: float | None
    p95: float | None
    p99: float | None
    failures: int
    cpu: Cpu

    def cost(self, percent: float | None) -> str:
        """CPU microseconds per request: what one core's worth of this side can carry."""
        return "-" if percent is None or self.rps <= 0 else f"{10_000 * percent / self.rps:.0f}"


def _cpu_seconds(process: psutil.Process) -> float | None:
    """User+system CPU seconds of a process and its children, None once it is gone."""
    try:
        return sum(sum(p.cpu_times()[:2]) for p in [process, *process.children(recursive=True)])
    except psutil.NoSuchProcess:
        return None


def wait_and_measure(process: subprocess.Popen[bytes] | subprocess.Popen[str], target: Target, cap: float,
                     log: Path | None = None) -> Cpu:
    """Wait for ``process``; its CPU and the fake's between Locust's "All users spawned" and its
    "--run-time limit reached" (so interpreter start-up is not counted), or over wrk's whole life."""
    generator = psutil.Process(process.pid)
    server = psutil.Process(target.pid) if target.pid else None
    first: tuple[float, float, float] | None = None
    last: tuple[float, float, float] | None = None
    deadline = time.monotonic() + cap
    while process.poll() is None and time.monotonic() < deadline:
        output = log.read_text(errors="replace") if log is not None else ""
        ours, theirs = _cpu_seconds(generator), (_cpu_seconds(server) if server is not None else 0.0)
        if ours is not None and theirs is not None:
            sample = (time.monotonic(), ours, theirs)
            if first is None and (log is None or "All users spawned" in output):
                first = sample
            if first is not None and "limit reached" not in output:
                last = sample
        time.sleep(0.2)
    if first is None or last is None or last[0] <= first[0]:
        return Cpu(None, None)
    elapsed = last[0] - first[0]
    return Cpu(round(100 * (last[1] - first[1]) / elapsed),
               round(100 * (last[2] - first[2]) / elapsed) if server is not None else None)


def provision(target: Target, workdir: Path, count: int) -> tuple[Path, Path, str, str]:
    with httpx.Client(base_url=target.url, timeout=30) as http:
        control = Control(http)
        accounts = [control.create_user(two_factor=i % 4 == 3) for i in range(count)]
        plain = next(a for a in accounts if a.totp_secret is None)
        pat = control.create_pat(plain).token
    accounts_file, pats_file = workdir / "accounts.csv", workdir / "pats.txt"
    with accounts_file.open("w", newline="") as out:
        csv.writer(out).writerows([a.email, a.password, a.totp_secret or ""] for a in accounts)
    pats_file.write_text(pat + "\n")
    return accounts_file, pats_file, pat, json.dumps({"email": plain.email, "password": plain.password})


def run_locust(target: Target, workdir: Path, locustfile: str, user_class: str, args: argparse.Namespace,
               extra: list[str]) -> Row:
    csv_prefix = workdir / user_class
    command = [str(Path(sys.executable).with_name("locust")), "-f", locustfile, "--headless", "--only-summary",
               "-u", str(args.users), "-r", str(args.users), "-t", f"{args.seconds}s", "--host", target.url,
               "--csv", str(csv_prefix), *extra, user_class]
    if args.processes > 1:
        command[1:1] = ["--processes", str(args.processes)]
    log = workdir / f"{user_class}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        cpu = wait_and_measure(process, target, args.seconds + 120, log)
    tool = "locust" if locustfile.endswith("locustfile.py") else "locust (bare)"
    with open(f"{csv_prefix}_stats.csv", newline="") as stats:
        total = next(row for row in csv.DictReader(stats) if row["Name"] == "Aggregated")
    return Row(tool, user_class, float(total["Requests/s"]), float(total["50%"]), float(total["95%"]),
               float(total["99%"]), int(total["Failure Count"]), cpu)


def run_wrk(target: Target, workdir: Path, workload: str, path: str, args: argparse.Namespace,
            headers: list[str], script: str | None) -> Row:
    command = ["wrk", "-t", "2", "-c", str(args.users), "-d", f"{args.seconds}s", "--latency"]
    for header in headers:
        command += ["-H", header]
    if script is not None:
        script_path = workdir / "wrk-script.lua"
        script_path.write_text(script)
        command += ["-s", str(script_path)]
    with tempfile.TemporaryFile("w+") as out:
        process = subprocess.Popen(command + [target.url + path], stdout=out, text=True)
        cpu = wait_and_measure(process, target, args.seconds + 60)
        out.seek(0)
        output = out.read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return Row("wrk", workload, rps, _wrk_ms(output, "50%"), None, _wrk_ms(output, "99%"),
               int(non_2xx.group(1)) if non_2xx else 0, cpu)


def _wrk_ms(output: str, percentile: str) -> float | None:
    match = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)\b", output)
    if match is None:
        return None
    value, unit = float(match.group(1)), match.group(2)
    return round(value / 1000 if unit == "us" else value * 1000 if unit == "s" else value, 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=32, help="concurrent users / connections (default 32)")
    parser.add_argument("--seconds", type=int, default=15, help="length of each run (default 15)")
    parser.add_argument("--processes", type=int, default=1, help="Locust --processes (default 1)")
    parser.add_argument("--hash-iterations", type=int, default=1000, help="the fake's PBKDF2 rounds (default 1000)")
    parser.add_argument("--host", help="bench an already running fake (with test control) instead of starting one")
    parser.add_argument("--fake-pid", type=int, help="with --host: its pid, to report its CPU use")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install -y wrk (the raw ceiling needs it)", file=sys.stderr)
        return 2
    load_before = psutil.getloadavg()[0]
    workdir = Path(tempfile.mkdtemp(prefix="akol-bench-load-"))
    fake = None if args.host else start_fake(hash_iterations=args.hash_iterations)
    target = Target(args.host, args.fake_pid) if args.host else Target(fake.url, fake.pid)  # type: ignore[union-attr]
    try:
        accounts_file, pats_file, pat, login_body = provision(target, workdir, args.users * args.processes + 4)
        files = ["--accounts-file", str(accounts_file), "--pats-file", str(pats_file)]
        bare = workdir / "bare_locustfile.py"
        bare.write_text(BARE_LOCUSTFILE.format(pat=pat))
        rows = []
        for profile in PROFILES:
            rows.append(run_locust(target, workdir, "load/locustfile.py", profile, args,
                                   files + ["--summary-file", str(workdir / f"{profile}.json")]))
        for user_class in ("BareFastHttpUser", "BareHttpUser"):
            rows.append(run_locust(target, workdir, str(bare), user_class, args, []))
        rows.append(run_wrk(target, workdir, "GET /agents (PAT)", "/api/v1/agents", args,
                            [f"Authorization: Bearer {pat}"], None))
        rows.append(run_wrk(target, workdir, "POST /auth/login", "/api/v1/auth/login", args, [],
                            WRK_LOGIN.format(body=login_body)))
    finally:
        if fake is not None:
            fake.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\n{args.users} users/connections, {args.seconds} s each, Locust --processes {args.processes}, "
          f"fake hash iterations {args.hash_iterations}, {psutil.cpu_count()} CPUs "
          f"(1-min load average at start {load_before:.1f}, at end {psutil.getloadavg()[0]:.1f})")
    print(f"{'tool':<14} {'workload':<20} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'fails':>6} "
          f"{'gen CPU%':>8} {'fake CPU%':>9} {'gen us/req':>10} {'fake us/req':>11}")
    for row in rows:
        print(f"{row.tool:<14} {row.workload:<20} {row.rps:>8.0f} {_fmt(row.p50):>7} {_fmt(row.p95):>7} "
              f"{_fmt(row.p99):>7} {row.failures:>6} {_fmt(row.cpu.generator):>8} {_fmt(row.cpu.fake):>9} "
              f"{row.cost(row.cpu.generator):>10} {row.cost(row.cpu.fake):>11}")
    return 0


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


if __name__ == "__main__":
    sys.exit(main())
