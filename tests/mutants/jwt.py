"""JWT mutants: token verification, each broken once the way jwt_tool's forgeries exploit.

Every service mutant overrides ``decode`` alone: it accepts one more kind of token than the
correct fake (via ``_claims.accepted_claims``, which keeps every other rule) and leaves the
rest to ``super().decode``.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import posixpath
import re
from typing import Any

import jwt as pyjwt

from akol_fake import AuthService
from tests.mutants._base import Mutant
from tests.mutants._claims import accepted_claims, header, hmac_key

_SQL_UNION = re.compile(r"'\s*UNION\s+SELECT\s+'([^']*)'", re.IGNORECASE)
_KEY_DIR = "/etc/akol/keys"


def _signature(token: str) -> bytes | None:
    try:
        raw = token.rsplit(".", 1)[1]
        return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except (IndexError, ValueError, binascii.Error):
        return None


def _hs256(key: bytes, token: str) -> bytes:
    return hmac.new(key, token.rsplit(".", 1)[0].encode(), hashlib.sha256).digest()


def _signed_with(key: bytes, token: str) -> bool:
    return _signed_with(key, token)


class _AlgNone(AuthService):
    def decode(self, token: str, expected_typ: str) -> dict[str, Any] | None:
        if str(header(token).get("alg")).lower() == "none":
            return accepted_claims(self, token, expected_typ)
        return super().decode(token, expected_typ)


class _AlgNoneCaseSensitive(AuthService):
    """Refuses alg "none" by exact match; the library it hands the rest to ignores case."""

    def decode(self, token: str, expected_typ: str) -> dict[str, Any] | None:
        alg = str(header(token).get("alg"))
        if alg != "none" and alg.lower() == "none":
            return accepted_claims(self, token, expected_typ)
        return super().decode(token, expected_typ)


class _SignatureOptional(AuthService):
    """The signature is checked only when there is one."""

    def decode(self, token: str, expected_typ: str) -> dict[str, Any] | None:
        if token.count(".") == 2 and token.endswith(".") and header(token).get("alg") == "HS256":
            return accepted_claims(self, token, expected_typ)
        return super().decode(token, expected_typ)


class _SignaturePrefix(AuthService):
    """Compares only as many signature bytes as the token brings (a hand-rolled compare)."""

    def decode(self, token: str, expected_typ: str) -> dict[str, Any] | None:
        given = _signature(token)
        if given and header(token).get("alg") == "HS256" and \
                _hs256(hmac_key(self), token).startswith(given):
            return accepted_claims(self, token, expected_typ)
        return super().decode(token, expected_typ)


class _Unverified(AuthService):
    """Reads the claims of any HS256 token without checking its signature."""

    def decode(self, token: str, expected_typ: str) -> dict[str, Any] | None:
        if header(token).get("alg") == "HS256":
            return accepted_claims(self, token, expected_typ)
        return super().decode(token, expected_typ)


class _SignatureCache(AuthService):
    """Caches verified signatures; a token whose signature was seen before skips verification."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._verified: set[str] = set()

    def decode(self, token: str, expected_typ: str) -> dict[str, Any] | None:
        signature = token.rsplit(".", 1)[-1]
        if signature in self._verified:
            return accepted_claims(self, token, expected_typ)
        claims = super().decode(token, expected_typ)
        if claims is not None:
            self._verified.add(signature)
        return claims


class _KidFile(AuthService):
    """Loads the HMAC key from the file the token's kid names (only /dev/null exists here)."""

    def decode(self, token: str, expected_typ: str) -> dict[str, Any] | None:
        head = header(token)
        kid = head.get("kid")
        if isinstance(kid, str) and head.get("alg") == "HS256":
            if posixpath.normpath(posixpath.join(_KEY_DIR, kid)) != "/dev/null":
                return None
            return accepted_claims(self, token, expected_typ) \
                if _signed_with(b"", token) else None
        return super().decode(token, expected_typ)


