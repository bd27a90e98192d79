"""The test-control protocol of TEST-CONTROL.md."""
from __future__ import annotations

import time
from typing import Any

import pytest

from akol_conformance.client import totp_code
from akol_fake import Policy, create_app
from tests.fake.conftest import API, Fake, bearer


def test_clock_reads_and_moves_forward(fake: Fake) -> None:
    before = fake.client().get("/__test__/clock")
    assert before.status_code == 200 and isinstance(before.json()["now"], float)
    moved = fake.client().post("/__test__/clock", json={"advance": 900})
    assert moved.status_code == 200
    assert moved.json()["now"] - before.json()["now"] >= 900
    assert fake.service.clock.now() >= moved.json()["now"]


@pytest.mark.parametrize("body", [{"advance": 0}, {"advance": -5}, {"advance": "10"},
                                  {"advance": True}, {}, {"advance": None}, {"advance": 1e300}])
def test_clock_refuses_bad_advances(fake: Fake, body: dict[str, Any]) -> None:
    response = fake.client().post("/__test__/clock", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize("raw", [b'{"advance": NaN}', b'{"advance": Infinity}',
                                 b'{"advance": 1' + b"0" * 400 + b"}"])
def test_clock_refuses_non_finite_numbers(fake: Fake, raw: bytes) -> None:
    response = fake.client().post("/__test__/clock", content=raw,
                                  headers={"content-type": "application/json"})
    assert response.status_code == 400


def test_users_are_fresh_and_unique(fake: Fake) -> None:
    first, second = fake.user(), fake.user()
    assert first["id"] != second["id"] and first["email"] != second["email"]
    assert set(first) == {"id", "email", "password", "role", "plan", "totpSecret"}
    assert (first["role"], first["plan"], first["totpSecret"]) == ("USER", "STARTER", None)


def test_an_empty_body_provisions_a_default_account(fake: Fake) -> None:
    response = fake.client().post("/__test__/users")
    assert response.status_code == 201
    assert response.json()["role"] == "USER"


def test_two_factor_accounts_get_a_base32_secret(fake: Fake) -> None:
    account = fake.user(twoFactor=True, role="ADMIN", plan="PRO")
    assert (account["role"], account["plan"]) == ("ADMIN", "PRO")
    assert len(totp_code(account["totpSecret"], time.time())) == 6


@pytest.mark.parametrize("body", [{"twoFactor": "yes"}, {"role": 1}, {"role": ""},
                                  {"plan": "x" * 100}])
def test_bad_provisioning_bodies_answer_400(fake: Fake, body: dict[str, Any]) -> None:
    assert fake.client().post("/__test__/users", json=body).status_code == 400


def test_patch_changes_the_role_and_hides_the_password(fake: Fake, user: dict[str, Any]) -> None:
    response = fake.client().patch(f"/__test__/users/{user['id']}", json={"role": "ADMIN"})
    assert response.status_code == 200
    assert response.json() == {"id": user["id"], "email": user["email"], "role": "ADMIN",
                                "plan": "STARTER", "totpSecret": None}


def test_unknown_ids_answer_404(fake: Fake) -> None:
    client = fake.client()
    assert client.patch("/__test__/users/user_nope", json={"role": "ADMIN"}).status_code == 404
    assert client.post("/__test__/users/user_nope/pats", json={}).status_code == 404
    assert client.delete("/__test__/pats/pat_nope").status_code == 404


def test_whoami_names_the_credential(fake: Fake, user: dict[str, Any]) -> None:
    session = fake.login(user)
    response = fake.client().get("/__test__/whoami", headers=bearer(session["token"]))
    assert response.json() == {"userId": user["id"], "role": "USER", "plan": "STARTER",
                               "kind": "session"}
    assert fake.client().get("/__test__/whoami").status_code == 401
    assert fake.client().get("/__test__/whoami",
                             headers=bearer(session["refreshToken"])).status_code == 401


def test_test_control_can_be_switched_off() -> None:
    fake = Fake(create_app(Policy(test_control=False)))
    for method, path in (("GET", "/__test__/clock"), ("POST", "/__test__/clock"),
                         ("POST", "/__test__/users"), ("GET", "/__test__/whoami")):
        assert fake.client().request(method, path).status_code == 404
    assert fake.client().get(f"{API}/agents").status_code == 401


def test_users_take_a_chosen_password(fake: Fake) -> None:
    chosen = "a chosen password, " + "x" * 100
    account = fake.user(password=chosen)
    assert account["password"] == chosen
    assert fake.login(account)["user"]["id"] == account["id"]
    assert fake.user(password=None)["password"]  # null: a random one


@pytest.mark.parametrize("password", ["", 42, ["x"], "x" * 1025])
def test_unusable_chosen_passwords_answer_400(fake: Fake, password: object) -> None:
    response = fake.client().post("/__test__/users", json={"password": password})
    assert response.status_code == 400
    assert "'password'" in response.json()["error"]["message"]
