"""load/stepfile.py: users rise in steps; the run stops at the first step past a bound."""
from __future__ import annotations

import pytest

from tests.load._locust import STEPFILE, Finished, LocustRun

STEPS = ["--headless", "--only-summary", "--step-users", "2", "--step-seconds", "1.5", "PatUser"]
BOUNDS = {
    "generous": ["--step-max-users", "4", "--step-p95-ms", "10000"],
    "tight": ["--step-max-users", "20", "--step-p95-ms", "0.001"],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Finished]:
    base = tmp_path_factory.mktemp("step")
    started = {name: LocustRun(base / name, *STEPS, *bounds, locustfile=STEPFILE) for name, bounds in BOUNDS.items()}
    return {name: run.finish() for name, run in started.items()}


def test_steps_rise_to_the_cap_when_every_step_passes(runs: dict[str, Finished]) -> None:
    run = runs["generous"]
    assert run.returncode == 0, run.output[-3000:]
    step = run.summary["step"]
    assert [s["users"] for s in step["steps"]] == [2, 4]
    assert all(s["passed"] and s["requests"] > 0 for s in step["steps"])
    assert step["highestPassingUsers"] == 4
    assert "knee: highest passing step = 4 users" in run.output


def test_first_step_over_the_bound_stops_the_run(runs: dict[str, Finished]) -> None:
    run = runs["tight"]
    assert run.returncode == 0, run.output[-3000:]
    step = run.summary["step"]
    [only] = step["steps"]
    assert only["users"] == 2 and only["passed"] is False and "p95" in only["reason"]
    assert step["highestPassingUsers"] is None
    assert "failed" in step["stoppedBecause"]
    assert "knee: highest passing step = none" in run.output
