"""429/423 are counted as throttled under their own names, not as failures (unless asked)."""
from __future__ import annotations

import pytest

from load._fake import FakeServer
from tests.load._locust import Finished, LocustRun, headless


@pytest.fixture(scope="module")
def runs(rate_limited_fake: FakeServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Finished]:
    """Both runs at once against one fake whose login limit they trip."""
    base = tmp_path_factory.mktemp("throttle")
    started = {
        flag: LocustRun(base / (flag or "default"), *headless("LoginUser", "--host", rate_limited_fake.url,
                                                             *([flag] if flag else []), users=2, seconds=2))
        for flag in ("", "--throttle-is-failure")
    }
    return {flag: run.finish() for flag, run in started.items()}


def test_rate_limited_logins_are_throttled_not_failed(runs: dict[str, Finished]) -> None:
    run = runs[""]
    assert run.returncode == 0, run.output[-3000:]
    login = run.summary["endpoints"]["POST /auth/login"]
    assert login["throttled"] > 0 and login["failures"] == 0
    assert "POST /auth/login [429 throttled]" in run.output
    assert run.summary["totals"]["throttled"] == sum(e["throttled"] for e in run.summary["endpoints"].values())


def test_throttle_is_failure_makes_them_failures(runs: dict[str, Finished]) -> None:
    run = runs["--throttle-is-failure"]
    assert run.returncode != 0
    login = run.summary["endpoints"]["POST /auth/login"]
    assert login["throttled"] > 0 and login["failures"] >= login["throttled"]
    assert any("throttled: HTTP 429" in e["error"] for e in run.summary["errors"])
