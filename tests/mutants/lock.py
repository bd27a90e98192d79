"""LOCK mutants: the account lockout, each broken once."""
from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, ContextManager

from akol_fake import AuthService
from akol_fake import _errors as err
from akol_fake._service import IssuedSession, PendingLogin
from akol_fake._store import Lockable, LockCounter, User
from tests.mutants._asgi import Answer, Scope, rewriting
from tests.mutants._base import ASGIApp, Mutant


def _locked_as(status: int, retry_after: int | None = None) -> Callable[[ASGIApp], ASGIApp]:
    """A wrapper that answers a locked login with ``status`` instead of 423 (and ``Retry-After``)."""

    def edit(scope: Scope, answer: Answer) -> None:
        if answer.status == 423:
            answer.status = status
            if retry_after is not None:
                answer.headers.append((b"retry-after", str(retry_after).encode()))

    return rewriting(edit, "/auth/login")


class _EveryAttemptRestartsTheLock(AuthService):
    """Any login attempt during the lock, the right password included, starts its 30 minutes again."""

    def lockout_remaining(self, user: Lockable) -> float | None:
        remaining = super().lockout_remaining(user)
        if remaining is not None:
            with self.account_lock(user):
                user.locked_until = self.clock.now() + self.policy.lockout_seconds
        return remaining


class _LockCheckedBeforeSlowHash(AuthService):
    """Checks the lock before a slow password hash and not after it: a right password that passed
    the check logs in even when wrong ones locked the account while it was hashed."""

    def verify_password(self, user: User | None, password: str) -> bool:
        matches = super().verify_password(user, password)
        time.sleep(0.1)  # a slow hash (bcrypt, argon2): the window between check and use
        return matches

    def record_success(self, user: User) -> bool:
        with self.account_lock(user):
            user.failures = 0
            return True


class _UnknownEmailsNeverLock(AuthService):
    """Counts failures of registered accounts only (a library's documented pattern): an unknown
    email answers 401 forever, so the lockout tells which emails exist."""

    def unknown_email_counter(self, email: str) -> Lockable:
        return LockCounter()


class _UnknownEmailLockedOnce(AuthService):
    """An unknown email answers 423 at the threshold like an account, but its count then starts
    over instead of staying locked: the oracle shows only after the threshold."""

    def record_failure(self, user: Lockable) -> bool:
        locked = super().record_failure(user)
        if locked and isinstance(user, LockCounter):
            with self.account_lock(user):
                user.failures, user.locked_until = 0, None
        return locked


class _RightPasswordUnlocks(AuthService):
    def login(self, email: str, password: str, *, socket_ip: str,
              headers: Mapping[str, str]) -> IssuedSession | PendingLogin:
        user = self.find_user(email)
        if user is not None and user.locked_until is not None and self.verify_password(user, password):
            user.locked_until, user.failures = None, 0
        return super().login(email, password, socket_ip=socket_ip, headers=headers)


class _CookieBesideLock(AuthService):
    """A locked login refuses with 423 but the session cookie was already minted."""

    def login(self, email: str, password: str, *, socket_ip: str,
              headers: Mapping[str, str]) -> IssuedSession | PendingLogin:
        try:
            return super().login(email, password, socket_ip=socket_ip, headers=headers)
        except err.Denied as denied:
            user = self.find_user(email)
            if denied.status != 423 or user is None or not self.verify_password(user, password):
                raise
            denied.headers["Set-Cookie"] = f"akol_session={self.issue_session(user).token}; HttpOnly"
            raise


class _RacyCounter(AuthService):
    def account_lock(self, user: User) -> ContextManager[Any]:
        return contextlib.nullcontext()

    def record_failure(self, user: User) -> bool:
        if user.locked_until is not None and user.locked_until > self.clock.now():
            return True
        seen = user.failures
        time.sleep(0.01)  # widen the read-then-write window so concurrent failures overlap
        user.failures = seen + 1
        if user.failures >= self.policy.lockout_threshold:
            user.locked_until = self.clock.now() + self.policy.lockout_seconds
            return True
        return False


