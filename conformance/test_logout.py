"""LOGOUT — POST /auth/logout: the access token is blacklisted for the rest of its life."""
from __future__ import annotations

import httpx
import pytest

from akol_conformance.check import (
    ACCESS_TTL,
    Api,
    Clock,
    Login,
    Observe,
    Session,
    Settings,
    advance_to,
    expect,
    expect_status,
    issued_at,
)

_GARBAGE_TOKEN = "x-garbage-token-7e3a"  # distinctive: the plugin scrubs every token sent


def _expect_2xx(response: httpx.Response, what: str) -> None:
    __tracebackhide__ = True
    expect(200 <= response.status_code < 300, what=what, expected="a 2xx status",
           observed=f"{response.status_code} {response.text[:200]!r}")


def _logged_out(api: Api, login: Login) -> Session:
    """A fresh session whose access token worked, then was logged out (2xx)."""
    session = login()
    expect_status(api.agents(token=session.token), 200, what="the access token before logout")
    _expect_2xx(api.logout(session.token), "logout with a valid access token")
    return session


@pytest.mark.clause("LOGOUT-01")
def test_logout_with_valid_token(api: Api, login: Login) -> None:
    _expect_2xx(api.logout(login().token), "logout with a valid Bearer access token")


@pytest.mark.clause("LOGOUT-02")
def test_logged_out_token_rejected_at_once(api: Api, login: Login) -> None:
    session = _logged_out(api, login)
    expect_status(api.agents(token=session.token), 401,
                  what="the logged-out access token, right after logout")


@pytest.mark.clause("LOGOUT-02")
def test_logged_out_token_rejected_near_expiry(api: Api, login: Login, clock: Clock, settings: Settings,
                                               observe: Observe) -> None:
    started = clock.now()
    session = _logged_out(api, login)
    near_expiry = ACCESS_TTL - settings.skew
    advance_to(clock, issued_at(session.token, started) + near_expiry, f"T+{near_expiry:g}")
    observe("checked_at", f"T+{near_expiry:g}")  # only once the clock got there
    expect_status(api.agents(token=session.token), 401,
                  what=f"the logged-out access token at T+{near_expiry:g}, near its expiry")


@pytest.mark.clause("LOGOUT-03")
def test_logout_without_valid_token(api: Api, observe: Observe) -> None:
    responses = {
        "no Authorization header": api.request("POST", "/auth/logout"),
        "Bearer with a garbage token": api.logout(_GARBAGE_TOKEN),
        "Bearer with three dot-separated garbage parts": api.logout("x1.y2.z3"),
        "Bearer and no token": api.request("POST", "/auth/logout", headers={"Authorization": "Bearer "}),
    }
    statuses = {name: response.status_code for name, response in responses.items()}
    observe("statuses", statuses)
    wrong = {name: status for name, status in statuses.items() if status != 401}
    expect(not wrong, what="logout without a valid token", expected="401 for a missing or garbage token",
           observed={"status of each offending request": wrong})


@pytest.mark.clause("LOGOUT-04")
def test_logout_ends_refresh(api: Api, login: Login) -> None:
    session = _logged_out(api, login)
    response = api.refresh(session.refresh_token)
    expect(400 <= response.status_code < 500, what="refresh with the refresh token of a logged-out session",
           expected="4xx (the session ended; 401 is usual)", observed=response.status_code)
