"""Start the reference fake (`akol-fake`) as a child process on a free loopback port."""
from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BANNER = re.compile(r"akol-fake serving (http://\S+)")
# Huge so the load itself never trips the fake's IP-level login limit.
UNLIMITED_RATE = 1_000_000_000
_PR_SET_PDEATHSIG = 1


class FakeStartError(RuntimeError):
    """The fake did not come up; the message says why and where its log is."""


@dataclass
class FakeServer:
    process: subprocess.Popen[bytes]
    url: str
    log_dir: Path
    _stopped: bool = field(default=False, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the fake and remove its log; safe to call more than once."""
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        shutil.rmtree(self.log_dir, ignore_errors=True)


def fake_command() -> list[str]:
    """The `akol-fake` console script of this interpreter's environment, else the one on PATH."""
    beside = Path(sys.executable).with_name("akol-fake")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("akol-fake")
    if found is None:
        raise FakeStartError("no `akol-fake` command: install the project (pip install -e '.[dev]') "
                             "or pass --host to load-test a running server")
    return [found]


def _die_with_parent() -> None:
    # Runs in the child before exec: if Locust dies without cleaning up (SIGKILL), so does the fake.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def start_fake(*, hash_iterations: int, rate_limit: int = UNLIMITED_RATE,
               timeout: float = 20.0) -> FakeServer:
    """Start `akol-fake --port 0` and wait (at most ``timeout`` s) for the URL it prints."""
    log_dir = Path(tempfile.mkdtemp(prefix="akol-load-fake-"))
    log_path = log_dir / "akol-fake.log"
    command = fake_command() + ["--host", "127.0.0.1", "--port", "0", "--rate-limit", str(rate_limit),
                                "--hash-iterations", str(hash_iterations)]
    with log_path.open("wb") as log:
        # A file, not a pipe: nobody has to keep draining the fake's output for it to keep serving.
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True,
                                   preexec_fn=_die_with_parent if sys.platform == "linux" else None)
    server = FakeServer(process, "", log_dir)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = BANNER.search(log_path.read_text(encoding="utf-8", errors="replace"))
        if match:
            server.url = match.group(1)
            return server
        if process.poll() is not None:
            break
        time.sleep(0.05)
    output = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
    server.stop()
    state = f"exited with code {process.returncode}" if process.returncode is not None else \
        f"printed no 'akol-fake serving http://…' line within {timeout:.0f} s"
    raise FakeStartError(f"the reference fake ({' '.join(command)}) {state}; its output:\n{output}\n"
                         "Fix the fake, or pass --host to load-test a running server.")
