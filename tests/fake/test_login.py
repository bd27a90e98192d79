"""LOGIN-01..06 against the in-process fake."""
from __future__ import annotations

from typing import Any

import jwt

from akol_fake import AuthService, Policy, create_app
from tests.fake.conftest import API, Fake


def _login(fake: Fake, email: str, password: str) -> Any:
    return fake.client().post(f"{API}/auth/login", json={"email": email, "password": password})


def test_valid_credentials_answer_user_and_two_jwts(fake: Fake, user: dict[str, Any]) -> None:
    response = _login(fake, user["email"], user["password"])
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["data"]["user"] == {"id": user["id"], "email": user["email"],
                                    "role": "USER", "plan": "STARTER"}
    assert body["data"]["user"]["id"].startswith("user_")
    for name, typ in (("token", "access"), ("refreshToken", "refresh")):
        claims = jwt.decode(body["data"][name], options={"verify_signature": False})
        assert claims["typ"] == typ


def test_role_and_plan_come_from_the_account(fake: Fake) -> None:
    account = fake.user(role="ADMIN", plan="PRO")
    data = fake.login(account)
    assert (data["user"]["role"], data["user"]["plan"]) == ("ADMIN", "PRO")
    claims = jwt.decode(data["token"], options={"verify_signature": False})
    assert (claims["role"], claims["plan"]) == ("ADMIN", "PRO")


def test_wrong_password_answers_401_with_the_page_message(fake: Fake, user: dict[str, Any]) -> None:
    response = _login(fake, user["email"], user["password"] + "x")
    assert response.status_code == 401
    assert response.json() == {"success": False, "error": {
        "code": "invalid_credentials", "message": "Invalid email or password"}}
    assert response.headers["www-authenticate"] == 'Bearer realm="akol"'


def test_unknown_email_answers_exactly_like_a_wrong_password(fake: Fake,
                                                             user: dict[str, Any]) -> None:
    wrong = _login(fake, user["email"], "not-the-password")
    unknown = _login(fake, "nobody-here@akol.test", "not-the-password")
    assert (unknown.status_code, unknown.json()) == (wrong.status_code, wrong.json())
    assert unknown.headers["www-authenticate"] == wrong.headers["www-authenticate"]


def test_unknown_email_pays_the_same_hashing_cost(user: dict[str, Any]) -> None:
    calls: list[int] = []

    class Counting(AuthService):
        def hash_password(self, password: str, salt: bytes) -> bytes:
            calls.append(self.policy.hash_iterations)
            return super().hash_password(password, salt)

    fake = Fake(create_app(Policy(hash_iterations=1000), service=Counting))
    account = fake.user()
    calls.clear()
    _login(fake, account["email"], "wrong")
    _login(fake, "unknown@akol.test", "wrong")
    assert calls == [1000, 1000]


def test_email_is_matched_case_insensitively_and_trimmed(fake: Fake, user: dict[str, Any]) -> None:
    response = _login(fake, "  " + user["email"].upper() + " ", user["password"])
    assert response.status_code == 200
    assert response.json()["data"]["user"]["email"] == user["email"]


def test_token_responses_are_not_cached(fake: Fake, user: dict[str, Any]) -> None:
    response = _login(fake, user["email"], user["password"])
    assert response.headers["cache-control"] == "no-store"
    refreshed = fake.client().post(f"{API}/auth/refresh",
                                   json={"refreshToken": response.json()["data"]["refreshToken"]})
    assert refreshed.headers["cache-control"] == "no-store"


def test_each_login_issues_distinct_tokens(fake: Fake, user: dict[str, Any]) -> None:
    first, second = fake.login(user), fake.login(user)
    assert first["token"] != second["token"]
    assert first["refreshToken"] != second["refreshToken"]


def test_the_whole_password_is_checked_past_72_bytes(fake: Fake) -> None:
    password = "é" * 40 + "tail-of-the-password"  # 100 bytes; byte 72 falls inside the é run
    account = fake.user(password=password)
    assert _login(fake, account["email"], password).status_code == 200
    for variant in (password[:36] + "x" * 24, password[:-1] + "X"):
        assert _login(fake, account["email"], variant).status_code == 401
