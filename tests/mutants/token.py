"""TOKEN mutants: access and refresh token lifetimes, each broken once."""
from __future__ import annotations

from typing import Any

from akol_fake import AuthService
from akol_fake._store import Family, User
from tests.mutants._base import Mutant

_HOUR = 3600


def _expiry_shift(typ: str, seconds: float) -> type[AuthService]:
    """A service that checks `typ` tokens' exp `seconds` late (leeway) or, if negative, early."""

    class ExpiryShift(AuthService):
        def decode(self, token: str, expected_typ: str) -> dict[str, Any] | None:
            if expected_typ != typ:
                return super().decode(token, expected_typ)
            claims = self.tokens.decode(token, self.clock.now() - seconds)
            return claims if claims is not None and claims.get("typ") == typ else None

    return ExpiryShift


class _RefreshGraceHour(_expiry_shift("refresh", _HOUR)):  # type: ignore[misc]
    """Refresh tokens honoured an hour past exp; the server-side session lives as long (else the
    fake's housekeeping would drop it at exp and hide the leeway)."""

    def issue_refresh(self, user: User, family: Family) -> str:
        token = super().issue_refresh(user, family)
        family.expires_at += _HOUR
        return token


MUTANTS: list[Mutant] = [
    Mutant("access-ttl-60min", "TOKEN-01", "access tokens live 60 minutes", policy={"access_ttl": 3600}),
    Mutant("access-ttl-16min", "TOKEN-01", "access tokens live 16 minutes (960 s)",
           policy={"access_ttl": 960}),
    Mutant("access-ttl-14min", "TOKEN-01", "access tokens live 14 minutes (840 s)",
           policy={"access_ttl": 840}),
    Mutant("access-expiry-leeway-5min", "TOKEN-02",
           "exp says 900 s, but the server accepts access tokens 5 minutes past it",
           service=_expiry_shift("access", 300)),
    Mutant("access-expiry-leeway-60s", "TOKEN-02",
           "a 60 s verification leeway: accepted at T+930, beyond the 30 s skew",
           service=_expiry_shift("access", 60)),
    Mutant("access-expires-2min-early", "TOKEN-02",
           "access tokens rejected 2 minutes before exp (expiry computed from a stale clock)",
           service=_expiry_shift("access", -120)),
    Mutant("refresh-ttl-8d", "TOKEN-03", "refresh tokens live 8 days", policy={"refresh_ttl": 8 * 86_400}),
    Mutant("refresh-ttl-6d", "TOKEN-03", "refresh tokens live 6 days", policy={"refresh_ttl": 6 * 86_400}),
    Mutant("refresh-expiry-grace-1h", "TOKEN-04",
           "exp says 7 days, but refresh tokens still refresh an hour past it", service=_RefreshGraceHour),
    Mutant("refresh-expires-1h-early", "TOKEN-04", "refresh tokens rejected an hour before exp",
           service=_expiry_shift("refresh", -_HOUR)),
]
