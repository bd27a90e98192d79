"""ROBUST mutants: crashes only unusual input reaches, and answers the OpenAPI document forbids.

Each deviation sits where no other family's MUST check looks, so only fuzzing (ROBUST-01)
or the document (ROBUST-02) can catch it.
"""
from __future__ import annotations

import base64
import json
from collections.abc import Callable

from akol_fake import AuthService, _totp
from akol_fake._service import PAT_PREFIX, Principal
from tests.mutants._asgi import Answer, Scope, on_path, rewriting
from tests.mutants._base import ASGIApp, Mutant
from tests.mutants._envelope import error_body

_CRASH = error_body("internal_error", "internal error")
_LONG_HEADER = 2048


def _edits(edit: Callable[[Scope, Answer], None]) -> Callable[[ASGIApp], ASGIApp]:
    return rewriting(edit)


def _replace(answer: Answer, status: int, content_type: str, body: bytes,
             extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    answer.status = status
    answer.body = body
    answer.headers = [(b"content-type", content_type.encode()), *extra]


# -- ROBUST-01: 5xx on input only a fuzzer sends -------------------------------------

class AsciiOnlyEmails(AuthService):
    """Normalizes emails with an ASCII codec: any non-ASCII email crashes login."""

    def normalize_email(self, email: str) -> str:
        return email.encode("ascii").decode().strip().lower()


class IntegerTotpCompare(AuthService):
    """Compares TOTP codes as integers: a non-numeric code for a live pendingToken crashes."""

    def totp_ok(self, secret: str, code: str) -> bool:
        return bool(secret) and any(int(code) == int(c) for c in self._window_codes(secret))

    def _window_codes(self, secret: str) -> list[str]:
        key = _totp.decode_secret(secret) or b""
        step = int(self.clock.now() // _totp.STEP)
        return [_totp.code_at(key, step + k) for k in (-1, 0, 1)]


class AsciiPatLookup(AuthService):
    """Looks PATs up by their ASCII body: a PAT-prefixed token with non-ASCII bytes after the
    prefix crashes the protected endpoint."""

    def authenticate(self, header: str | None) -> Principal:
        if header is not None and header.startswith("Bearer " + PAT_PREFIX):
            header[len("Bearer " + PAT_PREFIX):].encode("ascii")  # the bug: UnicodeEncodeError
        return super().authenticate(header)


class JwtHeaderReadFirst(AuthService):
    """Reads a JWT-shaped token's header (for its kid) before verifying, with a strict decoder:
    an "eyJ…" token whose first segment is not base64url JSON crashes."""

    def authenticate(self, header: str | None) -> Principal:
        if header is not None and header.startswith("Bearer eyJ"):
            segment = header[len("Bearer "):].split(".")[0]
            json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))  # the bug: raises
        return super().authenticate(header)


def _query_crash(scope: Scope, answer: Answer) -> None:
    if scope.get("query_string"):
        _replace(answer, 500, "application/json", _CRASH)


def _long_header_crash(scope: Scope, answer: Answer) -> None:
    if any(len(value) > _LONG_HEADER for _, value in scope.get("headers", [])):
        _replace(answer, 500, "application/json", _CRASH)


# -- ROBUST-02: answers outside the document -----------------------------------------

def _query_redirect(scope: Scope, answer: Answer) -> None:
    if scope.get("query_string"):
        _replace(answer, 302, "text/plain", b"", ((b"location", b"/api/v1/agents"),))


def _teapot(scope: Scope, answer: Answer) -> None:
    if answer.status == 400:
        answer.status = 418


def _drop_success(scope: Scope, answer: Answer) -> None:
    if answer.status == 200:
        body = json.loads(answer.body)
        body.pop("success", None)
        answer.body = json.dumps(body).encode()


def _plain_ok(scope: Scope, answer: Answer) -> None:
    if answer.status == 200:
        _replace(answer, 200, "text/plain; charset=utf-8", b"OK")


def _html_401(scope: Scope, answer: Answer) -> None:
    if answer.status == 401:
        message = json.loads(answer.body).get("error", {}).get("message", "Unauthorized")
        page = f"<html><body><h1>401</h1><p>{message}</p></body></html>".encode()
        extra = tuple((k, v) for k, v in answer.headers if k.lower() == b"www-authenticate")
        _replace(answer, 401, "text/html; charset=utf-8", page, extra)


MUTANTS: list[Mutant] = [
    Mutant(name="robust-login-ascii-email-500", clause="ROBUST-01",
           description="login normalizes emails with an ASCII codec: a non-ASCII email answers 500",
           service=AsciiOnlyEmails),
    Mutant(name="robust-verify-2fa-non-numeric-code-500", clause="ROBUST-01",
           description="verify-2fa compares codes as integers: a non-numeric code for a live "
                       "pendingToken answers 500",
           service=IntegerTotpCompare),
    Mutant(name="robust-pat-prefixed-garbage-500", clause="ROBUST-01",
           description="a Bearer token with the PAT prefix and non-ASCII bytes after it answers 500",
           service=AsciiPatLookup, http=True),
    Mutant(name="robust-jwt-shaped-garbage-500", clause="ROBUST-01",
           description='a Bearer token starting "eyJ" whose first segment is not base64url JSON answers 500',
           service=JwtHeaderReadFirst),
    Mutant(name="robust-agents-query-string-500", clause="ROBUST-01",
           description="GET /agents with any query string answers 500 (a paging parser crash)",
           wrap=_edits(on_path("/api/v1/agents", _query_crash))),
    Mutant(name="robust-logout-long-header-500", clause="ROBUST-01",
           description="logout with a request header over 2 KB answers 500",
           wrap=_edits(on_path("/api/v1/auth/logout", _long_header_crash))),
    Mutant(name="robust-agents-query-string-302", clause="ROBUST-02",
           description="GET /agents with a query string redirects (302) to the bare URL",
           wrap=_edits(on_path("/api/v1/agents", _query_redirect))),
    Mutant(name="robust-login-400-as-418", clause="ROBUST-02",
           description="login answers malformed bodies 418 instead of 400 (still a 4xx for LOGIN-04)",
           wrap=_edits(on_path("/api/v1/auth/login", _teapot))),
    Mutant(name="robust-refresh-no-success-field", clause="ROBUST-02",
           description="a successful refresh answers {\"data\": …} without \"success\": true",
           wrap=_edits(on_path("/api/v1/auth/refresh", _drop_success))),
    Mutant(name="robust-logout-plain-text-200", clause="ROBUST-02",
           description="a successful logout answers 200 text/plain \"OK\", not JSON",
           wrap=_edits(on_path("/api/v1/auth/logout", _plain_ok)), http=True),
    Mutant(name="robust-agents-401-html", clause="ROBUST-02",
           description="GET /agents answers its 401s as an HTML page (message and challenge intact)",
           wrap=_edits(on_path("/api/v1/agents", _html_401))),
]
