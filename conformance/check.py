"""What a clause check may call: the one public module for check authors.

A check lives in ``test_<family>.py``, marks its clause with ``@pytest.mark.clause("ID")``,
takes the fixtures below by name, and judges the target only through these helpers:

- ``expect`` / ``expect_status`` raise ``ClauseFailure`` (status ``failed``) with what was
  expected and what was observed; ``Inconclusive`` (status ``error``, with a cause) says the
  clause could not be judged; anything else a check raises is the suite's own error.
- response shapes several clauses share (``json_body``, ``expect_login_success``,
  ``token_fields``), the page's token lifetimes and moving the server clock to a point of a
  token's life (``advance_to``, ``issued_at``), tripping the IP login limit (``trip``; the ``ip_bursts`` fixture, cheaply), telling
  a 429 of one account from the IP limit's (``past_ip_limit``).
- the fixture types, for annotations: ``Api``, ``Clock``, ``Account``, ``Session``, ``Pat``,
  ``ForeignToken``, ``Control``, ``Settings``, ``Login``, ``Observe``, ``NotChecked``, ``Totp``.

Never put a token, password or secret into ``expected``/``observed``: describe it.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from akol_conformance._plugin.api import Api
from akol_conformance._plugin.clock import Clock
from akol_conformance._plugin.options import Settings
from akol_conformance._plugin.outcomes import ClauseFailure, Inconclusive, expect, expect_status
from akol_conformance._probes.ratelimit import (
    FRESH_WINDOW_SECONDS,
    Answer,
    Burst,
    IpBursts,
    UnknownEmails,
    let_pass,
    past_ip_limit,
    past_limit,
    trip,
    wait_out,
)
from akol_conformance.client import Account, Control, ForeignToken, Pat, Session, parse_jwt, retry_after_seconds

__all__ = [
    "ACCESS_TTL", "FRESH_WINDOW_SECONDS", "REFRESH_TTL", "TOKEN_FIELDS",
    "Account", "Answer", "Api", "Burst", "ClauseFailure", "Clock", "Control", "ForeignToken", "Inconclusive", "IpBursts",
    "Login", "NotChecked", "Observe", "Pat", "Session", "Settings", "Totp", "UnknownEmails",
    "advance_to", "expect", "expect_login_success", "expect_status", "issued_at", "json_body", "let_pass", "numeric",
    "parse_jwt", "past_ip_limit", "past_limit", "response_token_fields", "retry_after_seconds", "token_fields", "trip",
    "wait_out",
]

Login = Callable[..., Session]  # login(account=None) -> a fresh Session
Observe = Callable[[str, object], None]  # observe(name, value): the clause's "observed" in reports
NotChecked = Callable[[str, str], None]  # not_checked(part, why): the clause passes with partial coverage
Totp = Callable[..., str]  # totp(secret, at=None, fresh=True) -> a 6-digit code at the server's time


# -- response shapes ---------------------------------------------------------------------

TOKEN_FIELDS = frozenset({"token", "refreshToken", "accessToken", "access_token", "refresh_token"})
_USER_FIELDS = ("id", "email", "role", "plan")


def json_body(response: httpx.Response, what: str) -> Any:
    """The JSON body, or a ClauseFailure naming what was expected."""
    try:
        return response.json()
    except ValueError:
        raise ClauseFailure(what=what, expected="a JSON body",
                            observed=f"{response.status_code} with Content-Type "
                                     f"{response.headers.get('content-type')!r}, "
                                     f"{len(response.content)} bytes") from None


def _walk(node: object, path: str) -> Iterator[tuple[str, object]]:
    if isinstance(node, dict):
        for key, value in node.items():
            child = f"{path}.{key}" if path else str(key)
            yield child, value
            yield from _walk(value, child)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}[{index}]")


def token_fields(body: object) -> list[str]:
    """Paths of every field, at any depth, whose name says it carries a session token."""
    return [path for path, value in _walk(body, "")
            if path.rsplit(".", 1)[-1] in TOKEN_FIELDS and value not in (None, "")]


def _shape(value: object) -> object:
    """Keys and types of a JSON value, for failure messages that must not carry tokens."""
    if isinstance(value, dict):
        return {key: _shape(inner) for key, inner in value.items()}
    return type(value).__name__


def expect_login_success(response: httpx.Response, email: str, what: str) -> dict[str, Any]:
    """LOGIN-01's answer: 200, success true, data.user {id, email, role, plan}, two JWTs.

    Returns ``data``. The email is compared case-insensitively: the domain part is, and a
    server that stores the address as typed in another case still names the same account.
    """
    __tracebackhide__ = True
    expect_status(response, 200, what)
    body = json_body(response, what)
    expect(isinstance(body, dict) and body.get("success") is True, what=what,
           expected='"success": true', observed=_shape(body))
    data = body.get("data")
    expect(isinstance(data, dict), what=what, expected="a data object", observed=_shape(body))
    user = data.get("user")
    missing = [f for f in _USER_FIELDS if not isinstance(user, dict) or user.get(f) in (None, "")]
    expect(not missing, what=what, expected="data.user with id, email, role and plan",
           observed=f"missing or empty: {', '.join(missing)}; data is {_shape(data)}")
    expect(str(user["email"]).casefold() == email.casefold(), what=what,
           expected=f"data.user.email equal to the login email {email!r}",
           observed=repr(user["email"]))
    not_jwt = [f for f in ("token", "refreshToken") if parse_jwt(data.get(f)) is None]
    expect(not not_jwt, what=what,
           expected="data.token and data.refreshToken, both JWTs (header.payload.signature)",
           observed=f"not a JWT: {', '.join(not_jwt)}; data is {_shape(data)}")
    return data


def response_token_fields(response: httpx.Response) -> list[str]:
    """``token_fields`` of the JSON body; none when the body is not JSON."""
    try:
        return token_fields(response.json())
    except ValueError:
        return []


# -- the page's token lifetimes -------------------------------------------------------------

ACCESS_TTL = 900  # "valid for 15 minutes"
REFRESH_TTL = 604_800  # "7-day refresh token"


def numeric(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def issued_at(token: str, before_login: float) -> float:
    """T of the clauses: the token's iat, or (opaque token) the server time read before the login."""
    parts = parse_jwt(token)
    iat = parts.payload.get("iat") if parts is not None else None
    return float(iat) if numeric(iat) else before_login


def advance_to(clock: Clock, when: float, label: str) -> None:
    """Move the server clock to server time `when`; skip the test if the clock is already past it."""
    delta = when - clock.now()
    if delta <= 0:
        pytest.skip(f"the server clock is already past {label}; the skew leaves nothing to check")
    clock.advance(delta)
