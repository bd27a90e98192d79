"""ROBUST — the whole surface: no 5xx ever, every answer as fixtures/openapi.yaml documents it.

Collected last, so ROBUST-01 also judges every request the other families sent. Fuzzing is
schemathesis over the project's OpenAPI document, deterministic (fixed seed, a bounded
number of examples: AKOL_FUZZ_EXAMPLES, AKOL_FUZZ_SEED), with real credentials mixed in so
the success answers are exercised too. Against a remote target, login is fuzzed only with
--destructive: it trips the IP rate limit.
"""
from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from akol_conformance._probes.openapi import DOCUMENT, labels
from akol_conformance.check import Api, NotChecked, Observe, expect

if TYPE_CHECKING:
    from akol_conformance._probes.fuzz import Finding, Variant

_LOGIN = "POST /auth/login"
_BEARER = ("GET /agents", "POST /auth/logout")  # behind the Bearer scheme: token-shaped garbage too
# Single-use credentials cost a login each: a few are enough to see the success answers.
_FRESH_LOGINS = 1
_SHOWN_SERVER_ERRORS = 5


def _fuzz() -> ModuleType:
    """_probes.fuzz on first use: schemathesis and Hypothesis take about a second to
    import, which runs that select other families should not pay at collection."""
    return importlib.import_module("akol_conformance._probes.fuzz")


def _operations() -> list[Any]:
    return [pytest.param(label, id=label.replace(" ", ""),
                         marks=[pytest.mark.destructive] if label == _LOGIN else [])
            for label in labels()]


class _Credentials:
    """Real credentials for generated cases, taken from the suite's fixtures on first use.

    What the target cannot provide (no 2FA account on a remote target, say) turns its variant
    into a no-op instead of skipping the whole fuzz run."""

    def __init__(self, request: pytest.FixtureRequest, api: Api) -> None:
        self._request = request
        self._api = api
        self.missing: dict[str, str] = {}  # fixture name -> why the run could not have it

    def fixture(self, name: str) -> Any:
        try:
            return self._request.getfixturevalue(name)
        except pytest.skip.Exception as skip:
            self.missing[name] = str(skip.msg)
            return None

    def email_password(self, fixture: str) -> Mapping[str, str] | None:
        account = self.fixture(fixture)
        return None if account is None else {"email": account.email, "password": account.password}

    def pending(self, *, with_code: bool) -> Mapping[str, str] | None:
        account = self.fixture("tfa_account")
        if account is None:
            return None
        response = self._api.login(account.email, account.password)
        data = response.json().get("data") if response.status_code == 200 else None
        pending = data.get("pendingToken") if isinstance(data, dict) else None
        if not isinstance(pending, str):
            return None
        if not with_code:
            return {"pendingToken": pending}
        return {"pendingToken": pending, "code": self.fixture("totp")(account.totp_secret, fresh=False)}

    def fresh_session(self) -> Any:
        """A throwaway login of the run's shared plain account, or None without one."""
        try:
            return self.fixture("login")()
        except pytest.skip.Exception as skip:
            self.missing["account"] = str(skip.msg)
            return None

    def refresh_body(self) -> Mapping[str, str] | None:
        fresh = self.fresh_session()
        return None if fresh is None else {"refreshToken": fresh.refresh_token}

    def access_token(self) -> str | None:
        fresh = self.fresh_session()
        return None if fresh is None else fresh.token

    def session_token(self) -> str | None:
        session = self.fixture("session")
        return None if session is None else session.token

    def token_starts(self) -> dict[str, str]:
        """Well-formed token starts for Bearer garbage: the PAT's prefix, a real token's header."""
        pat, session = self.fixture("pat"), self.fixture("session")
        return _fuzz().token_prefixes(pat.token if pat else None, session.token if session else None)

    def variants(self, label: str) -> list[Variant]:
        fuzz = _fuzz()
        if label == _LOGIN:
            return [fuzz.body_fields("the plain account's email and password", ("email", "password"),
                                     lambda: self.email_password("account")),
                    fuzz.body_fields("the 2FA account's email and password", ("email", "password"),
                                     lambda: self.email_password("tfa_account"))]
        if label == "POST /auth/verify-2fa":
            # Wrong codes spend a pendingToken (2FA-06) and each valid code needs its own.
            return [fuzz.body_fields("a live pendingToken", ("pendingToken",),
                                     fuzz.Supply(lambda: self.pending(with_code=False), fresh=_FRESH_LOGINS)),
                    fuzz.body_fields("a live pendingToken and its valid TOTP code", ("pendingToken", "code"),
                                     fuzz.Supply(lambda: self.pending(with_code=True), fresh=_FRESH_LOGINS))]
        if label == "POST /auth/refresh":
            return [fuzz.body_fields("a live refresh token (a throwaway login)", ("refreshToken",),
                                     fuzz.Supply(self.refresh_body, fresh=_FRESH_LOGINS))]
        if label == "POST /auth/logout":
            return [fuzz.bearer("a live access token (a throwaway login)",
                                 fuzz.Supply(self.access_token, fresh=_FRESH_LOGINS))]
        if label == "GET /agents":
            return [fuzz.bearer("the session's access token", self.session_token)]
        return []


