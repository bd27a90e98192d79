"""Schema-driven fuzzing of the public auth API: schemathesis generates, ``Api`` sends.

Per operation: deterministic probes first (schemathesis's coverage cases, and probe strings in
every string field), then Hypothesis examples from schemathesis's strategies (positive and
negative). Each case is serialized by schemathesis itself and sent through
the suite's own ``Api``, so fuzzing reaches whatever target the run has (in-process app or
URL), every exchange lands in the evidence log and the session-wide 5xx list, and every
secret goes through the redactor. Responses are judged by schemathesis's own checks.

Deterministic: a fixed seed, no example database, a bounded number of examples per
operation: ``AKOL_FUZZ_EXAMPLES`` (default 20) and ``AKOL_FUZZ_SEED`` make deeper or
different runs.
"""
from __future__ import annotations

import functools
import json
import os
import re
import tempfile
import zlib
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, assume, given, seed, settings
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.openapi.checks import JsonSchemaError
from schemathesis.specs.openapi import checks as openapi_checks

from akol_conformance._plugin.api import API_PREFIX, Api
from akol_conformance._plugin.redact import Redactor
from akol_conformance._probes.openapi import schema_path
from akol_conformance.client import retry_after_seconds

__all__ = [
    "DEFAULT_EXAMPLES", "EXAMPLES_ENV", "SEED_ENV", "Finding", "Supply", "Variant", "bearer",
    "body_fields", "conformance_failure", "examples", "fuzz", "fuzz_seed", "load_schema",
    "brief", "response_mismatch", "server_error", "short_headers", "token_prefixes", "token_shaped",
]

# Generated logins that reach the password check, per fuzz run: the probes and these few see how
# the check copes with odd input; every further one costs a hash and finds nothing new.
GENERATED_PASSWORD_CHECKS = 4
EXAMPLES_ENV = "AKOL_FUZZ_EXAMPLES"
SEED_ENV = "AKOL_FUZZ_SEED"
DEFAULT_EXAMPLES = 20
DEFAULT_SEED = 20261125
_MAX_EXAMPLES = 100_000
# Hypothesis caches (its Unicode tables) under ./.hypothesis by default: the suite is run from any
# folder, often a pipeline's checkout, and must not write there.
if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "akol-conformance-hypothesis"))
# Where the base URL sits is irrelevant: only the path below /api/v1 is kept.
_WIRE_BASE = "http://akol.invalid" + API_PREFIX
_EXCERPT = 600
_BRIEF = 120
_SHOWN_HEADER = 80
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
    return schemathesis.openapi.from_path(schema_path())


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
    """A way to put a real credential into a generated case; ``apply`` says if it could.
    ``fields`` are the body fields it overwrites."""

    name: str
    apply: Callable[[Case], bool]
    fields: frozenset[str] = frozenset()


def bearer(name: str, token: Callable[[], str | None]) -> Variant:
    """Send the case with ``Authorization: Bearer <token()>``."""
    def apply(case: Case) -> bool:
        value = token()
        if value is None:
            return False
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {value}"}
        return True
    return Variant(name, apply)


def body_fields(name: str, keys: Sequence[str], values: Callable[[], Mapping[str, str] | None]) -> Variant:
    """Overlay real values for ``keys`` on the generated JSON object body (other bodies stay as
    generated)."""
    def apply(case: Case) -> bool:
        if not isinstance(case.body, dict):
            return False
        real = values()
        if real is None:
            return False
        case.body = {**case.body, **{k: real[k] for k in keys if k in real}}
        return True
    return Variant(name, apply, frozenset(keys))


# -- token-shaped garbage in the Authorization header ----------------------------------

# Junk after a well-formed start, as latin-1 text (one character per byte): what breaks a parser
# that trusts a token once its prefix looks right.
_TOKEN_JUNK = {
    "invalid UTF-8 bytes \\xff\\xfe\\xfd": "\xff\xfe\xfd",
    "a broken UTF-8 sequence \\xc3\\x28": "\xc3\x28",
    "truncated UTF-8 \\xe2\\x82": "\xe2\x82",
    "a UTF-8-encoded surrogate \\xed\\xa0\\x80": "\xed\xa0\x80",
    "valid non-ASCII UTF-8 (é)": "\xc3\xa9",
    "percent escapes %00%ff": "%00%ff",
    "base64 padding ====": "====",
    "non-base64 characters and dots": "!!..!!",
}
_JWT_STARTS = {
    "eyJ": "eyJ",
    "a JWT header {alg: HS256} and a dot": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.",
    "a JWT header {alg: none} and a dot": "eyJhbGciOiJub25lIn0.",
}
# "akol_pat_", "ghp_", "sk-live-": letter runs with a separator, then a long random part.
_PAT_PREFIX = re.compile(r"^(?:[A-Za-z]{1,12}[_-]){1,3}(?=[A-Za-z0-9_-]{16,}$)")


