"""Client of the test-control protocol (shared/spec/TEST-CONTROL.md) and the account types."""
from __future__ import annotations

from typing import Any

import httpx

from conformance._accounts import Account, Pat
from conformance._redact import MIN_TOKEN_LEN, Redactor

CONTROL_PREFIX = "/__test__"


class ControlError(RuntimeError):
    """The target's test-control endpoint answered something the protocol does not allow."""


def detect(http: httpx.Client) -> bool:
    """One ``GET /__test__/clock``: 200 means the protocol is present."""
    try:
        return http.get(f"{CONTROL_PREFIX}/clock").status_code == 200
    except httpx.HTTPError:
        return False


class Control:
    """Moves the server clock and provisions accounts and PATs."""

    def __init__(self, http: httpx.Client, redactor: Redactor) -> None:
        self._http = http
        self._redactor = redactor

    def _call(self, method: str, path: str, expected: int, body: dict[str, Any] | None = None) -> Any:
        response = self._http.request(method, CONTROL_PREFIX + path, json=body)
        try:
            payload = response.json() if response.content else None
        except ValueError:
            payload = None
        self._redactor.add_from(payload)
        if response.status_code != expected:
            raise ControlError(
                f"test control {method} {CONTROL_PREFIX}{path} answered {response.status_code}, the protocol "
                f"says {expected} (TEST-CONTROL.md): {self._redactor.scrub(response.text[:300])}"
            )
        return payload

    def now(self) -> float:
        return float(self._call("GET", "/clock", 200)["now"])

    def advance(self, seconds: float) -> float:
        """Move the server clock forward; returns the new server time."""
        if seconds <= 0:
            raise ValueError(f"the test clock only moves forward: advance({seconds}) must be > 0")
        return float(self._call("POST", "/clock", 200, {"advance": seconds})["now"])

    def create_user(self, *, two_factor: bool = False, role: str = "USER", plan: str = "STARTER") -> Account:
        data = self._call("POST", "/users", 201, {"twoFactor": two_factor, "role": role, "plan": plan})
        return Account(id=data["id"], email=data["email"], password=data["password"], role=data.get("role"),
                       plan=data.get("plan"), totp_secret=data.get("totpSecret"))

    def set_role(self, user_id: str, role: str) -> dict[str, Any]:
        return dict(self._call("PATCH", f"/users/{user_id}", 200, {"role": role}))

    def create_pat(self, account: Account) -> Pat:
        if account.id is None:
            raise ValueError("create_pat needs an account provisioned through test control (it has no id)")
        data = self._call("POST", f"/users/{account.id}/pats", 201, {})
        return Pat(id=data["id"], token=data["token"], account=account)

    def revoke_pat(self, pat_id: str) -> None:
        self._call("DELETE", f"/pats/{pat_id}", 204)

    def whoami(self, token: str) -> dict[str, Any] | None:
        """The server's view of a credential, or None when it does not accept it (401)."""
        self._redactor.add(token, min_len=MIN_TOKEN_LEN)
        response = self._http.get(f"{CONTROL_PREFIX}/whoami", headers={"Authorization": f"Bearer {token}"})
        if response.status_code == 401:
            return None
        if response.status_code != 200:
            raise ControlError(f"test control GET {CONTROL_PREFIX}/whoami answered {response.status_code}, "
                               "the protocol says 200 or 401 (TEST-CONTROL.md)")
        return dict(response.json())
