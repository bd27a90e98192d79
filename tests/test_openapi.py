"""fixtures/openapi.yaml: a valid OpenAPI 3.1 document that states the spec's contract — what
the Akol page fixes is enforced, what it leaves open stays open — and the reference fake's
answers, every documented kind of them, conform to it."""
from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from akol_conformance._probes import fuzz as _fuzz
from akol_conformance._probes import openapi as _openapi
from akol_conformance.client import totp_code
from akol_fake import Policy, create_app
from tests.fake.conftest import API, Fake, bearer

LOGIN, VERIFY, REFRESH, LOGOUT, AGENTS = (
    "POST /auth/login", "POST /auth/verify-2fa", "POST /auth/refresh", "POST /auth/logout", "GET /agents")
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln"
USER = {"id": "user_1", "email": "you@example.com", "role": "USER", "plan": "STARTER"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return yaml.safe_load(_openapi.schema_path().read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1.")
    try:
        from openapi_spec_validator import validate
    except ImportError:
        # Schemathesis checks the document against the OpenAPI 3.1 meta-schema too.
        _fuzz.load_schema().validate()
    else:
        validate(document)


def test_schemathesis_rejects_an_invalid_document(document: dict[str, Any]) -> None:
    """The fallback validator above is not a no-op."""
    import schemathesis

    broken = json.loads(json.dumps(document))
    broken["paths"]["/agents"]["get"]["responses"]["200"]["content"] = "application/json"
    with pytest.raises(Exception, match="object"):
        schemathesis.openapi.from_dict(broken).validate()


def test_document_describes_exactly_the_public_api(document: dict[str, Any]) -> None:
    assert document["servers"] == [{"url": "/api/v1"}]
    assert sorted(_openapi.labels()) == sorted([LOGIN, VERIFY, REFRESH, LOGOUT, AGENTS])
    # The cheap YAML reading that collection uses agrees with schemathesis' view of the document.
    assert list(_openapi.labels()) == [r.ok().label for r in _fuzz.load_schema().get_all_operations()]
    assert not any("__test__" in path for path in document["paths"])


def test_bearer_scheme_guards_the_token_endpoints(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        **document["components"]["securitySchemes"]["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert document["paths"]["/agents"]["get"]["security"] == [{"bearerAuth": []}]
    assert document["paths"]["/auth/logout"]["post"]["security"] == [{"bearerAuth": []}]
    assert document["security"] == []


def _walk(node: object) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_contract_stays_open_where_the_page_is(document: dict[str, Any]) -> None:
    """Extra fields are always allowed; headers of SHOULD clauses are never required."""
    assert not any(node.get("additionalProperties") is False for node in _walk(document))
    headers = document["components"]["headers"]
    assert {"RetryAfter", "WWWAuthenticate", "CacheControl"} <= set(headers)
    assert not any(header.get("required") for header in headers.values())


# -- the reference fake answers as documented ------------------------------------------

@pytest.fixture
def fake() -> Fake:
    return Fake(create_app(Policy(hash_iterations=1000)))


def _conforms(label: str, response: httpx.Response, status: int) -> None:
    assert response.status_code == status, (label, response.status_code, response.text[:300])
    assert _fuzz.response_mismatch(label, response) is None


def test_fake_success_answers_conform(fake: Fake) -> None:
    user = fake.user()
    data = fake.login(user)
    client = fake.client()
    _conforms(AGENTS, client.get(f"{API}/agents", headers=bearer(data["token"])), 200)
    refreshed = client.post(f"{API}/auth/refresh", json={"refreshToken": data["refreshToken"]})
    _conforms(REFRESH, refreshed, 200)
    _conforms(LOGOUT, client.post(f"{API}/auth/logout", headers=bearer(refreshed.json()["data"]["token"])), 200)
    login = client.post(f"{API}/auth/login", json={"email": user["email"], "password": user["password"]})
    _conforms(LOGIN, login, 200)


def test_fake_two_factor_answers_conform(fake: Fake) -> None:

    user = fake.user(twoFactor=True)
    client = fake.client()
    challenge = client.post(f"{API}/auth/login", json={"email": user["email"], "password": user["password"]})
    _conforms(LOGIN, challenge, 200)
    pending = challenge.json()["data"]["pendingToken"]
    wrong = client.post(f"{API}/auth/verify-2fa", json={"pendingToken": pending, "code": "000000x"})
    _conforms(VERIFY, wrong, 401)
    code = totp_code(user["totpSecret"], fake.now())
    _conforms(VERIFY, client.post(f"{API}/auth/verify-2fa", json={"pendingToken": pending, "code": code}), 200)


@pytest.mark.parametrize(("label", "path", "kwargs", "status"), [
    (AGENTS, "/agents", {}, 401),
    (AGENTS, "/agents", {"headers": {"Authorization": "Token abc"}}, 401),
    (LOGOUT, "/auth/logout", {}, 401),
    (REFRESH, "/auth/refresh", {"json": {"refreshToken": JWT}}, 401),
    (REFRESH, "/auth/refresh", {"json": {}}, 400),
    (LOGIN, "/auth/login", {"json": {"email": "nobody@akol.test", "password": "x"}}, 401),
    (LOGIN, "/auth/login", {"content": b"", "headers": {"content-type": "application/json"}}, 400),
    (LOGIN, "/auth/login", {"content": b"{}", "headers": {"content-type": "text/plain"}}, 415),
    (LOGIN, "/auth/login", {"content": b"{" * 70_000, "headers": {"content-type": "application/json"}}, 413),
])
def test_fake_error_answers_conform(fake: Fake, label: str, path: str, kwargs: dict[str, Any],
                                    status: int) -> None:
    method = label.split()[0]
    _conforms(label, fake.client().request(method, f"{API}{path}", **kwargs), status)


def test_fake_lockout_and_rate_limit_answers_conform(fake: Fake) -> None:
    user = fake.user()
    client = fake.client()
    wrong = {"email": user["email"], "password": "wrong"}
    answers = [client.post(f"{API}/auth/login", json=wrong) for _ in range(Policy().lockout_threshold + 1)]
    _conforms(LOGIN, answers[-1], 423)
    limited = [client.post(f"{API}/auth/login", json=wrong) for _ in range(Policy().rate_limit)]
    _conforms(LOGIN, limited[-1], 429)


# -- the document enforces what the page fixes, and only that ---------------------------

def _answer(label: str, status: int, body: object = None, *, content: bytes | None = None,
            content_type: str = "application/json", headers: dict[str, str] | None = None) -> httpx.Response:
    method, path = label.split(" ", 1)
    raw = content if content is not None else json.dumps(body).encode()
    response = httpx.Response(status, content=raw, headers={"content-type": content_type, **(headers or {})},
                              request=httpx.Request(method, f"http://akol.test{API}{path}"))
    response.elapsed = datetime.timedelta(0)  # schemathesis reads it; only a sent response has one
    return response


SESSION = {"user": USER, "token": JWT, "refreshToken": JWT}


@pytest.mark.parametrize(("label", "response"), [
    (LOGIN, _answer(LOGIN, 200, {"success": True, "data": SESSION})),
    (LOGIN, _answer(LOGIN, 200, {"success": True, "data": {"requires2FA": True, "pendingToken": "p"}})),
    (LOGIN, _answer(LOGIN, 200, {"success": True, "extra": 1,
                                 "data": {**SESSION, "user": {**USER, "id": "7f3c-any-format", "x": 1}}})),
    (LOGIN, _answer(LOGIN, 401, {"message": "Invalid email or password"})),
    (LOGIN, _answer(LOGIN, 401, {"success": False, "error": "Invalid email or password"})),
    (LOGIN, _answer(LOGIN, 429, {}, headers={"Retry-After": "60"})),
    (LOGIN, _answer(LOGIN, 429, {}, headers={"Retry-After": "Wed, 25 Nov 2026 18:00:00 GMT"})),
    (LOGIN, _answer(LOGIN, 429, {})),
    (LOGOUT, _answer(LOGOUT, 204, content=b"", content_type="")),
    (LOGOUT, _answer(LOGOUT, 202, content=b"", content_type="")),
    (REFRESH, _answer(REFRESH, 200, {"success": True, "data": {"token": JWT, "refreshToken": JWT}})),
    (AGENTS, _answer(AGENTS, 200, {"success": True, "data": {"agents": []}})),
], ids=["session", "2fa-challenge", "extra-fields-any-id", "error-any-layout", "error-string",
        "429-seconds", "429-http-date", "429-without-retry-after", "logout-204", "logout-202", "refresh-pair", "agents"])
def test_document_accepts_what_the_page_allows(label: str, response: httpx.Response) -> None:
    assert _fuzz.response_mismatch(label, response) is None


@pytest.mark.parametrize(("label", "response", "why"), [
    (LOGIN, _answer(LOGIN, 200, {"data": SESSION}), "success"),
    (LOGIN, _answer(LOGIN, 200, {"success": True, "data": {**SESSION, "token": "not-a-jwt"}}), "token"),
    (LOGIN, _answer(LOGIN, 200, {"success": True, "data": {"user": USER, "token": JWT}}), "oneOf"),
    (LOGIN, _answer(LOGIN, 200, {"success": True, "data": {**SESSION, "user": {"id": "u"}}}), "oneOf"),
    (LOGIN, _answer(LOGIN, 200, {"success": True,
                                 "data": {"requires2FA": True, "pendingToken": "p", "token": JWT}}), "data"),
    (LOGIN, _answer(LOGIN, 418, {}), "Undocumented status code"),
    (LOGIN, _answer(LOGIN, 302, content=b"", content_type="text/plain"), "Undocumented status code"),
    (LOGIN, _answer(LOGIN, 401, ["Invalid email or password"]), "object"),
    (LOGIN, _answer(LOGIN, 401, {"success": True}), "success"),
    (LOGIN, _answer(LOGIN, 429, {}, headers={"Retry-After": "soon"}), "header does not conform"),
    (LOGOUT, _answer(LOGOUT, 200, content=b"OK", content_type="text/plain"), "Content-Type"),
    (REFRESH, _answer(REFRESH, 200, {"success": True, "data": {"token": JWT}}), "refreshToken"),
    (AGENTS, _answer(AGENTS, 401, content=b"<html>401</html>", content_type="text/html"), "Content-Type"),
], ids=["no-success", "token-not-jwt", "no-refresh-token", "user-fields", "challenge-with-token", "418",
        "302", "error-array", "error-claims-success", "retry-after-garbage", "logout-plain-text",
        "refresh-half-pair", "agents-html-401"])
def test_document_rejects_what_the_page_forbids(label: str, response: httpx.Response, why: str) -> None:
    mismatch = _fuzz.response_mismatch(label, response)
    assert mismatch is not None and why in mismatch, mismatch
