"""Conforming variants: the fake changed in ways the page and the clauses allow, as popular
libraries do. Each must pass the LOGIN, LOCK and 2FA families clean (no clause failed or
inconclusive): a check that fails one of them judges an implementation choice, not the clause.

``app_factory`` builds the variant named by ``AKOL_VARIANT`` (``--app-factory tests.variants:app_factory``).
"""
from __future__ import annotations

import itertools
import json
import os
import threading
import time
from collections.abc import Mapping
from typing import Any

from akol_fake import AuthService, _totp
from akol_fake import _errors as err
from akol_fake._errors import Denied
from akol_fake._store import Lockable, User
from tests.mutants._asgi import Answer, Scope, rewriting
from tests.mutants._base import ASGIApp, Mutant
from tests.mutants.pat import _limit_pats_too
from tests.mutants.rate import _TrustsForwardedFor

FAMILIES = ("LOGIN", "LOCK", "2FA")


class _StepReplayGuard(AuthService):
    """django-otp's guard: a code must come from a later step than the last one accepted, so even a
    fresh code of an earlier step (inside the drift window) is refused."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._last_steps: dict[str, int] = {}
        self._steps_lock = threading.Lock()

    def claim_code(self, user: User, code: str) -> bool:
        step = _totp.matching_step(user.totp_secret or "", code, self.clock.now(), window=1)
        with self._steps_lock:
            if step is None or step <= self._last_steps.get(user.id, -1):
                return False
            self._last_steps[user.id] = step
            return True


class _LockShowsFromTheNextAttempt(AuthService):
    """The failure that reaches the threshold answers 401 but locks the account, so the next attempt
    answers 423, the right password's included: the fake's count with a threshold one lower, as the
    right password after it sees it."""

    def record_success(self, user: User) -> bool:
        with self.account_lock(user):
            if user.failures >= self.policy.lockout_threshold - 1:
                user.locked_until = self.clock.now() + self.policy.lockout_seconds
                return False
        return super().record_success(user)


class _CurrentStepOnly(AuthService):
    """No drift window: only the code of the server's current step."""

    def totp_ok(self, secret: str, code: str) -> bool:
        return _totp.matching_step(secret, code, self.clock.now(), window=0) is not None


class _CountKeptOnSuccess(AuthService):
    """django-axes' default: a right password logs in but does not reset the failure count."""

    def record_success(self, user: User) -> bool:
        with self.account_lock(user):
            return not (user.locked_until is not None and user.locked_until > self.clock.now())


class _CountKeptFailureAudited(_CountKeptOnSuccess):
    """As above, behind a slow hash, and a failure is audited (a write) before it is counted: a
    right password sent at once with wrong ones is decided before any of them counts."""

    def verify_password(self, user: User | None, password: str) -> bool:
        time.sleep(0.04)
        return super().verify_password(user, password)

    def record_failure(self, user: Lockable) -> bool:
        time.sleep(0.01)
        return super().record_failure(user)


class _ThrottleAnswers401(AuthService):
    """The account's code lock answers like a wrong code (401), not 429."""

    def codes_throttled(self, user: User) -> int | None:
        if super().codes_throttled(user) is not None:
            raise Denied(401, "invalid_code", err.INVALID_CODE, token_presented=True)
        return None


def _lock_with_retry_after(scope: Scope, answer: Answer) -> None:
    if answer.status == 423:
        answer.headers.append((b"retry-after", b"1800"))


_ANSWERS = itertools.count(1)


def _numbered(scope: Scope, answer: Answer) -> None:
    try:
        body = json.loads(answer.body)
    except ValueError:
        return
    if isinstance(body, dict) and body.get("success") is False:
        body["requestNumber"] = next(_ANSWERS)
        answer.body = json.dumps(body).encode()