class _KidSql(AuthService):
    """Looks the HMAC key up with ``SELECT key FROM keys WHERE kid = '<kid>'`` (string-built)."""

    def decode(self, token: str, expected_typ: str) -> dict[str, Any] | None:
        head = header(token)
        match = _SQL_UNION.search(str(head.get("kid", "")))
        if match and head.get("alg") == "HS256":
            key = match.group(1).encode()
            return accepted_claims(self, token, expected_typ) \
                if _signed_with(key, token) else None
        return super().decode(token, expected_typ)


class _EmbeddedJwk(AuthService):
    """Verifies RS256 tokens with the public key in their own jwk header."""

    def decode(self, token: str, expected_typ: str) -> dict[str, Any] | None:
        head = header(token)
        if head.get("alg") == "RS256" and isinstance(head.get("jwk"), dict):
            try:
                key = pyjwt.PyJWK(head["jwk"], algorithm="RS256").key
                pyjwt.api_jws.decode(token, key, algorithms=["RS256"])
            except (pyjwt.InvalidTokenError, pyjwt.PyJWKError, ValueError):
                return None
            return accepted_claims(self, token, expected_typ)
        return super().decode(token, expected_typ)


class _PsychicSignature(AuthService):
    """ES256 verification that, like Java 15-18's (CVE-2022-21449), never rejects r = s = 0."""

    def decode(self, token: str, expected_typ: str) -> dict[str, Any] | None:
        signature = _signature(token)
        if header(token).get("alg") == "ES256" and signature is not None:
            zero = signature == bytes(64) or signature == bytes.fromhex("3006020100020100")
            return accepted_claims(self, token, expected_typ) if zero else None
        return super().decode(token, expected_typ)


class _EmptyKeyFallback(AuthService):
    """Also tries the key of an unset environment variable: the empty string."""

    def decode(self, token: str, expected_typ: str) -> dict[str, Any] | None:
        if header(token).get("alg") == "HS256" and \
                _signed_with(b"", token):
            return accepted_claims(self, token, expected_typ)
        return super().decode(token, expected_typ)


MUTANTS: list[Mutant] = [
    Mutant("jwt-alg-none", "JWT-01", 'tokens with alg "none" (any case) are accepted unsigned',
           service=_AlgNone, http=True),
    Mutant("jwt-alg-none-case", "JWT-01",
           'alg "none" is refused by exact match, but "None"/"NONE"/"nOnE" are accepted',
           service=_AlgNoneCaseSensitive),
    Mutant("jwt-signature-optional", "JWT-02", "a token with an empty signature part is accepted",
           service=_SignatureOptional),
    Mutant("jwt-signature-prefix", "JWT-02",
           "signatures are compared only over the bytes the token brings (truncation accepted)",
           service=_SignaturePrefix),
    Mutant("jwt-unverified", "JWT-03", "HS256 signatures are never verified", service=_Unverified),
    Mutant("jwt-signature-cache", "JWT-03",
           "a signature verified once is trusted again with any payload (verification cache)",
           service=_SignatureCache),
    Mutant("jwt-kid-file", "JWT-04", "the HMAC key is read from the file the kid header names",
           service=_KidFile),
    Mutant("jwt-kid-sql", "JWT-04", "the HMAC key is looked up with an SQL query built from kid",
           service=_KidSql),
    Mutant("jwt-embedded-jwk", "JWT-04", "RS256 tokens are verified with their own jwk header",
           service=_EmbeddedJwk),
    Mutant("jwt-psychic-es256", "JWT-04", "ES256 signatures r = s = 0 verify (CVE-2022-21449)",
           service=_PsychicSignature),
    Mutant("jwt-empty-key-fallback", "JWT-04", "HS256 tokens signed with the empty key verify too",
           service=_EmptyKeyFallback),
    Mutant("jwt-weak-secret", "JWT-05", 'the HMAC signing key is "secret"',
           policy={"signing_key": "secret"}),
    Mutant("jwt-env-name-secret", "JWT-05", 'the HMAC signing key is the issuer, "akol-production"',
           policy={"signing_key": "akol-production"}),
]
