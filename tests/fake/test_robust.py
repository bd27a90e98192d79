"""LOGIN-04, ROBUST-01: malformed input of any kind answers 4xx in the envelope, never 5xx."""
from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fake.conftest import API, Fake, bearer

JSON = {"content-type": "application/json"}
POST_ENDPOINTS = ["/auth/login", "/auth/verify-2fa", "/auth/refresh"]

BODIES: list[tuple[bytes, dict[str, str], int]] = [
    (b"", JSON, 400),
    (b"   ", JSON, 400),
    (b"{", JSON, 400),
    (b"not json", JSON, 400),
    (b"[]", JSON, 400),
    (b'"a string"', JSON, 400),
    (b"null", JSON, 400),
    (b"42", JSON, 400),
    (b"NaN", JSON, 400),
    (b"\xff\xfe{\x00}\x00", JSON, 400),
    (b'{"email": "\xc3\x28"}', JSON, 400),
    (b"\xef\xbb\xbf{}", JSON, 400),
    (b"[" * 60000, JSON, 400),
    (b'{"a": ' + b"9" * 5000 + b"}", JSON, 400),
    (b'{"email": "a@b", "password": "x"}', {"content-type": "text/plain"}, 415),
    (b'{"email": "a@b", "password": "x"}', {}, 415),
    (b"email=a%40b&password=x", {"content-type": "application/x-www-form-urlencoded"}, 415),
    (b'{"email": "a@b", "password": "x"}', {"content-type": "application/xml"}, 415),
]


def _no_5xx_envelope(response: Any, status: int | set[int]) -> None:
    expected = {status} if isinstance(status, int) else status
    assert response.status_code in expected, (response.status_code, response.text[:200])
    body = response.json()
    assert body["success"] is False
    assert isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str)


@pytest.mark.parametrize("endpoint", POST_ENDPOINTS)
@pytest.mark.parametrize(("content", "headers", "status"), BODIES)
def test_malformed_bodies(fake: Fake, endpoint: str, content: bytes, headers: dict[str, str],
                          status: int) -> None:
    response = fake.client().post(f"{API}{endpoint}", content=content, headers=headers)
    _no_5xx_envelope(response, status)


@pytest.mark.parametrize("body", [
    {}, {"email": "a@b"}, {"password": "x"}, {"email": None, "password": "x"},
    {"email": 1, "password": "x"}, {"email": "a@b", "password": 1},
    {"email": ["a@b"], "password": "x"}, {"email": {"$ne": ""}, "password": {"$ne": ""}},
    {"email": True, "password": False}, {"email": "", "password": ""},
    {"email": "a@b", "password": "x" * 5000}, {"email": "a" * 5000 + "@b", "password": "x"},
])
def test_missing_mistyped_or_absurd_login_fields_answer_400(fake: Fake,
                                                            body: dict[str, Any]) -> None:
    _no_5xx_envelope(fake.client().post(f"{API}/auth/login", json=body), 400)


@pytest.mark.parametrize("body", [{}, {"pendingToken": "x"}, {"code": "123456"},
                                  {"pendingToken": 1, "code": "123456"},
                                  {"pendingToken": "x", "code": 123456}])
def test_mistyped_verify_2fa_fields_answer_400(fake: Fake, body: dict[str, Any]) -> None:
    _no_5xx_envelope(fake.client().post(f"{API}/auth/verify-2fa", json=body), 400)


@pytest.mark.parametrize("endpoint", POST_ENDPOINTS)
def test_huge_bodies_answer_413(fake: Fake, endpoint: str) -> None:
    content = b'{"email": "' + b"a" * (70 * 1024) + b'", "password": "x"}'
    _no_5xx_envelope(fake.client().post(f"{API}{endpoint}", content=content, headers=JSON), 413)


def test_a_lying_content_length_is_refused_before_reading(fake: Fake) -> None:
    response = fake.client().post(f"{API}/auth/login", content=b"{}",
                                  headers={**JSON, "content-length": str(10**9)})
    assert response.status_code in {400, 413}


@pytest.mark.parametrize("value", ["\ud800", "\udfff\ud800", "\x00", "é" * 10])
def test_odd_unicode_in_fields_is_handled(fake: Fake, value: str) -> None:
    body = json.dumps({"email": value, "password": value}).encode()  # \uXXXX escapes
    response = fake.client().post(f"{API}/auth/login", content=body, headers=JSON)
    _no_5xx_envelope(response, 401)
    body = json.dumps({"refreshToken": value}).encode()
    _no_5xx_envelope(fake.client().post(f"{API}/auth/refresh", content=body, headers=JSON), 401)
    headers = {"Authorization": b"Bearer " + value.encode("utf-8", "surrogatepass")}
    _no_5xx_envelope(fake.client().get(f"{API}/agents", headers=headers), 401)


def test_extra_fields_and_charset_parameters_are_accepted(fake: Fake, user: dict[str, Any]) -> None:
    body = json.dumps({"email": user["email"], "password": user["password"], "extra": [1]})
    response = fake.client().post(f"{API}/auth/login", content=body.encode(),
                                  headers={"content-type": "Application/JSON; charset=utf-8"})
    assert response.status_code == 200


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/auth/login"), ("PUT", "/auth/login"), ("DELETE", "/auth/refresh"),
    ("PATCH", "/auth/logout"), ("POST", "/agents"), ("OPTIONS", "/agents"),
    ("TRACE", "/auth/verify-2fa"),
])
def test_odd_methods_answer_405(fake: Fake, method: str, path: str) -> None:
    response = fake.client().request(method, f"{API}{path}")
    _no_5xx_envelope(response, 405)
    assert "allow" in response.headers


@pytest.mark.parametrize("path", ["/", "/api/v1", "/api/v1/users", "/api/v2/agents",
                                  "/api/v1/auth/login/../../x", "/%ff"])
def test_unknown_paths_answer_404(fake: Fake, path: str) -> None:
    _no_5xx_envelope(fake.client().get(path), 404)


def test_agents_ignores_a_body_and_query(fake: Fake, user: dict[str, Any]) -> None:
    token = fake.login(user)["token"]
    response = fake.client().request("GET", f"{API}/agents?x=1&x=2", content=b"\xff" * 100,
                                     headers=bearer(token))
    assert response.status_code == 200


def test_an_unexpected_error_is_an_envelope_500_not_a_bare_one(fake: Fake) -> None:
    def boom(*_: Any, **__: Any) -> None:
        raise RuntimeError("a deliberate bug")

    fake.service.login = boom
    response = fake.client().post(f"{API}/auth/login", json={"email": "a@b", "password": "x"})
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "deliberate" not in response.text
