"""Fixtures for the fake's own tests: a fresh in-process fake per test, helpers that speak
the test-control protocol, and one served `akol-fake --port 0` per session."""
from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from akol_fake import Policy, create_app
from akol_fake.spawn import ServedFake, spawn

API = "/api/v1"
_ips = itertools.count(2)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Fake:
    """One in-process fake and the calls the tests make against it."""

    app: Any

    @property
    def service(self) -> Any:
        return self.app.state.service

    def together(self, n: int, path: str, body: dict[str, Any] | list[dict[str, Any]]) -> list[int]:
        """Statuses of `n` POSTs to `path` released at once from n threads and clients: of `body`,
        or of the i-th of a list of n bodies."""
        bodies = body if isinstance(body, list) else [body] * n
        barrier = threading.Barrier(n)
        clients = [self.client() for _ in range(n)]

        def call(i: int) -> int:
            barrier.wait(timeout=10)
            return int(clients[i].post(f"{API}{path}", json=bodies[i]).status_code)

        with ThreadPoolExecutor(n) as pool:
            return list(pool.map(call, range(n)))

    def client(self, ip: str | None = None) -> TestClient:
        """A client with its own socket address, so per-IP limits don't leak between uses."""
        if ip is None:
            n = next(_ips)
            ip = f"127.0.{n // 250}.{n % 250 + 1}"
        return TestClient(self.app, raise_server_exceptions=False, client=(ip, 40000))

    def user(self, **body: Any) -> dict[str, Any]:
        response = self.client().post("/__test__/users", json=body)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    def login(self, user: dict[str, Any], client: TestClient | None = None) -> dict[str, Any]:
        response = (client or self.client()).post(
            f"{API}/auth/login", json={"email": user["email"], "password": user["password"]})
        assert response.status_code == 200, response.text
        return response.json()["data"]  # type: ignore[no-any-return]

    def advance(self, seconds: float) -> float:
        response = self.client().post("/__test__/clock", json={"advance": seconds})
        assert response.status_code == 200, response.text
        return response.json()["now"]  # type: ignore[no-any-return]

    def now(self) -> float:
        return self.client().get("/__test__/clock").json()["now"]  # type: ignore[no-any-return]


@pytest.fixture
def fake() -> Fake:
    return Fake(create_app(Policy(hash_iterations=1000)))


@pytest.fixture
def api(fake: Fake) -> TestClient:
    """A client of `fake` with its own IP, prefixed with nothing: paths are spelled out."""
    return fake.client()


@pytest.fixture
def user(fake: Fake) -> dict[str, Any]:
    return fake.user()


@pytest.fixture
def session(fake: Fake, user: dict[str, Any]) -> dict[str, Any]:
    return fake.login(user)


class Served(ServedFake):
    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)


def start_served(*args: str) -> Served:
    """`akol-fake --port 0 ARGS` in a subprocess, once it printed its URL."""
    fake = spawn(*args)
    return Served(**{f.name: getattr(fake, f.name) for f in dataclasses.fields(fake)})


def stop_served(served: Served) -> tuple[int, str]:
    """Its exit code and everything it printed."""
    return served.stop(), served.output()


@pytest.fixture(scope="session")
def served() -> Iterator[Served]:
    instance = start_served("--env", "staging", "--hash-iterations", "1000")
    try:
        yield instance
    finally:
        returncode, stderr = stop_served(instance)
    assert "Traceback" not in stderr and "unhandled error" not in stderr, stderr[-2000:]
    assert returncode == 0

