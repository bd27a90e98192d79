"""BEARER-01..06 on GET /agents."""
from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.fake.conftest import API, bearer


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
