"""PAT mutants: personal access tokens, each broken once."""
from __future__ import annotations

import asyncio
import math
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from akol_fake import AuthService
from akol_fake._service import PAT_PREFIX, Principal
from akol_fake._store import PatRecord
from tests.mutants._asgi import Message, Scope
from tests.mutants._base import ASGIApp, Mutant
from tests.mutants._envelope import error_body, request_header

_DAY = 86_400
_CACHE_SECONDS = 300.0
# A PAT lookup as slow as a hashed-token row on a busy database: long enough that a few PAT
# requests outlast a 1-second login window.
PAT_LOOKUP_SECONDS = 0.4


class _PatsRefused(AuthService):
    def pat_principal(self, token: str) -> Principal | None:
        return None


class _ExpiresAfter30Days(AuthService):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._created: dict[str, float] = {}

    def create_pat(self, user_id: str, token: str | None = None) -> tuple[PatRecord, str] | None:
        created = super().create_pat(user_id, token)
        if created is not None:
            self._created[created[0].id] = self.clock.now()
        return created

    def pat_principal(self, token: str) -> Principal | None:
        pat = self.store.pats_by_digest.get(self._pat_digest(token))
        if pat is not None and self.clock.now() - self._created.get(pat.id, 0.0) > 30 * _DAY:
            return None
        return super().pat_principal(token)


class _JwtWithExp(AuthService):
    """PATs are JWTs with an exp 401 days out (never enforced, but a promise the page does not make)."""

    def create_pat(self, user_id: str, token: str | None = None) -> tuple[PatRecord, str] | None:
        if token is None:
            iat = int(self.clock.now())
            token = self.tokens.encode({"sub": user_id, "jti": secrets.token_urlsafe(16), "iat": iat,
                                        "exp": iat + 401 * _DAY, "typ": "pat"})
        return super().create_pat(user_id, token)


def _limit_pats_too(app: ASGIApp) -> ASGIApp:
    """A client whose login window is full gets 429 on its Bearer requests too (PATs included),
    with the login limit's own Retry-After."""
    service: AuthService = app.state.service

    def retry_after(scope: Scope) -> int | None:
        client = scope.get("client")
        now, window = service.clock.now(), service.policy.rate_window
        attempts = [t for t in list(service.store.attempts.get(client[0], ()) if client else ()) if t > now - window]
        if len(attempts) < service.policy.rate_limit:
            return None
        return max(1, math.ceil(attempts[0] + window - now))

    async def wrapped(scope: Scope, receive: Callable[[], Awaitable[Message]],
                      send: Callable[[Message], Awaitable[None]]) -> None:
        wait = retry_after(scope) if scope["type"] == "http" and request_header(scope, "authorization") else None
        if wait is not None:
            body = error_body("rate_limited", "Too many login attempts")
            await send({"type": "http.response.start", "status": 429,
                        "headers": [(b"content-type", b"application/json"), (b"retry-after", str(wait).encode()),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)

    wrapped.state = app.state  # type: ignore[attr-defined]
    return wrapped


def slow_pats(app: ASGIApp) -> ASGIApp:
    """Requests that carry a PAT take PAT_LOOKUP_SECONDS longer (other requests go on meanwhile)."""

    async def wrapped(scope: Scope, receive: Callable[[], Awaitable[Message]],
                      send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] == "http" and any(k.lower() == b"authorization" and PAT_PREFIX.encode() in v
                                           for k, v in scope.get("headers", [])):
            await asyncio.sleep(PAT_LOOKUP_SECONDS)
        await app(scope, receive, send)

    wrapped.state = getattr(app, "state", None)  # type: ignore[attr-defined]
    return wrapped


class _RevocationIgnored(AuthService):
    def revoke_pat(self, pat_id: str) -> bool:
        return pat_id in self.store.pats


class _RevocationCached(AuthService):
    """Accepted PATs are cached for 5 minutes: a revocation takes effect only when the entry ages out."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cache: dict[str, tuple[Principal, float]] = {}

    def pat_principal(self, token: str) -> Principal | None:
        now = self.clock.now()
        hit = self._cache.get(token)
        if hit is not None and hit[1] > now:
            return hit[0]
        principal = super().pat_principal(token)
        if principal is not None:
            self._cache[token] = (principal, now + _CACHE_SECONDS)
        return principal


class _LiveRole(AuthService):
    def pat_principal(self, token: str) -> Principal | None:
        principal = super().pat_principal(token)
        if principal is None:
            return None
        user = self.store.users[principal.user_id]
        return Principal(principal.user_id, user.role, user.plan, "pat")


MUTANTS: list[Mutant] = [
    Mutant("pat-refused", "PAT-01", "a PAT as the Bearer token answers 401", service=_PatsRefused),
    Mutant("pat-expires-30d", "PAT-02", "a PAT stops working 30 days after its creation",
           service=_ExpiresAfter30Days),
    Mutant("pat-jwt-exp-401d", "PAT-02", "a PAT is a JWT with an exp 401 days out",
           service=_JwtWithExp),
    Mutant("pat-login-rate-limited", "PAT-03",
           "once a client's login window is full, its PAT requests answer 429 too",
           wrap=_limit_pats_too, http=True),
    Mutant("pat-rate-limited-sliding-1s", "PAT-03",
           "the login limit is a 1-second sliding window and PAT lookups take 400 ms; a client whose "
           "login window is full gets 429 on its PAT requests too",
           policy={"rate_window": 1}, wrap=lambda app: _limit_pats_too(slow_pats(app)), http=True),
    Mutant("pat-revocation-ignored", "PAT-04", "revoking a PAT answers 204 but changes nothing",
           service=_RevocationIgnored),
    Mutant("pat-revocation-cached", "PAT-04",
           "accepted PATs are cached for 5 minutes, so a revoked one keeps working meanwhile",
           service=_RevocationCached),
    Mutant("pat-role-live", "PAT-05", "a PAT acts with the account's current role, not the one at creation",
           service=_LiveRole),
]
