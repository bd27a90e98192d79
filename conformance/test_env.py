"""ENV — per-environment signing: another environment's token is refused and tokens name theirs.

A 401 for another environment's token proves something only if the token is live at this
target's clock: a token expired here is refused for expiry, whatever the keys. ENV-01 shows
that it is (its ``exp`` and ``iat`` against this target's clock, and its own environment
accepting it), and is inconclusive otherwise, never passed.
"""
from __future__ import annotations

import time
from typing import Any

import pytest

from akol_conformance.check import (
    ACCESS_TTL,
    Api,
    Clock,
    ForeignToken,
    Inconclusive,
    NotChecked,
    Observe,
    Session,
    Settings,
    expect,
    expect_status,
    numeric,
    parse_jwt,
)

_ENV_CLAIMS = ("iss", "aud")
# Life the foreign token must have left at this target's clock when it is sent: the request's trip.
_LIVE_MARGIN = 10.0
# A clock read from Date headers is whole seconds: an iat this far ahead of it is not in the future.
_DATE_RESOLUTION = 1.0


def _env_claims(token: str) -> dict[str, Any]:
    parts = parse_jwt(token)
    return {claim: parts.payload.get(claim) for claim in _ENV_CLAIMS} if parts else {}


def _life(foreign: ForeignToken) -> tuple[float | None, float | None]:
    """(issued, expires) on this target's clock: the JWT's iat/exp, else (a run-minted opaque token)
    the mint time and the page's 15 minutes."""
    parts = parse_jwt(foreign.token)
    claims = parts.payload if parts is not None else {}
    issued = float(claims["iat"]) if numeric(claims.get("iat")) else foreign.minted_at
    if numeric(claims.get("exp")):
        return issued, float(claims["exp"])
    return issued, foreign.minted_at + ACCESS_TTL if foreign.minted_at is not None else None


def _wait_until_issued(issued: float, clock: Clock, settings: Settings, source: str) -> None:
    """A token issued in this target's future may be refused as not yet valid: let its iat pass."""
    ahead = issued - clock.now()
    if ahead <= _DATE_RESOLUTION:
        return
    if clock.controllable:
        clock.advance(ahead + _DATE_RESOLUTION)
    elif ahead <= settings.skew:
        time.sleep(ahead + _DATE_RESOLUTION)
    else:
        raise Inconclusive(f"the foreign token ({source}) was issued {ahead:.0f} s in this target's future "
                           "(the other environment's clock is ahead and this target has no test clock): "
                           "a 401 could mean 'not yet valid'", cause="prerequisite")


def _life_left(foreign: ForeignToken, clock: Clock, settings: Settings) -> float:
    """Seconds the foreign token has left at this target's clock; Inconclusive unless it is live."""
    if foreign.home_status not in (None, 200):
        raise Inconclusive(f"the foreign token ({foreign.source}) answered {foreign.home_status} on its own "
                           "environment's GET /agents: it is no valid token anywhere, so a 401 here proves "
                           "nothing", cause="prerequisite")
    issued, expires = _life(foreign)
    if expires is None:
        raise Inconclusive(f"the foreign token ({foreign.source}) is not a JWT, so its expiry at this target's "
                           f"clock is unknown: {foreign.remedy}", cause="prerequisite")
    if issued is not None:
        _wait_until_issued(issued, clock, settings, foreign.source)
    left = expires - clock.now()
    if left < _LIVE_MARGIN:
        raise Inconclusive(f"the foreign token ({foreign.source}) is expired at this target's clock "
                           f"({-left:.0f} s past its exp), so a 401 would only show expiry: {foreign.remedy}",
                           cause="prerequisite")
    return left


@pytest.mark.clause("ENV-01")
def test_foreign_environment_token_is_refused(api: Api, foreign_token: ForeignToken, clock: Clock,
                                              settings: Settings, observe: Observe) -> None:
    left = _life_left(foreign_token, clock, settings)
    observe("foreign token", {"source": foreign_token.source, "claims": _env_claims(foreign_token.token)
                              or "not a JWT", "seconds of life left at this target's clock": round(left),
                              "status on its own environment": foreign_token.home_status})
    expect_status(api.agents(token=foreign_token.token), 401,
                  "protected endpoint with a live access token issued by another environment")


@pytest.mark.clause("ENV-02")
def test_tokens_name_their_environment(session: Session, observe: Observe, request: pytest.FixtureRequest,
                                       not_checked: NotChecked) -> None:
    tokens = {"access token": session.token, "refresh token": session.refresh_token}
    claims = {name: _env_claims(token) for name, token in tokens.items()}
    observe("claims", claims)
    unnamed = [name for name, found in claims.items() if not any(found.values())]
    expect(not unnamed, expected="an iss or aud claim naming the environment",
           observed=f"no iss and no aud in the {' and the '.join(unnamed)}")
    try:
        foreign: ForeignToken = request.getfixturevalue("foreign_token")
    except pytest.skip.Exception as skip:
        not_checked("iss/aud differ from another environment's", str(skip.msg))
        return
    foreign_claims = _env_claims(foreign.token)
    observe("foreign token claims", foreign_claims)
    expect(foreign_claims != claims["access token"],
           expected="iss/aud that differ between environments (each names its own)",
           observed=f"this environment's access token and the other environment's both carry "
                    f"{claims['access token']}")
