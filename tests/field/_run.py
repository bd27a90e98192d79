"""Run the real conformance suite in a child process, as a CI job would, and read its reports."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SUITE_TIMEOUT = 600


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without AKOL_* (a developer's own settings), plus ``extra``."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("AKOL_")}, **(extra or {})}


def command(report_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--report-dir={report_dir}", *args]


@dataclass
class Outcome:
    code: int
    output: str
    report_dir: Path
    seconds: float

    def report(self) -> dict[str, Any]:
        return dict(json.loads((self.report_dir / "conformance.json").read_text()))

    def clauses(self) -> dict[str, dict[str, Any]]:
        return {c["id"]: c for c in self.report()["clauses"]}

    def junit(self) -> ET.Element:
        return ET.parse(self.report_dir / "junit.xml").getroot()

    def html(self) -> str:
        return (self.report_dir / "conformance.html").read_text()

    def tail(self) -> str:
        return self.output[-6000:]


def run_suite(report_dir: Path, *args: str, env: dict[str, str] | None = None, cwd: Path = REPO) -> Outcome:
    started = time.monotonic()
    done = subprocess.run(command(report_dir, *args), cwd=cwd, env=clean_env(env), capture_output=True,
                          text=True, timeout=SUITE_TIMEOUT)
    return Outcome(done.returncode, done.stdout + done.stderr, report_dir, time.monotonic() - started)


def failed(outcome: Outcome) -> list[str]:
    return [cid for cid, c in outcome.clauses().items() if c["status"] == "failed"]
