"""Reading a JWT without verifying it: what a client can see in a token it was given."""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

__all__ = ["JwtParts", "parse_jwt"]


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
