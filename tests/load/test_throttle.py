"""429/423 are counted as throttled under their own names, not as failures (unless asked)."""
from __future__ import annotations

import pytest

from akol_load._fake import FakeServer
from tests.load._locust import Finished, LocustRun, headless


@pytest.fixture(scope="module")
def runs(rate_limited_fake: FakeServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Finished]:
    """All runs at once against one fake whose login limit they trip."""
    base = tmp_path_factory.mktemp("throttle")
    variants = {"default": [], "failing": ["--throttle-is-failure"],
                "within budget": ["--throttle-is-failure", "--max-fail-ratio", "1"]}
    started = {name: LocustRun(base / name.replace(" ", "-"),
                               *headless("LoginUser", "--host", rate_limited_fake.url, *flags, users=2, seconds=2))
               for name, flags in variants.items()}
    return {name: run.finish() for name, run in started.items()}


def test_rate_limited_logins_are_throttled_not_failed(runs: dict[str, Finished]) -> None:
    run = runs["default"]
    assert run.returncode == 0, run.output[-3000:]
    login = run.summary["endpoints"]["POST /auth/login"]
    assert login["throttled"] > 0 and login["failures"] == 0
    assert "POST /auth/login [429 throttled]" in run.output
    assert run.summary["totals"]["throttled"] == sum(e["throttled"] for e in run.summary["endpoints"].values())


def test_throttle_is_failure_makes_them_failures(runs: dict[str, Finished]) -> None:
    run = runs["failing"]
    assert run.returncode != 0
    login = run.summary["endpoints"]["POST /auth/login"]
    assert login["throttled"] > 0 and login["failures"] >= login["throttled"]
    assert any("throttled: HTTP 429" in e["error"] for e in run.summary["errors"])


def test_failures_within_max_fail_ratio_leave_the_exit_code_zero(runs: dict[str, Finished]) -> None:
    run = runs["within budget"]
    assert run.summary["totals"]["failures"] > 0
    assert run.returncode == 0, run.output[-3000:]
    [gate] = run.summary["gates"]
    assert gate["name"] == "max-fail-ratio" and gate["passed"] is True
    assert gate["observed"] == pytest.approx(run.summary["totals"]["failRatio"], abs=1e-6)
    assert "gate max-fail-ratio passed" in run.output
