"""Helpers for the plugin's own tests: run a synthetic suite with pytester, serve an app."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

# Loaded as a plugin (not a conftest) here, so it must not compete with Locust's pytest
# plugin, which also defines a `session` fixture (and imports gevent when it's used).
# The pytest11 entry point marks `conformance` for assertion rewriting, but this process
# imported it long before pytester's inner run starts.
PLUGIN = (
    "-p", "akol_conformance.conftest", "-p", "no:locust", "-p", "no:schemathesis", "-p", "no:hypothesispytest",
    "-p", "no:anyio",
    "-W", "ignore:Module already imported so cannot be rewritten:pytest.PytestAssertRewriteWarning",
)


class Suite:
    """A synthetic conformance suite in a pytester directory."""

    def __init__(self, pytester: pytest.Pytester) -> None:
        self.pytester = pytester
        self.report_dir = pytester.path / "out"

    def run(self, *args: str) -> pytest.RunResult:
        return self.pytester.runpytest(*PLUGIN, f"--report-dir={self.report_dir}", *args)

    def report(self) -> dict[str, Any]:
        return json.loads((self.report_dir / "conformance.json").read_text())

    def clause(self, clause_id: str) -> dict[str, Any]:
        return next(c for c in self.report()["clauses"] if c["id"] == clause_id)

    def report_texts(self) -> dict[str, str]:
        return {p.name: p.read_text() for p in sorted(self.report_dir.iterdir()) if not p.name.startswith(".")}


@pytest.fixture(scope="session", autouse=True)
def _warm_up_http_stack() -> None:
    """Import httpx/httpcore's lazily imported parts in this process first: pytester's
    in-process runs drop modules first imported inside them, and a re-imported httpcore's
    exceptions are not the classes httpx maps (an unreachable target then escapes as
    INTERNALERROR)."""
    import httpx

    # Inner runs drop what they import first and import it afresh the next time: seconds each for
    # schemathesis and Hypothesis, which pytest also rewrites when they load as plugins.
    import akol_conformance._probes.fuzz  # noqa: F401
    import akol_conformance.conftest  # noqa: F401
    import akol_fake  # noqa: F401

    for url in (f"http://127.0.0.1:{free_port()}", "http://no-such-host.invalid"):
        try:
            httpx.get(url, timeout=5)
        except httpx.HTTPError:
            pass


@pytest.fixture
def suite(pytester: pytest.Pytester) -> Suite:
    return Suite(pytester)


@contextmanager
def serve(app: Callable[..., Any]) -> Iterator[str]:
    """Serve an ASGI app on a free loopback port; yields its base URL."""
    # A short graceful shutdown: a test may leave a request hanging on purpose.
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", lifespan="off",
                                           timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start within 10 s")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())
