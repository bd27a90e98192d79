"""JWT-01..04: forgeries answer 401 — alg none, bad signatures, edited payloads, foreign keys."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from akol_fake import Policy, create_app
from tests.fake.conftest import API, Fake, bearer

# Attackers use short keys on purpose; pyjwt's advice about key length is noise here.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
KEY = "a-known-test-signing-key-of-32-bytes!"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json64(obj: dict[str, Any]) -> str:
    return _b64(json.dumps(obj, separators=(",", ":")).encode())


@pytest.fixture
def known() -> Fake:
    """A fake whose signing key the test knows, to prove the header, not the key, is refused."""
    return Fake(create_app(Policy(hash_iterations=1000, signing_key=KEY)))


@pytest.fixture
def claims(known: Fake) -> dict[str, Any]:
    token = known.login(known.user())["token"]
    return jwt.decode(token, options={"verify_signature": False})


def _hand_signed(header: dict[str, Any], claims: dict[str, Any], key: bytes) -> str:
    signing_input = f"{_json64(header)}.{_json64(claims)}"
    return f"{signing_input}.{_b64(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())}"


def _rejected(fake: Fake, token: str) -> bool:
    response = fake.client().get(f"{API}/agents", headers=bearer(token))
    return bool(response.status_code == 401)


def test_the_known_key_signs_a_valid_token(known: Fake, claims: dict[str, Any]) -> None:
    assert not _rejected(known, jwt.encode(claims, KEY, algorithm="HS256"))


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
@pytest.mark.parametrize("signature", ["", "sig"])
def test_alg_none_is_rejected(known: Fake, claims: dict[str, Any], alg: str,
                              signature: str) -> None:
    token = f"{_json64({'alg': alg, 'typ': 'JWT'})}.{_json64(claims)}.{signature}"
    assert _rejected(known, token)


@pytest.mark.parametrize("alg", ["HS384", "HS512"])
def test_other_hmac_algorithms_are_rejected(known: Fake, claims: dict[str, Any], alg: str) -> None:
    assert _rejected(known, jwt.encode(claims, KEY, algorithm=alg))


def test_stripped_truncated_or_altered_signatures(known: Fake, claims: dict[str, Any]) -> None:
    token = jwt.encode(claims, KEY, algorithm="HS256")
    head, body, sig = token.split(".")
    flipped = ("A" if sig[0] != "A" else "B") + sig[1:]
    for forged in (f"{head}.{body}.", f"{head}.{body}", f"{head}.{body}.{sig[:-4]}",
                   f"{head}.{body}.{flipped}", f"{head}.{body}.{_b64(bytes(32))}"):
        assert _rejected(known, forged)


@pytest.mark.parametrize("edit", [{"role": "ADMIN"}, {"sub": "user_someone_else"},
                                  {"exp": 4102444800}])
def test_payload_edited_under_the_original_signature(known: Fake, claims: dict[str, Any],
                                                     edit: dict[str, Any]) -> None:
    head, _, sig = jwt.encode(claims, KEY, algorithm="HS256").split(".")
    assert _rejected(known, f"{head}.{_json64({**claims, **edit})}.{sig}")


@pytest.mark.parametrize("key", ["another-random-key-of-enough-length!", "secret"])
def test_attacker_keys_are_rejected(known: Fake, claims: dict[str, Any], key: str) -> None:
    assert _rejected(known, jwt.encode(claims, key, algorithm="HS256"))


def test_the_empty_key_is_rejected(known: Fake, claims: dict[str, Any]) -> None:
    assert _rejected(known, _hand_signed({"alg": "HS256", "typ": "JWT"}, claims, b""))


@pytest.mark.parametrize("header", [
    {"kid": "../../../../dev/null"}, {"kid": "x' UNION SELECT 'key"},
    {"jku": "https://attacker.example/jwks.json"},
    {"jwk": {"kty": "oct", "k": _b64(KEY.encode())}}, {"x5u": "https://attacker.example/c"},
])
def test_key_selecting_headers_are_rejected_even_with_the_right_key(
        known: Fake, claims: dict[str, Any], header: dict[str, Any]) -> None:
    assert _rejected(known, jwt.encode(claims, KEY, algorithm="HS256", headers=header))


def test_attacker_signed_kid_with_empty_key_is_rejected(known: Fake,
                                                        claims: dict[str, Any]) -> None:
    header = {"alg": "HS256", "typ": "JWT", "kid": "/dev/null"}
    assert _rejected(known, _hand_signed(header, claims, b""))


def test_es256_tokens_and_psychic_signatures_are_rejected(known: Fake,
                                                          claims: dict[str, Any]) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    assert _rejected(known, jwt.encode(claims, private, algorithm="ES256"))
    head = _json64({"alg": "ES256", "typ": "JWT"})
    assert _rejected(known, f"{head}.{_json64(claims)}.{_b64(bytes(64))}")


def test_tokens_without_required_claims_are_rejected(known: Fake, claims: dict[str, Any]) -> None:
    for missing in ("exp", "iat", "jti", "sub", "typ", "iss", "aud"):
        partial = {k: v for k, v in claims.items() if k != missing}
        assert _rejected(known, jwt.encode(partial, KEY, algorithm="HS256")), missing


@pytest.mark.parametrize("edit", [{"iss": "akol-staging"}, {"aud": "akol-staging"},
                                  {"exp": "never"}, {"typ": "refresh"}, {"sub": 7}])
def test_wrong_claim_values_are_rejected_even_when_signed(known: Fake, claims: dict[str, Any],
                                                          edit: dict[str, Any]) -> None:
    assert _rejected(known, jwt.encode({**claims, **edit}, KEY, algorithm="HS256"))
