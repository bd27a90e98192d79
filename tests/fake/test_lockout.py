"""LOCK-01..06: consecutive wrong passwords lock the account for 30 minutes, race-free, and an
unknown email locks the same way."""
from __future__ import annotations

from typing import Any

from akol_fake import AuthService, Policy
from tests.fake.conftest import API, Fake


def _attempt(fake: Fake, email: str, password: str) -> Any:
    return fake.client().post(f"{API}/auth/login", json={"email": email, "password": password})


def _lock(fake: Fake, user: dict[str, Any]) -> list[int]:
    return [_attempt(fake, user["email"], "wrong").status_code for _ in range(5)]


def test_the_fifth_wrong_password_locks(fake: Fake, user: dict[str, Any]) -> None:
    assert _lock(fake, user) == [401, 401, 401, 401, 423]
    locked = _attempt(fake, user["email"], "wrong")
    assert locked.status_code == 423
    assert locked.json()["error"] == {"code": "account_locked",
                                      "message": "Account locked — too many failed attempts"}


def test_while_locked_the_right_password_gets_no_token(fake: Fake, user: dict[str, Any]) -> None:
    _lock(fake, user)
    response = _attempt(fake, user["email"], user["password"])
    assert response.status_code == 423
    assert "data" not in response.json()


def test_the_lock_lasts_1800_seconds_then_resets(fake: Fake, user: dict[str, Any]) -> None:
    _lock(fake, user)
    fake.advance(1799)
    assert _attempt(fake, user["email"], user["password"]).status_code == 423
    fake.advance(2)
    assert _attempt(fake, user["email"], user["password"]).status_code == 200


def test_the_counter_resets_when_the_lock_ends(fake: Fake, user: dict[str, Any]) -> None:
    _lock(fake, user)
    fake.advance(1801)
    assert _attempt(fake, user["email"], "wrong").status_code == 401


def test_a_successful_login_resets_the_counter(fake: Fake, user: dict[str, Any]) -> None:
    for _ in range(4):
        _attempt(fake, user["email"], "wrong")
    fake.login(user)
    assert [_attempt(fake, user["email"], "wrong").status_code for _ in range(4)] == [401] * 4


def test_case_variants_count_against_the_same_account(fake: Fake, user: dict[str, Any]) -> None:
    variants = [user["email"].upper(), user["email"].title(), " " + user["email"],
                user["email"].capitalize(), user["email"]]
    statuses = [_attempt(fake, email, "wrong").status_code for email in variants]
    assert statuses == [401, 401, 401, 401, 423]


def test_concurrent_wrong_passwords_get_at_most_threshold_minus_one_401s(
        fake: Fake, user: dict[str, Any]) -> None:
    n = 12
    statuses = fake.together(n, "/auth/login", {"email": user["email"], "password": "wrong"})
    assert statuses.count(401) == 4
    assert statuses.count(423) == n - 4


def test_lockout_of_one_account_leaves_others_alone(fake: Fake, user: dict[str, Any]) -> None:
    other = fake.user()
    _lock(fake, user)
    assert _attempt(fake, other["email"], other["password"]).status_code == 200


def test_an_unknown_email_locks_like_an_account(fake: Fake, user: dict[str, Any]) -> None:
    unknown = "nobody-here@akol.test"
    registered = [_attempt(fake, user["email"], "wrong").status_code for _ in range(7)]
    ghost = [_attempt(fake, unknown, "wrong").status_code for _ in range(7)]
    assert registered == ghost == [401, 401, 401, 401, 423, 423, 423]
    locked = _attempt(fake, unknown.upper(), "wrong")
    assert locked.json()["error"]["code"] == "account_locked"


def test_an_unknown_email_lock_ends_after_1800_seconds(fake: Fake) -> None:
    for _ in range(5):
        _attempt(fake, "ghost@akol.test", "wrong")
    fake.advance(1801)
    assert _attempt(fake, "ghost@akol.test", "wrong").status_code == 401


def test_unknown_email_counters_are_bounded() -> None:
    class Small(AuthService):
        unknown_counter_cap = 3

    service = Small(Policy(hash_iterations=1000))
    first = service.unknown_email_counter("first@akol.test")
    for n in range(5):
        service.unknown_email_counter(f"other-{n}@akol.test")
    assert len(service.store.unknown_emails) == 3
    assert service.unknown_email_counter("first@akol.test") is not first  # evicted, counts afresh


def test_ended_unknown_email_locks_are_purged(fake: Fake) -> None:
    for _ in range(5):
        _attempt(fake, "ghost@akol.test", "wrong")
    assert fake.service.store.unknown_emails
    fake.service.store.purge(fake.service.clock.now() + 1801, fake.service.policy.rate_window)
    assert not fake.service.store.unknown_emails
