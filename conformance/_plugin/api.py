"""``Api``: the suite's only way to talk to the target's public API, with an exchange log.

Every exchange is recorded (for evidence and the session-wide 5xx list) and every
secret it carries is registered with the redactor before anything can print it.
"""
from __future__ import annotations

import email.utils
import json as jsonlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from akol_conformance._plugin.budget import Budget
from akol_conformance._plugin.outcomes import Inconclusive
from akol_conformance._plugin.redact import MIN_TOKEN_LEN, Redactor
from akol_conformance._plugin.transport import BODY_LIMIT, NETWORK_FAULTS, body_size, describe_fault
from akol_conformance.client import retry_after_seconds

API_PREFIX = "/api/v1"
_BODY_LIMIT = 4000
_RAW_LIMIT = 64 * 1024
_PARSE_LIMIT = 256 * 1024
_MAX_PARALLEL = 64
_THREAD_JOIN_SECONDS = 120.0


@dataclass(frozen=True)
class Exchange:
    """One request and its response, raw (redact with ``redacted`` before showing it)."""

    test: str
    method: str
    url: str
    request_headers: dict[str, str]
    request_body: str
    status: int
    response_headers: dict[str, str]
    response_body: str
    response_bytes: int           # the body's true size, also when only its start was read
    elapsed_ms: float

    def redacted(self, redactor: Redactor) -> dict[str, Any]:
        return {
            "test": self.test,
            "method": self.method,
            "url": redactor.scrub(self.url),
            "requestHeaders": redactor.scrub_headers(self.request_headers),
            "requestBody": _excerpt(redactor.scrub(self.request_body)),
            "status": self.status,
            "responseHeaders": redactor.scrub_headers(self.response_headers),
            "responseBody": _excerpt(redactor.scrub(self.response_body)),
            "responseBytes": self.response_bytes,
            "elapsedMs": round(self.elapsed_ms, 1),
        }


def _text(data: bytes, size: int | None = None) -> str:
    size = len(data) if size is None else size
    text = data[:_RAW_LIMIT].decode("utf-8", errors="replace")
    return text + (f"… ({size:,} bytes)" if size > _RAW_LIMIT else "")


def _excerpt(text: str) -> str:
    # Cut only after scrubbing: a cut secret would escape exact matching.
    return text if len(text) <= _BODY_LIMIT else text[:_BODY_LIMIT] + f"… ({len(text)} characters)"


def _register(redactor: Redactor, response: httpx.Response) -> None:
    auth = response.request.headers.get("authorization")
    if auth:
        redactor.add(auth.split(" ", 1)[-1].strip(), min_len=MIN_TOKEN_LEN)
    for body in (response.request.content, response.content):
        if len(body) > _PARSE_LIMIT:
            continue  # huge bodies are the suite's own junk (LOGIN-04), not credentials
        try:
            redactor.add_from(jsonlib.loads(body))
        except (ValueError, UnicodeDecodeError, RecursionError):
            continue


class ExchangeLog:
    """The exchanges of one test, plus the session-wide list of 5xx answers."""

    def __init__(self, redactor: Redactor, server_errors: list[Exchange], test: str,
                 tally: Callable[[str, str, int], None] | None = None) -> None:
        self.redactor = redactor
        self.test = test
        self._tally = tally
        self.exchanges: list[Exchange] = []
        self.faults: list[str] = []     # transport faults no resend recovered from, described
        self.oversized: list[str] = []  # answers whose body was longer than the suite reads
        self._server_errors = server_errors
        # (server epoch from the Date header, local monotonic when it was read)
        self.last_date: tuple[float, float] | None = None

    def record(self, response: httpx.Response, elapsed: float) -> Exchange:
        _register(self.redactor, response)
        request = response.request
        size, truncated = body_size(response).size, body_size(response).truncated
        if truncated:
            self.oversized.append(f"{request.method} {request.url.path} answered {response.status_code} with a "
                                  f"body of {size:,} bytes, of which the suite reads {BODY_LIMIT:,}")
        exchange = Exchange(
            test=self.test,
            method=request.method,
            url=str(request.url),
            request_headers=dict(request.headers),
            request_body=_text(request.content),
            status=response.status_code,
            response_headers=dict(response.headers),
            response_body=_text(response.content, size),
            response_bytes=size,
            elapsed_ms=elapsed * 1000,
        )
        self.exchanges.append(exchange)
        if self._tally is not None:
            self._tally(request.method, request.url.path, response.status_code)
        if response.status_code >= 500:
            self._server_errors.append(exchange)
        date = response.headers.get("date")
        if date:
            try:
                self.last_date = (email.utils.parsedate_to_datetime(date).timestamp(), time.monotonic())
            except (TypeError, ValueError):
                pass
        return exchange


