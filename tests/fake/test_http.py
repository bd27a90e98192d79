"""A representative set of clauses over real HTTP against `akol-fake --port 0`."""
from __future__ import annotations

import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jwt

from akol_conformance.client import totp_code
from tests.fake.conftest import API, Served, bearer


def _user(served: Served, **body: Any) -> dict[str, Any]:
    with served.client() as client:
        response = client.post("/__test__/users", json=body)
    assert response.status_code == 201
    return response.json()  # type: ignore[no-any-return]


def _login(client: Any, account: dict[str, Any]) -> Any:
    return client.post(f"{API}/auth/login",
                       json={"email": account["email"], "password": account["password"]})


def _reset_rate_window(client: Any) -> None:
    assert client.post("/__test__/clock", json={"advance": 61}).status_code == 200


def test_session_lifecycle(served: Served) -> None:
    account = _user(served)
    with served.client() as client:
        login = _login(client, account)
        assert login.status_code == 200 and login.headers["cache-control"] == "no-store"
        data = login.json()["data"]
        claims = jwt.decode(data["token"], options={"verify_signature": False})
        assert claims["iss"] == "akol-staging"
        assert client.get(f"{API}/agents", headers=bearer(data["token"])).status_code == 200
        refreshed = client.post(f"{API}/auth/refresh", json={"refreshToken": data["refreshToken"]})
        assert refreshed.status_code == 200
        token = refreshed.json()["data"]["token"]
        assert client.post(f"{API}/auth/logout", headers=bearer(token)).status_code == 200
        gone = client.get(f"{API}/agents", headers=bearer(token))
        assert gone.status_code == 401 and "invalid_token" in gone.headers["www-authenticate"]
        missing = client.get(f"{API}/agents", headers={"Authorization": token})
        assert missing.json()["error"]["message"] == "No bearer token"


def test_two_factor_over_http(served: Served) -> None:
    account = _user(served, twoFactor=True)
    with served.client() as client:
        pending = _login(client, account).json()["data"]["pendingToken"]
        now = client.get("/__test__/clock").json()["now"]
        code = totp_code(account["totpSecret"], now)
        response = client.post(f"{API}/auth/verify-2fa",
                               json={"pendingToken": pending, "code": code})
        assert response.status_code == 200 and response.json()["data"]["token"]


def test_concurrent_refreshes_over_sockets_yield_one_pair(served: Served) -> None:
    account = _user(served)
    with served.client() as client:
        refresh_token = _login(client, account).json()["data"]["refreshToken"]
    n = 8
    barrier = threading.Barrier(n)

    def call(_: int) -> int:
        with served.client() as own:
            barrier.wait(timeout=10)
            return own.post(f"{API}/auth/refresh", json={"refreshToken": refresh_token}).status_code

    with ThreadPoolExecutor(n) as pool:
        assert sorted(pool.map(call, range(n))) == [200] + [401] * (n - 1)


def test_forwarding_headers_do_not_split_the_socket_ip(served: Served) -> None:
    with served.client() as client:
        _reset_rate_window(client)
        statuses = [client.post(f"{API}/auth/login", json={"email": f"n{i}@x", "password": "x"},
                                headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
                    for i in range(21)]
        assert statuses == [401] * 20 + [429], statuses
        assert int(client.post(f"{API}/auth/login", json={"email": "n@x", "password": "x"})
                   .headers["retry-after"]) >= 1
        _reset_rate_window(client)


def test_malformed_input_over_http(served: Served) -> None:
    with served.client() as client:
        _reset_rate_window(client)
        json_type = {"content-type": "application/json"}
        cases = [
            (b"\xff\xfe\xfa", json_type, 400),
            (b"{", json_type, 400),
            (b'{"email": 1, "password": []}', json_type, 400),
            (b"{}", {"content-type": "text/plain"}, 415),
            (b"x" * (1024 * 1024), json_type, 413),
        ]
        for content, headers, status in cases:
            response = client.post(f"{API}/auth/login", content=content, headers=headers)
            assert response.status_code == status
            assert response.json()["success"] is False
        chunked = client.post(f"{API}/auth/login", headers=json_type,
                              content=iter([b"[" * 40000, b"[" * 40000]))
        assert chunked.status_code == 413
        assert client.request("PUT", f"{API}/auth/login").status_code == 405


def test_a_half_sent_request_does_not_break_the_server(served: Served) -> None:
    host, port = served.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"em")
    with served.client() as client:
        assert client.get("/__test__/clock").status_code == 200
