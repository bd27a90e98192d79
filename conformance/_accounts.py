"""Accounts, sessions and PATs the checks use, and the one login flow that makes a Session."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from conformance._checks import ClauseFailure, expect_status
from conformance._client import Api
from conformance._settings import Settings


@dataclass(frozen=True)
class Account:
    id: str | None
    email: str
    password: str = field(repr=False)
    role: str | None = None
    plan: str | None = None
    totp_secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Pat:
    id: str | None
    token: str = field(repr=False)
    account: Account | None = None


@dataclass(frozen=True)
class Session:
    token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    user: dict[str, Any] = field(default_factory=dict)


def no_credentials(settings: Settings, what: str, names: tuple[str, ...]) -> None:
    """Skip: ``what`` can't be had without test control; name the variables that would give it."""
    if settings.inprocess:
        pytest.skip(f"needs {what}: the in-process app has no test control (/__test__/)")
    missing = [n for n in names if not settings.credential(n)]
    pytest.skip(f"needs {what}: set {' and '.join(missing or names)} "
                f"(the target has no test control, /__test__/)")


def from_env(settings: Settings, names: tuple[str, ...], what: str) -> Account:
    values = [settings.credential(n) for n in names]
    if settings.inprocess or not all(values):
        no_credentials(settings, what, names)
    email, password, *rest = values
    assert email is not None and password is not None
    return Account(id=None, email=email, password=password, totp_secret=rest[0] if rest else None)


def _data(response: Any, what: str) -> dict[str, Any]:
    try:
        data = response.json()["data"]
        if isinstance(data, dict):
            return data
    except (ValueError, KeyError, TypeError):
        pass
    raise ClauseFailure(what=what, expected='a JSON body {"success": true, "data": {...}}',
                        observed=f"{response.status_code} {response.text[:200]!r}")


def log_in(api: Api, account: Account, code: Callable[[str], str]) -> Session:
    """Log ``account`` in (through 2FA when the server asks for it); fails the test if it can't.

    A 429 is waited out even inside ``api.rate_limited()``: the test asked for a session.
    """
    with api.waiting_out():
        return _log_in(api, account, code)


def _log_in(api: Api, account: Account, code: Callable[[str], str]) -> Session:
    response = api.login(account.email, account.password)
    expect_status(response, 200, what="login of the test account")
    data = _data(response, "login of the test account")
    if data.get("requires2FA"):
        if not account.totp_secret:
            raise ClauseFailure(what="login of the test account", expected="a session (the account has no 2FA)",
                                observed="requires2FA: true")
        response = api.verify_2fa(str(data.get("pendingToken")), code(account.totp_secret))
        expect_status(response, 200, what="2FA verification of the test account")
        data = _data(response, "2FA verification of the test account")
    token, refresh = data.get("token"), data.get("refreshToken")
    if not isinstance(token, str) or not isinstance(refresh, str):
        raise ClauseFailure(what="login of the test account", expected="data.token and data.refreshToken",
                            observed=f"data keys {sorted(data)}")
    user = data.get("user")
    return Session(token=token, refresh_token=refresh, user=user if isinstance(user, dict) else {})
