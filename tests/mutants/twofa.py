"""2FA mutants: the two-factor login, each broken once."""
from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

from akol_fake import AuthService, _totp
from akol_fake._service import IssuedSession, Principal
from akol_fake._store import Pending, User
from tests.mutants._asgi import on_path, rewrite_responses
from tests.mutants._base import ASGIApp, Mutant
from tests.mutants._envelope import edit_data


def _session_beside_pending(app: ASGIApp) -> ASGIApp:
    """The 2FA login answer also carries a full session, as if the second factor were optional."""
    service: AuthService = app.state.service  # type: ignore[attr-defined]

    def add_session(data: dict[str, Any]) -> None:
        claims = service.decode(str(data.get("pendingToken", "")), "2fa_pending")
        user = service.store.users.get(claims["sub"]) if claims else None
        if user is not None:
            session = service.issue_session(user)
            data.update(token=session.token, refreshToken=session.refresh_token)

    return rewrite_responses(app, on_path("/auth/login", lambda s, a: edit_data(a, add_session)))


def _requires_2fa_as_string(app: ASGIApp) -> ASGIApp:
    def stringify(data: dict[str, Any]) -> None:
        if "requires2FA" in data:
            data["requires2FA"] = "true"

    return rewrite_responses(app, on_path("/auth/login", lambda s, a: edit_data(a, stringify)))


def _renamed_token_fields(app: ASGIApp) -> ASGIApp:
    """verify-2fa answers accessToken/refresh_token: the shape of another API, not LOGIN-01's."""
    def rename(data: dict[str, Any]) -> None:
        data["accessToken"] = data.pop("token", None)
        data["refresh_token"] = data.pop("refreshToken", None)

    return rewrite_responses(app, on_path("/auth/verify-2fa", lambda s, a: edit_data(a, rename)))


class _AnyCode(AuthService):
    def totp_ok(self, secret: str, code: str) -> bool:
        return len(code) == 6 and code.isdigit()


class _FiveStepWindow(AuthService):
    """Codes from up to 5 steps (2.5 minutes) either side are accepted: "users' phones drift"."""

    def totp_ok(self, secret: str, code: str) -> bool:
        return _totp.matching_step(secret, code, self.clock.now(), window=5) is not None


class _WallClock(AuthService):
    """TOTP checked against the machine's wall clock instead of the server clock."""

    def totp_ok(self, secret: str, code: str) -> bool:
        return _totp.matching_step(secret, code, time.time(), window=1) is not None


class _PendingAsBearer(AuthService):
    """Any token of ours with a known subject authenticates: the pendingToken too."""

    def session_principal(self, token: str) -> Principal | None:
        principal = super().session_principal(token)
        claims = self.decode(token, "2fa_pending") if principal is None else None
        if claims is None or claims["sub"] not in self.store.users:
            return principal
        user = self.store.users[claims["sub"]]
        return Principal(user.id, user.role, user.plan, "session", claims)


class _PendingReusable(AuthService):
    """The pendingToken is never marked used: it can be exchanged again until it expires."""

    def verify_2fa(self, pending_token: str, code: str, *, socket_ip: str,
                   headers: Mapping[str, str]) -> IssuedSession:
        session = super().verify_2fa(pending_token, code, socket_ip=socket_ip, headers=headers)
        claims = self.decode(pending_token, "2fa_pending")
        if claims is not None and claims["jti"] in self.store.pending:
            self.store.pending[claims["jti"]].used = False
        return session


class _BackOffThenAlive(AuthService):
    """After max_2fa_failures wrong codes the pendingToken is refused for 30 s, then takes codes again."""

    def pending_usable(self, state: Pending) -> bool:
        if state.failures >= self.policy.max_2fa_failures and self.clock.now() - state.last_failure_at >= 30:
            state.failures = 0
        return super().pending_usable(state)


class _RacyWrongCodeCount(AuthService):
    """The pendingToken's wrong-code count is read before a slow check and written after, unlocked:
    codes sent at once are all checked."""

    def pending_lock(self) -> AbstractContextManager[Any]:
        return contextlib.nullcontext()

    def totp_ok(self, secret: str, code: str) -> bool:
        time.sleep(0.05)
        return super().totp_ok(secret, code)


class _CodesReusable(AuthService):
    """No replay guard: a valid code works on every pendingToken until its step passes."""

    def claim_code(self, user: User, code: str) -> bool:
        return True


