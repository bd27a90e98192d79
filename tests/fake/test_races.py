"""The race override points the AuthService docstring promises to mutant authors really race:
without the lock and with a widened window, the concurrency tests see the extra verdicts."""
from __future__ import annotations

import contextlib
import time
from contextlib import AbstractContextManager
from typing import Any

from akol_fake import AuthService, Policy, create_app
from akol_fake._store import Family, User
from tests.fake.conftest import Fake


class RacyRefresh(AuthService):
    def refresh_lock(self) -> AbstractContextManager[Any]:
        return contextlib.nullcontext()

    def check_refresh(self, claims: dict[str, Any]) -> Family:
        family = super().check_refresh(claims)
        time.sleep(0.05)
        return family


class RacyLockout(AuthService):
    def record_failure(self, user: User) -> bool:
        failures = user.failures
        time.sleep(0.05)
        user.failures = failures + 1
        if user.failures >= self.policy.lockout_threshold:
            user.locked_until = self.clock.now() + self.policy.lockout_seconds
            return True
        return False


def test_an_unlocked_refresh_hands_out_several_pairs() -> None:
    fake = Fake(create_app(Policy(hash_iterations=1000), service=RacyRefresh))
    refresh_token = fake.login(fake.user())["refreshToken"]
    statuses = fake.together(6, "/auth/refresh", {"refreshToken": refresh_token})
    assert statuses.count(200) > 1


def test_a_racy_failure_counter_gives_extra_401s() -> None:
    fake = Fake(create_app(Policy(hash_iterations=1000), service=RacyLockout))
    account = fake.user()
    statuses = fake.together(10, "/auth/login", {"email": account["email"], "password": "x"})
    assert statuses.count(401) > 4


def test_refresh_leaves_the_event_loop_in_every_subclass_that_does_not_opt_out() -> None:
    class Inline(AuthService):
        refresh_inline = True

    class Deeper(Inline):
        pass

    assert AuthService.refresh_inline and Inline.refresh_inline
    assert not RacyRefresh.refresh_inline and not Deeper.refresh_inline
