"""LOGOUT mutants: POST /auth/logout and the blacklist, each broken once."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from akol_fake import AuthService
from tests.mutants._asgi import Answer, Editor, Scope, rewriting
from tests.mutants._base import ASGIApp, Mutant
from tests.mutants._envelope import error_code, replace_error, request_header

_FIVE_MINUTES = 300.0


class _NoBlacklist(AuthService):
    def blacklist(self, claims: dict[str, Any]) -> None:
        return None


class _ShortBlacklist(AuthService):
    """Blacklist entries with a fixed 5-minute TTL instead of the token's remaining life."""

    def blacklist(self, claims: dict[str, Any]) -> None:
        with self._state:
            self.store.blacklist[claims["jti"]] = self.clock.now() + _FIVE_MINUTES


class _SessionSurvives(AuthService):
    def end_session(self, sid: str) -> None:
        return None


def _logout_editor(edit: Editor) -> Callable[[ASGIApp], ASGIApp]:
    return rewriting(edit, "/auth/logout")


def _redirect(scope: Scope, answer: Answer) -> None:
    if answer.status == 200:
        answer.status = 302
        answer.body = b""
        answer.headers = [(b"location", b"/login")]


def _wants_body(scope: Scope, answer: Answer) -> None:
    if answer.status == 200 and request_header(scope, "content-length") in (None, "0"):
        replace_error(answer, 400, "invalid_request", "field 'refreshToken' is required")


def _accept_anything(scope: Scope, answer: Answer) -> None:
    if answer.status == 401:
        answer.status = 200
        answer.body = b'{"success": true}'
        answer.drop_header("WWW-Authenticate")


def _idempotent_without_token(scope: Scope, answer: Answer) -> None:
    if error_code(answer) == "missing_token":
        answer.status = 204
        answer.body = b""
        answer.drop_header("WWW-Authenticate")


MUTANTS: list[Mutant] = [
    Mutant("logout-redirects", "LOGOUT-01", "logout answers 302 to /login (a web-app habit), not 2xx",
           wrap=_logout_editor(_redirect)),
    Mutant("logout-wants-refresh-body", "LOGOUT-01",
           "logout insists on a JSON body with the refresh token: 400 for the page's bodiless call",
           wrap=_logout_editor(_wants_body)),
    Mutant("logout-not-blacklisting", "LOGOUT-02", "logout answers 200 but the access token keeps working",
           service=_NoBlacklist),
    Mutant("blacklist-expires-after-5min", "LOGOUT-02",
           "blacklist entries live 5 minutes, not until the token's exp: the token works again",
           service=_ShortBlacklist),
    Mutant("logout-2xx-for-garbage", "LOGOUT-03", "logout answers 200 to any token, or none",
           wrap=_logout_editor(_accept_anything)),
    Mutant("logout-2xx-without-token", "LOGOUT-03",
           "logout without a token answers 204 (\"already logged out\"); garbage still 401",
           wrap=_logout_editor(_idempotent_without_token)),
    Mutant("logout-keeps-refresh", "LOGOUT-04",
           "logout blacklists the access token but its refresh token still refreshes",
           service=_SessionSurvives),
]
