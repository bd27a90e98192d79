"""PatUser: a server-to-server integration calling GET /agents with a personal access token.

PATs have no refresh chain, so users share the PAT pool round-robin (PAT-01: 200 each time).
"""
from __future__ import annotations

from typing import ClassVar

from locust import task

from akol_load._arrivals import counts_as
from akol_load._base import AkolUser


class PatUser(AkolUser):
    needs_account: ClassVar[bool] = False
    needs_pat: ClassVar[bool] = True

    def on_start(self) -> None:
        self.pat = self.akol.pool.next_pat(type(self).__name__)

    @task
    @counts_as("GET /agents [PAT]")
    def list_agents(self) -> None:
        self.call("GET", "/agents", name="GET /agents [PAT]", token=self.pat)
