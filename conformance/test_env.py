"""ENV — per-environment signing: another environment's token is refused and tokens name theirs."""
from __future__ import annotations

from typing import Any

import pytest

from akol_conformance.check import expect, expect_status, parse_jwt

_ENV_CLAIMS = ("iss", "aud")


def _env_claims(token: str) -> dict[str, Any]:
    parts = parse_jwt(token)
    return {claim: parts.payload.get(claim) for claim in _ENV_CLAIMS} if parts else {}


@pytest.mark.clause("ENV-01")
def test_foreign_environment_token_is_refused(api, foreign_token, observe) -> None:
    observe("foreign token claims", _env_claims(foreign_token) or "not a JWT")
    expect_status(api.agents(token=foreign_token), 401,
                  "protected endpoint with an access token issued by another environment")


@pytest.mark.clause("ENV-02")
def test_tokens_name_their_environment(session, observe, request) -> None:
    tokens = {"access token": session.token, "refresh token": session.refresh_token}
    claims = {name: _env_claims(token) for name, token in tokens.items()}
    observe("claims", claims)
    unnamed = [name for name, found in claims.items() if not any(found.values())]
    expect(not unnamed, expected="an iss or aud claim naming the environment",
           observed=f"no iss and no aud in the {' and the '.join(unnamed)}")
    try:
        foreign = _env_claims(request.getfixturevalue("foreign_token"))
    except pytest.skip.Exception:
        return  # No other environment to compare with: presence is all that can be checked.
    observe("foreign token claims", foreign)
    expect(foreign != claims["access token"],
           expected="iss/aud that differ between environments (each names its own)",
           observed=f"this environment's access token and the other environment's both carry "
                    f"{claims['access token']}")
