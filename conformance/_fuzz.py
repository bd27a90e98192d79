"""Schema-driven fuzzing of the public auth API: schemathesis generates, ``Api`` sends.

Schemathesis 4 turns ``fixtures/openapi.yaml`` into Hypothesis strategies of ``Case``s
(positive and negative). Each case is serialized by schemathesis itself and sent through
the suite's own ``Api``, so fuzzing reaches whatever target the run has (in-process app or
URL), every exchange lands in the evidence log and the session-wide 5xx list, and every
secret goes through the redactor. Responses are judged by schemathesis's own checks.

Deterministic: a fixed seed, no example database, a bounded number of examples per
operation: ``AKOL_FUZZ_EXAMPLES`` (default 20) and ``AKOL_FUZZ_SEED`` make deeper or
different runs.
"""
from __future__ import annotations

import functools
import os
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, assume, given, seed, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.openapi.checks import JsonSchemaError
from schemathesis.specs.openapi import checks as openapi_checks

from conformance._client import API_PREFIX, Api, retry_after_seconds
from conformance._openapi import SCHEMA_PATH
from conformance._redact import Redactor

__all__ = [
    "DEFAULT_EXAMPLES", "EXAMPLES_ENV", "SEED_ENV", "Finding", "Supply", "Variant", "bearer",
    "body_fields", "conformance_failure", "examples", "fuzz", "fuzz_seed", "load_schema",
    "response_mismatch", "server_error",
]

EXAMPLES_ENV = "AKOL_FUZZ_EXAMPLES"
SEED_ENV = "AKOL_FUZZ_SEED"
DEFAULT_EXAMPLES = 20
DEFAULT_SEED = 20261125
_MAX_EXAMPLES = 100_000
# Where the base URL sits is irrelevant: only the path below /api/v1 is kept.
_WIRE_BASE = "http://akol.invalid" + API_PREFIX
_EXCERPT = 600
# A header far longer than any credential, yet inside common proxies' 8 KB line limit.
_LONG_HEADER = 4000
# Checks of ROBUST-02: the status code is documented, the body and headers match it.
_CONFORMANCE_CHECKS = (
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
)

T = TypeVar("T")


