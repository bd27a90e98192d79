"""The page's token lifetimes and moving the server clock to a point of a token's life."""
from __future__ import annotations

import pytest

from conformance._clock import Clock
from conformance._jwtparse import parse_jwt

__all__ = ["ACCESS_TTL", "REFRESH_TTL", "advance_to", "issued_at", "numeric"]

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
