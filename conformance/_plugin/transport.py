"""The HTTP transport of remote targets: bounded reads, and resending what is safe to resend.

Every request to a remote target (the API, test control, preflight) goes through
``FieldTransport``:

- it reads at most ``BODY_LIMIT`` bytes of an answer's body and records the body's true size
  (its Content-Length, or the bytes seen); a cut body's ``json()`` is inconclusive, never a
  verdict, and memory stays bounded whatever the target sends;
- it sends a request again, at most ``ATTEMPTS`` times in all, when the fault cannot have
  changed anything on the server: the request never reached it whole (connect refused or
  reset, a pooled connection found closed while writing), or resending changes nothing
  (GET). Any other fault may have been processed (a refresh may have rotated): it is raised,
  and the plugin reruns the whole test instead.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from akol_conformance._plugin.outcomes import Inconclusive

BODY_LIMIT = 1024 * 1024
ATTEMPTS = 3
_PAUSES = (0.05, 0.25)
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})
BODY_SIZE = "akol_body_size"
# Faults of the network or the peer. Timeouts are faults too, but resending after one doubles
# the wait: they go to the rerun (bounded by the run's budget), not to a resend.
NETWORK_FAULTS: tuple[type[httpx.TransportError], ...] = (
    httpx.NetworkError, httpx.TimeoutException, httpx.RemoteProtocolError)
_RESENDABLE_FAULTS = (httpx.NetworkError, httpx.RemoteProtocolError)
_BODY_SENT = "send_request_body.complete"


@dataclass(frozen=True)
class BodySize:
    """How big an answer's body really was; ``truncated`` when the suite kept only the start."""

    size: int
    truncated: bool


def body_size(response: httpx.Response) -> BodySize:
    found = response.extensions.get(BODY_SIZE)
    return found if isinstance(found, BodySize) else BodySize(len(response.content), False)


class TruncatedResponse(httpx.Response):
    """An answer whose body was longer than the suite reads: status and headers are whole,
    ``content``/``text`` hold the first ``BODY_LIMIT`` bytes, and ``json()`` cannot be judged."""

    def json(self, **kwargs: Any) -> Any:
        size = body_size(self).size
        raise Inconclusive(
            f"{self.request.method} {self.request.url.path} answered {self.status_code} with a body of "
            f"{size:,} bytes; the suite reads at most {BODY_LIMIT:,} bytes of an answer, so it cannot "
            "judge this one", cause="oversize")


def _request_of(exc: BaseException) -> httpx.Request | None:
    try:
        return exc.request if isinstance(exc, httpx.RequestError) else None
    except RuntimeError:  # raised before a request was attached
        return None


def describe_fault(exc: BaseException) -> str:
    """One line for a transport fault: the request, and what happened to it, in words."""
    request = _request_of(exc)
    where = f"{request.method} {request.url.path}: " if request is not None else ""
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        timeout = request.extensions.get("timeout", {}) if request is not None else {}
        kind = "connect" if isinstance(exc, httpx.ConnectTimeout) else "read"
        seconds = timeout.get(kind) if isinstance(timeout, dict) else None
        within = f" within {round(seconds, 1):g} s" if isinstance(seconds, (int, float)) else ""
        return f"{where}no answer{within} ({type(exc).__name__})"
    if isinstance(exc, httpx.ConnectError):
        return f"{where}could not connect ({detail})"
    return f"{where}the connection broke before the whole answer came ({detail})"


def resendable(request: httpx.Request, events: list[str]) -> bool:
    """Whether sending ``request`` again is safe after a fault: the server cannot have got all
    of it, or getting it twice changes nothing."""
    return request.method in IDEMPOTENT or not any(e.endswith(_BODY_SENT) for e in events)


def _tracer(events: list[str], chained: Any) -> Callable[[str, dict[str, Any]], None]:
    def trace(name: str, info: dict[str, Any]) -> None:
        events.append(name)
        if callable(chained):
            chained(name, info)

    return trace


def _read_bounded(response: httpx.Response) -> tuple[bytes, BodySize]:
    """The first BODY_LIMIT bytes of the raw body and its true size; the rest is never read."""
    chunks: list[bytes] = []
    seen = 0
    truncated = False
    try:
        for chunk in response.stream:  # type: ignore[union-attr]
            seen += len(chunk)
            if seen > BODY_LIMIT:
                chunks.append(chunk[: len(chunk) - (seen - BODY_LIMIT)])
                truncated = True
                break
            chunks.append(chunk)
    finally:
        response.close()
    declared = response.headers.get("content-length", "")
    size = int(declared) if truncated and declared.isdigit() else seen
    return b"".join(chunks), BodySize(size, truncated)


class FieldTransport(httpx.BaseTransport):
    """Wraps a transport (default ``httpx.HTTPTransport``) with bounded reads and safe resends."""

    def __init__(self, inner: httpx.BaseTransport | None = None, *, attempts: int = ATTEMPTS) -> None:
        self._inner = inner or httpx.HTTPTransport()
        self._attempts = attempts
        self.resent = 0   # requests sent again after a fault: the run reports how flaky the way was

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        chained = request.extensions.get("trace")
        for attempt in range(1, self._attempts + 1):
            events: list[str] = []
            request.extensions = {**request.extensions, "trace": _tracer(events, chained)}
            try:
                response = self._inner.handle_request(request)
                raw, size = _read_bounded(response)
            except _RESENDABLE_FAULTS:
                if attempt == self._attempts or not resendable(request, events):
                    raise
                self.resent += 1
                time.sleep(_PAUSES[min(attempt, len(_PAUSES)) - 1])
                continue
            kind = TruncatedResponse if size.truncated else httpx.Response
            return kind(response.status_code, headers=response.headers, stream=httpx.ByteStream(raw),
                        extensions={**response.extensions, BODY_SIZE: size})
        raise AssertionError("unreachable: the last attempt returns or raises")

    def close(self) -> None:
        self._inner.close()
