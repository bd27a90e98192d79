"""One checked request: send, judge the answer with catch_response, file it under its name.

Failure messages never carry a token, password or secret: they name fields, not values.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from akol_conformance.client import retry_after_seconds

if TYPE_CHECKING:  # importing locust monkey-patches the process: keep this module importable without it
    import httpx
    from locust.contrib.fasthttp import FastHttpSession

API = "/api/v1"
THROTTLE_STATUSES = frozenset({423, 429})
THROTTLED_SUFFIX = re.compile(r" \[(\d{3}) throttled\]$")

Validator = Callable[[dict[str, Any]], str | None]


def throttled_name(name: str, status: int) -> str:
    return f"{name} [{status} throttled]"


@dataclass(frozen=True)
class Reply:
    status: int
    data: dict[str, Any]
    ok: bool
    throttled: bool = False
    retry_after: float | None = None  # seconds a throttled answer asked to wait (None: it did not say)


def call(client: FastHttpSession, method: str, path: str, *, name: str, expect: int | frozenset[int] = 200,
         throttle_is_failure: bool, body: dict[str, Any] | None = None, token: str | None = None,
         validate: Validator | None = None, excuse: Callable[[int], bool] | None = None) -> Reply:
    """``method API+path``; ok when the status is expected and ``validate`` finds no problem.

    423/429 (unless expected) are throttling: recorded as ``name [429 throttled]``, and a
    success unless ``throttle_is_failure``. An unexpected status that ``excuse`` accepts is
    not a failure either (the caller deals with it), but the reply is not ok.
    """
    expected = frozenset({expect}) if isinstance(expect, int) else expect
    headers = {"Authorization": f"Bearer {token}"} if token is not None else None
    with client.request(method, API + path, name=name, json=body, headers=headers,
                        catch_response=True) as response:
        status = response.status_code or 0
        payload = _json_object(response.text)
        data: dict[str, Any] = payload["data"] if isinstance(payload.get("data"), dict) else {}
        if status in THROTTLE_STATUSES and status not in expected:
            response.request_meta["name"] = throttled_name(name, status)
            if throttle_is_failure:
                response.failure(f"throttled: HTTP {status} (--throttle-is-failure)")
            else:
                response.success()
            # FastResponse has the headers (case-insensitive) that retry_after_seconds reads.
            asked = retry_after_seconds(cast("httpx.Response", response)) if response.headers.get("retry-after") else None
            return Reply(status, data, ok=False, throttled=True, retry_after=asked)
        if status not in expected and excuse is not None and excuse(status):
            response.success()
            return Reply(status, data, ok=False)
        if status not in expected:
            wanted = " or ".join(str(s) for s in sorted(expected))
            got = f"HTTP {status}" if status else f"no response ({type(response.error).__name__})"
            response.failure(f"expected HTTP {wanted}, got {got}")
            return Reply(status, data, ok=False)
        problem = validate(payload) if validate is not None else None
        if problem is not None:
            response.failure(problem)
            return Reply(status, data, ok=False)
        response.success()
        return Reply(status, data, ok=True)


def _json_object(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _string(data: dict[str, Any], field: str) -> bool:
    return isinstance(data.get(field), str) and bool(data[field])


def token_pair(*, email: str | None, previous: tuple[str, str] | None = None) -> Validator:
    """LOGIN-01 / REFRESH-01: success, both tokens, the user (when ``email``), both new."""
    def check(payload: dict[str, Any]) -> str | None:
        data = payload.get("data")
        if payload.get("success") is not True or not isinstance(data, dict):
            return "expected success: true and a data object"
        missing = [f"data.{f}" for f in ("token", "refreshToken") if not _string(data, f)]
        if missing:
            return f"expected {' and '.join(missing)} (a token pair)"
        if email is not None:
            user = data.get("user")
            if not isinstance(user, dict) or not all(k in user for k in ("id", "email", "role", "plan")):
                return "expected data.user with id, email, role and plan"
            if str(user["email"]).lower() != email.lower():
                return "expected data.user.email to be the login email"
        if previous is not None:
            if data["token"] == previous[0]:
                return "expected a new access token, got the old one back"
            if data["refreshToken"] == previous[1]:
                return "expected a new refresh token, got the old one back (no rotation)"
        return None
    return check


def login_answer(*, email: str, has_totp: bool) -> Validator:
    """A login answer: the full pair, or (2FA-01) requires2FA with a pendingToken and no tokens."""
    pair = token_pair(email=email)

    def check(payload: dict[str, Any]) -> str | None:
        data = payload.get("data")
        if not isinstance(data, dict) or data.get("requires2FA") is not True:
            return pair(payload)
        if payload.get("success") is not True or not _string(data, "pendingToken"):
            return "expected success: true and data.pendingToken for a 2FA login"
        if "token" in data or "refreshToken" in data:
            return "expected no token before the second factor (2FA-01)"
        if not has_totp:
            return "the account requires 2FA but has no TOTP secret: add it as the 3rd CSV column"
        return None
    return check