def _env_int(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ValueError(f"{name}={raw!r}: expected an integer from {low} to {high}; "
                         f"unset it for the default ({default})")
    return value


def examples() -> int:
    """Examples per operation and check (``AKOL_FUZZ_EXAMPLES``)."""
    return _env_int(EXAMPLES_ENV, DEFAULT_EXAMPLES, 1, _MAX_EXAMPLES)


def fuzz_seed() -> int:
    return _env_int(SEED_ENV, DEFAULT_SEED, 0, 2**63)


@functools.cache
def load_schema() -> Any:
    """The project's OpenAPI document as a schemathesis schema."""
    return schemathesis.openapi.from_path(SCHEMA_PATH)


def _operation(label: str) -> Any:
    method, path = label.split(" ", 1)
    return load_schema()[path][method]


# -- real credentials mixed into generated cases --------------------------------------

class Supply(Generic[T]):
    """A credential from ``make``, fresh for the first ``fresh`` uses, then the last one again.

    Single-use credentials (a refresh token, a token to log out) each cost a login; the cap
    keeps fuzzing from logging in more than a few times whatever the example count.
    """

    def __init__(self, make: Callable[[], T | None], *, fresh: int) -> None:
        self._make = make
        self._fresh = fresh
        self._last: T | None = None

    def __call__(self) -> T | None:
        if self._fresh > 0:
            self._fresh -= 1
            self._last = self._make()
        return self._last


@dataclass(frozen=True)
class Variant:
    """A way to put a real credential into a generated case; ``apply`` says if it could."""

    name: str
    apply: Callable[[Case], bool]


def bearer(name: str, token: Callable[[], str | None]) -> Variant:
    """Send the case with ``Authorization: Bearer <token()>``."""
    def apply(case: Case) -> bool:
        value = token()
        if value is None:
            return False
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {value}"}
        return True
    return Variant(name, apply)


def body_fields(name: str, fields: Callable[[], Mapping[str, str] | None]) -> Variant:
    """Overlay real values on the generated JSON object body (other bodies stay as generated)."""
    def apply(case: Case) -> bool:
        if not isinstance(case.body, dict):
            return False
        values = fields()
        if values is None:
            return False
        case.body = {**case.body, **values}
        return True
    return Variant(name, apply)


# -- the wire form of a case ---------------------------------------------------------

@dataclass(frozen=True)
class Noise:
    """What a robust server must shrug off that the document cannot express: an undocumented
    query string and a long header."""

    query: tuple[tuple[str, str], ...] = ()
    long_header: bool = False


_NOISE = st.builds(
    Noise,
    query=st.lists(st.tuples(st.text(min_size=1, max_size=8), st.text(max_size=16)), max_size=3)
    .map(tuple),
    long_header=st.booleans(),
)


@dataclass(frozen=True)
class Wire:
    method: str
    path: str                        # below /api/v1, with the query string
    headers: dict[str, str]
    body: bytes | None

    @classmethod
    def of(cls, case: Case, noise: Noise) -> Wire:
        kwargs = case.as_transport_kwargs(base_url=_WIRE_BASE)
        kwargs.pop("timeout", None)
        kwargs.pop("verify", None)
        prepared = requests.Request(**kwargs).prepare()
        path = prepared.path_url[len(API_PREFIX):] if prepared.path_url.startswith(API_PREFIX) \
            else prepared.path_url
        if noise.query:
            path += ("&" if "?" in path else "?") + urlencode(noise.query)
        headers = {k: v if isinstance(v, str) else v.decode("latin-1")
                   for k, v in prepared.headers.items() if k.lower() != "content-length"}
        if noise.long_header:
            headers["X-Akol-Fuzz"] = "a" * _LONG_HEADER
        body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
        return cls(str(prepared.method), path, headers, body)


def send(api: Api, wire: Wire) -> httpx.Response:
    return api.request(wire.method, wire.path, content=wire.body, headers=wire.headers)


# -- verdicts ------------------------------------------------------------------------

Verdict = Callable[[Case, httpx.Response], "str | None"]


def server_error(case: Case, response: httpx.Response) -> str | None:
    """ROBUST-01: any 5xx."""
    if response.status_code >= 500:
        return f"answered {response.status_code}, a server error"
    return None


def conformance_failure(case: Case, response: httpx.Response) -> str | None:
    """ROBUST-02: documented status, documented content type, headers and body schema.

    A 5xx is ROBUST-01's finding, so it is not counted twice here."""
    if response.status_code >= 500:
        return None
    try:
        case.validate_response(response, checks=list(_CONFORMANCE_CHECKS))
    except FailureGroup as group:
        return "; ".join(_describe_failure(f) for f in group.exceptions)
    except Failure as failure:
        return _describe_failure(failure)
    return None


def response_mismatch(label: str, response: httpx.Response) -> str | None:
    """How ``response`` to operation ``label`` departs from the document, or None."""
    return conformance_failure(_operation(label).Case(), response)


def _describe_failure(failure: Failure) -> str:
    if isinstance(failure, JsonSchemaError):
        # The full message repeats the schema and the body; the finding shows the body already.
        where = "/".join(str(p) for p in failure.instance_path)
        return f"{failure.title}: {failure.validation_message}" + (f" at {where}" if where else "")
    return f"{failure.title}: {' '.join(failure.message.split())}"


# -- the fuzz loop -------------------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    """The smallest request a verdict rejected, ready for a report (secrets redacted)."""

    operation: str
    variant: str
    mismatch: str
    request: dict[str, Any]
    response: dict[str, Any]
    size: int = field(compare=False)

    def observed(self) -> dict[str, Any]:
        return {"operation": self.operation, "credential": self.variant, "mismatch": self.mismatch,
                "request": self.request, "response": self.response}


def _excerpt(redactor: Redactor, data: bytes | None) -> str:
    if not data:
        return ""
    text = data[:_EXCERPT].decode("utf-8", errors="replace")
    suffix = f"… ({len(data)} bytes)" if len(data) > _EXCERPT else ""
    return redactor.scrub(text) + suffix


def _finding(api: Api, label: str, variant: str, wire: Wire, response: httpx.Response,
             mismatch: str) -> Finding:
    redactor = api.log.redactor
    headers = {k: (v if len(v) <= 80 else f"{v[:40]}… ({len(v)} chars)")
               for k, v in redactor.scrub_headers(wire.headers).items()}
    request = {"method": wire.method, "path": API_PREFIX + redactor.scrub(wire.path),
               "headers": headers, "body": _excerpt(redactor, wire.body)}
    answer = {"status": response.status_code,
              "contentType": response.headers.get("content-type"),
              "body": _excerpt(redactor, response.content)}
    size = len(wire.path) + len(wire.body or b"") + sum(len(k) + len(v) for k, v in wire.headers.items())
    return Finding(label, variant, redactor.scrub(mismatch), request, answer, size)


class _Found(Exception):
    """Marks a rejected example so Hypothesis shrinks it."""


def _strategy(label: str) -> Any:
    operation = _operation(label)
    return st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                     operation.as_strategy(GenerationMode.NEGATIVE))