class _RacyReplayGuard(AuthService):
    """The replay guard reads, checks, then writes, unlocked: refuses a code used before, but not
    the same code sent on several pendingTokens at once."""

    def pending_lock(self) -> AbstractContextManager[Any]:
        return contextlib.nullcontext()

    def claim_code(self, user: User, code: str) -> bool:
        used = dict(user.used_codes)
        time.sleep(0.1)  # e.g. a round trip to the store the used codes live in
        if code in used:
            return False
        user.used_codes = {**user.used_codes, code: self.clock.now() + 90}
        return True


class _ReplayGuardForgetsAtStepEnd(AuthService):
    """Remembers a used code only until its step ends, though the +-1-step window keeps it valid longer."""

    def claim_code(self, user: User, code: str) -> bool:
        now = self.clock.now()
        accepted = super().claim_code(user, code)
        if accepted:
            user.used_codes[code] = now - now % _totp.STEP + _totp.STEP
        return accepted


class _AccountCountResetsOnLogin(AuthService):
    """The account's wrong-code count starts over with each password login (each new pendingToken)."""

    def issue_pending(self, user: User) -> str:
        user.code_failures = 0
        return super().issue_pending(user)


MUTANTS: list[Mutant] = [
    Mutant("2fa-login-issues-session", "2FA-01",
           "login of a 2FA account also returns token and refreshToken beside requires2FA",
           wrap=_session_beside_pending, http=True),
    Mutant("2fa-requires-flag-string", "2FA-01", 'login of a 2FA account answers requires2FA: "true"',
           wrap=_requires_2fa_as_string),
    Mutant("2fa-verify-renamed-fields", "2FA-02",
           "verify-2fa answers accessToken/refresh_token instead of token/refreshToken",
           wrap=_renamed_token_fields),
    Mutant("2fa-wall-clock", "2FA-02",
           "verify-2fa checks codes against the wall clock, not the server clock", service=_WallClock),
    Mutant("2fa-any-code", "2FA-03", "verify-2fa accepts any six digits", service=_AnyCode),
    Mutant("2fa-five-step-window", "2FA-03",
           "verify-2fa accepts codes from up to 5 steps (150 s) away", service=_FiveStepWindow),
    Mutant("2fa-pending-as-bearer", "2FA-04", "the pendingToken is accepted as a Bearer token",
           service=_PendingAsBearer),
    Mutant("2fa-pending-reusable", "2FA-05", "a pendingToken can be exchanged again after its use",
           service=_PendingReusable),
    Mutant("2fa-pending-1h", "2FA-05", "a pendingToken lives 1 hour", policy={"pending_ttl": 3600}),
    Mutant("2fa-pending-11min", "2FA-05", "a pendingToken lives 11 minutes, not 10",
           policy={"pending_ttl": 660}),
    Mutant("2fa-unlimited-wrong-codes", "2FA-06", "wrong codes are never counted",
           policy={"max_2fa_failures": 1_000_000}),
    Mutant("2fa-eleven-wrong-codes", "2FA-06",
           "the pendingToken dies only after the 11th wrong code (off by one past 10)",
           policy={"max_2fa_failures": 11}),
    Mutant("2fa-back-off-then-alive", "2FA-06",
           "after the wrong codes the pendingToken is refused for 30 s, then the right code logs in",
           service=_BackOffThenAlive),
    Mutant("2fa-racy-wrong-code-count", "2FA-06",
           "wrong codes sent at once on one pendingToken are all checked (the count is read, then written)",
           service=_RacyWrongCodeCount),
    Mutant("2fa-code-reusable", "2FA-07", "no replay guard: one code logs in on every pendingToken",
           service=_CodesReusable, http=True),
    Mutant("2fa-replay-guard-racy", "2FA-07",
           "a used code is refused afterwards, but the same code sent on several pendingTokens at once logs in "
           "more than once", service=_RacyReplayGuard),
    Mutant("2fa-replay-guard-forgets-at-step-end", "2FA-07",
           "a used code is forgotten when its step ends, though the one-step drift window still accepts it",
           service=_ReplayGuardForgetsAtStepEnd),
    Mutant("2fa-no-account-limit", "2FA-08", "wrong codes are limited per pendingToken only, never per account",
           policy={"max_2fa_account_failures": 10**6}),
    Mutant("2fa-account-count-resets-on-login", "2FA-08",
           "the account's wrong-code count starts over with each login, so fresh pendingTokens never reach it",
           service=_AccountCountResetsOnLogin),
    Mutant("2fa-account-limit-21", "2FA-08",
           "the account's codes are refused only after 21 wrong ones (off by one past 20)",
           policy={"max_2fa_account_failures": 21}),
]
