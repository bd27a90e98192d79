"""ENV mutants: per-environment signing, each broken once.

A deployment's other environment runs the same code, so these are killed only when the
foreign environment is built from the same mutant (``Mutant.build(env="staging")``), not
from the correct fake.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jwt

from akol_fake import AuthService
from akol_fake._service import Principal
from akol_fake._tokens import TokenCodec
from tests.mutants._base import Mutant
from tests.mutants._claims import accepted_claims, hmac_key

# One key for every environment: "we'll split them later".
SHARED_KEY = "akol-shared-signing-key-9f2c4e1a7b3d5f60"
# The environment the matrix builds the foreign target in (tests/_mutation.py FOREIGN_ENV).
FOREIGN_ENV = "staging"
# What a whole run's earlier checks do to the target's test clock (7-day refresh tokens, 400-day PATs).
_CLOCK_MOVED_SECONDS = 8 * 86_400


class _Stateless(AuthService):
    """Trusts a verified token's claims without looking the account up (common with JWTs, and
    what lets a token of another environment, whose account is unknown here, act at all)."""

    def session_principal(self, token: str) -> Principal | None:
        claims = self.decode(token, "access")
        if claims is None or self.is_revoked(claims["jti"]):
            return None
        return Principal(claims["sub"], str(claims.get("role")), str(claims.get("plan")), "session",
                         claims)


class _IssuerUnchecked(_Stateless):
    """Verifies the signature but not iss/aud: any environment with the same key gets in."""

    def decode(self, token: str, expected_typ: str) -> dict[str, Any] | None:
        return accepted_claims(self, token, expected_typ, key=hmac_key(self), check_issuer=False)


class _IssuerUncheckedClockMoved(_IssuerUnchecked):
    """As ``_IssuerUnchecked``, met the way a whole run meets it: earlier checks moved this target's
    test clock days ahead, so a token the other environment mints at its own clock is already
    expired here unless the suite aligns the clocks first."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.policy.env != FOREIGN_ENV:
            self.clock.advance(_CLOCK_MOVED_SECONDS)


class _IssuerPrefix(_Stateless):
    """Checks iss/aud by prefix: every "akol-…" environment passes."""

    def decode(self, token: str, expected_typ: str) -> dict[str, Any] | None:
        claims = accepted_claims(self, token, expected_typ, key=hmac_key(self), check_issuer=False)
        if claims is None:
            return None
        named = [str(claims.get(c, "")) for c in ("iss", "aud")]
        return claims if all(n.startswith("akol") for n in named) else None


class _AnonymousCodec(TokenCodec):
    """Tokens without iss and aud."""

    def encode(self, claims: Mapping[str, Any]) -> str:
        return jwt.encode(dict(claims), self._key, algorithm="HS256")


class _NoIssuerClaims(AuthService):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tokens = _AnonymousCodec(hmac_key(self), self.policy.env)

    def decode(self, token: str, expected_typ: str) -> dict[str, Any] | None:
        return accepted_claims(self, token, expected_typ, key=hmac_key(self), check_issuer=False)


class _ConstantIssuer(AuthService):
    """iss = aud = "akol" in every environment: the claims name the product, not the environment."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tokens.issuer = "akol"


MUTANTS: list[Mutant] = [
    Mutant("env-shared-key-issuer-unchecked", "ENV-01",
           "stateless verifier, one key for every environment, iss/aud not checked",
           policy={"signing_key": SHARED_KEY}, service=_IssuerUnchecked, http=True),
    Mutant("env-shared-key-after-clock-moved", "ENV-01",
           "as env-shared-key-issuer-unchecked, with the target's test clock 8 days ahead of the other "
           "environment's (as after earlier checks): the other environment's fresh token is expired here "
           "unless the clocks are aligned", policy={"signing_key": SHARED_KEY}, service=_IssuerUncheckedClockMoved,
           http=True),
    Mutant("env-shared-key-issuer-prefix", "ENV-01",
           'stateless verifier, one key for every environment, iss/aud checked only for an "akol" '
           "prefix",
           policy={"signing_key": SHARED_KEY}, service=_IssuerPrefix),
    Mutant("env-no-iss-aud", "ENV-02", "tokens carry neither iss nor aud", service=_NoIssuerClaims),
    Mutant("env-constant-issuer", "ENV-02",
           'iss = aud = "akol" in every environment (names no environment)', service=_ConstantIssuer),
]
