"""SessionUser follows the server's clock: expired access tokens are refreshed, not failed."""
from __future__ import annotations

from pathlib import Path

import httpx

from akol_conformance.client import Control
from akol_load._fake import FakeServer
from tests.load._locust import LocustRun, headless

PAST_ACCESS_EXPIRY = 1000  # seconds: beyond the 900 s access token, well within the 7-day refresh token


def test_session_refreshes_when_the_server_clock_passes_expiry(served_fake: FakeServer, tmp_path: Path) -> None:
    run = LocustRun(tmp_path, *headless("SessionUser", "--host", served_fake.url, users=3, seconds=5))
    run.wait_for("All users spawned")
    with httpx.Client(base_url=served_fake.url, timeout=10) as http:
        Control(http).advance(PAST_ACCESS_EXPIRY)

    finished = run.finish()

    assert finished.returncode == 0, finished.output[-3000:]
    endpoints = finished.summary["endpoints"]
    assert endpoints["POST /auth/refresh"]["requests"] >= 1, sorted(endpoints)
    assert finished.summary["totals"]["failures"] == 0, finished.summary["errors"]
