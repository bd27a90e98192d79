"""Response shapes several clauses share: the login success (LOGIN-01, 2FA-02), token fields.

Failures describe bodies by their keys and types, never by token values.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from conformance._checks import ClauseFailure, expect, expect_status
from conformance._jwtparse import parse_jwt

__all__ = ["TOKEN_FIELDS", "expect_login_success", "json_body", "response_token_fields", "token_fields"]

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