class _CaseSensitiveCounter(AuthService):
    """Login finds the account case-insensitively, but the counter is keyed by the email as typed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._typed: dict[tuple[str, str], tuple[int, float | None]] = {}
        self._typed_lock = threading.Lock()

    def login(self, email: str, password: str, *, socket_ip: str,
              headers: Mapping[str, str]) -> IssuedSession | PendingLogin:
        user = self.find_user(email)
        if user is None:
            return super().login(email, password, socket_ip=socket_ip, headers=headers)
        key = (user.id, email.strip())
        with self._typed_lock:
            user.failures, user.locked_until = self._typed.get(key, (0, None))
            try:
                return super().login(email, password, socket_ip=socket_ip, headers=headers)
            finally:
                self._typed[key] = (user.failures, user.locked_until)


MUTANTS: list[Mutant] = [
    Mutant("lockout-403", "LOCK-01", "a locked account answers 403 instead of 423",
           wrap=_locked_as(403), http=True),
    Mutant("lockout-429", "LOCK-01", "a locked account answers 429 (as if rate limited) instead of 423",
           wrap=_locked_as(429)),
    Mutant("lockout-429-retry-after-1800", "LOCK-01",
           "a locked account answers 429 with Retry-After: 1800 (a rate limiter used as the lock) instead of 423",
           wrap=_locked_as(429, retry_after=1800), http=True),
    Mutant("lockout-threshold-20", "LOCK-01", "the lock engages after 20 wrong passwords",
           policy={"lockout_threshold": 20}),
    Mutant("lockout-threshold-11", "LOCK-01", "the lock engages at attempt 11, one past the default N=10",
           policy={"lockout_threshold": 11}),
    Mutant("lockout-right-password-unlocks", "LOCK-02",
           "the correct password lifts the lock instead of answering 423",
           service=_RightPasswordUnlocks),
    Mutant("lockout-cookie-beside-423", "LOCK-02",
           "a locked login with the right password answers 423 but still sets a session cookie",
           service=_CookieBesideLock),
    Mutant("lockout-15min", "LOCK-03", "the lock lasts 15 minutes", policy={"lockout_seconds": 900}),
    Mutant("lockout-29min", "LOCK-03", "the lock lasts 29 minutes (1 minute short, beyond skew)",
           policy={"lockout_seconds": 1740}),
    Mutant("lockout-31-5min", "LOCK-03", "the lock lasts 31.5 minutes (beyond skew the other way)",
           policy={"lockout_seconds": 1890}),
    Mutant("lockout-forever", "LOCK-03", "the lock never ends", policy={"lockout_seconds": 10**9}),
    Mutant("lockout-restarts-on-attempt", "LOCK-03",
           "each login attempt during the lock, the right password included, restarts its 30 minutes",
           service=_EveryAttemptRestartsTheLock),
    Mutant("lockout-racy-counter", "LOCK-04",
           "the failure counter is read and written without a lock: a burst gets more tries",
           service=_RacyCounter),
    Mutant("lockout-checked-before-slow-hash", "LOCK-04",
           "the lock is checked before a slow hash and not after: a right password sent with wrong ones logs "
           "in after they locked the account", service=_LockCheckedBeforeSlowHash),
    Mutant("lockout-case-sensitive", "LOCK-05",
           "the failure counter is keyed by the email as typed: each case variant gets its own tries",
           service=_CaseSensitiveCounter),
    Mutant("lockout-unknown-emails-never-lock", "LOCK-06",
           "only registered accounts are counted: an unknown email answers 401 forever, a registered one 423",
           service=_UnknownEmailsNeverLock),
    Mutant("lockout-unknown-email-locked-once", "LOCK-06",
           "an unknown email answers 423 at the threshold, then its count starts over (401 again)",
           service=_UnknownEmailLockedOnce),
]
