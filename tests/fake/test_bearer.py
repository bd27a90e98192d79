"""BEARER-01..07 on GET /agents (and POST /auth/logout for BEARER-07)."""
from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.fake.conftest import API, Fake, bearer


def test_no_header_answers_401_no_bearer_token(api: TestClient) -> None:
    response = api.get(f"{API}/agents")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "No bearer token"
    assert response.headers["www-authenticate"] == 'Bearer realm="akol"'


def test_valid_access_token_lists_agents(api: TestClient, session: dict[str, Any]) -> None:
    response = api.get(f"{API}/agents", headers=bearer(session["token"]))
    assert response.status_code == 200
    agents = response.json()["data"]["agents"]
    assert agents and all(a["id"].startswith("agent_") and a["name"] for a in agents)


def test_raw_token_without_prefix_says_no_bearer_token(api: TestClient,
                                                      session: dict[str, Any]) -> None:
    response = api.get(f"{API}/agents", headers={"Authorization": session["token"]})
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "No bearer token"


@pytest.mark.parametrize("value", ["Basic dXNlcjpwYXNz", "Token {t}", "bearer {t}", "Bearer",
                                   "Bearer ", "Bearer garbage", "Bearer {t}x", "Bearer  ",
                                   "Bearer a.b.c", "Bearer " + "x" * 5000])
def test_other_schemes_and_bad_tokens_answer_401(api: TestClient, session: dict[str, Any],
                                                 value: str) -> None:
    response = api.get(f"{API}/agents", headers={"Authorization": value.format(t=session["token"])})
    assert response.status_code == 401
    assert response.json()["success"] is False
    assert response.headers["www-authenticate"].startswith('Bearer realm="akol"')


def test_refresh_token_is_not_a_bearer_token(api: TestClient, session: dict[str, Any]) -> None:
    response = api.get(f"{API}/agents", headers=bearer(session["refreshToken"]))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="akol", error="invalid_token"'


def _pat(fake: Fake, user: dict[str, Any]) -> str:
    response = fake.client().post(f"/__test__/users/{user['id']}/pats", json={})
    assert response.status_code == 201
    return str(response.json()["token"])


def test_tokens_are_read_only_from_the_authorization_header(fake: Fake, user: dict[str, Any],
                                                            session: dict[str, Any]) -> None:
    """BEARER-07: a valid access token or PAT as an access_token query parameter or body field answers 401."""
    client = fake.client()
    for token in (session["token"], _pat(fake, user)):
        assert client.get(f"{API}/agents", params={"access_token": token}).status_code == 401
        assert client.request("GET", f"{API}/agents", json={"access_token": token}).status_code == 401
        assert client.post(f"{API}/auth/logout", json={"access_token": token}).status_code == 401
        assert client.post(f"{API}/auth/logout", data={"access_token": token}).status_code == 401
    # Nothing above logged the session out.
    assert client.get(f"{API}/agents", headers=bearer(session["token"])).status_code == 200
