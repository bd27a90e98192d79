"""Each profile runs headless against the auto-started fake; a tight gate fails the run."""
from __future__ import annotations

import pytest

from akol_load._gates import GATE_EXIT_CODE
from tests.load._locust import Finished, LocustRun, alive, headless

PROFILES = {
    "LoginUser": {"POST /auth/login", "POST /auth/verify-2fa"},
    "RefreshUser": {"POST /auth/login", "POST /auth/refresh"},
    "SessionUser": {"POST /auth/login", "GET /agents"},
    "PatUser": {"GET /agents [PAT]"},
}
USERS = 4


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Finished]:
    """All smoke runs and the gate run at once: each is bound by -t, so together they take one run's time."""
    base = tmp_path_factory.mktemp("load-runs")
    extra = {"RefreshUser": ["--replay-every", "2"]}
    started = {name: LocustRun(base / name, *headless(name, *extra.get(name, []), users=USERS))
               for name in PROFILES}
    started["gate"] = LocustRun(base / "gate", *headless("LoginUser", "--p95-ms", "0.001", users=2, seconds=2))
    return {name: run.finish() for name, run in started.items()}


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_profile_runs_clean_against_the_auto_started_fake(runs: dict[str, Finished], profile: str) -> None:
    run = runs[profile]
    assert run.returncode == 0, run.output[-3000:]
    summary = run.summary
    assert summary["profiles"] == [profile]
    assert summary["target"]["autoStartedFake"] is True
    endpoints = summary["endpoints"]
    assert PROFILES[profile] <= set(endpoints), f"endpoints seen: {sorted(endpoints)}"
    for name, figures in endpoints.items():
        assert figures["requests"] > 0 and figures["failures"] == 0, (name, figures)
        assert figures["p50"] <= figures["p95"] <= figures["p99"], (name, figures)
    totals = summary["totals"]
    assert totals["requests"] == sum(e["requests"] for e in endpoints.values())
    assert totals["failures"] == 0 and totals["rps"] > 0
    assert summary["exitCode"] == 0 and summary["errors"] == []
    accounts = summary["accounts"]
    if profile != "PatUser":
        assert accounts["users"] == USERS and accounts["distinctAccounts"] == USERS and accounts["shared"] == []


def test_refresh_user_replays_rotated_tokens(runs: dict[str, Finished]) -> None:
    endpoints = runs["RefreshUser"].summary["endpoints"]
    assert endpoints["POST /auth/refresh [replay]"]["requests"] > 0
    assert endpoints["POST /auth/refresh [replay]"]["failures"] == 0


@pytest.mark.parametrize("name", sorted(PROFILES) + ["gate"])
def test_auto_started_fake_is_gone_after_the_run(runs: dict[str, Finished], name: str) -> None:
    pid = runs[name].summary["target"]["fakePid"]
    assert isinstance(pid, int)
    assert not alive(pid), f"the auto-started fake (pid {pid}) outlived Locust"


def test_tight_p95_gate_fails_the_run_and_names_the_gate(runs: dict[str, Finished]) -> None:
    run = runs["gate"]
    assert run.returncode != 0
    assert "gate p95-ms [POST /auth/login] FAILED: observed" in run.output
    assert run.summary["verdict"] == "failed" and run.returncode == GATE_EXIT_CODE
    assert run.summary["exitCode"] == run.returncode
    [gate] = run.summary["gates"]
    assert gate["name"] == "p95-ms" and gate["endpoint"] == "POST /auth/login"
    assert gate["status"] == "failed" and gate["observed"] > gate["limit"]
    assert gate["samples"] == run.summary["endpoints"]["POST /auth/login"]["answered"] >= 20