class RateLimitWaiter:
    """Waits out a 429 outside ``api.rate_limited()``: test clock if present, else bounded sleep."""

    def __init__(self, advance_clock: Callable[[float], object] | None, *,
                 max_sleep_total: float = 120.0, max_retries: int = 3, budget: Budget | None = None) -> None:
        self._advance = advance_clock
        self.max_sleep_total = max_sleep_total
        self.max_retries = max_retries
        self._budget = budget or Budget(float("inf"))

    def wait(self, retry_after: float, *, attempt: int, slept: float, what: str) -> float:
        """Wait ``retry_after`` seconds; return the real seconds slept. Past the bound the check is
        inconclusive (cause ``rate-limit``): a limit tighter than the suite's pace judges nothing."""
        if attempt < self.max_retries:
            if self._advance is not None:
                self._advance(retry_after)
                return 0.0
            if slept + retry_after <= self.max_sleep_total:
                self._budget.sleep(retry_after, f"waiting out a 429 to {what}")
                return retry_after
        how = ("advancing the test clock" if self._advance is not None
               else f"waiting {slept:.0f} s of real time (limit {self.max_sleep_total:.0f} s)")
        raise Inconclusive(
            f"the target kept answering 429 Too Many Requests to {what} after {attempt} retries and "
            f"{how}: its rate limit is tighter than this suite's request rate. Run fewer clauses "
            f"(--clause), allow more requests for the CI client, or use a target with test control "
            f"(/__test__/).", cause="rate-limit")


