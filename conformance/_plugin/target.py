"""Where the suite's HTTP goes: the in-process app (ASGI, no socket) or a URL, and preflight.

Both kinds hand out ``httpx.Client`` objects rooted at the target's base URL, so every
check speaks plain HTTP either way. In-process, each client gets its own client
address so per-IP behaviour (the login rate limit) never leaks between tests.
"""
from __future__ import annotations

import importlib
import itertools
import threading
import warnings
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
import pytest

with warnings.catch_warnings():
    # Starlette prefers httpx2; plain httpx is what the suite uses for remote targets too.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from akol_conformance._plugin.api import API_PREFIX
from akol_conformance._plugin.budget import Budget
from akol_conformance._plugin.transport import FieldTransport

REMOTE_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
PREFLIGHT_TIMEOUT = httpx.Timeout(10.0)
_INPROCESS_BASE = "http://testserver"


class Target:
    """Hands out HTTP clients for one deployment."""

    name: str

    def client(self) -> httpx.Client:
        raise NotImplementedError

    @property
    def resent(self) -> int:
        """Requests sent again after a transport fault (none in-process: there is no network)."""
        return 0

    def close(self) -> None:
        """Release connections."""


def load_factory(spec: str) -> Callable[..., Any]:
    module_name, _, attr = spec.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:
        raise pytest.UsageError(
            f"--app-factory {spec!r}: cannot import module {module_name!r} ({type(exc).__name__}: {exc}). "
            "Give an importable module:callable, e.g. akol_fake:create_app."
        ) from None
    for part in attr.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise pytest.UsageError(f"--app-factory {spec!r}: module {module_name!r} has no attribute {attr!r}.")
    if not callable(obj):
        raise pytest.UsageError(f"--app-factory {spec!r}: {attr!r} is not callable.")
    return cast(Callable[..., Any], obj)


class InProcessTarget(Target):
    def __init__(self, factory_spec: str, env: str = "production") -> None:
        self.name = "inprocess"
        factory = load_factory(factory_spec)
        try:
            self.app = factory(env=env)
        except Exception as exc:
            raise pytest.UsageError(
                f"--app-factory {factory_spec!r}: calling it with env={env!r} raised "
                f"{type(exc).__name__}: {exc}"
            ) from None
        self._addresses = itertools.count(2)
        self._lock = threading.Lock()

    def _next_address(self) -> str:
        with self._lock:
            n = next(self._addresses)
        return f"127.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"

    def client(self) -> httpx.Client:
        # No `with`: each request runs on its own event loop thread, so parallel()
        # threads really run concurrently inside the app.
        return TestClient(self.app, base_url=_INPROCESS_BASE, raise_server_exceptions=False,
                          follow_redirects=False, client=(self._next_address(), 50000))


class RemoteTarget(Target):
    def __init__(self, url: str) -> None:
        self.name = url
        self._transport = FieldTransport()
        self._client = httpx.Client(base_url=url, follow_redirects=False, timeout=REMOTE_TIMEOUT,
                                    transport=self._transport)

    def client(self) -> httpx.Client:
        return self._client

    @property
    def resent(self) -> int:
        return self._transport.resent

    def close(self) -> None:
        self._client.close()


def _connect_failure(exc: httpx.HTTPError, url: str, timeout: httpx.Timeout) -> str:
    text = str(exc) or type(exc).__name__
    parts = urlsplit(url)
    host = parts.hostname or url
    port = parts.port or (443 if parts.scheme == "https" else 80)
    lowered = text.lower()
    if isinstance(exc, httpx.TimeoutException):
        seconds = timeout.connect if isinstance(exc, httpx.ConnectTimeout) else timeout.read
        return f"no answer within {seconds or 0:.0f} s ({type(exc).__name__})"
    if any(s in lowered for s in ("name or service not known", "nodename nor servname", "getaddrinfo",
                                  "name resolution", "no address associated")):
        return f"the host name {host!r} does not resolve (DNS: {text})"
    if any(s in lowered for s in ("ssl", "certificate", "tls", "handshake")):
        return f"the TLS handshake failed ({text}); is the scheme right (http vs https) and the certificate valid?"
    if "refused" in lowered or "errno 111" in lowered:
        return f"connection refused: nothing is listening on {host}:{port}"
    return f"{type(exc).__name__}: {text}"


def preflight(url: str, option: str, budget: Budget | None = None) -> str | None:
    """One unauthenticated ``GET /api/v1/agents``, which the Akol API answers 401; the reason the
    run should stop, or None. A catch-all 200 or a 5xx is not an Akol API to judge."""
    probe = f"{url}{API_PREFIX}/agents"
    fix = f"Check {option}: it must be the base URL of a running Akol deployment (the suite appends {API_PREFIX})."
    timeout = budget.timeout(PREFLIGHT_TIMEOUT, f"GET {probe}") if budget else PREFLIGHT_TIMEOUT
    try:
        with httpx.Client(follow_redirects=False, timeout=timeout, transport=FieldTransport()) as http:
            response = http.get(probe)
    except httpx.HTTPError as exc:
        return f"cannot reach the Akol target: GET {probe} → {_connect_failure(exc, url, timeout)}. {fix}"
    status = response.status_code
    content_type = response.headers.get("content-type", "") or "no content type"
    if status == 401:
        return None
    if 300 <= status < 400:
        where = response.headers.get("location", "?")
        return (f"GET {probe} redirects ({status}) to {where}: the suite does not follow redirects. "
                f"{fix} Use the URL it redirects to.")
    if status >= 500:
        return (f"the Akol target is not serving: GET {probe} without a token answered {status} "
                f"(the Akol API answers 401). Is the deployment up and healthy? {fix}")
    return (f"{url} doesn't look like the Akol API: GET {probe} without a token answered {status} "
            f"{content_type} (the Akol API answers 401). {fix}")
