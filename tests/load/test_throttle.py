"""Rate-limited targets (issue 14): the limiter is honoured, counted apart, and never passes for throughput.

Against served fakes with a tight per-IP login limit: users wait Retry-After instead of hammering,
the p95 gate judges answered logins only, and a run that measured the limiter is inconclusive.
"""
from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from akol_fake.spawn import ServedFake, spawn
from akol_load._gates import GATE_EXIT_CODE, INCONCLUSIVE_EXIT_CODE, MIN_SAMPLES
from tests.load._locust import Finished, LocustRun, headless

LOGIN = "POST /auth/login"
USERS = 4


def _fake(*args: str) -> ServedFake:
    return spawn("--host", "127.0.0.1", *args, die_with_parent=True)


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, ServedFake]]:
    started = {
        # 5 logins a minute: a few-seconds run meets the limit at once.
        "tight": _fake("--rate-limit", "5", "--rate-window", "60", "--hash-iterations", "1000"),
        # Room for more answered logins than a p95 needs, each a real password check (slow hashing).
        "slow": _fake("--rate-limit", "40", "--rate-window", "60", "--hash-iterations", "100000"),
        # One login a minute, used up before the run: everything the run sends is throttled.
        "spent": _fake("--rate-limit", "1", "--rate-window", "60", "--hash-iterations", "1000"),
    }
    yield started
    for fake in started.values():
        fake.stop()


@pytest.fixture(scope="module")
def runs(fakes: dict[str, ServedFake], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Finished]:
    """All runs at once (each bound by -t); each variant of the tight fake shares its limit with the others."""
    base = tmp_path_factory.mktemp("throttle")
    httpx.post(f"{fakes['spent'].url}/api/v1/auth/login", json={"email": "nobody@example.test", "password": "x"},
               timeout=10)
    variants = {
        "default": ("tight", ["--p95-ms", "5000"], USERS, 4),
        "failing": ("tight", ["--throttle-is-failure"], 2, 2),
        "within budget": ("tight", ["--throttle-is-failure", "--max-fail-ratio", "1"], 2, 2),
        "slow logins": ("slow", ["--p95-ms", "login=10"], 3, 5),
        "all throttled": ("spent", ["--p95-ms", "500"], 2, 2),
    }
    started = {name: LocustRun(base / name.replace(" ", "-"),
                               *headless("LoginUser", "--host", fakes[fake].url, *flags, users=users, seconds=seconds))
               for name, (fake, flags, users, seconds) in variants.items()}
    return {name: run.finish() for name, run in started.items()}


def test_the_hot_loop_is_gone_users_wait_out_retry_after(runs: dict[str, Finished]) -> None:
    run = runs["default"]
    login = run.summary["endpoints"][LOGIN]
    # The limit allows 5 × 4 s / 60 s ≈ 0.3 logins per user in this run; one 429 per user is then waited
    # out (Retry-After is most of a minute). Answering a 429 at once sent thousands in 4 s.
    assert 0 < login["throttled"] <= 2 * USERS, login
    assert login["answered"] <= 5 and login["failures"] == 0
    assert "POST /auth/login [429 throttled]" in run.output


def test_a_run_that_measured_the_limiter_is_inconclusive_not_passed(runs: dict[str, Finished]) -> None:
    run = runs["default"]
    assert run.returncode == INCONCLUSIVE_EXIT_CODE, run.output[-3000:]
    summary = run.summary
    assert summary["verdict"] == "inconclusive" and summary["exitCode"] == INCONCLUSIVE_EXIT_CODE
    assert "the run measured the rate limiter" in summary["reason"]
    assert "more source IPs" in summary["reason"] and "allow-lists" in summary["reason"]
    throttle = next(g for g in summary["gates"] if g["name"] == "max-throttle-ratio")
    assert throttle["status"] == "inconclusive" and throttle["observed"] > 0.2 and throttle["endpoint"] == LOGIN
    assert "verdict: inconclusive" in run.output


def test_an_all_throttled_run_is_inconclusive_and_its_p95_gate_is_not_passed(runs: dict[str, Finished]) -> None:
    run = runs["all throttled"]
    assert run.returncode == INCONCLUSIVE_EXIT_CODE, run.output[-3000:]
    login = run.summary["endpoints"][LOGIN]
    assert login["answered"] == 0 and 0 < login["throttled"] <= 4 and login["p95"] is None
    statuses = {g["name"]: g["status"] for g in run.summary["gates"]}
    assert statuses == {"p95-ms": "inconclusive", "max-throttle-ratio": "inconclusive"}
    assert f"fewer than the {MIN_SAMPLES} a p95 needs" in run.summary["reason"]


def test_the_p95_gate_fails_when_answered_logins_exceed_it(runs: dict[str, Finished]) -> None:
    run = runs["slow logins"]
    assert run.returncode == GATE_EXIT_CODE, run.output[-3000:]
    login = run.summary["endpoints"][LOGIN]
    [gate] = [g for g in run.summary["gates"] if g["name"] == "p95-ms"]
    assert gate["endpoint"] == LOGIN and gate["status"] == "failed"
    assert gate["samples"] == login["answered"] >= MIN_SAMPLES
    assert gate["observed"] == login["p95"] > 10
    assert login["throttled"] <= 2 * 3, "each user waits out its 429"
    assert run.summary["verdict"] == "failed" and "gate p95-ms [POST /auth/login] FAILED" in run.output


def test_throttle_is_failure_makes_them_failures(runs: dict[str, Finished]) -> None:
    run = runs["failing"]
    assert run.returncode != 0
    login = run.summary["endpoints"][LOGIN]
    assert login["throttled"] > 0 and login["failures"] >= login["throttled"]
    assert any("throttled: HTTP 429" in e["error"] for e in run.summary["errors"])
    assert all(g["name"] != "max-throttle-ratio" for g in run.summary["gates"]), "judged as failures instead"


def test_failures_within_max_fail_ratio_leave_the_exit_code_zero(runs: dict[str, Finished]) -> None:
    run = runs["within budget"]
    assert run.summary["totals"]["failures"] > 0
    assert run.returncode == 0, run.output[-3000:]
    [gate] = run.summary["gates"]
    assert gate["name"] == "max-fail-ratio" and gate["passed"] is True
    assert gate["observed"] == pytest.approx(run.summary["totals"]["failRatio"], abs=1e-6)
    assert "gate max-fail-ratio passed" in run.output