class Api:
    """The target's ``/api/v1``. Every method returns the ``httpx.Response``."""

    def __init__(self, http: httpx.Client, log: ExchangeLog, waiter: RateLimitWaiter,
                 budget: Budget | None = None) -> None:
        self.http = http
        self.log = log
        self._waiter = waiter
        self.budget = budget or Budget(float("inf"))
        self._raw_429 = 0
        self._lock = threading.Lock()
        self._local = threading.local()

    @property
    def exchanges(self) -> list[Exchange]:
        return self.log.exchanges

    # -- the auth endpoints -------------------------------------------------
    def login(self, email: str, password: str) -> httpx.Response:
        self.log.redactor.add(password)
        return self.request("POST", "/auth/login", json={"email": email, "password": password})

    def refresh(self, refresh_token: str) -> httpx.Response:
        return self.request("POST", "/auth/refresh", json={"refreshToken": refresh_token})

    def verify_2fa(self, pending_token: str, code: str | Callable[[], str]) -> httpx.Response:
        """``code``: a TOTP code, or what makes one valid at the time of each send: a 429 waited
        out moves the clock (or waits) past the 30-s life of a code made before it."""
        def body() -> dict[str, str]:
            return {"pendingToken": pending_token, "code": code() if callable(code) else code}

        return self.request("POST", "/auth/verify-2fa", json=body)

    def logout(self, token: str | None) -> httpx.Response:
        return self.request("POST", "/auth/logout", token=token)

    def agents(self, token: str | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.request("GET", "/agents", token=token, headers=headers)

    # -- the general form ---------------------------------------------------
    def request(self, method: str, path: str, *, json: Any = None, content: bytes | str | None = None,
                headers: Mapping[str, str | bytes] | None = None, token: str | None = None) -> httpx.Response:
        """``path`` is relative to /api/v1; ``token`` becomes ``Authorization: Bearer <token>``;
        a header value given as bytes goes out as those bytes (non-ASCII, non-UTF-8 included);
        ``json`` may be a callable, made again for each send (a retry after a 429)."""
        url = API_PREFIX + (path if path.startswith("/") else "/" + path)
        # Surrounding whitespace is not part of a field value on the wire (RFC 9110 §5.5) and
        # h11 refuses to send it: strip it so in-process and HTTP targets see the same request.
        sent: dict[str, str | bytes] = {
            name: value.strip(" \t") if isinstance(value, str) else value.strip(b" \t")
            for name, value in (headers or {}).items()}
        if token is not None:
            self.log.redactor.add(token, min_len=MIN_TOKEN_LEN)
            sent["Authorization"] = f"Bearer {token}"
        kwargs: dict[str, Any] = {"headers": sent}
        if content is not None:
            kwargs["content"] = content
        slept = 0.0
        attempt = 0
        while True:
            if json is not None:
                kwargs["json"] = json() if callable(json) else json
            response = self._send(method, url, kwargs)
            if response.status_code != 429 or (self._raw_429 > 0 and not getattr(self._local, "wait", False)):
                return response
            slept += self._waiter.wait(retry_after_seconds(response), attempt=attempt, slept=slept,
                                       what=f"{method} {url}")
            attempt += 1

    def _send(self, method: str, url: str, kwargs: dict[str, Any]) -> httpx.Response:
        timeout = self.budget.timeout(self.http.timeout, f"{method} {url}")
        start = time.perf_counter()
        try:
            # As an extension, not `timeout=`: starlette's TestClient warns about the argument.
            response = self.http.request(method, url, extensions={"timeout": timeout.as_dict()}, **kwargs)
        except NETWORK_FAULTS as exc:
            fault = describe_fault(exc)
            self.log.faults.append(fault)
            if self.budget.spent:
                raise Inconclusive(f"{fault}; {self.budget.reason}", cause="budget") from exc
            raise
        self.log.record(response, time.perf_counter() - start)
        return response

    @contextmanager
    def rate_limited(self) -> Iterator[None]:
        """Inside, a 429 is returned to the test instead of being waited out."""
        with self._lock:
            self._raw_429 += 1
        try:
            yield
        finally:
            with self._lock:
                self._raw_429 -= 1

    @contextmanager
    def waiting_out(self) -> Iterator[None]:
        """Inside, a 429 is waited out even within ``rate_limited()`` (the fixtures' own logins)."""
        previous = getattr(self._local, "wait", False)
        self._local.wait = True
        try:
            yield
        finally:
            self._local.wait = previous

    def parallel(self, calls: Sequence[Callable[[], httpx.Response]]) -> list[httpx.Response]:
        """Run ``calls`` on threads released together by a barrier: real concurrency."""
        if not 0 < len(calls) <= _MAX_PARALLEL:
            raise ValueError(f"parallel() takes 1 to {_MAX_PARALLEL} calls, got {len(calls)}")
        barrier = threading.Barrier(len(calls))
        results: list[httpx.Response | None] = [None] * len(calls)
        errors: list[BaseException | None] = [None] * len(calls)

        def run(index: int, call: Callable[[], httpx.Response]) -> None:
            try:
                barrier.wait(timeout=30)
                results[index] = call()
            except BaseException as exc:  # re-raised in the caller's thread below
                errors[index] = exc

        threads = [threading.Thread(target=run, args=(i, c), daemon=True, name=f"akol-parallel-{i}")
                   for i, c in enumerate(calls)]
        for thread in threads:
            thread.start()
        wait = min(_THREAD_JOIN_SECONDS, self.budget.remaining())
        deadline = time.monotonic() + wait
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        running = sum(t.is_alive() for t in threads)
        if running:
            # The threads are daemons blocked on the target: they end with their request's timeout.
            fault = f"{running} of {len(calls)} parallel calls had no answer within {wait:.0f} s"
            self.log.faults.append(fault)
            if self.budget.spent:
                raise Inconclusive(f"{fault}; {self.budget.reason}", cause="budget")
            raise Inconclusive(fault, cause="transport")
        for error in errors:
            if error is not None:
                raise error
        return [r for r in results if r is not None]
