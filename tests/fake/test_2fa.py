"""2FA-01..06: pending token, TOTP at the server clock, single use, bounded wrong codes."""
from __future__ import annotations

import contextlib
import time
from contextlib import AbstractContextManager
from typing import Any

import pytest

from akol_conformance.client import totp_code
from akol_fake import AuthService, Policy, create_app
from akol_fake._store import User
from tests.fake.conftest import API, Fake, bearer


@pytest.fixture
def tfa(fake: Fake) -> dict[str, Any]:
    return fake.user(twoFactor=True)


def _verify(fake: Fake, pending: str, code: str) -> Any:
    return fake.client().post(f"{API}/auth/verify-2fa",
                              json={"pendingToken": pending, "code": code})


def _code(fake: Fake, secret: str, offset: float = 0) -> str:
    return totp_code(secret, fake.now() + offset)


def _wrong(fake: Fake, secret: str) -> str:
    valid = {_code(fake, secret, step) for step in (-30, 0, 30)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


def test_login_answers_a_pending_token_and_no_session(fake: Fake, tfa: dict[str, Any]) -> None:
    response = fake.client().post(f"{API}/auth/login",
                                  json={"email": tfa["email"], "password": tfa["password"]})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    data = response.json()["data"]
    assert data["requires2FA"] is True and data["pendingToken"]
    assert "token" not in data and "refreshToken" not in data


def test_a_valid_code_answers_like_login(fake: Fake, tfa: dict[str, Any]) -> None:
    pending = fake.login(tfa)["pendingToken"]
    response = _verify(fake, pending, _code(fake, tfa["totpSecret"]))
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["user"]["id"] == tfa["id"] and data["token"] and data["refreshToken"]
    assert response.headers["cache-control"] == "no-store"
    assert fake.client().get(f"{API}/agents", headers=bearer(data["token"])).status_code == 200


@pytest.mark.parametrize(("offset", "status"), [(-30, 200), (30, 200), (-90, 401), (90, 401)])
def test_codes_one_step_off_are_accepted(fake: Fake, tfa: dict[str, Any], offset: int,
                                         status: int) -> None:
    fake.advance(45 - fake.now() % 30)  # mid-step: no step boundary during the test
    pending = fake.login(tfa)["pendingToken"]
    code = _code(fake, tfa["totpSecret"], offset)
    assert _verify(fake, pending, code).status_code == status


def test_the_code_follows_the_moved_server_clock(fake: Fake, tfa: dict[str, Any]) -> None:
    fake.advance(3600)
    pending = fake.login(tfa)["pendingToken"]
    assert _verify(fake, pending, _code(fake, tfa["totpSecret"])).status_code == 200


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", "١٢٣٤٥٦", " 12345"])
def test_malformed_codes_are_wrong_codes(fake: Fake, tfa: dict[str, Any], code: str) -> None:
    pending = fake.login(tfa)["pendingToken"]
    assert _verify(fake, pending, code).status_code == 401


def test_a_wrong_code_answers_401_without_tokens(fake: Fake, tfa: dict[str, Any]) -> None:
    pending = fake.login(tfa)["pendingToken"]
    response = _verify(fake, pending, _wrong(fake, tfa["totpSecret"]))
    assert response.status_code == 401
    assert "data" not in response.json()
    assert _verify(fake, pending, _code(fake, tfa["totpSecret"])).status_code == 200


def test_a_pending_token_is_not_a_bearer_token(fake: Fake, tfa: dict[str, Any]) -> None:
    pending = fake.login(tfa)["pendingToken"]
    assert fake.client().get(f"{API}/agents", headers=bearer(pending)).status_code == 401


def test_a_pending_token_is_single_use(fake: Fake, tfa: dict[str, Any]) -> None:
    pending = fake.login(tfa)["pendingToken"]
    assert _verify(fake, pending, _code(fake, tfa["totpSecret"])).status_code == 200
    assert _verify(fake, pending, _code(fake, tfa["totpSecret"])).status_code == 401


def test_a_pending_token_dies_after_600_seconds(fake: Fake, tfa: dict[str, Any]) -> None:
    pending, still = fake.login(tfa)["pendingToken"], fake.login(tfa)["pendingToken"]
    fake.advance(590)
    assert _verify(fake, still, _code(fake, tfa["totpSecret"])).status_code == 200
    fake.advance(11)
    assert _verify(fake, pending, _code(fake, tfa["totpSecret"])).status_code == 401


def test_five_wrong_codes_kill_the_pending_token(fake: Fake, tfa: dict[str, Any]) -> None:
    pending = fake.login(tfa)["pendingToken"]
    wrong = _wrong(fake, tfa["totpSecret"])
    assert [_verify(fake, pending, wrong).status_code for _ in range(5)] == [401] * 5
    assert _verify(fake, pending, _code(fake, tfa["totpSecret"])).status_code == 401


def test_a_wrong_password_on_a_2fa_account_is_a_plain_401(fake: Fake, tfa: dict[str, Any]) -> None:
    response = fake.client().post(f"{API}/auth/login",
                                  json={"email": tfa["email"], "password": "wrong"})
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Invalid email or password"


def _pendings(fake: Fake, tfa: dict[str, Any], n: int) -> list[str]:
    return [fake.login(tfa)["pendingToken"] for _ in range(n)]


def test_an_accepted_code_is_refused_on_another_pending_token(fake: Fake, tfa: dict[str, Any]) -> None:
    fake.advance(45 - fake.now() % 30)  # mid-step
    first, second, third = _pendings(fake, tfa, 3)
    code = _code(fake, tfa["totpSecret"])
    assert _verify(fake, first, code).status_code == 200
    assert _verify(fake, second, code).status_code == 401
    fake.advance(30)  # the old code is still inside the +-1-step window: still refused
    assert _verify(fake, second, code).status_code == 401
    assert _verify(fake, third, _code(fake, tfa["totpSecret"])).status_code == 200


def test_one_code_on_several_pending_tokens_at_once_is_accepted_once(fake: Fake,
                                                                     tfa: dict[str, Any]) -> None:
    fake.advance(45 - fake.now() % 30)
    code = _code(fake, tfa["totpSecret"])
    bodies = [{"pendingToken": p, "code": code} for p in _pendings(fake, tfa, 6)]
    assert sorted(fake.together(6, "/auth/verify-2fa", bodies)) == [200] + [401] * 5


def test_concurrent_wrong_codes_are_counted_exactly(fake: Fake, tfa: dict[str, Any]) -> None:
    pending = fake.login(tfa)["pendingToken"]
    body = {"pendingToken": pending, "code": _wrong(fake, tfa["totpSecret"])}
    assert fake.together(12, "/auth/verify-2fa", body).count(401) == 12
    assert fake.service.store.users[tfa["id"]].code_failures == 5  # only the 5 checked ones count


def _spend_wrong_codes(fake: Fake, tfa: dict[str, Any], count: int, per_token: int = 4) -> list[int]:
    statuses: list[int] = []
    wrong = _wrong(fake, tfa["totpSecret"])
    while len(statuses) < count:
        pending = fake.login(tfa)["pendingToken"]
        statuses += [_verify(fake, pending, wrong).status_code
                     for _ in range(min(per_token, count - len(statuses)))]
    return statuses


def test_wrong_codes_over_many_pending_tokens_lock_the_accounts_codes(fake: Fake,
                                                                      tfa: dict[str, Any]) -> None:
    assert _spend_wrong_codes(fake, tfa, 15) == [401] * 15
    refused = _verify(fake, fake.login(tfa)["pendingToken"], _code(fake, tfa["totpSecret"]))
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_codes"
    assert 0 < int(refused.headers["retry-after"]) <= 900
    fake.advance(901)
    accepted = _verify(fake, fake.login(tfa)["pendingToken"], _code(fake, tfa["totpSecret"]))
    assert accepted.status_code == 200


def test_a_good_code_resets_the_accounts_count(fake: Fake, tfa: dict[str, Any]) -> None:
    _spend_wrong_codes(fake, tfa, 14)
    fake.advance(45 - fake.now() % 30)
    assert _verify(fake, fake.login(tfa)["pendingToken"], _code(fake, tfa["totpSecret"])).status_code == 200
    assert _spend_wrong_codes(fake, tfa, 14) == [401] * 14


class RacyReplayGuard(AuthService):
    """The override points the AuthService docstring names for a 2FA-07 race."""

    def pending_lock(self) -> AbstractContextManager[Any]:
        return contextlib.nullcontext()

    def claim_code(self, user: User, code: str) -> bool:
        used = dict(user.used_codes)
        time.sleep(0.05)
        user.used_codes = {**user.used_codes, code: self.clock.now() + 90}
        return code not in used


def test_an_unlocked_replay_guard_lets_one_code_in_more_than_once() -> None:
    fake = Fake(create_app(Policy(hash_iterations=1000), service=RacyReplayGuard))
    tfa = fake.user(twoFactor=True)
    fake.advance(45 - fake.now() % 30)
    code = _code(fake, tfa["totpSecret"])
    bodies = [{"pendingToken": p, "code": code} for p in _pendings(fake, tfa, 4)]
    assert fake.together(4, "/auth/verify-2fa", bodies).count(200) > 1
