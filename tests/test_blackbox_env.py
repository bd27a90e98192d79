"""Black-box runs (no test control, seeded accounts, AKOL_* variables) against the served fake:
BEARER, ENV, PAT, RATE, REFRESH, LOGOUT and TOKEN judged right, a part that needs the clock
reported as partial, never as a plain pass, and a foreign token that is not live at the target's
clock never passing ENV-01."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import jwt

from tests.test_over_http import SEED, _tail, akol_fake, run_suite

PLAIN, _LOCKOUT, TFA, *_ = SEED["users"]
FOREIGN_USER = {"email": "foreign@example.test", "password": "foreign-password-1", "role": "USER",
                "plan": "STARTER", "totpSecret": None, "pats": []}
PLAIN_ENV = {"AKOL_EMAIL": PLAIN["email"], "AKOL_PASSWORD": PLAIN["password"], "AKOL_PAT": PLAIN["pats"][0],
             "AKOL_2FA_EMAIL": TFA["email"], "AKOL_2FA_PASSWORD": TFA["password"],
             "AKOL_2FA_TOTP_SECRET": TFA["totpSecret"]}
FOREIGN_ENV = {"AKOL_FOREIGN_EMAIL": FOREIGN_USER["email"], "AKOL_FOREIGN_PASSWORD": FOREIGN_USER["password"]}
# Many black-box logins from one address: a limit this high stays out of the way of non-RATE clauses.
_NO_LIMIT = ("--rate-limit", "100000")


def _seeds(tmp_path: Path) -> tuple[str, str]:
    target, foreign = tmp_path / "seed.json", tmp_path / "foreign-seed.json"
    target.write_text(json.dumps(SEED))
    foreign.write_text(json.dumps({"users": [FOREIGN_USER]}))
    return str(target), str(foreign)


def _clauses(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in report["clauses"]}


def test_black_box_run_judges_the_clauses_and_marks_partial_ones(tmp_path: Path) -> None:
    seed, foreign_seed = _seeds(tmp_path)
    with akol_fake("--no-test-control", "--seed", seed, *_NO_LIMIT) as url, \
         akol_fake("--no-test-control", "--seed", foreign_seed, "--env", "staging") as foreign:
        result, report = run_suite(tmp_path / "reports", f"--target={url}", f"--foreign-target={foreign}",
                                   *(f"--clause={f}" for f in ("BEARER", "ENV", "PAT", "REFRESH", "LOGOUT",
                                                               "TOKEN", "JWT")),
                                   env=PLAIN_ENV | FOREIGN_ENV)
    assert result.returncode == 0, _tail(result)
    clauses = _clauses(report)
    bad = {cid: (c["status"], c["reason"]) for cid, c in clauses.items() if c["status"] in ("failed", "error")}
    assert not bad, _tail(result)
    env_01 = clauses["ENV-01"]
    assert env_01["status"] == "passed" and not env_01.get("notChecked"), env_01
    assert env_01["observed"]["foreign token"]["source"] == "minted by this run on the other environment " \
                                                           "(AKOL_FOREIGN_EMAIL)"
    assert env_01["observed"]["foreign token"]["status on its own environment"] == 200
    assert clauses["BEARER-07"]["status"] == "passed" and not clauses["BEARER-07"].get("notChecked")
    assert len(clauses["BEARER-07"]["observed"]["statuses"]) == 4  # the PAT's query part ran too
    assert clauses["REFRESH-06"]["observed"]["double-spend rate"] == "0 of 8 bursts"
    # What needs the clock is named, and nothing it would have observed is reported.
    for cid in ("PAT-02", "LOGOUT-02", "REFRESH-02", "BEARER-06"):
        assert clauses[cid]["status"] == "passed", cid
        assert any("needs the test clock" in part for part in clauses[cid]["notChecked"]), clauses[cid]
    assert "checked_at" not in clauses["LOGOUT-02"]["observed"]
    assert clauses["TOKEN-02"]["status"] == "skipped" and not clauses["TOKEN-02"]["observed"]
    assert any("sub replaced by another real account" in p for p in clauses["JWT-03"]["notChecked"])
    assert "PARTIAL      PAT-02 (MUST)" in result.stdout
    texts = [(tmp_path / "reports" / name).read_text() for name in ("conformance.json", "conformance.html")]
    for value in (PLAIN_ENV | FOREIGN_ENV).values():
        assert all(value not in text for text in [*texts, result.stdout + result.stderr])


def test_black_box_rate_and_pat_03_with_a_short_sliding_window(tmp_path: Path) -> None:
    """--destructive black-box: RATE-01 says its threshold is a lower bound, RATE-03 waits out a
    short Retry-After in real time, PAT-03 judges its PAT requests inside the limit."""
    seed, _ = _seeds(tmp_path)
    with akol_fake("--no-test-control", "--seed", seed, "--rate-limit", "20", "--rate-window", "2") as url:
        # RATE first, so RATE-01 starts on an empty window (PAT-03 would leave it full).
        rate, rate_report = run_suite(tmp_path / "rate", f"--target={url}", "--destructive", "--clause=RATE",
                                      env=PLAIN_ENV)
        pat, pat_report = run_suite(tmp_path / "pat", f"--target={url}", "--destructive", "--clause=PAT-03",
                                    env=PLAIN_ENV)
    assert rate.returncode == 0, _tail(rate)
    assert pat.returncode == 0, _tail(pat)
    clauses = _clauses(rate_report) | {"PAT-03": _clauses(pat_report)["PAT-03"]}
    for cid in ("RATE-01", "RATE-02", "RATE-03", "RATE-04", "PAT-03"):
        assert clauses[cid]["status"] == "passed" and not clauses[cid].get("notChecked"), (cid, clauses[cid])
    assert "configured limit may be higher" in clauses["RATE-01"]["observed"]["note"]
    assert clauses["RATE-03"]["observed"]["retry_after_honoured"] is True
    assert clauses["PAT-03"]["observed"]["PAT statuses while login answered 429 before and after"] == [200] * 3


def _expired_foreign_token(seconds_ago: float) -> str:
    now = int(time.time())
    return jwt.encode({"sub": "user_x", "jti": "j", "typ": "access", "iat": now - 900 - int(seconds_ago),
                       "exp": now - int(seconds_ago), "iss": "akol-staging", "aud": "akol-staging"},
                      "another-environment-key-0123456789abcdef", algorithm="HS256")


def test_an_expired_stored_foreign_token_is_inconclusive_not_passed(tmp_path: Path) -> None:
    """The CI case of issue 10: a 15-minute token stored as a secret, long expired."""
    seed, _ = _seeds(tmp_path)
    with akol_fake("--no-test-control", "--seed", seed, *_NO_LIMIT) as url:
        result, report = run_suite(tmp_path / "reports", f"--target={url}", "--clause=ENV-01",
                                   env=PLAIN_ENV | {"AKOL_FOREIGN_TOKEN": _expired_foreign_token(3600)})
    assert result.returncode == 2, _tail(result)
    env_01 = _clauses(report)["ENV-01"]
    assert (env_01["status"], env_01["cause"]) == ("error", "prerequisite"), env_01
    assert "expired at this target's clock" in env_01["reason"] and "AKOL_FOREIGN_EMAIL" in env_01["reason"]


def test_a_moved_target_clock_the_foreign_target_cannot_follow_is_inconclusive(tmp_path: Path) -> None:
    """Target with test control (its clock moved two days by earlier checks), foreign black-box."""
    _, foreign_seed = _seeds(tmp_path)
    with akol_fake() as url, akol_fake("--no-test-control", "--seed", foreign_seed, "--env", "staging") as foreign:
        httpx.post(f"{url}/__test__/clock", json={"advance": 2 * 86_400}).raise_for_status()
        result, report = run_suite(tmp_path / "reports", f"--target={url}", f"--foreign-target={foreign}",
                                   "--clause=ENV-01", env=FOREIGN_ENV)
    assert result.returncode == 2, _tail(result)
    env_01 = _clauses(report)["ENV-01"]
    assert env_01["status"] == "error" and "give --foreign-target test control" in env_01["reason"], env_01


def test_bearer_07_checks_the_pat_alone_when_no_account_is_given(tmp_path: Path) -> None:
    seed, _ = _seeds(tmp_path)
    with akol_fake("--no-test-control", "--seed", seed, *_NO_LIMIT) as url:
        result, report = run_suite(tmp_path / "reports", f"--target={url}", "--clause=BEARER-07",
                                   env={"AKOL_PAT": PLAIN_ENV["AKOL_PAT"]})
    assert result.returncode == 0, _tail(result)
    bearer_07 = _clauses(report)["BEARER-07"]
    assert bearer_07["status"] == "passed", bearer_07
    assert list(bearer_07["observed"]["statuses"]) == ["the PAT as ?access_token= on GET /agents"]
    assert bearer_07["notChecked"] == ["an access token outside the Authorization header: needs a plain account: "
                                       "set AKOL_EMAIL and AKOL_PASSWORD (the target has no test control, /__test__/)"]
