"""REFRESH-01..06: rotation, reuse detection, atomicity."""
from __future__ import annotations

from typing import Any

import pytest

from tests.fake.conftest import API, Fake, bearer


def _refresh(fake: Fake, token: Any) -> Any:
    return fake.client().post(f"{API}/auth/refresh", json={"refreshToken": token})


def test_refresh_answers_a_new_working_pair(fake: Fake, session: dict[str, Any]) -> None:
    response = _refresh(fake, session["refreshToken"])
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["token"] != session["token"] and data["refreshToken"] != session["refreshToken"]
    assert fake.client().get(f"{API}/agents", headers=bearer(data["token"])).status_code == 200


def test_old_refresh_token_is_revoked_now_and_later(fake: Fake, session: dict[str, Any]) -> None:
    assert _refresh(fake, session["refreshToken"]).status_code == 200
    assert _refresh(fake, session["refreshToken"]).status_code == 401
    fake.advance(3600)
    assert _refresh(fake, session["refreshToken"]).status_code == 401


def test_refresh_after_the_access_token_expired(fake: Fake, session: dict[str, Any]) -> None:
    fake.advance(901)
    assert fake.client().get(f"{API}/agents", headers=bearer(session["token"])).status_code == 401
    response = _refresh(fake, session["refreshToken"])
    assert response.status_code == 200
    fresh = response.json()["data"]["token"]
    assert fake.client().get(f"{API}/agents", headers=bearer(fresh)).status_code == 200


def test_a_chain_of_refreshes_keeps_working(fake: Fake, session: dict[str, Any]) -> None:
    token = session["refreshToken"]
    for _ in range(5):
        response = _refresh(fake, token)
        assert response.status_code == 200
        token = response.json()["data"]["refreshToken"]


@pytest.mark.parametrize("kind", ["access", "pat", "pending"])
def test_other_token_kinds_are_not_refresh_tokens(fake: Fake, session: dict[str, Any],
                                                  user: dict[str, Any], kind: str) -> None:
    if kind == "access":
        token = session["token"]
    elif kind == "pat":
        token = fake.client().post(f"/__test__/users/{user['id']}/pats", json={}).json()["token"]
    else:
        tfa = fake.user(twoFactor=True)
        token = fake.login(tfa)["pendingToken"]
    response = _refresh(fake, token)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


@pytest.mark.parametrize(("body", "status"), [
    ({}, 400), ({"refreshToken": None}, 400), ({"refreshToken": 12}, 400),
    ({"refreshToken": ["x"]}, 400), ({"refreshToken": ""}, 400), ({"token": "x"}, 400),
    ({"refreshToken": "garbage"}, 401), ({"refreshToken": "a.b.c"}, 401),
    ({"refreshToken": "x" * 10000}, 400),
])
def test_missing_or_garbage_refresh_token(fake: Fake, body: dict[str, Any], status: int) -> None:
    assert fake.client().post(f"{API}/auth/refresh", json=body).status_code == status


def test_reuse_of_a_revoked_token_kills_the_family(fake: Fake, session: dict[str, Any]) -> None:
    newest = _refresh(fake, session["refreshToken"]).json()["data"]["refreshToken"]
    assert _refresh(fake, session["refreshToken"]).status_code == 401
    assert _refresh(fake, newest).status_code == 401


def test_reuse_kills_only_that_family(fake: Fake, user: dict[str, Any]) -> None:
    victim, other = fake.login(user), fake.login(user)
    _refresh(fake, victim["refreshToken"])
    _refresh(fake, victim["refreshToken"])
    assert _refresh(fake, other["refreshToken"]).status_code == 200


def test_concurrent_refreshes_yield_exactly_one_pair(fake: Fake, session: dict[str, Any]) -> None:
    n = 8
    statuses = fake.together(n, "/auth/refresh", {"refreshToken": session["refreshToken"]})
    assert sorted(statuses) == [200] + [401] * (n - 1)
