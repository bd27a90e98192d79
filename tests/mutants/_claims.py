"""Claim checks for JWT/ENV mutants that replace the fake's signature step with a flawed one.

A mutant decides, its own (wrong) way, whether a token's signature or key is good, then
hands the token to ``accepted_claims``, which applies every other rule of the correct
fake (typ, exp on the server clock, iss/aud), so exactly one behaviour differs.
"""
from __future__ import annotations

from typing import Any

import jwt

from akol_fake import AuthService

__all__ = ["accepted_claims", "header", "hmac_key"]


def header(token: str) -> dict[str, Any]:
    """The unverified JOSE header, {} for anything that is not a JWS."""
    try:
        return dict(jwt.get_unverified_header(token))
    except (jwt.InvalidTokenError, ValueError, TypeError):
        return {}


def hmac_key(service: AuthService) -> bytes:
    """The fake's own signing key (mutants that compare signatures their own way need it)."""
    return service.tokens._key  # noqa: SLF001 - mutants reach into the fake on purpose


def accepted_claims(service: AuthService, token: str, expected_typ: str, *,
                    key: bytes | None = None, check_issuer: bool = True) -> dict[str, Any] | None:
    """The claims if they pass the fake's claim rules; the signature is verified only with ``key``."""
    issuer = service.tokens.issuer
    try:
        claims = jwt.decode(
            token, key or b"", algorithms=["HS256"], audience=issuer if check_issuer else None,
            issuer=issuer if check_issuer else None,
            options={"verify_signature": key is not None, "verify_aud": check_issuer,
                     "verify_iss": check_issuer, "verify_exp": False, "verify_iat": False,
                     "verify_nbf": False})
    except (jwt.InvalidTokenError, ValueError, TypeError):
        return None
    exp = claims.get("exp")
    if claims.get("typ") != expected_typ or not isinstance(claims.get("sub"), str):
        return None
    if not isinstance(claims.get("jti"), str) or not isinstance(exp, (int, float)):
        return None
    return claims if service.clock.now() < exp else None
