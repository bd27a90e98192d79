"""The base of every profile: checked calls, account claims, login (with 2FA) and refresh."""
from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from locust.contrib.fasthttp import FastHttpUser

from akol_conformance.client import TOTP_STEP, Account, parse_jwt, totp_code
from akol_load._api import Reply, Validator, call, login_answer, token_pair
from akol_load._context import LoadContext, context_of


@dataclass(frozen=True)
class Tokens:
    access: str = field(repr=False)
    refresh: str = field(repr=False)

    @property
    def access_expires(self) -> float | None:
        """The access token's ``exp`` (server time), when it is a JWT that says so."""
        parts = parse_jwt(self.access)
        exp = parts.payload.get("exp") if parts else None
        return float(exp) if isinstance(exp, int | float) else None

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Tokens:
        return cls(access=data["token"], refresh=data["refreshToken"])


class AkolUser(FastHttpUser):
    """Abstract: the profiles in load/*_user.py subclass it."""

    abstract = True
    needs_account: ClassVar[bool] = True
    needs_pat: ClassVar[bool] = False

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.akol: LoadContext = context_of(environment)
        self.user_id = f"{self.akol.pool.share_label}#{next(self.akol.user_numbers)}"
        self.last_totp_step = -1

    @property
    def base_url(self) -> str:
        """The target: Locust sets ``host`` on every user class before it spawns one."""
        assert self.host, "Locust spawned a user without a host"
        return self.host

    def wait_time(self) -> float:
        think = self.akol.settings.think_time
        return random.uniform(0.5 * think, 1.5 * think) if think > 0 else 0.0

    def call(self, method: str, path: str, *, name: str, expect: int | frozenset[int] = 200,
             body: dict[str, Any] | None = None, token: str | None = None,
             validate: Validator | None = None, excuse: Callable[[int], bool] | None = None) -> Reply:
        return call(self.client, method, path, name=name, expect=expect, body=body, token=token,
                    validate=validate, excuse=excuse, throttle_is_failure=self.akol.settings.throttle_is_failure)

    def claim_account(self) -> Account:
        return self.akol.pool.claim(self.user_id, type(self).__name__)

    def log_in(self, account: Account) -> Tokens | None:
        """POST /auth/login, then verify-2fa with a TOTP code at the server's clock when asked."""
        reply = self.call("POST", "/auth/login", name="POST /auth/login",
                          body={"email": account.email, "password": account.password},
                          validate=login_answer(email=account.email, has_totp=account.totp_secret is not None))
        if not reply.ok:
            return None
        if reply.data.get("requires2FA") is True and account.totp_secret is not None:
            code = totp_code(account.totp_secret, self._unused_step_time())
            reply = self.call("POST", "/auth/verify-2fa", name="POST /auth/verify-2fa",
                              body={"pendingToken": reply.data["pendingToken"], "code": code},
                              validate=token_pair(email=account.email))
            if not reply.ok:
                return None
        return Tokens.from_data(reply.data)

    def _unused_step_time(self) -> float:
        """Server time in a TOTP step this user has not used a code of, waiting (as a person would)
        for the next step if need be: a server rightly refuses a reused code (RFC 6238 §5.2)."""
        now = self.akol.clock.now(self.base_url)
        if now // TOTP_STEP <= self.last_totp_step:
            wait = (self.last_totp_step + 1) * TOTP_STEP - now + 1
            time.sleep(wait)  # gevent-patched under Locust: only this user waits
            now += wait
        self.last_totp_step = int(now // TOTP_STEP)
        return now

    def refresh(self, tokens: Tokens) -> tuple[Reply, Tokens | None]:
        """POST /auth/refresh with the newest refresh token; the new pair must differ from the old."""
        reply = self.call("POST", "/auth/refresh", name="POST /auth/refresh", body={"refreshToken": tokens.refresh},
                          validate=token_pair(email=None, previous=(tokens.access, tokens.refresh)))
        return reply, Tokens.from_data(reply.data) if reply.ok else None
