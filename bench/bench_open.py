"""The highest arrival rate one Locust process sustains against GET /agents, next to wrk's closed-loop ceiling.

    .venv/bin/python bench/bench_open.py [--seconds 10] [--start 100] [--max-in-flight 50] [--connections 32]

Starts `akol-fake` on loopback and provisions a PAT, measures wrk's closed-loop ceiling on GET /agents
(apt-get install wrk), then runs PatUser with `--arrival-rate R` (one process) at rising rates: doubling
from --start until a rate is not sustained, then bisecting (at most MAX_RUNS runs in all). A rate is
sustained when under 1 % of its arrivals were dropped and the achieved rate is within 5 % of the
offered one. CPU of Locust and of the fake is sampled over each run, as in bench_load.py.
"""
from __future__ import annotations

import argparse
import json
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
sys.path.insert(0, str(ROOT / "bench"))

from bench_load import Cpu, Target, _fmt, run_wrk, wait_and_measure  # noqa: E402

from akol_conformance.client import Control  # noqa: E402
from akol_load._fake import start_fake  # noqa: E402

MAX_RUNS = 9
MAX_DROP_RATIO = 0.01
MAX_SHORTFALL = 0.05


@dataclass(frozen=True)
class Step:
    rate: float
    offered_rps: float
    achieved_rps: float
    drop_ratio: float
    response: tuple[float | None, float | None]  # p50, p99 from the intended start
    service: tuple[float | None, float | None]  # p50, p99 from the actual send
    cpu: Cpu

    @property
    def sustained(self) -> bool:
        return self.drop_ratio < MAX_DROP_RATIO and self.achieved_rps >= (1 - MAX_SHORTFALL) * self.offered_rps


def open_run(target: Target, workdir: Path, pats_file: Path, rate: float, args: argparse.Namespace) -> Step:
    summary = workdir / f"open-{rate:g}.json"
    log = workdir / f"open-{rate:g}.log"
    command = [str(Path(sys.executable).with_name("locust")), "-f", "load/locustfile.py", "--headless",
               "--only-summary", "-t", f"{args.seconds}s", "--host", target.url, "--pats-file", str(pats_file),
               "--arrival-rate", f"{rate:g}", "--max-in-flight", str(args.max_in_flight),
               "--summary-file", str(summary), "PatUser"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        cpu = wait_and_measure(process, target, args.seconds + 120, log)
    data = json.loads(summary.read_text())
    arrivals, agents = data["arrivals"], data["endpoints"].get("GET /agents [PAT]", {})
    return Step(rate, arrivals["offered_rps"] or 0.0, arrivals["achieved_rps"] or 0.0, arrivals["dropRatio"] or 0.0,
                (agents.get("intended_p50"), agents.get("intended_p99")),
                (agents.get("service_p50"), agents.get("service_p99")), cpu)


def search(run: callable, start: float) -> list[Step]:  # type: ignore[valid-type]
    """Double from ``start`` until a rate fails, then bisect between the best pass and the first failure."""
    steps: list[Step] = []
    low, high, rate = 0.0, None, start
    while len(steps) < MAX_RUNS:
        step = run(rate)
        steps.append(step)
        print(f"  {rate:>7g}/s: offered {step.offered_rps:g}/s, achieved {step.achieved_rps:g}/s, "
              f"dropped {100 * step.drop_ratio:.2f} % -> {'sustained' if step.sustained else 'NOT sustained'}",
              flush=True)
        if step.sustained:
            low = rate
        else:
            high = rate
        if high is None:
            rate *= 2
        elif high - low <= max(0.05 * high, 10):
            break
        else:
            rate = round((low + high) / 2)
    return steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10, help="length of each run (default 10)")
    parser.add_argument("--start", type=float, default=100, help="first arrival rate tried, per second (default 100)")
    parser.add_argument("--max-in-flight", type=int, default=50, help="Locust's --max-in-flight (default 50)")
    parser.add_argument("--connections", type=int, default=32, help="wrk's connections (default 32)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install -y wrk (the closed-loop ceiling needs it)", file=sys.stderr)
        return 2
    load_before = psutil.getloadavg()[0]
    workdir = Path(tempfile.mkdtemp(prefix="akol-bench-open-"))
    fake = start_fake(hash_iterations=1000)
    target = Target(fake.url, fake.pid)
    try:
        with httpx.Client(base_url=fake.url, timeout=30) as http:
            control = Control(http)
            pat = control.create_pat(control.create_user(two_factor=False)).token
        pats_file = workdir / "pats.txt"
        pats_file.write_text(pat + "\n")
        wrk = run_wrk(target, workdir, "GET /agents (PAT)", "/api/v1/agents",
                      argparse.Namespace(users=args.connections, seconds=args.seconds),
                      [f"Authorization: Bearer {pat}"], None)
        print(f"wrk closed loop, {args.connections} connections: {wrk.rps:.0f} req/s", flush=True)
        time.sleep(1)
        steps = search(lambda rate: open_run(target, workdir, pats_file, rate, args), args.start)
    finally:
        fake.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nGET /agents (PAT) on the served fake, {args.seconds} s per run, one Locust process, "
          f"--max-in-flight {args.max_in_flight}, {psutil.cpu_count()} CPUs (1-min load average at start "
          f"{load_before:.1f}, at end {psutil.getloadavg()[0]:.1f})")
    print(f"{'tool':<22} {'rate/s':>7} {'achieved/s':>10} {'dropped':>8} {'resp p50':>8} {'resp p99':>8} "
          f"{'svc p50':>7} {'svc p99':>7} {'gen CPU%':>8} {'fake CPU%':>9}")
    print(f"{'wrk (closed, ceiling)':<22} {'-':>7} {wrk.rps:>10.0f} {'-':>8} {_fmt(wrk.p50):>8} {_fmt(wrk.p99):>8} "
          f"{'-':>7} {'-':>7} {_fmt(wrk.cpu.generator):>8} {_fmt(wrk.cpu.fake):>9}")
    for step in sorted(steps, key=lambda s: s.rate):
        print(f"{'locust --arrival-rate':<22} {step.rate:>7g} {step.achieved_rps:>10.0f} "
              f"{100 * step.drop_ratio:>7.2f}% {_fmt(step.response[0]):>8} {_fmt(step.response[1]):>8} "
              f"{_fmt(step.service[0]):>7} {_fmt(step.service[1]):>7} {_fmt(step.cpu.generator):>8} "
              f"{_fmt(step.cpu.fake):>9}")
    sustained = [s.rate for s in steps if s.sustained]
    best = max(sustained) if sustained else None
    print(f"\nhighest sustained arrival rate (drops < 1 %, achieved within 5 %): "
          f"{f'{best:g}/s' if best else f'none from {args.start:g}/s up'}; wrk's closed-loop ceiling: {wrk.rps:.0f} req/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
