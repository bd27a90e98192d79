"""The auto-started fake never outlives Locust: normal end (test_profiles), Ctrl-C, SIGKILL, errors."""
from __future__ import annotations

import re
import signal
import time
from pathlib import Path

from tests.load._locust import LocustRun, alive

STARTED = re.compile(r"started akol-fake \(pid (\d+)\)")


def _fake_pid(run: LocustRun) -> int:
    match = STARTED.search(run.wait_for("All users spawned"))
    assert match, "locust logs the pid of the fake it started"
    return int(match.group(1))


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def test_ctrl_c_stops_the_fake_and_still_writes_the_summary(tmp_path: Path) -> None:
    run = LocustRun(tmp_path, "--headless", "-u", "2", "-r", "2", "--only-summary", "PatUser")
    pid = _fake_pid(run)
    assert alive(pid)

    run.process.send_signal(signal.SIGINT)
    finished = run.finish(timeout=30)

    assert not alive(pid), f"the fake (pid {pid}) outlived a Ctrl-C'd Locust"
    assert finished.summary["target"]["fakePid"] == pid


def test_sigkilled_locust_takes_the_fake_down(tmp_path: Path) -> None:
    run = LocustRun(tmp_path, "--headless", "-u", "1", "-r", "1", "--only-summary", "PatUser")
    pid = _fake_pid(run)

    run.process.kill()
    run.process.wait(10)

    assert _gone_within(pid, 10), f"the fake (pid {pid}) outlived a SIGKILLed Locust"


def test_a_fake_that_cannot_start_is_reported_with_its_output(tmp_path: Path) -> None:
    run = LocustRun(tmp_path, "--headless", "-u", "1", "-t", "1s", "--fake-hash-iterations", "0", "LoginUser")

    finished = run.finish(timeout=30)

    assert finished.returncode == 1
    assert "the reference fake" in finished.output and "exited with code" in finished.output
    assert "--hash-iterations" in finished.output  # the fake's own complaint is passed on
    assert finished.summary == {}


def test_real_target_options_without_host_are_refused_before_anything_starts(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("a@x.io,pw\n")
    run = LocustRun(tmp_path, "--headless", "-u", "1", "-t", "1s", "--accounts-file", str(accounts), "LoginUser")

    finished = run.finish(timeout=30)

    assert finished.returncode == 1
    assert "--accounts-file, --pat and --pats-file are for a real --host" in finished.output
    assert "started akol-fake" not in finished.output
