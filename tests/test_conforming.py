"""The suite passes conforming targets that differ from the reference fake where the page allows
(tests/conforming.py): no false alarm. Their broken twins are mutants in the matrix."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.test_over_http import _tail, akol_fake, run_suite


def _clause(report: dict[str, Any], clause: str) -> dict[str, Any]:
    return next(c for c in report["clauses"] if c["id"] == clause)


def test_pat_03_passes_a_1s_sliding_window_with_slow_pat_lookups(tmp_path: Path) -> None:
    """Retry-After: 1, and PAT requests that outlast the window: a login 429 lapses between them."""
    result, report = run_suite(tmp_path, "--clause=PAT", "--app-factory=tests.conforming:sliding_window_1s")
    assert result.returncode == 0, _tail(result)
    pat_03 = _clause(report, "PAT-03")
    assert pat_03["status"] == "passed" and not pat_03.get("notChecked"), _tail(result)
    assert pat_03["observed"]["retry_after"] == "1"
    assert pat_03["observed"]["PAT statuses while login answered 429 before and after"] == [200, 200, 200]


def test_pat_03_passes_a_1s_sliding_window_over_http(tmp_path: Path) -> None:
    with akol_fake("--rate-window", "1") as url:
        result, report = run_suite(tmp_path, "--clause=PAT", f"--target={url}", "--destructive")
    assert result.returncode == 0, _tail(result)
    assert _clause(report, "PAT-03")["status"] == "passed", _tail(result)
