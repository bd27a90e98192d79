"""Client code both suites share: account types, the test-control protocol, reading JWTs, TOTP.

Public: the conformance suite's fixtures and the load profiles (``akol_load``) build on it.
Nothing here knows pytest or Locust. Secrets never appear in a ``repr``.
"""
from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import hmac
import json
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = [
    "CONTROL_PREFIX", "DEFAULT_RETRY_AFTER", "TOTP_STEP", "Account", "Control", "ControlError",
    "ControlProbe", "ForeignToken", "JwtParts", "Pat", "Session", "TotpSecretError", "detect_test_control",
    "parse_jwt", "probe_test_control", "retry_after_seconds", "totp_code", "totp_key",
]

CONTROL_PREFIX = "/__test__"
DEFAULT_RETRY_AFTER = 60.0
TOTP_STEP = 30
_TOTP_DIGITS = 6


# -- accounts ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Account:
    id: str | None
    email: str
    password: str = field(repr=False)
    role: str | None = None
    plan: str | None = None
    totp_secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Pat:
    id: str | None
    token: str = field(repr=False)
    account: Account | None = None


@dataclass(frozen=True)
class Session:
    token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    user: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ForeignToken:
    """An access token of another environment, and what is known of its life at this target."""

    token: str = field(repr=False)
    source: str                      # where it came from, for reasons ("AKOL_FOREIGN_TOKEN", …)
    remedy: str                      # what would give a token live at this target's clock
    minted_at: float | None = None   # this target's clock when the run minted it; None: handed in
    home_status: int | None = None   # its own environment's answer on GET /agents; None: not asked


# -- JWTs, read without verification -------------------------------------------------------

@dataclass(frozen=True)
class JwtParts:
    header: dict[str, Any]
    payload: dict[str, Any]


def _b64url_json(part: str) -> object:
    if not part or "=" in part or "+" in part or "/" in part:
        raise ValueError("not base64url without padding")
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def parse_jwt(token: object) -> JwtParts | None:
    """The header and payload of a compact JWS (three base64url parts), or None if it is not one."""
    if not isinstance(token, str):
        return None
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header, payload = _b64url_json(parts[0]), _b64url_json(parts[1])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if not (isinstance(header, dict) and isinstance(payload, dict)):
        return None
    return JwtParts(header, payload)


# -- TOTP (RFC 6238 over RFC 4226), for secrets of any length -----------------------------

class TotpSecretError(ValueError):
    """A TOTP secret that is not base32."""


def totp_key(secret: str) -> bytes:
    """The key bytes of a base32 secret as authenticator apps take it: case and spaces ignored,
    padding optional, any length (an 80-bit secret is as valid as a 160-bit one)."""
    cleaned = "".join(secret.split()).upper().rstrip("=")
    try:
        key = base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    except (binascii.Error, ValueError):
        raise TotpSecretError("not base32 (letters A-Z and digits 2-7)") from None
    if not key:
        raise TotpSecretError("empty")
    return key


