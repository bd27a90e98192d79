"""The JWT forgery toolkit (conformance/_forge.py): forgeries are what their names say."""
from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import akol_fixtures
from akol_conformance._probes import forge as _forge
from akol_conformance._probes.forge import Jwt

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
KEY = b"a-strong-key-nobody-would-ever-guess-0123"
CLAIMS = {"sub": "user_1", "role": "USER", "iat": int(time.time()), "exp": int(time.time()) + 900,
          "iss": "akol-production", "aud": "akol-production"}


def _original(key: bytes = KEY) -> tuple[str, Jwt]:
    token = jwt.encode(CLAIMS, key, algorithm="HS256")
    return token, Jwt.parse(token)


def _verifies(token: str, key: bytes | str = KEY, alg: str = "HS256") -> bool:
    try:
        jwt.decode(token, key, algorithms=[alg], audience="akol-production")
    except jwt.InvalidTokenError:
        return False
    return True


def test_parse_refuses_non_jwts_without_echoing_them() -> None:
    with pytest.raises(ValueError, match="not a JWS compact JWT") as info:
        Jwt.parse("akol_pat_secret-value")
    assert "secret-value" not in str(info.value)


def test_every_forgery_is_new_and_refused_by_a_correct_verifier() -> None:
    token, original = _original()
    forgeries = (_forge.alg_none(original) + _forge.bad_signatures(original)
                 + _forge.edited_payloads(original, "user_2") + _forge.attacker_signed(original))
    assert len({f.name for f in forgeries}) == len(forgeries) == 26
    assert all(f.token != token and not _verifies(f.token) for f in forgeries)


def test_alg_none_variants_keep_the_claims() -> None:
    _, original = _original()
    forgeries = _forge.alg_none(original)
    algs = {Jwt.parse(f.token).alg for f in forgeries if f.token.endswith(".")}
    assert algs == set(_forge.NONE_VARIANTS)
    assert all(f.token.split(".")[1] == original.raw_payload for f in forgeries)


def test_altered_signatures_decode_to_different_bytes() -> None:
    _, original = _original()
    for forgery in _forge.bad_signatures(original):
        parts = forgery.token.split(".")
        if len(parts) == 3 and parts[2]:
            assert _forge.unb64url(parts[2]) != original.signature, forgery.name


def test_attacker_forgeries_verify_under_the_attackers_keys() -> None:
    _, original = _original()
    by_name = {f.name: f.token for f in _forge.attacker_signed(original)}
    empty = by_name["HS256 with the empty key"]  # pyjwt refuses empty keys: check by hand
    head_payload, signature = empty.rsplit(".", 1)
    assert _forge.unb64url(signature) == _forge._hmac("HS256", b"", head_payload.encode())
    assert _verifies(by_name["SQL-injected kid, HS256 with the key 'attacker'"], b"attacker")
    jwk_token = by_name["embedded jwk header with the attacker's RSA key, RS256"]
    embedded = jwt.PyJWK(jwt.get_unverified_header(jwk_token)["jwk"], algorithm="RS256").key
    assert _verifies(jwk_token, embedded, "RS256")


def test_alg_confusion_is_hs256_keyed_with_the_pem() -> None:
    _, original = _original()
    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with_newline, without = _forge.hmac_with_public_key(original, pem)
    for forgery, key in ((with_newline, pem.strip() + b"\n"), (without, pem.strip())):
        head_payload, signature = forgery.token.rsplit(".", 1)
        assert _forge.unb64url(signature) == _forge._hmac("HS256", key, head_payload.encode())


def test_crack_finds_a_listed_key_by_line_and_misses_a_strong_one() -> None:
    words = _forge.load_wordlist()
    assert len(words) > 3000
    lines = akol_fixtures.path(akol_fixtures.JWT_SECRETS).read_bytes().splitlines()
    assert _forge.crack_hmac(_original(KEY)[1], words) is None
    number = _forge.crack_hmac(_original(b"your-256-bit-secret")[1], words)
    assert number is not None and lines[number - 1] == b"your-256-bit-secret"
    assert not any(word.startswith(b"#!comment:") for _, word in words)


def test_crack_refuses_non_hmac_tokens() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(ValueError, match="only HS256/384/512"):
        _forge.crack_hmac(Jwt.parse(jwt.encode(CLAIMS, key, algorithm="RS256")), [])
