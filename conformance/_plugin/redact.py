"""Secret scrubbing for everything the suite writes: evidence, reports, terminal output.

Two layers: a registry of exact secrets seen during the session (tokens in responses,
passwords sent, TOTP secrets, PATs, AKOL_* credentials) and patterns that catch
secrets the registry never saw (JWT-shaped strings, Authorization values, password
fields).
"""
from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "[REDACTED]"

# Anything shorter is too likely to collide with ordinary text (status codes, words).
_MIN_SECRET_LEN = 4
# Token-like values shorter than this are the suite's own junk ("garbage", "null"), not credentials.
MIN_TOKEN_LEN = 16
# Longer values are junk bodies (LOGIN-04's 1 MiB password), and would slow every scrub.
_MAX_SECRET_LEN = 8192
_SHORT_SECRET_KEYS = frozenset({"password", "totpsecret", "secret"})

SECRET_KEYS = frozenset(
    k.lower()
    for k in ("token", "refreshToken", "pendingToken", "accessToken", "access_token",
              "refresh_token", "password", "totpSecret", "secret", "pat")
)
_SECRET_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "proxy-authorization"})

# Runs this long that are part of a known secret are masked too: pytest's assertion diffs
# print the tail of a long string ("Skipping 77 identical leading characters").
_FRAGMENT = re.compile(r"[A-Za-z0-9_\-+/=]{10,}")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*)?")
# token68 (RFC 7235) of credential length; "Bearer <token>" in prose stays readable.
_AUTH_VALUE = re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(?:(bearer|basic|token)\s+)?[A-Za-z0-9._~+/=-]{8,}")
_FIELD = re.compile(
    r"(?i)(['\"]?(?:password|refreshToken|pendingToken|totpSecret|token)['\"]?\s*[:=]\s*)"
    r"(?:\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')"
)


class Redactor:
    """Session-wide registry of secrets; ``scrub`` removes them from any text.

    ``scrub`` masks whole secrets and secret-shaped patterns (fast, for reports and evidence);
    ``scrub_rendering`` also masks fragments of known secrets, for pytest's own renderings
    (assertion diffs and reprs print the head or tail of a long string).
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        self._ordered: list[str] | None = None
        self._haystack: str | None = None
        self._fragment_cache: dict[str, bool] = {}
        for secret in secrets:
            self.add(secret)

    def add(self, secret: object, *, min_len: int = _MIN_SECRET_LEN) -> None:
        if not isinstance(secret, str) or not min_len <= len(secret) <= _MAX_SECRET_LEN:
            return
        # The JSON-escaped and repr forms are what appear inside bodies and reprs.
        forms = {f for f in (secret, json.dumps(secret)[1:-1], repr(secret)[1:-1]) if len(f) >= _MIN_SECRET_LEN}
        with self._lock:
            if not forms <= self._secrets:
                self._secrets |= forms
                self._ordered = None
                self._haystack = None
                self._fragment_cache = {}

    def add_from(self, payload: object) -> None:
        """Register every value under a secret-named key of a decoded JSON payload."""
        if isinstance(payload, Mapping):
            for key, value in payload.items():
                if isinstance(key, str) and key.lower() in SECRET_KEYS and isinstance(value, str):
                    self.add(value, min_len=_MIN_SECRET_LEN if key.lower() in _SHORT_SECRET_KEYS else MIN_TOKEN_LEN)
                else:
                    self.add_from(value)
        elif isinstance(payload, list):
            for value in payload:
                self.add_from(value)

    def _known(self) -> tuple[list[str], str]:
        with self._lock:
            if self._ordered is None or self._haystack is None:
                # Longest first so a secret containing another is masked whole.
                self._ordered = sorted(self._secrets, key=len, reverse=True)
                self._haystack = "\0".join(self._ordered)
            return self._ordered, self._haystack

    def scrub(self, text: str) -> str:
        # str.replace per secret: C-speed, unlike one regex alternation of hundreds of tokens.
        for secret in self._known()[0]:
            if secret in text:
                text = text.replace(secret, MASK)
        text = _JWT.sub(MASK, text)
        text = _AUTH_VALUE.sub(lambda m: f"{m.group(1)}{(m.group(2) + ' ') if m.group(2) else ''}{MASK}", text)
        return _FIELD.sub(lambda m: f'{m.group(1)}"{MASK}"', text)

    def scrub_rendering(self, text: str) -> str:
        """``scrub``, plus any 10+ character run that is part of a known secret."""
        return _FRAGMENT.sub(self._mask_fragment, self.scrub(text))

    def _mask_fragment(self, match: re.Match[str]) -> str:
        run = match.group(0)
        secret = self._fragment_cache.get(run)
        if secret is None:
            secret = self._fragment_cache[run] = run in self._known()[1]
        return MASK if secret else run

    def scrub_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, value in headers.items():
            if name.lower() in _SECRET_HEADERS:
                scheme = value.split(" ", 1)[0] if " " in value else ""
                out[name] = f"{scheme} {MASK}".strip() if scheme.lower() in {"bearer", "basic", "token"} else MASK
            else:
                out[name] = self.scrub(value)
        return out

    def scrub_obj(self, value: Any) -> Any:
        """A JSON-ready copy of ``value`` with every secret masked."""
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, Mapping):
            return {
                str(k): (MASK if str(k).lower() in SECRET_KEYS and isinstance(v, str) else self.scrub_obj(v))
                for k, v in value.items()
            }
        if isinstance(value, (list, tuple, set, frozenset)):
            return [self.scrub_obj(v) for v in value]
        if value is None or isinstance(value, (bool, int, float)):
            return value
        return self.scrub(repr(value))
