"""--p95-ms per endpoint against a served fake: named limits, a bare number for each, too few samples."""
from __future__ import annotations

import pytest

from akol_load._fake import FakeServer
from akol_load._gates import GATE_EXIT_CODE, INCONCLUSIVE_EXIT_CODE
from tests.load._locust import Finished, LocustRun, headless

LOGIN, REFRESH, AGENTS = "POST /auth/login", "POST /auth/refresh", "GET /agents"


@pytest.fixture(scope="module")
def runs(served_fake: FakeServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Finished]:
    base = tmp_path_factory.mktemp("gates")
    variants = {
        # A replay (and so a fresh login) every 2nd rotation: logins are plentiful.
        "named": ["--replay-every", "2", "--p95-ms", "login=10000,refresh=0.001"],
        "bare": ["--replay-every", "2", "--p95-ms", "10000"],
        # No replays: one login per user, too few for a p95.
        "few logins": ["--replay-every", "0", "--p95-ms", "login=10000"],
    }
    started = {name: LocustRun(base / name.replace(" ", "-"),
                               *headless("RefreshUser", "--host", served_fake.url, *flags, users=2, seconds=3))
               for name, flags in variants.items()}
    return {name: run.finish() for name, run in started.items()}


def _gates(run: Finished) -> dict[str, str]:
    return {g["endpoint"]: g["status"] for g in run.summary["gates"] if g["name"] == "p95-ms"}


def test_each_named_endpoint_gets_its_own_limit(runs: dict[str, Finished]) -> None:
    run = runs["named"]
    assert _gates(run) == {LOGIN: "passed", REFRESH: "failed"}
    assert run.returncode == GATE_EXIT_CODE, run.output[-3000:]
    assert "gate p95-ms [POST /auth/refresh] FAILED" in run.output
    assert "gate p95-ms [POST /auth/login] passed" in run.output


def test_a_bare_number_applies_to_each_endpoint(runs: dict[str, Finished]) -> None:
    run = runs["bare"]
    assert run.returncode == 0, run.output[-3000:]
    # The replay and the new-token check fold into their endpoints (POST /auth/refresh, GET /agents).
    assert _gates(run) == {LOGIN: "passed", REFRESH: "passed", AGENTS: "passed"}
    assert run.summary["verdict"] == "passed" and run.summary["reason"] is None
    assert run.summary["totals"]["p95"] is not None, "the aggregate stays, for reference"


def test_too_few_logins_for_a_percentile_are_inconclusive(runs: dict[str, Finished]) -> None:
    run = runs["few logins"]
    assert run.returncode == INCONCLUSIVE_EXIT_CODE, run.output[-3000:]
    assert _gates(run) == {LOGIN: "inconclusive"}
    assert run.summary["endpoints"][LOGIN]["answered"] == 2
    assert "2 answered request(s), fewer than the 20 a p95 needs" in run.summary["reason"]
    assert "run longer (-t)" in run.summary["reason"]
