"""LoginUser: logs in again and again with its own account.

Every answer is checked (LOGIN-01: 200, success, data.user, data.token, data.refreshToken;
2FA accounts also go through verify-2fa). 429/423 are counted apart as
``POST /auth/login [429 throttled]`` and are not failures unless ``--throttle-is-failure``.
"""
from __future__ import annotations

from locust import task

from akol_load._arrivals import counts_as
from akol_load._base import AkolUser


class LoginUser(AkolUser):
    def on_start(self) -> None:
        self.account = self.claim_account()

    @task
    @counts_as("POST /auth/login")
    def login(self) -> None:
        self.log_in(self.account)
