"""REFRESH — POST /auth/refresh: rotation, revocation, the expired-access flow, atomicity."""
from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from akol_conformance.check import ACCESS_TTL, Api, Session, advance_to, expect, expect_status, issued_at, json_body

# Later checks of a rotated refresh token, in seconds after rotation: past a 60 s grace
# window, and a day on (both well inside the 7-day life, so only revocation explains a 401).
_REVOKED_LATER_CHECKS = (61.0, 86_400.0)
# REFRESH-06: bursts of concurrent refreshes of one token, each a fresh login.
_BURSTS = 8
_BURST_SIZE = 16


def _pair(response: httpx.Response, what: str) -> tuple[str, str]:
    """The (access, refresh) tokens of a 200 refresh answer."""
    expect_status(response, 200, what=what)
    body = json_body(response, what)
    data = body.get("data") if isinstance(body, dict) else None
    token = data.get("token") if isinstance(data, dict) else None
    refresh = data.get("refreshToken") if isinstance(data, dict) else None
    expect(
        isinstance(token, str) and isinstance(refresh, str) and bool(token) and bool(refresh),
        expected=f"{what}: data.token and data.refreshToken, both non-empty strings",
        observed={"data keys": sorted(data) if isinstance(data, dict) else repr(type(data))},
    )
    return token, refresh


@pytest.mark.clause("REFRESH-01")
def test_refresh_issues_new_working_pair(api, login) -> None:
    old = login()
    token, refresh = _pair(api.refresh(old.refresh_token), "refresh with a valid refresh token")
    expect(token != old.token, expected="a new access token, different from the old one",
           observed="the same access token came back")
    expect(refresh != old.refresh_token, expected="a new refresh token, different from the old one",
           observed="the same refresh token came back")
    expect_status(api.agents(token=token), 200, what="protected endpoint with the refreshed access token")


def _rotated(api: Api, login: Callable[[], Session]) -> str:
    """The refresh token of a fresh login, after one successful rotation (so now revoked)."""
    old = login()
    _pair(api.refresh(old.refresh_token), "first refresh")
    return old.refresh_token


@pytest.mark.clause("REFRESH-02")
def test_old_refresh_token_is_revoked_at_once(api, login) -> None:
    expect_status(api.refresh(_rotated(api, login)), 401, what="the old refresh token, right after rotation")


@pytest.mark.clause("REFRESH-02")
def test_old_refresh_token_stays_revoked(api, login, clock) -> None:
    old = _rotated(api, login)
    elapsed = 0.0
    for seconds in _REVOKED_LATER_CHECKS:
        clock.advance(seconds - elapsed)
        elapsed = seconds
        expect_status(api.refresh(old), 401, what=f"the old refresh token, {seconds:.0f} s after rotation")


@pytest.mark.clause("REFRESH-03")
def test_refresh_after_access_expiry(api, login, clock, settings) -> None:
    started = clock.now()
    old = login()
    advance_to(clock, issued_at(old.token, started) + ACCESS_TTL + settings.skew, "T+900+skew")
    expect_status(api.agents(token=old.token), 401, what="the access token at T+900+skew")
    token, refresh = _pair(api.refresh(old.refresh_token), "refresh after the access token expired")
    expect_status(api.agents(token=token), 200, what="protected endpoint with the new access token")
    _pair(api.refresh(refresh), "refresh with the new refresh token")


@pytest.mark.clause("REFRESH-04")
def test_access_token_is_not_a_refresh_token(api, login) -> None:
    expect_status(api.refresh(login().token), 401, what="an access token as refreshToken")


@pytest.mark.clause("REFRESH-04")
def test_pat_is_not_a_refresh_token(api, pat) -> None:
    expect_status(api.refresh(pat.token), 401, what="a personal access token as refreshToken")


@pytest.mark.clause("REFRESH-04")
def test_pending_token_is_not_a_refresh_token(api, tfa_account) -> None:
    response = api.login(tfa_account.email, tfa_account.password)
    expect_status(response, 200, what="login of the 2FA account")
    body = json_body(response, "login of the 2FA account")
    data = body.get("data") if isinstance(body, dict) else None
    pending = data.get("pendingToken") if isinstance(data, dict) else None
    expect(isinstance(pending, str) and bool(pending),
           expected="login of a 2FA account gives data.pendingToken", observed="no pendingToken")
    expect_status(api.refresh(pending), 401, what="a pendingToken as refreshToken")


_MALFORMED_BODIES: dict[str, dict[str, object]] = {
    "empty object": {"json": {}},
    "refreshToken null": {"json": {"refreshToken": None}},
    "refreshToken empty": {"json": {"refreshToken": ""}},
    "refreshToken garbage": {"json": {"refreshToken": "not-a-token"}},
    "refreshToken JWT-shaped garbage": {"json": {"refreshToken": "eyJhbGciOiJIUzI1NiJ9.e30.AAAA"}},
    "refreshToken number": {"json": {"refreshToken": 12345}},
    "refreshToken list": {"json": {"refreshToken": ["a", "b"]}},
    "refreshToken object": {"json": {"refreshToken": {"token": "x"}}},
    "body a JSON array": {"json": ["refreshToken"]},
}


@pytest.mark.clause("REFRESH-04")
@pytest.mark.parametrize("case", sorted(_MALFORMED_BODIES))
def test_malformed_refresh_request(api, case: str) -> None:
    response = api.request("POST", "/auth/refresh", **_MALFORMED_BODIES[case])  # type: ignore[arg-type]
    expect_status(response, {400, 401}, what=f"refresh with {case}")


@pytest.mark.clause("REFRESH-05")
def test_reuse_revokes_the_family(api, login, observe) -> None:
    old = login()
    _, newer = _pair(api.refresh(old.refresh_token), "first refresh")
    expect_status(api.refresh(old.refresh_token), 401, what="replay of the rotated refresh token")
    replay_outcome = api.refresh(newer)
    observe("newer_token_after_replay", replay_outcome.status_code)
    expect_status(replay_outcome, 401,
                  what="the newer refresh token after the old one was replayed (family revoked)")


def _successes(api: Api, refresh_token: str) -> int:
    """200s among _BURST_SIZE refreshes of one token released together."""
    responses = api.parallel([lambda: api.refresh(refresh_token)] * _BURST_SIZE)
    return sum(r.status_code == 200 for r in responses)


@pytest.mark.clause("REFRESH-06")
def test_concurrent_refresh_is_atomic(api, login, observe) -> None:
    # A race in check-then-write shows in some bursts only: every burst runs, each on a fresh
    # session (reuse detection kills a family its losing refreshes touched), so the rate is honest.
    successes = [_successes(api, login().refresh_token) for _ in range(_BURSTS)]
    double_spends = [n for n in successes if n > 1]
    observe("bursts", f"{_BURSTS} × {_BURST_SIZE} concurrent refreshes, each burst on one fresh refresh token")
    observe("successes per burst", successes)
    observe("double-spend rate", f"{len(double_spends)} of {_BURSTS} bursts")
    expect(not double_spends,
           expected=f"at most one 200 in each burst of {_BURST_SIZE} concurrent refreshes of one token",
           observed=f"more than one 200 in {len(double_spends)} of {_BURSTS} bursts "
                    f"(200s per burst: {successes})")
