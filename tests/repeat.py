"""Verdicts that hang on chance, repeated; and what each clause costs in password checks.

    python -m tests.repeat racy [--runs 10]     every racy mutant N times: killed every time
    python -m tests.repeat timing [--runs 20]   LOGIN-05 N times on the correct fake (passes every
                                                time, pairs used) and on the timing mutant (killed)
    python -m tests.repeat logins [--target URL] [--clause ID ...]
                                                one run (test control on); password checks,
                                                logins, verify-2fa per clause (conformance.json)

Minutes, not seconds: for a person checking stability, not for CI. Exits 1 on any miss.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tests._mutation import ROOT, run_matrix, suite_command, suite_env
from tests.mutants import CATALOG

RACY = ("lockout-racy-counter", "lockout-checked-before-slow-hash", "2fa-replay-guard-racy",
        "2fa-racy-wrong-code-count")
TIMING_MUTANT = "unknown-email-skips-hashing"
FAMILIES = ("LOGIN", "LOCK", "2FA")


def racy(runs: int, out: Path) -> bool:
    kills = {name: 0 for name in RACY}
    for run in range(runs):
        result = run_matrix(CATALOG, out / f"racy-{run}", jobs=2, only=list(RACY), controls=False)
        for mutant in result.mutants:
            kills[mutant.mutant.name] += mutant.killed
        print(f"run {run + 1}/{runs}: " + ", ".join(f"{m.mutant.name} {'killed' if m.killed else 'SURVIVED'}"
                                                   for m in result.mutants), flush=True)
    for name, killed in kills.items():
        print(f"{name} ({CATALOG[name].clause}): killed in {killed} of {runs} runs")
    return all(killed == runs for killed in kills.values())


def _login05(out: Path, mutant: str | None) -> tuple[str, object]:
    """LOGIN-05's status and the pairs it used, in one in-process run (of `mutant`, or the fake)."""
    factory = "tests.mutants:app_factory" if mutant else None
    cmd = suite_command(out, family="LOGIN-05", app_factory=factory)
    subprocess.run(cmd, cwd=ROOT, env=suite_env(mutant), capture_output=True, text=True, timeout=300)
    clause = next(c for c in json.loads((out / "conformance.json").read_text())["clauses"] if c["id"] == "LOGIN-05")
    return clause["status"], (clause.get("observed") or {}).get("pairs_used")


def timing(runs: int, out: Path) -> bool:
    fake = [_login05(out / f"fake-{run}", None) for run in range(runs)]
    mutant = [_login05(out / f"mutant-{run}", TIMING_MUTANT) for run in range(runs)]
    print(f"correct fake: {sum(s == 'passed' for s, _ in fake)} of {runs} passed; pairs used "
          f"{[p for _, p in fake]}")
    print(f"{TIMING_MUTANT}: {sum(s == 'failed' for s, _ in mutant)} of {runs} failed (killed); pairs used "
          f"{[p for _, p in mutant]}")
    return all(s == "passed" for s, _ in fake) and all(s == "failed" for s, _ in mutant)


def logins(target: str | None, clauses: Sequence[str], out: Path) -> bool:
    """The suite's own per-clause request counts (conformance.json ``requests``) of one run."""
    cmd = suite_command(out, family=None, target=target) + [f"--clause={c}" for c in clauses or FAMILIES]
    result = subprocess.run(cmd, cwd=ROOT, env=suite_env(None), capture_output=True, text=True, timeout=900)
    report = json.loads((out / "conformance.json").read_text())
    rows = [(c["id"], c["requests"]) for c in report["clauses"] if "requests" in c]
    kinds = ("passwordChecks", "login", "verify2fa", "provisioned")
    print(f"{'clause':<10} " + " ".join(f"{k:>14}" for k in kinds))
    for clause, counts in rows:
        print(f"{clause:<10} " + " ".join(f"{counts.get(k, 0):>14}" for k in kinds))
    print(f"{'total':<10} " + " ".join(f"{sum(c.get(k, 0) for _, c in rows):>14}" for k in kinds))
    return result.returncode == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.repeat", description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("racy", "timing", "logins"))
    parser.add_argument("--runs", type=int, help="repetitions (racy: 10, timing: 20)")
    parser.add_argument("--target", help="logins: a URL with test control (default: in-process)")
    parser.add_argument("--clause", action="append", default=[], help="logins: these clauses/families only")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="akol-repeat-") as tmp:
        out = Path(tmp)
        if args.what == "racy":
            ok = racy(args.runs or 10, out)
        elif args.what == "timing":
            ok = timing(args.runs or 20, out)
        else:
            ok = logins(args.target, args.clause, out)
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
