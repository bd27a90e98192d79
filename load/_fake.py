"""Start the reference fake (`akol-fake`) as a child process on a free loopback port."""
from __future__ import annotations

from akol_fake.spawn import ServedFake as FakeServer
from akol_fake.spawn import SpawnError, spawn

__all__ = ["UNLIMITED_RATE", "FakeServer", "FakeStartError", "start_fake"]

# Huge so the load itself never trips the fake's IP-level login limit.
UNLIMITED_RATE = 1_000_000_000


class FakeStartError(RuntimeError):
    """The fake did not come up; the message says why."""


def start_fake(*, hash_iterations: int, rate_limit: int = UNLIMITED_RATE, timeout: float = 20.0) -> FakeServer:
    """Start `akol-fake --port 0` and wait (at most ``timeout`` s) for the URL it prints; if Locust
    dies without cleaning up (SIGKILL), the fake goes with it."""
    try:
        return spawn("--host", "127.0.0.1", "--rate-limit", str(rate_limit),
                     "--hash-iterations", str(hash_iterations), timeout=timeout, die_with_parent=True)
    except SpawnError as exc:
        raise FakeStartError(f"the reference fake did not start: {exc}\n"
                             "Fix the fake, or pass --host to load-test a running server.") from None
