"""REFRESH mutants: rotation, revocation and atomicity of POST /auth/refresh, each broken once."""
from __future__ import annotations

import contextlib
import itertools
import threading
import time
from typing import Any, ContextManager

import jwt

from akol_fake import AuthService
from akol_fake import _errors as err
from akol_fake._service import IssuedSession
from akol_fake._store import Family, User
from tests.mutants._asgi import Answer, Scope, rewriting
from tests.mutants._base import Mutant

_GRACE_SECONDS = 60.0


def _live_family(service: AuthService, claims: dict[str, Any]) -> Family:
    family = service.store.families.get(str(claims.get("sid")))
    if family is None or family.dead:
        raise err.invalid_token(err.INVALID_REFRESH)
    return family


class _SameRefreshToken(AuthService):
    def refresh(self, token: str) -> IssuedSession:
        claims = self.decode(token, "refresh")
        if claims is None:
            raise err.invalid_token(err.INVALID_REFRESH)
        family = _live_family(self, claims)
        user = self.store.users[family.user_id]
        return IssuedSession(user, self.issue_access(user, family.id), token)


class _SwappedPair(AuthService):
    def rotate(self, family: Family, user: User) -> IssuedSession:
        refresh_token = self.issue_refresh(user, family)
        return IssuedSession(user, refresh_token, self.issue_access(user, family.id))


class _OldStillValid(AuthService):
    def check_refresh(self, claims: dict[str, Any]) -> Family:
        return _live_family(self, claims)


class _GraceWindow(AuthService):
    def check_refresh(self, claims: dict[str, Any]) -> Family:
        family = _live_family(self, claims)
        grace = getattr(family, "grace", None)
        now = self.clock.now()
        if grace is not None and grace[0] == claims["jti"] and now < grace[1]:
            return family
        family = super().check_refresh(claims)
        family.grace = (claims["jti"], now + _GRACE_SECONDS)  # type: ignore[attr-defined]
        return family


class _RevocationForgotten(AuthService):
    """Rotation by blacklisting the used jti with a 60 s TTL instead of the token's remaining life."""

    def check_refresh(self, claims: dict[str, Any]) -> Family:
        family = _live_family(self, claims)
        if self.is_revoked(claims["jti"]):
            raise err.invalid_token(err.INVALID_REFRESH)
        self.store.blacklist[claims["jti"]] = self.clock.now() + _GRACE_SECONDS
        return family


class _RevokedWhenNewUsed(AuthService):
    """The previous token stays valid until its successor is presented."""

    def check_refresh(self, claims: dict[str, Any]) -> Family:
        family = _live_family(self, claims)
        if claims["jti"] == family.current_jti:
            family.previous = claims["jti"]  # type: ignore[attr-defined]
            return family
        if claims["jti"] == getattr(family, "previous", None):
            return family
        raise err.invalid_token(err.INVALID_REFRESH)


class _AccessTtlOnRefresh(AuthService):
    def check_refresh(self, claims: dict[str, Any]) -> Family:
        if self.clock.now() >= float(claims["iat"]) + self.policy.access_ttl:
            raise err.invalid_token(err.INVALID_REFRESH)
        return super().check_refresh(claims)


class _AcceptsAccessToken(AuthService):
    def refresh(self, token: str) -> IssuedSession:
        claims = self.decode(token, "access")
        if claims is None:
            return super().refresh(token)
        family = _live_family(self, claims)
        return self.rotate(family, self.store.users[family.user_id])


class _CrashesOnGarbage(AuthService):
    def refresh(self, token: str) -> IssuedSession:
        jwt.get_unverified_header(token)  # reads the kid before verifying: DecodeError on garbage
        return super().refresh(token)


def _invalid_as_422(scope: Scope, answer: Answer) -> None:
    if answer.status == 400:
        answer.status = 422


_unprocessable = rewriting(_invalid_as_422, "/auth/refresh")


class _NoReuseDetection(AuthService):
    def check_refresh(self, claims: dict[str, Any]) -> Family:
        family = _live_family(self, claims)
        if family.current_jti != claims["jti"]:
            raise err.invalid_token(err.INVALID_REFRESH)
        return family


