"""Fixtures for the load-profile tests: a fake served over loopback, and its accounts."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from akol_load._fake import FakeServer, start_fake


@pytest.fixture(scope="module")
def served_fake() -> Iterator[FakeServer]:
    """A fake that Locust is pointed at with --host (so Locust does not start its own)."""
    server = start_fake(hash_iterations=1000)
    yield server
    server.stop()
