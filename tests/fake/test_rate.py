"""RATE-01..04: per-socket-IP login rate limit with Retry-After, PAT-03."""
from __future__ import annotations

from typing import Any

from akol_fake import Policy, create_app
from tests.fake.conftest import API, Fake, bearer


def _attempt(client: Any, email: str, headers: dict[str, str] | None = None) -> Any:
    return client.post(f"{API}/auth/login", json={"email": email, "password": "wrong"},
                       headers=headers)


def test_the_21st_attempt_in_a_minute_answers_429(fake: Fake) -> None:
    client = fake.client()
    statuses = [_attempt(client, f"nobody{i}@akol.test").status_code for i in range(21)]
    assert statuses == [401] * 20 + [429]
    response = _attempt(client, "nobody@akol.test")
    assert response.status_code == 429
    assert response.json()["error"]["message"].startswith("Too many login attempts")
    assert 1 <= int(response.headers["retry-after"]) <= 60


def test_the_limit_applies_to_successful_logins_too(fake: Fake, user: dict[str, Any]) -> None:
    client = fake.client()
    for _ in range(20):
        fake.login(user, client)
    assert client.post(f"{API}/auth/login", json={"email": user["email"],
                                                  "password": user["password"]}).status_code == 429


def test_retry_after_is_honest(fake: Fake) -> None:
    client = fake.client()
    for i in range(20):
        _attempt(client, f"n{i}@akol.test")
        fake.advance(1)
    retry_after = int(_attempt(client, "n@akol.test").headers["retry-after"])
    fake.advance(retry_after - 0.5)
    assert _attempt(client, "n@akol.test").status_code == 429
    fake.advance(0.6)
    assert _attempt(client, "n@akol.test").status_code == 401


def test_the_limit_is_per_socket_ip(fake: Fake) -> None:
    first, second = fake.client("10.0.0.1"), fake.client("10.0.0.2")
    for i in range(20):
        _attempt(first, f"n{i}@akol.test")
    assert _attempt(first, "n@akol.test").status_code == 429
    assert _attempt(second, "n@akol.test").status_code == 401


def test_forwarding_headers_do_not_bypass_the_limit(fake: Fake) -> None:
    client = fake.client()
    statuses = [_attempt(client, "n@akol.test", {"X-Forwarded-For": f"203.0.113.{i}",
                                                 "X-Real-IP": f"198.51.100.{i}"}).status_code
                for i in range(21)]
    assert statuses[-1] == 429


def test_verify_2fa_counts_against_the_limit(fake: Fake) -> None:
    client = fake.client()
    for _ in range(20):
        client.post(f"{API}/auth/verify-2fa", json={"pendingToken": "x", "code": "000000"})
    assert _attempt(client, "n@akol.test").status_code == 429


def test_pats_and_other_endpoints_are_not_rate_limited(fake: Fake, user: dict[str, Any]) -> None:
    client = fake.client()
    session = fake.login(user)
    pat = client.post(f"/__test__/users/{user['id']}/pats", json={}).json()["token"]
    for i in range(21):
        _attempt(client, f"n{i}@akol.test")
    assert _attempt(client, "n@akol.test").status_code == 429
    for _ in range(25):
        assert client.get(f"{API}/agents", headers=bearer(pat)).status_code == 200
    refreshed = client.post(f"{API}/auth/refresh", json={"refreshToken": session["refreshToken"]})
    assert refreshed.status_code == 200


def test_a_zero_limit_refuses_everything_with_a_full_window() -> None:
    fake = Fake(create_app(Policy(hash_iterations=1000, rate_limit=0)))
    response = _attempt(fake.client(), "n@akol.test")
    assert (response.status_code, response.headers["retry-after"]) == (429, "60")
