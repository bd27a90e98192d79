"""SessionUser: the dashboard's life.

Logs in (with verify-2fa and a TOTP code at the server's clock for 2FA accounts), lists
agents often, refreshes shortly before the access token expires or when a request answers
401 after expiry, and now and then logs out (the old token must then answer 401) and logs
in again. A 401 for an access token that has not expired yet is a failure.
"""
from __future__ import annotations

from collections.abc import Callable

from locust import task

from akol_load._arrivals import counts_as
from akol_load._base import AkolUser, Tokens

REFRESH_MARGIN_SECONDS = 60.0
LOGOUT_OK = frozenset(range(200, 300))


class SessionUser(AkolUser):
    def on_start(self) -> None:
        self.account = self.claim_account()
        self.tokens: Tokens | None = None  # the first task logs in

    def _live_tokens(self) -> Tokens | None:
        if self.tokens is None:
            self.tokens = self.log_in(self.account)
        elif self._seconds_left(self.tokens) < REFRESH_MARGIN_SECONDS:
            self._refresh()
        return self.tokens

    def _seconds_left(self, tokens: Tokens) -> float:
        expires = tokens.access_expires
        return float("inf") if expires is None else expires - self.akol.clock.now(self.base_url)

    def _expired(self, tokens: Tokens) -> bool:
        """After a 401: has the token really expired? (Re-reads a test clock someone may have moved.)"""
        if tokens.access_expires is None:
            return True
        self.akol.clock.resync(self.base_url)
        return self._seconds_left(tokens) <= 0

    def _expiry_excuse(self, tokens: Tokens) -> Callable[[int], bool]:
        """A 401 is no failure once the token has really expired."""
        return lambda status: status == 401 and self._expired(tokens)

    def _refresh(self) -> None:
        assert self.tokens is not None
        reply, new = self.refresh(self.tokens)
        if new is not None or not reply.throttled:
            self.tokens = new

    @task(20)
    @counts_as("GET /agents")
    def list_agents(self) -> None:
        tokens = self._live_tokens()
        if tokens is None:
            return
        reply = self.call("GET", "/agents", name="GET /agents", token=tokens.access,
                          excuse=self._expiry_excuse(tokens))
        if reply.status == 401:
            self._refresh()
            if self.tokens is not None:
                self.call("GET", "/agents", name="GET /agents", token=self.tokens.access)

    @task(1)
    @counts_as("POST /auth/logout")
    def log_out_and_in(self) -> None:
        tokens = self._live_tokens()
        if tokens is None:
            return
        # The clock may pass the token's expiry between the check above and the logout.
        self.call("POST", "/auth/logout", name="POST /auth/logout", token=tokens.access, expect=LOGOUT_OK,
                  excuse=self._expiry_excuse(tokens))
        self.call("GET", "/agents", name="GET /agents [after logout]", token=tokens.access, expect=401)
        self.tokens = self.log_in(self.account)
