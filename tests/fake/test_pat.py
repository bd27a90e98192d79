"""PAT-01..05: opaque, non-expiring, revocable, role snapshot."""
from __future__ import annotations

from typing import Any

from tests.fake.conftest import API, Fake, bearer


def _pat(fake: Fake, user: dict[str, Any]) -> dict[str, str]:
    response = fake.client().post(f"/__test__/users/{user['id']}/pats", json={})
    assert response.status_code == 201
    return response.json()  # type: ignore[no-any-return]


def test_a_pat_is_an_opaque_bearer_token(fake: Fake, user: dict[str, Any]) -> None:
    pat = _pat(fake, user)
    assert pat["id"].startswith("pat_") and pat["token"].startswith("akol_pat_")
    assert pat["token"].count(".") == 0
    assert fake.client().get(f"{API}/agents", headers=bearer(pat["token"])).status_code == 200


def test_pats_are_stored_hashed(fake: Fake, user: dict[str, Any]) -> None:
    pat = _pat(fake, user)
    stored = fake.service.store.pats[pat["id"]]
    assert pat["token"] not in repr(stored)


def test_a_pat_does_not_expire(fake: Fake, user: dict[str, Any]) -> None:
    pat = _pat(fake, user)
    for days in (7, 400):
        fake.advance(days * 86400)
        assert fake.client().get(f"{API}/agents", headers=bearer(pat["token"])).status_code == 200


def test_a_revoked_pat_answers_401(fake: Fake, user: dict[str, Any]) -> None:
    pat, other = _pat(fake, user), _pat(fake, user)
    assert fake.client().delete(f"/__test__/pats/{pat['id']}").status_code == 204
    assert fake.client().get(f"{API}/agents", headers=bearer(pat["token"])).status_code == 401
    assert fake.client().get(f"{API}/agents", headers=bearer(other["token"])).status_code == 200


def test_a_pat_keeps_the_role_of_its_creation(fake: Fake, user: dict[str, Any]) -> None:
    pat = _pat(fake, user)
    patched = fake.client().patch(f"/__test__/users/{user['id']}", json={"role": "ADMIN"})
    assert patched.json()["role"] == "ADMIN"
    whoami = fake.client().get("/__test__/whoami", headers=bearer(pat["token"])).json()
    assert (whoami["role"], whoami["kind"]) == ("USER", "pat")
    newer = _pat(fake, user)
    assert fake.client().get("/__test__/whoami",
                             headers=bearer(newer["token"])).json()["role"] == "ADMIN"
    assert fake.login(user)["user"]["role"] == "ADMIN"