def totp_code(secret: str, at: float) -> str:
    """The 6-digit SHA-1 code of ``secret`` for the 30-second step holding Unix time ``at``."""
    digest = hmac.new(totp_key(secret), struct.pack(">Q", int(at // TOTP_STEP)), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10 ** _TOTP_DIGITS:0{_TOTP_DIGITS}d}"


# -- Retry-After ---------------------------------------------------------------------------

def retry_after_seconds(response: httpx.Response, default: float = DEFAULT_RETRY_AFTER) -> float:
    """Seconds a 429/423 asks the client to wait (delay-seconds or an HTTP-date), at least 1."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return default
    try:
        return max(1.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return default
    date = response.headers.get("date")
    try:
        now = email.utils.parsedate_to_datetime(date).timestamp() if date else time.time()
    except (TypeError, ValueError):
        now = time.time()
    return max(1.0, when - now)


# -- the test-control protocol (docs/spec/TEST-CONTROL.md) ------------------------------------

class ControlError(RuntimeError):
    """The target's test-control endpoint answered something the protocol does not allow."""


@dataclass(frozen=True)
class ControlProbe:
    """What ``GET /__test__/clock`` said: whether the protocol is there, and why, in words."""

    present: bool
    why: str


_PROBE_ATTEMPTS = 3
_PROBE_PAUSE = 0.25


def probe_test_control(http: httpx.Client, *, attempts: int = _PROBE_ATTEMPTS) -> ControlProbe:
    """Ask ``GET /__test__/clock`` until it gives an answer that decides: a 200 with a JSON
    ``{"now": <number>}`` means the protocol is there; any other 2xx-4xx means it is not.

    A transport fault or a 5xx decides nothing: it is asked again, at most ``attempts`` times,
    then ``ControlError`` says so. A run must never take a dropped request for "absent".
    """
    what = f"GET {CONTROL_PREFIX}/clock"
    last = "no attempt"
    for attempt in range(attempts):
        if attempt:
            time.sleep(_PROBE_PAUSE * attempt)
        try:
            response = http.get(f"{CONTROL_PREFIX}/clock")
        except httpx.TransportError as exc:
            last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            continue
        if response.status_code >= 500:
            last = f"it answered {response.status_code}"
            continue
        if response.status_code != 200:
            return ControlProbe(False, f"{what} answered {response.status_code}")
        try:
            now = response.json().get("now")
        except (ValueError, AttributeError):
            now = None
        if isinstance(now, (int, float)) and not isinstance(now, bool):
            return ControlProbe(True, f"{what} answered 200 with the server's time")
        return ControlProbe(False, f'{what} answered 200 without a numeric "now" (not the protocol)')
    raise ControlError(f"cannot tell whether the target has the test-control protocol: {what} failed "
                       f"{attempts} times ({last})")


def detect_test_control(http: httpx.Client) -> bool:
    """Whether the target speaks the test-control protocol; False also when that cannot be told
    (``probe_test_control`` raises instead, for callers that must not guess)."""
    try:
        return probe_test_control(http).present
    except ControlError:
        return False


class Control:
    """Moves the server clock and provisions accounts and PATs.

    ``register`` is told every secret the protocol hands out (passwords, TOTP secrets, PATs),
    so a caller that prints anything can scrub them; ``tally`` is told (method, path, status)
    of every call, so a caller can count them.
    """

    def __init__(self, http: httpx.Client, register: Callable[[object], None] | None = None, *,
                 tally: Callable[[str, str, int], None] | None = None) -> None:
        self._http = http
        self._register = register or (lambda payload: None)
        self._tally = tally or (lambda method, path, status: None)

    def _call(self, method: str, path: str, expected: int, body: dict[str, Any] | None = None) -> Any:
        response = self._http.request(method, CONTROL_PREFIX + path, json=body)
        self._tally(method, CONTROL_PREFIX + path, response.status_code)
        try:
            payload = response.json() if response.content else None
        except ValueError:
            payload = None
        self._register(payload)
        if response.status_code != expected:
            raise ControlError(
                f"test control {method} {CONTROL_PREFIX}{path} answered {response.status_code}, the protocol "
                f"says {expected} (docs/spec/TEST-CONTROL.md)"
            )
        return payload

    def now(self) -> float:
        return float(self._call("GET", "/clock", 200)["now"])

    def advance(self, seconds: float) -> float:
        """Move the server clock forward; returns the new server time."""
        if seconds <= 0:
            raise ValueError(f"the test clock only moves forward: advance({seconds}) must be > 0")
        return float(self._call("POST", "/clock", 200, {"advance": seconds})["now"])

    def create_user(self, *, two_factor: bool = False, role: str = "USER", plan: str = "STARTER",
                    password: str | None = None) -> Account:
        body: dict[str, Any] = {"twoFactor": two_factor, "role": role, "plan": plan}
        if password is not None:
            body["password"] = password
        data = self._call("POST", "/users", 201, body)
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
        self._register({"token": token})
        response = self._http.get(f"{CONTROL_PREFIX}/whoami", headers={"Authorization": f"Bearer {token}"})
        self._tally("GET", f"{CONTROL_PREFIX}/whoami", response.status_code)
        if response.status_code == 401:
            return None
        if response.status_code != 200:
            raise ControlError(f"test control GET {CONTROL_PREFIX}/whoami answered {response.status_code}, "
                               "the protocol says 200 or 401 (docs/spec/TEST-CONTROL.md)")
        return dict(response.json())
