"""Running Locust on the load profiles as a subprocess, and reading what it left behind."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LOCUST = str(Path(sys.executable).with_name("locust"))
LOCUSTFILE = "load/locustfile.py"
STEPFILE = "load/stepfile.py"


@dataclass(frozen=True)
class Finished:
    returncode: int
    output: str
    summary: dict[str, Any]
    summary_path: Path


class LocustRun:
    """``locust -f FILE ARGS --summary-file DIR/summary.json``, output to DIR/locust.log."""

    def __init__(self, workdir: Path, *args: str, locustfile: str = LOCUSTFILE) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.summary_path = workdir / "summary.json"
        self.log_path = workdir / "locust.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [LOCUST, "-f", locustfile, *args, "--summary-file", str(self.summary_path)],
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    @property
    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        """Poll the output (every 50 ms, at most ``timeout`` s) until it contains ``text``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            output = self.output
            if text in output:
                return output
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"locust never printed {text!r}; its output:\n{self.output[-3000:]}")

    def finish(self, timeout: float = 60.0) -> Finished:
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"locust ran over {timeout} s; its output:\n{self.output[-3000:]}") from None
        summary = json.loads(self.summary_path.read_text()) if self.summary_path.exists() else {}
        return Finished(self.process.returncode, self.output, summary, self.summary_path)


def headless(*extra: str, users: int = 4, seconds: float = 3) -> list[str]:
    return ["--headless", "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--only-summary", *extra]


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie nobody reaped yet counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")
