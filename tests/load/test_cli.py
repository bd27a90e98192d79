"""`akol-load`: the installed profiles from any folder, with Locust's options and the gates' exit codes."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(sys.executable).with_name("akol-load")


def _run(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], cwd=folder, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def test_akol_load_runs_from_an_empty_folder_and_writes_its_reports_there(tmp_path: Path) -> None:
    result = _run(tmp_path, "--headless", "-u", "2", "-r", "2", "-t", "2s", "--only-summary", "LoginUser",
                  "--p95-ms", "2000")
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "reports" / "load-summary.json").read_text())
    assert summary["verdict"] == "passed" and summary["target"]["autoStartedFake"] is True
    assert (tmp_path / "reports" / "load-report.html").is_file()


def test_akol_load_passes_locusts_usage_errors_through(tmp_path: Path) -> None:
    result = _run(tmp_path, "--headless", "--arrival-rate", "fast", "PatUser")
    assert result.returncode == 2
    assert "argument --arrival-rate: expected arrivals per second (e.g. 50), got 'fast'" in result.stderr
    assert "Traceback" not in result.stderr
