"""SessionUser follows the server's clock: expired access tokens are refreshed, not failed."""
from __future__ import annotations

from pathlib import Path

import httpx

from akol_conformance.client import Control
from akol_load._fake import FakeServer
from tests.load._locust import LocustRun

PAST_ACCESS_EXPIRY = 1000  # seconds: beyond the 900 s access token, well within the 7-day refresh token


def test_session_refreshes_when_the_server_clock_passes_expiry(served_fake: FakeServer, tmp_path: Path) -> None:
    # Live stats (no --only-summary): a GET /agents row shows the users have logged in, so the tokens
    # they hold were issued before the clock moves.
    run = LocustRun(tmp_path, "--headless", "-u", "3", "-r", "3", "-t", "6s", "SessionUser", "--host", served_fake.url)
    run.wait_for("GET /agents")
    with httpx.Client(base_url=served_fake.url, timeout=10) as http:
        Control(http).advance(PAST_ACCESS_EXPIRY)

    finished = run.finish()

    assert finished.returncode == 0, finished.output[-3000:]
    endpoints = finished.summary["endpoints"]
    assert endpoints["POST /auth/refresh"]["requests"] >= 1, sorted(endpoints)
    assert finished.summary["totals"]["failures"] == 0, finished.summary["errors"]
