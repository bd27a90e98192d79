"""The whole conformance suite over real HTTP against `akol-fake` on loopback.

(a) with the test-control protocol: everything runs, nothing fails;
(b) black-box (`--no-test-control`, seeded accounts, AKOL_* variables): the clauses that
    need the test clock or --destructive skip with a reason, nothing fails.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from akol_fake.spawn import spawn
from tests._early import starts_early

REPO = Path(__file__).resolve().parents[1]
SEED = json.loads((REPO / "fixtures" / "data" / "seed-example.json").read_text())
_START_SECONDS = 30
_SUITE_SECONDS = 900


@contextmanager
def akol_fake(*args: str) -> Iterator[str]:
    """Start `akol-fake --port 0 …` and yield the URL it prints."""
    with spawn(*args, timeout=_START_SECONDS, die_with_parent=True) as fake:
        yield fake.url


def run_suite(report_dir: Path, *args: str,
              env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AKOL_")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--report-dir={report_dir}", *args],
        cwd=REPO, env={**clean, **(env or {})}, capture_output=True, text=True, timeout=_SUITE_SECONDS)
    report = json.loads((report_dir / "conformance.json").read_text())
    return result, report


def _tail(result: subprocess.CompletedProcess[str]) -> str:
    return (result.stdout + result.stderr)[-6000:]


def test_whole_suite_with_test_control(tmp_path: Path) -> None:
    with akol_fake() as url, akol_fake("--env", "staging") as foreign:
        result, report = run_suite(tmp_path, f"--target={url}", f"--foreign-target={foreign}", "--destructive")
    assert result.returncode == 0, _tail(result)
    assert report["target"] == url and report["testControl"] is True
    statuses = {c["id"]: c["status"] for c in report["clauses"]}
    assert [cid for cid, status in statuses.items() if status != "passed"] == [], _tail(result)


def test_a_429_waited_out_before_verify_2fa_gets_a_code_of_the_new_time(tmp_path: Path) -> None:
    """An IP limit of 2 logins: the third request of LOGIN-06 (its verify-2fa) draws a 429, which the
    test clock waits out by 60 s. A code made before that wait is two steps old by then."""
    with akol_fake("--rate-limit", "2") as url:
        result, report = run_suite(tmp_path, f"--target={url}", "--clause=LOGIN-06", "--clause=2FA-02")
    assert result.returncode == 0, _tail(result)
    clauses = {c["id"]: c for c in report["clauses"] if c.get("selected", True)}
    assert {cid: c["status"] for cid, c in clauses.items()} == {"LOGIN-06": "passed", "2FA-02": "passed"}
    assert clauses["LOGIN-06"]["requests"]["verify2fa"] == 2  # the one verify-2fa: its 429, then its retry


@starts_early(__name__, "test_black_box_without_test_control")
def _black_box(tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], dict[str, str]]:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(SEED))
    plain, _lockout, tfa, *_ = SEED["users"]
    env = {
        "AKOL_EMAIL": plain["email"], "AKOL_PASSWORD": plain["password"], "AKOL_PAT": plain["pats"][0],
        "AKOL_2FA_EMAIL": tfa["email"], "AKOL_2FA_PASSWORD": tfa["password"],
        "AKOL_2FA_TOTP_SECRET": tfa["totpSecret"],
    }
    black_box = ("--no-test-control", "--seed", str(seed), "--rate-limit", "100000")
    with akol_fake(*black_box) as url, akol_fake("--env", "staging", *black_box) as foreign:
        login = httpx.post(f"{foreign}/api/v1/auth/login",
                           json={"email": plain["email"], "password": plain["password"]})
        env["AKOL_FOREIGN_TOKEN"] = login.json()["data"]["token"]
        # The space-separated form: the root conftest must have registered --target early.
        result, report = run_suite(tmp_path / "reports", "--target", url, env=env)
    return result, report, env


def test_black_box_without_test_control(tmp_path: Path) -> None:
    (result, report, env), tmp_path = _black_box.outcome(tmp_path)
    assert result.returncode == 0, _tail(result)
    assert report["testControl"] is False
    clauses = {c["id"]: c for c in report["clauses"]}
    assert [cid for cid, c in clauses.items() if c["status"] not in ("passed", "skipped")] == [], _tail(result)
    # What black-box can check, it checks; the rest names what it needs.
    for cid in ("BEARER-02", "LOGIN-01", "REFRESH-01", "PAT-01", "2FA-02", "ENV-01", "JWT-04", "ROBUST-01"):
        assert clauses[cid]["status"] == "passed", (cid, clauses[cid]["reason"])
    for cid in ("TOKEN-02", "LOCK-01", "RATE-01", "PAT-05"):
        assert clauses[cid]["status"] == "skipped", cid
    assert clauses["TOKEN-02"]["reason"] == "needs the test clock (/__test__/) or --real-time"
    assert clauses["LOCK-01"]["reason"].startswith("pass --destructive")
    # No credential of the run in any report.
    texts = [(tmp_path / "reports" / name).read_text()
             for name in ("conformance.json", "conformance.html", "junit.xml")]
    for value in env.values():
        assert all(value not in text for text in texts)
    assert all(value not in result.stdout + result.stderr for value in env.values())