VARIANTS: Mapping[str, Mutant] = {variant.name: variant for variant in (
    Mutant("totp-guard-by-step", "2FA-07", "refuses any code not from a later step than the last one accepted",
           service=_StepReplayGuard),
    Mutant("totp-current-step-only", "2FA-02", "accepts only the current step's code (no drift window)",
           service=_CurrentStepOnly),
    Mutant("lock-count-kept-on-success", "LOCK-04", "a right password does not reset the failure count",
           service=_CountKeptOnSuccess),
    Mutant("lock-count-kept-failure-audited", "LOCK-04",
           "as lock-count-kept-on-success, a slow hash, and each failure audited before it is counted",
           service=_CountKeptFailureAudited),
    Mutant("code-lock-answers-401", "2FA-08", "the account's code lock answers 401 like a wrong code",
           service=_ThrottleAnswers401),
    Mutant("lock-says-retry-after", "LOCK-01", "a locked login answers 423 with Retry-After: 1800",
           wrap=rewriting(_lock_with_retry_after, "/auth/login")),
    Mutant("ip-limit-10-a-minute", "RATE-01", "the IP login limit is 10 a minute, not 20",
           policy={"rate_limit": 10}),
    Mutant("lockout-threshold-4", "LOCK-01", "the 4th wrong password locks the account (423)",
           policy={"lockout_threshold": 4}),
    Mutant("lock-set-by-the-4th-failure", "LOCK-01",
           "the 4th wrong password answers 401 and locks the account: the next attempt answers 423",
           service=_LockShowsFromTheNextAttempt),
    Mutant("error-bodies-numbered", "LOGIN-03",
           "every login error carries the server's running answer number (a per-request field)",
           wrap=rewriting(_numbered, "/auth/login")),
)}


def _lock_answers_429(scope: Scope, answer: Answer) -> None:
    if answer.status == 423:
        answer.status = 429
        answer.headers.append((b"retry-after", b"1800"))


_LOCK_AS_429 = rewriting(_lock_answers_429, "/auth/login")


class _LockBeforeIpLimit(AuthService):
    """The lock answers before the IP limiter counts (lockout middleware in front of the limiter):
    a locked email's attempts never fill the window, though every other attempt does."""

    def login(self, email: str, password: str, **kwargs: Any) -> Any:
        user = self.find_user(email)
        if self.lockout_remaining(user if user is not None else self.unknown_email_counter(email)) is not None:
            raise err.account_locked()
        return super().login(email, password, **kwargs)


# The RATE and PAT bursts spend one email, which soon locks. How the lock meets the IP limit must
# never mislead them: a lock that answers 429 (LOCK-01 fails there, rightly) is not the IP limit,
# and a limit that does not count what the lock refused is a limit all the same. Each entry's
# RATE and PAT verdicts: failed clauses by id (none where the IP limit itself conforms).
RATE_VARIANTS: Mapping[str, tuple[Mutant, frozenset[str]]] = {mutant.name: (mutant, failing) for mutant, failing in (
    (Mutant("lock-before-ip-limit", "RATE-01", "the lock answers before the IP limiter counts the attempt",
            service=_LockBeforeIpLimit), frozenset()),
    (Mutant("lock-answers-429", "RATE-01", "a locked login answers 429 with Retry-After: 1800",
            wrap=_LOCK_AS_429), frozenset()),
    (Mutant("lock-answers-429-no-ip-limit", "RATE-01", "a locked login answers 429; there is no IP limit",
            policy={"rate_limit": 1_000_000}, wrap=_LOCK_AS_429),
     frozenset({"RATE-01", "RATE-02", "RATE-03", "RATE-04"})),
    (Mutant("lock-answers-429-pats-limited", "PAT-03",
            "a locked login answers 429; once the login window is full, PAT requests answer 429 too",
            wrap=lambda app: _LOCK_AS_429(_limit_pats_too(app))), frozenset({"PAT-03"})),
    (Mutant("lock-answers-429-trusts-x-forwarded-for", "RATE-04",
            "a locked login answers 429; the limit is keyed by the client-supplied X-Forwarded-For",
            service=_TrustsForwardedFor, wrap=_LOCK_AS_429), frozenset({"RATE-04"})),
)}


def app_factory(env: str | None = None) -> ASGIApp:
    name = os.environ.get("AKOL_VARIANT", "")
    known = {**VARIANTS, **{n: mutant for n, (mutant, _) in RATE_VARIANTS.items()}}
    if name not in known:
        raise LookupError(f"AKOL_VARIANT={name!r} names no variant; known: {', '.join(sorted(known))}")
    return known[name].build(env)