def _control(request: pytest.FixtureRequest) -> Any:
    try:
        return request.getfixturevalue("control")
    except pytest.skip.Exception:
        return None


@dataclass
class _Pass:
    """What one fuzz pass of an operation found for a verdict it was not run for."""

    sent: int
    finding: Finding | None
    missing: dict[str, str]
    test: str


# Each fuzz test, by the verdict it judges: one pass over an operation serves both, when both run.
_TESTS = {"server_error": "test_fuzzed_requests_never_answer_5xx",
          "conformance_failure": "test_fuzzed_responses_conform_to_openapi"}
_PASSES = pytest.StashKey[dict[tuple[str, str], _Pass]]()


def _also_selected(request: pytest.FixtureRequest, label: str) -> list[str]:
    """The other verdicts whose test for ``label`` is still to run in this session."""
    param = label.replace(" ", "")
    names = {item.name for item in request.session.items}
    return [verdict for verdict, test in _TESTS.items()
            if test != request.node.originalname and f"{test}[{param}]" in names]


def _run(label: str, verdict: str, request: pytest.FixtureRequest, api: Api,
         observe: Observe, not_checked: NotChecked) -> Finding | None:
    fuzz = _fuzz()
    passes = request.config.stash.setdefault(_PASSES, {})
    shared = passes.pop((label, verdict), None)
    if shared is None:
        credentials = _Credentials(request, api)
        control = _control(request)
        others = _also_selected(request, label)
        sent, found = fuzz.fuzz(api, label, {name: getattr(fuzz, name) for name in (verdict, *others)},
                                variants=credentials.variants(label),
                                token_starts=credentials.token_starts() if label in _BEARER else None,
                                advance_clock=control.advance if control is not None else None)
        for other in others:
            passes[(label, other)] = _Pass(sent, found[other], credentials.missing, request.node.nodeid)
        shared = _Pass(sent, found[verdict], credentials.missing, request.node.nodeid)
    else:
        observe("requests sent by", shared.test)
    observe(f"fuzzed {label}", shared.sent)
    observe("examples per operation", fuzz.examples())
    observe("seed", fuzz.fuzz_seed())
    for name, why in shared.missing.items():
        not_checked(f"{label} fuzzed with real credentials of the {name} fixture", why)
    if shared.finding is not None:
        observe("smallest failing request", shared.finding.observed())  # the report keeps the longer excerpt
    return shared.finding


@pytest.mark.clause("ROBUST-01")
@pytest.mark.parametrize("label", _operations())
def test_fuzzed_requests_never_answer_5xx(label: str, request: pytest.FixtureRequest, api: Api,
                                          observe: Observe, not_checked: NotChecked) -> None:
    finding = _run(label, "server_error", request, api, observe, not_checked)
    expect(finding is None,
           expected=f"no 5xx answer to any schema-generated request to {label}",
           observed=finding.brief() if finding else None,
           what=f"fuzzing {label} (smallest failing request shown)")


@pytest.mark.clause("ROBUST-02")
@pytest.mark.parametrize("label", _operations())
def test_fuzzed_responses_conform_to_openapi(label: str, request: pytest.FixtureRequest, api: Api,
                                             observe: Observe, not_checked: NotChecked) -> None:
    finding = _run(label, "conformance_failure", request, api, observe, not_checked)
    expect(finding is None,
           expected=f"every answer of {label} as {DOCUMENT} documents it: a documented status code, "
                    f"its content type, headers and JSON body schema",
           observed=finding.brief() if finding else None,
           what=f"fuzzing {label} (smallest failing request shown)")


@pytest.mark.clause("ROBUST-01")
def test_no_request_of_the_session_answered_5xx(server_errors: Sequence[dict[str, Any]],
                                                observe: Observe) -> None:
    """Last of the session: every request any clause sent so far, fuzzing included."""
    observe("server errors seen", len(server_errors))
    fuzz = _fuzz()
    shown = [{**exchange, "requestHeaders": fuzz.short_headers(exchange.get("requestHeaders", {}))}
             for exchange in server_errors[:_SHOWN_SERVER_ERRORS]]
    if shown:
        observe("first server errors", shown)  # the report keeps the excerpts
    briefs = [f"{e['test']}: {e['method']} {e['url']} with body {fuzz.brief(e['requestBody'])!r} "
              f"answered {e['status']} {fuzz.brief(e['responseBody'])!r}" for e in shown]
    expect(not server_errors,
           expected="no 5xx answer to any request the suite sent",
           observed={"count": len(server_errors), "first": briefs},
           what="all requests of this session")