def token_prefixes(pat: str | None, access_token: str | None) -> dict[str, str]:
    """Well-formed starts of a token, by description: the PAT's prefix if the target's PAT shows
    one, JWT headers, and the header and payload of the target's own access token."""
    starts = dict(_JWT_STARTS)
    prefix = _PAT_PREFIX.match(pat or "")
    if prefix is not None:
        starts["the target's PAT prefix"] = prefix.group(0)
    parts = (access_token or "").split(".")
    if len(parts) == 3 and parts[0].startswith("eyJ"):
        starts["the header and payload of a real access token"] = f"{parts[0]}.{parts[1]}."
    return starts


def token_shaped(prefixes: Mapping[str, str]) -> list[Variant]:
    """``Authorization: Bearer <well-formed start><junk>`` for every start and junk."""
    return [bearer(f"Bearer {start} followed by {junk}", lambda value=prefix + tail: value)
            for start, prefix in prefixes.items() for junk, tail in _TOKEN_JUNK.items()]


def _secured(label: str) -> bool:
    return bool(_operation(label).definition.raw.get("security"))


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


def reaches_password_check(wire: Wire) -> bool:
    """A login whose body names an email and a password as strings: past validation, a server
    hashes it (slowly, on purpose, on a real deployment)."""
    if wire.method != "POST" or wire.path.split("?", 1)[0] != "/auth/login" or not wire.body:
        return False
    try:
        body = json.loads(wire.body)
    except ValueError:
        return False
    return (isinstance(body, dict) and isinstance(body.get("email"), str) and bool(body["email"])
            and isinstance(body.get("password"), str) and bool(body["password"]))


def send(api: Api, wire: Wire) -> httpx.Response:
    # Header text holds one character per byte (latin-1): non-ASCII goes out as those very bytes.
    headers = {k: v if v.isascii() else v.encode("latin-1") for k, v in wire.headers.items()}
    return api.request(wire.method, wire.path, content=wire.body, headers=headers)


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

    def brief(self) -> dict[str, Any]:
        """``observed`` with the bodies cut short, for a failure message (the report keeps ``observed``)."""
        return {**self.observed(), "request": {**self.request, "body": brief(self.request["body"])},
                "response": {**self.response, "body": brief(self.response["body"])}}


def brief(text: str, limit: int = _BRIEF) -> str:
    """A generated body in a failure message: its start and its length, not 4,000 characters of "[[[["."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def _excerpt(redactor: Redactor, data: bytes | None) -> str:
    if not data:
        return ""
    text = data[:_EXCERPT].decode("utf-8", errors="replace")
    suffix = f"… ({len(data)} bytes)" if len(data) > _EXCERPT else ""
    return redactor.scrub(text) + suffix


def short_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers for a report: a long value (the fuzzer's long header) shown by its length."""
    return {k: (v if len(v) <= _SHOWN_HEADER else f"{v[:40]}… ({len(v)} chars)") for k, v in headers.items()}


def _finding(api: Api, label: str, variant: str, wire: Wire, response: httpx.Response,
             mismatch: str) -> Finding:
    redactor = api.log.redactor
    headers = short_headers(redactor.scrub_headers(wire.headers))
    request = {"method": wire.method, "path": API_PREFIX + redactor.scrub(wire.path),
               "headers": headers, "body": _excerpt(redactor, wire.body)}
    answer = {"status": response.status_code,
              "contentType": response.headers.get("content-type"),
              "body": _excerpt(redactor, response.content)}
    size = len(wire.path) + len(wire.body or b"") + sum(len(k) + len(v) for k, v in wire.headers.items())
    return Finding(label, variant, redactor.scrub(mismatch), request, answer, size)


class _Found(Exception):
    """Marks a rejected example so Hypothesis shrinks it."""


