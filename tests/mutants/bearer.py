"""BEARER mutants: how the protected endpoint reads the Authorization header, each broken once."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from akol_fake import AuthService
from akol_fake import _errors as err
from akol_fake._errors import Denied
from akol_fake._service import PAT_PREFIX, Principal
from tests.mutants._asgi import Answer, Scope, rewriting, rewriting_requests
from tests.mutants._base import ASGIApp, Mutant
from tests.mutants._envelope import error_code, replace_error, request_header


def _forbid_anonymous(scope: Scope, answer: Answer) -> None:
    if answer.status == 401 and request_header(scope, "authorization") is None:
        replace_error(answer, 403, "forbidden", "Forbidden")


_missing_header_403 = rewriting(_forbid_anonymous, "/agents")


class _AdminOnlyAgents(AuthService):
    """Authorization mixed into authentication: only ADMIN sessions may list agents."""

    def authenticate(self, header: str | None) -> Principal:
        principal = super().authenticate(header)
        if principal.role != "ADMIN":
            raise Denied(403, "forbidden", "Insufficient role")
        return principal


class _RawTokenAccepted(AuthService):
    """A header without a scheme is taken as the token itself."""

    def authenticate(self, header: str | None) -> Principal:
        if header is not None and " " not in header.strip():
            header = "Bearer " + header.strip()
        return super().authenticate(header)


class _PrefixWithoutSpace(AuthService):
    """`startswith("Bearer")` then strip: `Bearer<token>` passes."""

    def authenticate(self, header: str | None) -> Principal:
        if header is not None and header.startswith("Bearer") and not header.startswith("Bearer "):
            header = "Bearer " + header[len("Bearer"):]
        return super().authenticate(header)


class _GenericMissingPrefixMessage(AuthService):
    def authenticate(self, header: str | None) -> Principal:
        if header is not None and not header.startswith("Bearer "):
            raise err.invalid_token()
        return super().authenticate(header)


class _AnyScheme(AuthService):
    """Splits on the first space and ignores which scheme came before it."""

    def authenticate(self, header: str | None) -> Principal:
        if header is not None and " " in header:
            header = "Bearer " + header.split(" ", 1)[1]
        return super().authenticate(header)


class _CrashOnGarbage(AuthService):
    """Indexes the JWT segments before verifying: a token without two dots raises (500)."""

    def authenticate(self, header: str | None) -> Principal:
        if header is not None and header.startswith("Bearer "):
            token = header[len("Bearer "):].strip()
            token.split(".")[2]  # noqa: B018 — the bug: IndexError on garbage
        return super().authenticate(header)


class _RefreshAsBearer(AuthService):
    """No `typ` check on the protected endpoint: any of our signed session tokens passes."""

    def decode(self, token: str, expected_typ: str) -> dict[str, Any] | None:
        if expected_typ == "access":
            return super().decode(token, "access") or super().decode(token, "refresh")
        return super().decode(token, expected_typ)


def _drop_challenge(scope: Scope, answer: Answer) -> None:
    answer.drop_header("WWW-Authenticate")


_no_challenge = rewriting(_drop_challenge)


def _drop_challenge_on_missing_token(scope: Scope, answer: Answer) -> None:
    if error_code(answer) == "missing_token":
        answer.drop_header("WWW-Authenticate")


_no_challenge_when_token_missing = rewriting(_drop_challenge_on_missing_token)


_no_challenge_on_logout = rewriting(_drop_challenge, "/auth/logout")


# -- BEARER-07: tokens read from elsewhere than the Authorization header --------------------

_FIELD = "access_token"


def _from_query(scope: Scope, body: bytes) -> str | None:
    return next(iter(parse_qs(scope.get("query_string", b"").decode("latin-1")).get(_FIELD, [])), None)


def _from_body(scope: Scope, body: bytes) -> str | None:
    """``access_token`` of a JSON or form-encoded body (RFC 6750 §2.2), as body parsers hand it over."""
    content_type = (request_header(scope, "content-type") or "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        return next(iter(parse_qs(body.decode("latin-1")).get(_FIELD, [])), None)
    try:
        parsed = json.loads(body) if content_type == "application/json" else None
    except ValueError:
        return None
    value = parsed.get(_FIELD) if isinstance(parsed, dict) else None
    return value if isinstance(value, str) else None


Finder = Callable[[Scope, bytes], str | None]


def _token_also_from(*finders: Finder, only: Callable[[str], bool] = lambda _: True) -> Callable[[ASGIApp], ASGIApp]:
    """Without an Authorization header, the first token ``finders`` see becomes the Bearer token."""

    def edit(scope: Scope, body: bytes) -> Scope:
        if request_header(scope, "authorization") is not None:
            return scope
        token = next((t for t in (find(scope, body) for find in finders) if t), None)
        if token is None or not only(token):
            return scope
        return {**scope, "headers": [*scope["headers"], (b"authorization", f"Bearer {token}".encode("latin-1"))]}

    return rewriting_requests(edit)


MUTANTS: list[Mutant] = [
    Mutant("missing-bearer-403", "BEARER-01",
           "a request without Authorization answers 403 Forbidden instead of 401", wrap=_missing_header_403),
    Mutant("agents-admin-only", "BEARER-02",
           "the protected endpoint answers 403 to a valid USER token (role check inside authentication)",
           service=_AdminOnlyAgents),
    Mutant("raw-token-accepted", "BEARER-03",
           "a header that is just the token (no Bearer prefix) is accepted", service=_RawTokenAccepted),
    Mutant("bearer-without-space-accepted", "BEARER-03",
           "'Bearer<token>' without the space is accepted", service=_PrefixWithoutSpace),
    Mutant("missing-prefix-generic-message", "BEARER-03",
           "a missing Bearer prefix answers 401 'Invalid or expired token', not 'No bearer token'",
           service=_GenericMissingPrefixMessage),
    Mutant("any-scheme-accepted", "BEARER-04",
           "'Token <jwt>' and 'Basic <jwt>' are accepted: the scheme is never compared", service=_AnyScheme),
    Mutant("garbage-bearer-500", "BEARER-04",
           "a Bearer token without three dot-separated parts crashes (500)", service=_CrashOnGarbage),
    Mutant("refresh-token-as-bearer", "BEARER-05",
           "the protected endpoint accepts refresh tokens (no typ check)", service=_RefreshAsBearer),
    Mutant("no-www-authenticate", "BEARER-06", "no 401 carries WWW-Authenticate",
           wrap=_no_challenge, http=True),
    Mutant("no-challenge-when-token-missing", "BEARER-06",
           "only the 'No bearer token' 401s lack WWW-Authenticate", wrap=_no_challenge_when_token_missing),
    Mutant("no-challenge-on-logout", "BEARER-06",
           "the 401s of POST /auth/logout lack WWW-Authenticate", wrap=_no_challenge_on_logout),
    Mutant("bearer-token-anywhere", "BEARER-07",
           "a token is also read from an access_token query parameter or body field (JSON or form), "
           "as passport-http-bearer does by default", wrap=_token_also_from(_from_query, _from_body), http=True),
    Mutant("bearer-body-token", "BEARER-07",
           "the access_token query parameter is refused, but an access_token body field is read",
           wrap=_token_also_from(_from_body)),
    Mutant("bearer-pat-query-param", "BEARER-07",
           "only PATs are read from an access_token query parameter (API-key style)",
           wrap=_token_also_from(_from_query, only=lambda token: token.startswith(PAT_PREFIX))),
]
