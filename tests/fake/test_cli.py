"""The `akol-fake` console command: options, seed files, clean stops."""
from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from akol_fake._stall import Stall
from akol_fake.cli import main
from tests.fake.conftest import API, bearer, start_served, stop_served

SEED = Path(__file__).resolve().parents[2] / "fixtures" / "data" / "seed-example.json"
SCRIPT = Path(sys.executable).parent / "akol-fake"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize(("args", "fragment"), [
    (["--port", "x"], "argument --port: expected a port number, got 'x'"),
    (["--port", "70000"], "expected a port 0-65535"),
    (["--rate-limit", "0"], "argument --rate-limit: expected a number >= 1, got 0"),
    (["--hash-iterations", "many"], "expected a whole number"),
    (["--seed", "/nonexistent/seed.json"], "cannot read seed file"),
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--stall-every", "10"], "--stall-every and --stall-for go together"),
    (["--stall-every", "2", "--stall-for", "5"], "a stall must be shorter than its period"),
    (["--stall-every", "soon", "--stall-for", "1"], "argument --stall-every: expected seconds, got 'soon'"),
    (["--stall-every", "10", "--stall-for", "0"], "argument --stall-for: expected seconds > 0, got 0"),
])
def test_bad_options_give_one_clear_message(args: list[str], fragment: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    assert fragment in capsys.readouterr().err


def test_the_console_script_reports_bad_options() -> None:
    result = _run("--rate-window", "-3")
    assert result.returncode == 2
    expected = "akol-fake: error: argument --rate-window: expected a number >= 1, got -3"
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_an_invalid_seed_document_is_reported(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"users": [{"email": "a@b"}]}))
    with pytest.raises(SystemExit):
        main(["--port", "0", "--seed", str(seed)])
    assert "--seed: seed users[0] needs string fields email and password" in capsys.readouterr().err


def test_a_busy_port_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(SystemExit):
            main(["--port", str(busy.getsockname()[1])])
    assert "cannot listen on 127.0.0.1:" in capsys.readouterr().err


def test_seeded_black_box_server_and_sigterm_stop() -> None:
    served = start_served("--no-test-control", "--seed", str(SEED), "--env", "qa")
    try:
        assert served.url.startswith("http://127.0.0.1:") and not served.url.endswith(":0")
        with httpx.Client(base_url=served.url, timeout=10) as client:
            assert client.get("/__test__/clock").status_code == 404
            login = client.post(f"{API}/auth/login", json={"email": "Plain@Example.test",
                                                           "password": "plain-password-1"})
            assert login.status_code == 200
            pat = "akol_pat_example-plain-account-token"
            assert client.get(f"{API}/agents", headers=bearer(pat)).status_code == 200
    finally:
        returncode, stderr = stop_served(served)
    assert returncode == 0
    assert "Traceback" not in stderr


def test_ctrl_c_stops_cleanly() -> None:
    served = start_served()
    served.process.send_signal(signal.SIGINT)
    served.process.wait(timeout=10)
    returncode, stderr = stop_served(served)
    assert returncode == 0
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr


def test_serve_runs_any_app_with_its_own_banner_and_stops_cleanly() -> None:
    code = ("from akol_fake import create_app; from akol_fake.cli import serve; "
            "serve(create_app(env='qa'), port=0, banner='custom {url} ready')")
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    try:
        assert line.startswith("custom http://127.0.0.1:") and line.endswith(" ready\n")
        url = line.split()[1]
        assert httpx.get(f"{url}/__test__/clock", timeout=10).status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0 and "Traceback" not in stderr


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_stall_windows_open_every_period_after_the_start() -> None:
    clock = _Clock()
    stall = Stall(lambda scope, receive, send: asyncio.sleep(0), every=10, duration=2, clock=clock)
    remaining = {}
    for elapsed in (0, 9.9, 10, 11.5, 12, 19, 20.5, 31):
        clock.now = 100.0 + elapsed
        remaining[elapsed] = stall.remaining()
    assert remaining == {0: 0.0, 9.9: 0.0, 10: 2.0, 11.5: 0.5, 12: 0.0, 19: 0.0, 20.5: 1.5, 31: 1.0}


def test_a_stall_holds_the_api_but_never_the_test_control_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _Clock()
    passed: list[str] = []
    slept: list[float] = []

    async def app(scope: dict, receive: object, send: object) -> None:
        passed.append(scope["path"])

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    stall = Stall(app, every=10, duration=2, clock=clock)  # type: ignore[arg-type]
    monkeypatch.setattr(asyncio, "sleep", sleep)
    clock.now += 10.5
    for path in ("/__test__/clock", "/api/v1/agents"):
        asyncio.run(stall({"type": "http", "path": path}, None, None))  # type: ignore[arg-type]
    assert passed == ["/__test__/clock", "/api/v1/agents"] and slept == [1.5]


def test_the_served_fake_stalls_its_api_on_schedule() -> None:
    served = start_served("--stall-every", "1.5", "--stall-for", "1")
    durations: list[float] = []
    try:
        with httpx.Client(base_url=served.url, timeout=10) as client:
            deadline = time.monotonic() + 4
            while time.monotonic() < deadline and max(durations, default=0) < 0.5:  # at most ~4 s of requests
                started = time.monotonic()
                client.get(f"{API}/agents")
                durations.append(time.monotonic() - started)
    finally:
        returncode, stderr = stop_served(served)
    # A lower bound only: a busy machine makes requests slower, never faster than the stall.
    assert max(durations) >= 0.5, f"no request was held by a 1 s stall in {len(durations)} requests"
    assert returncode == 0 and "Traceback" not in stderr
