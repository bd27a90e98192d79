"""LOGOUT-01..04: blacklist until expiry, the session's refresh family ends."""
from __future__ import annotations

from typing import Any

import pytest

from tests.fake.conftest import API, Fake, bearer


def _logout(fake: Fake, headers: dict[str, str]) -> Any:
    return fake.client().post(f"{API}/auth/logout", headers=headers)


def test_logout_blacklists_the_token_for_its_whole_life(fake: Fake,
                                                        session: dict[str, Any]) -> None:
    response = _logout(fake, bearer(session["token"]))
    assert (response.status_code, response.json()) == (200, {"success": True})
    assert fake.client().get(f"{API}/agents", headers=bearer(session["token"])).status_code == 401
    fake.advance(880)
    assert fake.client().get(f"{API}/agents", headers=bearer(session["token"])).status_code == 401


def test_logout_twice_answers_401(fake: Fake, session: dict[str, Any]) -> None:
    assert _logout(fake, bearer(session["token"])).status_code == 200
    assert _logout(fake, bearer(session["token"])).status_code == 401


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer garbage"},
                                     {"Authorization": "Basic eDp5"}])
def test_logout_without_a_valid_token_answers_401(fake: Fake, headers: dict[str, str]) -> None:
    response = _logout(fake, headers)
    assert response.status_code == 401
    assert "www-authenticate" in response.headers


def test_logout_ends_the_refresh_family(fake: Fake, session: dict[str, Any]) -> None:
    _logout(fake, bearer(session["token"]))
    response = fake.client().post(f"{API}/auth/refresh",
                                  json={"refreshToken": session["refreshToken"]})
    assert response.status_code == 401


def test_logout_leaves_other_sessions_alone(fake: Fake, user: dict[str, Any]) -> None:
    first, second = fake.login(user), fake.login(user)
    _logout(fake, bearer(first["token"]))
    assert fake.client().get(f"{API}/agents", headers=bearer(second["token"])).status_code == 200


def test_a_pat_cannot_log_out(fake: Fake, user: dict[str, Any]) -> None:
    pat = fake.client().post(f"/__test__/users/{user['id']}/pats", json={}).json()
    assert _logout(fake, bearer(pat["token"])).status_code == 401
    assert fake.client().get(f"{API}/agents", headers=bearer(pat["token"])).status_code == 200


def test_blacklist_entries_are_purged_after_the_token_expired(fake: Fake,
                                                              session: dict[str, Any]) -> None:
    _logout(fake, bearer(session["token"]))
    assert len(fake.service.store.blacklist) == 1
    fake.advance(901)
    fake.login(fake.user())  # any login runs the periodic purge
    assert fake.service.store.blacklist == {}
