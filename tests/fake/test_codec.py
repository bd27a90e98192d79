"""The codec's fast path agrees with PyJWT: same tokens out, same verdict on every token in."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest

from akol_fake._tokens import TokenCodec

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
KEY = b"a-known-test-signing-key-of-32-bytes!"
ISSUER = "akol-production"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signed(header: dict[str, Any] | str, payload: dict[str, Any] | str, key: bytes = KEY) -> str:
    segments = [_b64(json.dumps(part, separators=(",", ":")).encode()) if isinstance(part, dict) else part
                for part in (header, payload)]
    signing_input = ".".join(segments)
    return f"{signing_input}.{_b64(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())}"


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"sub": "user_1", "jti": "j1", "iat": now, "exp": now + 900, "typ": "access",
              "role": "USER", "iss": ISSUER, "aud": ISSUER}
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not ...}


def _pyjwt_only(key: bytes = KEY) -> TokenCodec:
    codec = TokenCodec(key, "production")
    codec._fast = False  # noqa: SLF001 - the reference: every token through PyJWT
    return codec


def test_encode_is_byte_for_byte_pyjwt() -> None:
    claims = {"sub": "user_1", "jti": "j1", "iat": 1, "exp": 901, "typ": "access", "name": "Zoë \u2028"}
    assert TokenCodec(KEY, "production").encode(claims) == _pyjwt_only().encode(claims)
    assert TokenCodec(KEY, "production").encode(claims) == jwt.encode(
        {**claims, "iss": ISSUER, "aud": ISSUER}, KEY, algorithm="HS256")


HS256 = {"alg": "HS256", "typ": "JWT"}
GOOD = _signed(HS256, _claims())
HEAD, BODY, SIG = GOOD.split(".")
# A payload whose base64url has "-"/"_" and needs padding: its standard and padded spellings differ.
ODD = next(body for n in range(1, 9) if (body := _signed(HS256, _claims(note="?>" * n)).split(".")[1])
           and len(body) % 4 and {"-", "_"} & set(body))
TOKENS = {
    "issued shape": GOOD,
    "header keys in another order": _signed({"typ": "JWT", "alg": "HS256"}, _claims()),
    "header without typ": _signed({"alg": "HS256"}, _claims()),
    "kid header": _signed({**HS256, "kid": "k"}, _claims()),
    "crit header": _signed({**HS256, "crit": ["exp"]}, _claims()),
    "alg none": f"{_b64(json.dumps({'alg': 'none'}).encode())}.{BODY}.",
    "alg HS512 under the HS256 header": _signed({"alg": "HS512", "typ": "JWT"}, _claims()),
    "padded signature": f"{GOOD}=",
    "padded payload": _signed(HEAD, ODD + "=" * (-len(ODD) % 4)),
    "payload in standard base64": _signed(HEAD, ODD.replace("-", "+").replace("_", "/")),
    "payload with junk characters": _signed(HEAD, BODY[:8] + "!!" + BODY[8:]),
    "signature altered": f"{HEAD}.{BODY}.{SIG[:-2]}{'AA' if SIG[-2:] != 'AA' else 'BB'}",
    "signature of another key": _signed(HS256, _claims(), b"x" * 32),
    "signature missing": f"{HEAD}.{BODY}.",
    "four segments": f"{GOOD}.{SIG}",
    "non-ASCII": GOOD + "é",
    "payload not JSON": _signed(HEAD, _b64(b"{not json")),
    "payload an array": _signed(HEAD, _b64(b"[1,2]")),
    "payload deeply nested": _signed(HEAD, _b64(b"[" * 100_000 + b"]" * 100_000)),
    "aud a list holding the issuer": _signed(HS256, _claims(aud=[ISSUER, "other"])),
    "aud a list without the issuer": _signed(HS256, _claims(aud=["other"])),
    "aud of another environment": _signed(HS256, _claims(aud="akol-staging")),
    "iss of another environment": _signed(HS256, _claims(iss="akol-staging")),
    "iss not a string": _signed(HS256, _claims(iss=["akol-production"])),
    "jti missing": _signed(HS256, _claims(jti=...)),
    "sub null": _signed(HS256, _claims(sub=None)),
    "sub a number": _signed(HS256, _claims(sub=7)),
    "exp a string": _signed(HS256, _claims(exp="never")),
    "exp passed": _signed(HS256, _claims(exp=int(time.time()) - 1)),
    "iat a boolean": _signed(HS256, _claims(iat=True)),
    "empty": "",
    "garbage": "not.a.jwt",
}


@pytest.mark.parametrize("token", TOKENS.values(), ids=TOKENS.keys())
def test_decode_agrees_with_pyjwt(token: str) -> None:
    now = time.time()
    assert TokenCodec(KEY, "production").decode(token, now) == _pyjwt_only().decode(token, now)


def test_the_issued_shape_takes_the_fast_path_and_is_accepted() -> None:
    codec = TokenCodec(KEY, "production")
    assert codec._decode_issued_shape(GOOD) == jwt.decode(GOOD, options={"verify_signature": False})  # noqa: SLF001
    claims = _claims()
    assert codec.decode(codec.encode(claims), time.time()) == claims


def test_a_key_pyjwt_refuses_for_hmac_keeps_pyjwts_error() -> None:
    pem = b"-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n"
    with pytest.raises(jwt.InvalidKeyError):
        TokenCodec(pem, "production").encode(_claims())
