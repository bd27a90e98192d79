"""Types of the plugin's fixtures, for annotating clause tests (the fixtures live in _fixtures.py)."""
from __future__ import annotations

from collections.abc import Callable

from conformance._accounts import Account, Session
from conformance._client import Api
from conformance._clock import Clock
from conformance._settings import Settings

__all__ = ["Account", "Api", "Clock", "Login", "Observe", "Session", "Settings", "Totp"]

Login = Callable[..., Session]  # login(account=None) -> a fresh Session
Observe = Callable[[str, object], None]  # observe(name, value)
Totp = Callable[..., str]  # totp(secret, at=None) -> the 6-digit code
