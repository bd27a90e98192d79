"""RefreshUser: one login, then refresh after refresh, always with the newest refresh token.

Each new pair must be all new (REFRESH-01); now and then the new access token must work.
Every ``--replay-every``-th rotation (default 10) replays the just-rotated refresh token, which must answer 401
(REFRESH-02); a correct server may then revoke the whole family (REFRESH-05), so the user
starts a new chain with a fresh login. A rejected newest refresh token is a failure too.
"""
from __future__ import annotations

from locust import task

from akol_load._arrivals import counts_as
from akol_load._base import AkolUser, Tokens

CHECK_ACCESS_EVERY = 5


class RefreshUser(AkolUser):
    def on_start(self) -> None:
        self.account = self.claim_account()
        self.tokens: Tokens | None = None  # the first task logs in
        self.rotations = 0

    @task
    @counts_as("POST /auth/refresh")
    def rotate(self) -> None:
        if self.tokens is None:
            self.tokens = self.log_in(self.account)
            return
        old = self.tokens
        reply, new = self.refresh(old)
        if new is None:
            if not reply.throttled:
                self.tokens = None  # the chain is broken (failure recorded): start a new one
            return
        self.tokens = new
        self.rotations += 1
        if self.rotations % CHECK_ACCESS_EVERY == 0:
            self.call("GET", "/agents", name="GET /agents [new token]", token=new.access)
        replay_every = self.akol.settings.replay_every
        if replay_every > 0 and self.rotations % replay_every == 0:
            self.call("POST", "/auth/refresh", name="POST /auth/refresh [replay]", expect=401,
                      body={"refreshToken": old.refresh})
            self.tokens = self.log_in(self.account)
