"""TOKEN — lifetimes: 15-minute access tokens, 7-day refresh tokens, checked on the server's clock."""
from __future__ import annotations

import pytest

from akol_conformance.check import (
    ACCESS_TTL,
    REFRESH_TTL,
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
    numeric,
    parse_jwt,
)

_ROUNDING = 1  # seconds: iat and exp are whole seconds, a server may round either way


def _lifetime(token: str, what: str) -> float:
    """exp − iat of a JWT read without verification; fails naming what was missing."""
    __tracebackhide__ = True
    parts = parse_jwt(token)
    expect(parts is not None, what=what, expected="a JWT (three base64url parts, JSON header and payload)",
           observed="not a JWT")
    assert parts is not None
    claims = {name: parts.payload.get(name) for name in ("iat", "exp")}
    expect(all(numeric(v) for v in claims.values()), what=what,
           expected="numeric iat and exp claims", observed={k: type(v).__name__ for k, v in claims.items()})
    return float(claims["exp"]) - float(claims["iat"])  # type: ignore[arg-type]


@pytest.mark.clause("TOKEN-01")
def test_access_token_lifetime(session: Session, observe: Observe) -> None:
    lifetime = _lifetime(session.token, "the access token of a login")
    observe("access_lifetime_s", lifetime)
    expect(abs(lifetime - ACCESS_TTL) <= _ROUNDING, what="the access token of a login",
           expected=f"exp − iat = {ACCESS_TTL} s", observed=f"{lifetime:g} s")


@pytest.mark.clause("TOKEN-02")
def test_access_token_expiry(api: Api, login: Login, clock: Clock, settings: Settings,
                             observe: Observe) -> None:
    started = clock.now()
    session = login()
    issued = issued_at(session.token, started)
    early, late = ACCESS_TTL - settings.skew, ACCESS_TTL + settings.skew
    checked: dict[str, str] = {}  # reported as the clock gets to each point, not before
    advance_to(clock, issued + early, f"T+{early:g}")
    checked["accepted"] = f"T+{early:g}"
    observe("checked_at", checked)
    expect_status(api.agents(token=session.token), 200,
                  what=f"the access token at T+{early:g} (900 − skew)")
    advance_to(clock, issued + late, f"T+{late:g}")
    checked["rejected"] = f"T+{late:g}"
    observe("checked_at", checked)
    expect_status(api.agents(token=session.token), 401, what=f"the access token at T+{late:g} (900 + skew)")


@pytest.mark.clause("TOKEN-03")
def test_refresh_token_lifetime(session: Session, observe: Observe) -> None:
    lifetime = _lifetime(session.refresh_token, "the refresh token of a login")
    observe("refresh_lifetime_s", lifetime)
    expect(abs(lifetime - REFRESH_TTL) <= _ROUNDING, what="the refresh token of a login",
           expected=f"exp − iat = {REFRESH_TTL} s (7 days)", observed=f"{lifetime:g} s")


@pytest.mark.clause("TOKEN-04")
def test_refresh_token_expiry(api: Api, login: Login, clock: Clock, settings: Settings,
                              observe: Observe) -> None:
    # Two sessions: the early refresh rotates the first token, so the late check needs an unused one.
    started = clock.now()
    early_session, late_session = login(), login()
    early, late = REFRESH_TTL - settings.skew, REFRESH_TTL + settings.skew
    checked: dict[str, str] = {}  # reported as the clock gets to each point, not before
    advance_to(clock, issued_at(early_session.refresh_token, started) + early, f"T+{early:g}")
    checked["refreshes"] = f"T+{early:g}"
    observe("checked_at", checked)
    expect_status(api.refresh(early_session.refresh_token), 200,
                  what=f"refresh with an unused refresh token at T+{early:g} (7 days − skew)")
    advance_to(clock, issued_at(late_session.refresh_token, started) + late, f"T+{late:g}")
    checked["rejected"] = f"T+{late:g}"
    observe("checked_at", checked)
    expect_status(api.refresh(late_session.refresh_token), 401,
                  what=f"refresh with an unused refresh token at T+{late:g} (7 days + skew)")