# Strings that break naive code and that a schema with plain `type: string` rarely yields in a
# few random examples: non-ASCII, astral, NUL, quoting, blank, long.
_PROBE_STRINGS = ("é", "𝕏☃", "\x00", "' OR '1'='1", " ", "a" * 5000)


_PLAIN = "akol-probe"
# Well-formed, so a server that checks the form lets the other field's probe string through.
_PLAIN_EMAIL = "akol-probe@example.invalid"
# Operations where this answer shows that every body field was used: a login answering 401 looked
# the email up and checked the password (for unknown emails too: LOGIN-03, LOGIN-05). Their
# probe strings go in all fields at once, since each separate probe would cost a password check;
# any other answer (a field refused up front) sends them field by field after all.
_ALL_FIELDS_USED = {"POST /auth/login": 401}


@dataclass(frozen=True)
class _Probe:
    """One deterministic edge case; ``field`` is the body field it puts a probe string in, None
    when it fills them all, and then ``split`` holds the probes of each field alone."""

    make: Callable[[], Case]
    field: str | None = None
    split: tuple[_Probe, ...] = ()


def _probes(label: str) -> list[_Probe]:
    """Deterministic edge cases: schemathesis's coverage phase (missing fields, wrong types, wrong
    media types), then each string field set to each probe string, the others to a plain value
    so the request gets past basic validation.

    Coverage's unexpected-method probes are left out: answering 501 to an unknown method is
    standard HTTP, not a server error."""
    operation = _operation(label)
    schema = load_schema()
    coverage = [case for case in schema.iter_coverage_cases(
                    operation, generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                    generation_config=schema.config.generation_for(operation=operation))
                if case.method.upper() == operation.method.upper()]
    probes = [_Probe(lambda case=case: case) for case in coverage]  # type: ignore[misc]
    template = next((case.body for case in coverage if isinstance(case.body, dict) and case.body
                     and all(isinstance(v, str) for v in case.body.values())), None)
    plain = {name: _PLAIN_EMAIL if name == "email" else _PLAIN for name in template or {}}

    def case(fields: dict[str, str]) -> Callable[[], Case]:
        return functools.partial(operation.Case, body=fields, media_type="application/json")

    for value in _PROBE_STRINGS:
        alone = tuple(_Probe(case({**plain, name: value}), name) for name in plain)
        if label in _ALL_FIELDS_USED and len(plain) > 1:
            probes.append(_Probe(case(dict.fromkeys(plain, value)), None, alone))
        else:
            probes += alone
    return probes


def _strategy(label: str) -> Any:
    operation = _operation(label)
    return st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                     operation.as_strategy(GenerationMode.NEGATIVE))


class _OverBudget(Exception):
    """The case would reach the password check once more than the run allows."""


class _Run:
    """One fuzz run: sends cases, judges each answer by every verdict, keeps what they rejected."""

    def __init__(self, api: Api, label: str, verdicts: Mapping[str, Verdict],
                 advance_clock: Callable[[float], object] | None) -> None:
        self.api = api
        self.label = label
        self.verdicts = verdicts
        self.advance_clock = advance_clock
        self.sent = 0
        self.last_status: int | None = None
        self.password_checks: int | None = None  # counted once the generated phase begins
        self.findings: dict[str, list[Finding]] = {name: [] for name in verdicts}

    def attempt(self, case: Case, choice: Variant | None, noise: Noise) -> str | None:
        """Send ``case``; the first verdict's objection, or None. Raises ValueError (and kin) for
        what no HTTP client can put on the wire, _OverBudget for a login past the password-check budget."""
        applied = choice is not None and choice.apply(case)
        wire = Wire.of(case, noise)
        if self.password_checks is not None and reaches_password_check(wire):
            if self.password_checks >= GENERATED_PASSWORD_CHECKS:
                raise _OverBudget
            self.password_checks += 1
        response = send(self.api, wire)
        self.sent += 1
        self.last_status = response.status_code
        if response.status_code == 429 and self.advance_clock is not None:
            self.advance_clock(retry_after_seconds(response))
        first = None
        for name, verdict in self.verdicts.items():
            mismatch = verdict(case, response)
            if mismatch is not None:
                credential = choice.name if choice is not None and applied else "as generated"
                self.findings[name].append(_finding(self.api, self.label, credential, wire, response, mismatch))
                first = first or mismatch
        return first

    def smallest(self) -> dict[str, Finding | None]:
        return {name: min(found, key=lambda f: f.size) if found else None for name, found in self.findings.items()}


