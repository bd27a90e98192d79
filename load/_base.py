"""The base of every profile: checked calls, account claims, login (with 2FA) and refresh.

In a closed-loop run a user runs its tasks one after another (Locust's loop). In an
arrival-rate run (``--arrival-rate``/``--arrival-stages``) its one task is to serve the arrivals
the scheduler hands it, each running one of the profile's tasks. Either way a 429/423 answer
makes the user wait (Retry-After, or a growing back-off) before its next request.
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import gevent
from locust.contrib.fasthttp import FastHttpUser

from akol_conformance.client import TOTP_STEP, Account, parse_jwt, totp_code
from akol_load._api import Reply, Validator, call, login_answer, token_pair
from akol_load._context import LoadContext, context_of

# Without Retry-After, waits double from FIRST_BACKOFF; no wait (Retry-After included) exceeds MAX_WAIT.
FIRST_BACKOFF_SECONDS = 1.0
MAX_WAIT_SECONDS = 600.0


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
        self._backoff = FIRST_BACKOFF_SECONDS
        self._lag_ms: float | None = None  # how late the current arrival started (open model)
        self.last_totp_step = -1
        if self.akol.arrivals is not None:
            self.akol.arrivals.join(self)
            self.tasks = [AkolUser.serve_arrival]  # shadows the class's tasks for this user only

    @property
    def base_url(self) -> str:
        """The target: Locust sets ``host`` on every user class before it spawns one."""
        assert self.host, "Locust spawned a user without a host"
        return self.host

    def wait_time(self) -> float:
        think = self.akol.settings.think_time
        return random.uniform(0.5 * think, 1.5 * think) if think > 0 else 0.0

    def serve_arrival(self) -> None:
        """Open model: wait to be handed an arrival, run its task, count it completed."""
        assert self.akol.arrivals is not None
        ticket = self.akol.arrivals.next_for(self)
        self._lag_ms = max(time.monotonic() - ticket.due, 0.0) * 1000
        try:
            ticket.task(self)
        finally:
            self._lag_ms = None
        self.akol.recorder.completed(ticket.endpoint, at=time.time())

    def context(self) -> dict[str, Any]:
        """Rides on Locust's request event to the recorder: the lateness of the current arrival."""
        return {} if self._lag_ms is None else {"akol_lag_ms": self._lag_ms}

    def call(self, method: str, path: str, *, name: str, expect: int | frozenset[int] = 200,
             body: dict[str, Any] | None = None, token: str | None = None,
             validate: Validator | None = None, excuse: Callable[[int], bool] | None = None) -> Reply:
        reply = call(self.client, method, path, name=name, expect=expect, body=body, token=token,
                     validate=validate, excuse=excuse, throttle_is_failure=self.akol.settings.throttle_is_failure)
        if reply.throttled:
            self._wait_out(reply.retry_after)
        else:
            self._backoff = FIRST_BACKOFF_SECONDS
        return reply

    def _wait_out(self, retry_after: float | None) -> None:
        """Honour the limiter: sleep before the next request (the request's own time is already recorded)."""
        if retry_after is None:
            retry_after, self._backoff = self._backoff, min(self._backoff * 2, MAX_WAIT_SECONDS)
        gevent.sleep(min(retry_after, MAX_WAIT_SECONDS))

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
