"""--baseline: known failures do not fail the run, new ones do, stale and expired entries are said;
and ``akol-conformance diff``."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from akol_conformance._plugin import diff
from tests.plugin.conftest import Suite

SUITE = '''
import pytest
from akol_conformance._plugin.outcomes import expect

@pytest.mark.clause("LOGIN-02")
def test_must_fails():
    expect(False, expected="401", observed="200")

@pytest.mark.clause("LOGIN-03")
def test_must_fails_too():
    expect(False, expected="the same body", observed="another body")

@pytest.mark.clause("BEARER-01")
def test_passes():
    pass
'''


def _run(suite: Suite, baseline: str, *args: str) -> pytest.RunResult:
    suite.pytester.makepyfile(test_synthetic=SUITE)
    (suite.pytester.path / "baseline.yml").write_text(baseline, encoding="utf-8")
    return suite.run("--baseline=baseline.yml", *args)


def test_listed_failures_are_known_and_do_not_fail_the_run(suite: Suite) -> None:
    result = _run(suite, "known:\n  - clause: LOGIN-02\n    reason: AUTH-12 pending\n"
                         "  - clause: login-03\n    reason: AUTH-13 pending\n")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*KNOWN*LOGIN-02 (MUST): known failure (baseline: AUTH-12 pending)*",
                                 "verdict: PASS"])
    report = suite.report()
    assert report["verdict"] == "PASS"
    assert report["baseline"] == {"file": "baseline.yml", "known": ["LOGIN-02", "LOGIN-03"], "stale": [],
                                  "expired": []}
    login02 = suite.clause("LOGIN-02")
    assert login02["status"] == "failed" and login02["known"] == {"reason": "AUTH-12 pending", "expires": None}
    assert 'message="known failure (baseline: AUTH-12 pending)' in suite.report_texts()["junit.xml"]


def test_an_unlisted_failure_still_fails_the_run(suite: Suite) -> None:
    result = _run(suite, "known:\n  - clause: LOGIN-02\n    reason: AUTH-12 pending\n")
    assert result.ret == 1
    assert suite.report()["verdict"] == "FAIL" and "known" not in suite.clause("LOGIN-03")


def test_stale_and_expired_entries_are_reported(suite: Suite) -> None:
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    result = _run(suite, f"[{{clause: LOGIN-03, reason: fixed soon}}, {{clause: BEARER-01, reason: was broken}},"
                         f" {{clause: LOGIN-02, reason: old, expires: {yesterday}}}]")
    assert result.ret == 1  # LOGIN-02's entry expired: its failure counts again
    assert suite.report()["baseline"] == {"file": "baseline.yml", "known": ["LOGIN-03"], "stale": ["BEARER-01"],
                                          "expired": ["LOGIN-02"]}
    result.stdout.fnmatch_lines(["*stale entries, these clauses pass now*BEARER-01",
                                 "*expired entries*LOGIN-02"])


@pytest.mark.parametrize(("content", "message"), [
    ("known: [{clause: NOPE-01, reason: x}]", "'NOPE-01' is no clause id"),
    ("known: [{clause: LOGIN-02}]", "give a reason"),
    ("known: [{clause: LOGIN-02, reason: x, expires: soon}]", "expires 'soon' is not a date"),
    ("known: [{clause: LOGIN-02, reason: x}, {clause: LOGIN-02, reason: y}]", "LOGIN-02 is listed twice"),
    ("known: {clause: LOGIN-02}", 'expected a list of entries under "known"'),
    ("known: [", "not YAML or JSON"),
])
def test_a_bad_baseline_is_one_usage_error(suite: Suite, content: str, message: str) -> None:
    result = _run(suite, content)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--baseline baseline.yml*{message}*"])
    assert "Traceback" not in result.stderr.str()


def _report(path: Path, **statuses: tuple[str, dict[str, object]]) -> Path:
    clauses = [{"id": cid.replace("_", "-"), "level": "SHOULD" if cid.startswith("LOGIN_06") else "MUST",
                "status": status, "observed": observed} for cid, (status, observed) in statuses.items()]
    path.write_text(json.dumps({"clauses": clauses}), encoding="utf-8")
    return path


def test_diff_sorts_regressions_fixes_and_changed_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = _report(tmp_path / "old.json", LOCK_01=("passed", {"threshold": 5, "median_ms": 3.1}),
                  RATE_01=("failed", {}), TOKEN_01=("passed", {"access_lifetime_s": 900}), LOGIN_06=("passed", {}))
    new = _report(tmp_path / "new.json", LOCK_01=("failed", {"threshold": 11, "median_ms": 9.9}),
                  RATE_01=("passed", {}), TOKEN_01=("error", {"access_lifetime_s": 3600}), LOGIN_06=("failed", {}))
    assert diff.main([str(old), str(new)]) == 1
    out = capsys.readouterr().out
    assert "regressions: 2\n  LOCK-01 (MUST): passed → failed\n  LOGIN-06 (SHOULD): passed → failed" in out
    assert "fixes: 1\n  RATE-01 (MUST): failed → passed" in out
    assert "TOKEN-01 (MUST): passed → error" in out
    assert "LOCK-01 threshold: 5 → 11" in out and "TOKEN-01 access_lifetime_s: 900 → 3600" in out
    assert "median_ms" not in out  # timings vary on any target: not a change


def test_diff_of_a_should_regression_fails_only_strict(tmp_path: Path) -> None:
    old = _report(tmp_path / "old.json", LOGIN_06=("passed", {}))
    new = _report(tmp_path / "new.json", LOGIN_06=("failed", {}))
    assert diff.main([str(old), str(new)]) == 0
    assert diff.main([str(old), str(new), "--strict"]) == 1


def test_diff_of_an_unreadable_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    assert diff.main([str(tmp_path / "bad.json"), str(tmp_path / "missing.json")]) == diff.USAGE_ERROR
    assert "is not JSON" in capsys.readouterr().out
