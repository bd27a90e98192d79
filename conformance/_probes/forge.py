"""JWT forgeries a verifier must refuse, built from a real token (jwt_tool's playbook).

Every builder takes the parsed original and returns named ``Forgery`` values; the test
sends them and reports the names of the accepted ones, never a token. Raw compact
serialisation is built by hand because pyjwt refuses most of these on purpose.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import akol_fixtures
from akol_conformance.client import parse_jwt

__all__ = [
    "Forgery", "Jwt", "alg_none", "attacker_signed", "b64url", "bad_signatures",
    "crack_hmac", "edited_payloads", "hmac_with_public_key", "load_wordlist", "unb64url",
]

_COMMENT = b"#!comment:"
HMAC_HASHES = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
NONE_VARIANTS = ("none", "None", "NONE", "nOnE")
# A loopback URL nobody serves: a verifier that fetches it gets nothing, one that trusts it
# without fetching (or from a cache) is what the forgery is after.
JKU_URL = "http://127.0.0.1:9/.well-known/jwks.json"
KID_DEV_NULL = "../../../../../../dev/null"
KID_SQL = "x' UNION SELECT 'attacker'-- "
# DER SEQUENCE { INTEGER 0, INTEGER 0 }: the form jwt_tool sends for CVE-2022-21449.
_DER_ZERO_SIGNATURE = bytes.fromhex("3006020100020100")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _segment(obj: Mapping[str, Any]) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


@dataclass(frozen=True)
class Jwt:
    """A JWS compact token split into its parts (the raw segments are kept byte for byte)."""

    header: dict[str, Any]
    payload: dict[str, Any]
    raw_header: str
    raw_payload: str
    raw_signature: str

    @classmethod
    def parse(cls, token: str, what: str = "the token") -> Jwt:
        parts = parse_jwt(token)
        if parts is None:
            # The token itself is a credential: describe it, never echo it.
            raise ValueError(f"{what} is not a JWS compact JWT (three base64url parts, JSON "
                             "header and payload); the JWT checks need one")
        return cls(parts.header, parts.payload, *token.split("."))

    @property
    def alg(self) -> str:
        return str(self.header.get("alg"))

    @property
    def signature(self) -> bytes:
        return unb64url(self.raw_signature)

    @property
    def signing_input(self) -> bytes:
        return f"{self.raw_header}.{self.raw_payload}".encode("ascii")


@dataclass(frozen=True)
class Forgery:
    name: str
    token: str


def _hmac(alg: str, key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, HMAC_HASHES.get(alg, hashlib.sha256)).digest()


def _hs_signed(name: str, original: Jwt, header: Mapping[str, Any], key: bytes) -> Forgery:
    head = _segment(header)
    alg = str(header["alg"])
    signature = _hmac(alg, key, f"{head}.{original.raw_payload}".encode("ascii"))
    return Forgery(name, f"{head}.{original.raw_payload}.{b64url(signature)}")


def _hmac_alg(original: Jwt) -> str:
    return original.alg if original.alg in HMAC_HASHES else "HS256"


# ---------------------------------------------------------------- JWT-01
def alg_none(original: Jwt) -> list[Forgery]:
    """The original claims under ``alg: none`` spellings, with an empty and with the old signature."""
    forgeries = []
    for variant in NONE_VARIANTS:
        head = _segment({**original.header, "alg": variant})
        forgeries.append(Forgery(f"alg {variant!r}, empty signature",
                                 f"{head}.{original.raw_payload}."))
        forgeries.append(Forgery(f"alg {variant!r}, original signature kept",
                                 f"{head}.{original.raw_payload}.{original.raw_signature}"))
    return forgeries


# ---------------------------------------------------------------- JWT-02
def _with_signature(original: Jwt, signature: bytes) -> str:
    return f"{original.raw_header}.{original.raw_payload}.{b64url(signature)}"


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1:]


def _other_char(char: str) -> str:
    return "B" if char == "A" else "A"


def bad_signatures(original: Jwt) -> list[Forgery]:
    """The original header and claims with a stripped, truncated or altered signature."""
    sig = original.signature
    if not sig:
        raise ValueError("the token has an empty signature already: it is not a signed JWT")
    head_payload = f"{original.raw_header}.{original.raw_payload}"
    # Change a middle character: the last one may only carry padding bits that lenient
    # base64 decoders ignore, which would make the "altered" token equal to the original.
    middle = len(original.raw_signature) // 2
    altered_char = (original.raw_signature[:middle] + _other_char(original.raw_signature[middle])
                    + original.raw_signature[middle + 1:])
    return [
        Forgery("signature stripped (empty third part)", f"{head_payload}."),
        Forgery("signature part missing (two parts)", head_payload),
        Forgery("signature truncated by one byte", _with_signature(original, sig[:-1])),
        Forgery("signature truncated to half", _with_signature(original, sig[: len(sig) // 2])),
        Forgery("signature with its first byte altered", _with_signature(original, _flip(sig, 0))),
        Forgery("signature with its last byte altered",
                _with_signature(original, _flip(sig, len(sig) - 1))),
        Forgery("signature with one base64url character altered",
                f"{head_payload}.{altered_char}"),
    ]


# ---------------------------------------------------------------- JWT-03
def edited_payloads(original: Jwt, other_sub: str | None = None) -> list[Forgery]:
    """Claims changed under the original header and signature: role, sub, exp."""
    claims = original.payload
    role = "SUPERADMIN" if claims.get("role") == "ADMIN" else "ADMIN"
    sub = other_sub if other_sub and other_sub != claims.get("sub") else f"{claims.get('sub')}0"
    exp = claims.get("exp")
    later = (int(exp) if isinstance(exp, (int, float)) else 2_000_000_000) + 365 * 86400
    edits = [
        (f"role changed to {role}", {**claims, "role": role}),
        ("sub changed to another account" if other_sub else "sub changed", {**claims, "sub": sub}),
        ("exp moved one year later", {**claims, "exp": later}),
    ]
    return [Forgery(name, f"{original.raw_header}.{_segment(payload)}.{original.raw_signature}")
            for name, payload in edits]


# ---------------------------------------------------------------- JWT-04
@functools.cache
def _attacker_rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _int_b64(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def _attacker_jwk() -> dict[str, str]:
    numbers = _attacker_rsa().public_key().public_numbers()
    return {"kty": "RSA", "kid": "attacker", "use": "sig", "alg": "RS256",
            "n": _int_b64(numbers.n), "e": _int_b64(numbers.e)}


def _rs256_signed(name: str, original: Jwt, header: Mapping[str, Any]) -> Forgery:
    head = _segment(header)
    message = f"{head}.{original.raw_payload}".encode("ascii")
    signature = _attacker_rsa().sign(message, padding.PKCS1v15(), hashes.SHA256())
    return Forgery(name, f"{head}.{original.raw_payload}.{b64url(signature)}")


def attacker_signed(original: Jwt) -> list[Forgery]:
    """The original claims signed with keys the attacker controls or names."""
    base = {k: v for k, v in original.header.items() if k not in {"kid", "jwk", "jku", "x5u", "x5c"}}
    hs = _hmac_alg(original)
    es256 = _segment({**base, "alg": "ES256"})
    return [
        _hs_signed(f"{hs} with a random attacker key", original, {**base, "alg": hs},
                   secrets.token_bytes(32)),
        _hs_signed(f"{hs} with the empty key", original, {**base, "alg": hs}, b""),
        _hs_signed("kid ../../../../../../dev/null, HS256 with the empty key", original,
                   {**base, "alg": "HS256", "kid": KID_DEV_NULL}, b""),
        _hs_signed("SQL-injected kid, HS256 with the key 'attacker'", original,
                   {**base, "alg": "HS256", "kid": KID_SQL}, b"attacker"),
        _rs256_signed("embedded jwk header with the attacker's RSA key, RS256", original,
                      {**base, "alg": "RS256", "jwk": _attacker_jwk()}),
        _rs256_signed("jku header on a loopback URL, RS256 with the attacker's key", original,
                      {**base, "alg": "RS256", "kid": "attacker", "jku": JKU_URL}),
        Forgery("ES256 psychic signature r=s=0 (raw 64 zero bytes, CVE-2022-21449)",
                f"{es256}.{original.raw_payload}.{b64url(bytes(64))}"),
        Forgery("ES256 psychic signature r=s=0 (DER form, CVE-2022-21449)",
                f"{es256}.{original.raw_payload}.{b64url(_DER_ZERO_SIGNATURE)}"),
    ]


def hmac_with_public_key(original: Jwt, public_key_pem: bytes) -> list[Forgery]:
    """Algorithm confusion: HS256 keyed with the target's own RSA public key, as PEM bytes with
    and without the final newline (a vulnerable verifier uses whichever its key file holds)."""
    header = {**original.header, "alg": "HS256"}
    pem = public_key_pem.strip()
    return [_hs_signed(f"HS256 keyed with the target's RSA public key PEM{suffix}", original,
                       header, key)
            for key, suffix in ((pem + b"\n", ""), (pem, " (no final newline)"))]


# ---------------------------------------------------------------- JWT-05
def load_wordlist() -> list[tuple[int, bytes]]:
    """(line number, secret) for every entry of the bundled list; comment lines are not entries,
    an empty line is (the empty key is a weak secret too). ``akol_fixtures.MissingData`` if absent."""
    lines = akol_fixtures.path(akol_fixtures.JWT_SECRETS).read_bytes().splitlines()
    return [(number, line) for number, line in enumerate(lines, start=1)
            if not line.startswith(_COMMENT)]


def crack_hmac(token: Jwt, words: Iterable[tuple[int, bytes]]) -> int | None:
    """The line number of the entry that is the token's HMAC key, or None. Offline only."""
    digest = HMAC_HASHES.get(token.alg)
    if digest is None:
        raise ValueError(f"only HS256/384/512 tokens can be cracked offline, this one is {token.alg}")
    message, signature = token.signing_input, token.signature
    for number, word in words:
        if hmac.compare_digest(hmac.new(word, message, digest).digest(), signature):
            return number
    return None