def fuzz(api: Api, label: str, verdict: Verdict, *, variants: Sequence[Variant] = (),
         advance_clock: Callable[[float], object] | None = None,
         count: int | None = None) -> tuple[int, Finding | None]:
    """Send ``count`` generated requests to ``label``; return (requests sent, smallest finding).

    Each example is the generated case as is, or with one of ``variants`` (a real credential)
    applied. A 429 is judged like any documented answer; then, given ``advance_clock`` (a test
    clock), its Retry-After is skipped so later examples reach the endpoint again.
    """
    findings: list[Finding] = []
    sent = 0
    limit = count or examples()
    # Shrinking replays examples; single-use credentials make most replays pass anyway, so past
    # this many requests the smallest finding so far is the answer. Only shrinking can reach it.
    budget = 2 * limit + 20
    options: list[Variant | None] = [None, *variants]

    # Each verdict gets its own stream of examples: the two clauses together cover twice as much.
    @seed(fuzz_seed() + zlib.crc32(getattr(verdict, "__name__", "").encode()))
    @settings(max_examples=limit, database=None, deadline=None, derandomize=False,
              phases=(Phase.explicit, Phase.generate, Phase.shrink), print_blob=False,
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    @given(case=_strategy(label), choice=st.sampled_from(options), noise=_NOISE)
    def example(case: Case, choice: Variant | None, noise: Noise) -> None:
        nonlocal sent
        if sent >= budget:
            # Failing without a request lets the shrinker wind down at once.
            raise _Found("request budget spent")
        applied = choice is not None and choice.apply(case)
        try:
            wire = Wire.of(case, noise)
            response = send(api, wire)
        except (httpx.InvalidURL, httpx.LocalProtocolError, UnicodeEncodeError, ValueError):
            # Schemathesis can generate what no HTTP client puts on the wire: not a server finding.
            assume(False)
            raise
        sent += 1
        mismatch = verdict(case, response)
        if response.status_code == 429 and advance_clock is not None:
            advance_clock(retry_after_seconds(response))
        if mismatch is not None:
            credential = choice.name if choice is not None and applied else "as generated"
            findings.append(_finding(api, label, credential, wire, response, mismatch))
            raise _Found(mismatch)

    with api.rate_limited():
        try:
            example()
        except Exception:  # noqa: BLE001 - _Found, or Hypothesis' Flaky when a replay answered differently
            if not findings:
                raise
    return sent, (min(findings, key=lambda f: f.size) if findings else None)