_UNSENDABLE = (httpx.InvalidURL, httpx.LocalProtocolError, UnicodeEncodeError, ValueError, _OverBudget)


def fuzz(api: Api, label: str, verdicts: Mapping[str, Verdict], *, variants: Sequence[Variant] = (),
         token_starts: Mapping[str, str] | None = None,
         advance_clock: Callable[[float], object] | None = None,
         count: int | None = None) -> tuple[int, dict[str, Finding | None]]:
    """Probe ``label``, then send ``count`` generated requests, each judged by every one of
    ``verdicts``; return (requests sent, the smallest finding of each verdict).

    One pass serves all verdicts, so each request is paid for once. A pass that stops on one
    verdict's finding has not explored as far for the others: those get a pass of their own, so
    a verdict is never "nothing found" for lack of looking.
    """
    sent, found = _pass(api, label, verdicts, variants, token_starts, advance_clock, count)
    unexplored = {name: verdict for name, verdict in verdicts.items() if found[name] is None}
    if unexplored and len(unexplored) < len(verdicts):
        more, again = _pass(api, label, unexplored, variants, token_starts, advance_clock, count)
        sent += more
        found |= again
    return sent, found


def _pass(api: Api, label: str, verdicts: Mapping[str, Verdict], variants: Sequence[Variant],
          token_starts: Mapping[str, str] | None, advance_clock: Callable[[float], object] | None,
          count: int | None) -> tuple[int, dict[str, Finding | None]]:
    """One fuzz pass: the probes, token-shaped garbage for an operation behind the Bearer scheme
    (after each of ``token_starts``), then Hypothesis examples. Each request goes as generated
    or with one of ``variants`` (a real credential) applied. A 429 is judged like any
    documented answer; then, given ``advance_clock`` (a test clock), its Retry-After is skipped
    so later requests reach the endpoint again."""
    run = _Run(api, label, verdicts, advance_clock)
    # Half the requests go as generated: a real credential overrides the fields it sets.
    options: list[Variant | None] = [*([None] * max(1, len(variants))), *variants]
    limit = count or examples()

    with api.rate_limited():
        probes = deque(_probes(label))
        while probes:
            probe = probes.popleft()
            # A probe string goes as generated and with each credential that leaves its field alone.
            fitting = [v for v in variants if probe.field is not None and probe.field not in v.fields]
            for choice in (None, *fitting):
                try:
                    run.attempt(probe.make(), choice, Noise())
                except _UNSENDABLE:
                    run.last_status = None
                if choice is None and probe.split and run.last_status != _ALL_FIELDS_USED.get(label):
                    probes.extendleft(reversed(probe.split))
        if token_starts and _secured(label):
            for garbage in token_shaped(token_starts):
                try:
                    run.attempt(_operation(label).Case(), garbage, Noise())
                except _UNSENDABLE:
                    continue
        # Shrinking replays examples; single-use credentials make most replays pass anyway, so
        # past this many requests the smallest finding so far is the answer.
        budget = run.sent + 2 * limit + 20
        run.password_checks = 0

        @seed(fuzz_seed() + zlib.crc32(",".join(verdicts).encode()))
        @settings(max_examples=limit, database=None, deadline=None, derandomize=False,
                  phases=(Phase.explicit, Phase.generate, Phase.shrink), print_blob=False,
                  suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
        @given(case=_strategy(label), choice=st.sampled_from(options), noise=_NOISE)
        def example(case: Case, choice: Variant | None, noise: Noise) -> None:
            if run.sent >= budget:
                # Failing without a request lets the shrinker wind down at once.
                raise _Found("request budget spent")
            try:
                mismatch = run.attempt(case, choice, noise)
            except _UNSENDABLE:
                # Schemathesis can generate what no HTTP client puts on the wire: no server finding.
                assume(False)
                raise
            if mismatch is not None:
                raise _Found(mismatch)

        try:
            example()
        except Exception:  # noqa: BLE001 - _Found, or Hypothesis' Flaky when a replay answered differently
            if not any(run.findings.values()):
                raise
    return run.sent, run.smallest()
