"""Print what the suite costs against a target whose login answers a huge body: wall time and the
suite process's peak RSS, next to the same run against the plain fake.

`python bench/bench_field.py [--megabytes 50] [--clause LOGIN,2FA] [--destructive]` serves
`python -m tests.field._targets huge-login BYTES` (the reference fake, every login answer
padded to BYTES) and the plain `akol-fake`, runs `pytest --target=URL` against each in a child
process and prints its exit code, wall seconds and peak RSS (from wait4, that child alone).
The suite reads at most 1 MiB of any answer, so both peaks should be alike.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from akol_fake.spawn import spawn  # noqa: E402
from tests.field._run import clean_env, command  # noqa: E402


def measure(url: str, args: list[str]) -> tuple[int, float, float]:
    """Exit code, wall seconds and peak RSS (MiB) of one suite run against ``url``."""
    with tempfile.TemporaryDirectory(prefix="bench-field-") as reports:
        started = time.monotonic()
        child = subprocess.Popen(command(Path(reports), f"--target={url}", *args), cwd=ROOT, env=clean_env(),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        return child.returncode, time.monotonic() - started, usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=50)
    parser.add_argument("--clause", default="", help="passed on as --clause (default: every clause)")
    parser.add_argument("--destructive", action="store_true")
    options = parser.parse_args()
    args = [f"--clause={options.clause}"] * bool(options.clause) + ["--destructive"] * options.destructive
    size = options.megabytes * 1024 * 1024
    huge = [sys.executable, "-m", "tests.field._targets", "huge-login", str(size)]
    print(f"suite args: {' '.join(args) or '(all clauses)'}")
    for label, served in (("plain fake", spawn()), (f"login answers {options.megabytes} MiB", spawn(command=huge))):
        with served:
            code, seconds, peak = measure(served.url, args)
        print(f"{label:<26} exit {code}  {seconds:6.1f} s wall  peak RSS {peak:7.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