class _RacyRotation(AuthService):
    def refresh_lock(self) -> ContextManager[Any]:
        return contextlib.nullcontext()

    def check_refresh(self, claims: dict[str, Any]) -> Family:
        family = super().check_refresh(claims)
        time.sleep(0.01)  # widen the read-then-write window so concurrent refreshes overlap
        return family


class _OneShardUnlocked(AuthService):
    """Refresh locks sharded four ways by session, one shard's lock never wired up: every fourth
    session (in creation order) rotates without a lock, so one burst of refreshes may well hit
    only sessions that are safe."""

    _SHARDS = 4

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._created = itertools.count()
        self._unlocked: set[str] = set()
        self._call = threading.local()  # refresh runs on a worker thread per request

    def issue_session(self, user: User) -> IssuedSession:
        session = super().issue_session(user)
        claims = self.decode(session.refresh_token, "refresh") or {}
        if next(self._created) % self._SHARDS == self._SHARDS - 1:
            self._unlocked.add(str(claims.get("sid")))
        return session

    def refresh(self, token: str) -> IssuedSession:
        claims = self.decode(token, "refresh") or {}
        self._call.unlocked = str(claims.get("sid")) in self._unlocked
        return super().refresh(token)

    def refresh_lock(self) -> ContextManager[Any]:
        return contextlib.nullcontext() if self._call.unlocked else super().refresh_lock()

    def check_refresh(self, claims: dict[str, Any]) -> Family:
        family = super().check_refresh(claims)
        if self._call.unlocked:
            time.sleep(0.01)  # the unlocked shard's read-then-write window, as in _RacyRotation
        return family


MUTANTS: list[Mutant] = [
    Mutant("refresh-same-token", "REFRESH-01",
           "refresh answers a new access token but hands the presented refresh token back",
           service=_SameRefreshToken),
    Mutant("refresh-swapped-pair", "REFRESH-01",
           "rotate swaps the pair: data.token is a refresh token, so the 'new access token' fails",
           service=_SwappedPair),
    Mutant("refresh-old-still-valid", "REFRESH-02",
           "rotation issues a new refresh token but never revokes the old one",
           service=_OldStillValid),
    Mutant("refresh-grace-60s", "REFRESH-02",
           "the old refresh token keeps working for 60 s after rotation",
           service=_GraceWindow),
    Mutant("refresh-revocation-forgotten-60s", "REFRESH-02",
           "the used refresh token is blacklisted for 60 s only, then works again",
           service=_RevocationForgotten, http=True),
    Mutant("refresh-revoked-when-new-used", "REFRESH-02",
           "the old refresh token is revoked only once its successor is presented",
           service=_RevokedWhenNewUsed),
    Mutant("refresh-denied-after-access-expiry", "REFRESH-03",
           "refresh applies the access token's 15-minute life to the refresh token",
           service=_AccessTtlOnRefresh),
    Mutant("refresh-accepts-access-token", "REFRESH-04",
           "an access token in refreshToken rotates its session like a refresh token",
           service=_AcceptsAccessToken),
    Mutant("refresh-500-on-garbage", "REFRESH-04",
           "a refreshToken that is not a JWT crashes the handler (500)",
           service=_CrashesOnGarbage),
    Mutant("refresh-422-on-malformed", "REFRESH-04",
           "a missing or mistyped refreshToken answers 422 (framework validation) instead of 400/401",
           wrap=_unprocessable),
    Mutant("refresh-no-reuse-detection", "REFRESH-05",
           "a replayed (revoked) refresh token is refused but its family lives on",
           service=_NoReuseDetection),
    Mutant("refresh-not-atomic", "REFRESH-06",
           "check and rotate run without a lock: concurrent refreshes of one token all succeed",
           service=_RacyRotation),
    Mutant("refresh-race-one-shard-in-four", "REFRESH-06",
           "refresh locks sharded by session with one shard unlocked: every fourth session's concurrent "
           "refreshes double-spend, so a single burst can miss it", service=_OneShardUnlocked, http=True),
]
