"""LOGIN mutants: POST /auth/login's answers, each broken once."""
from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from akol_fake import AuthService
from akol_fake._errors import Denied
from akol_fake._service import IssuedSession, PendingLogin
from akol_fake._store import User
from tests.mutants._asgi import Answer, Editor, Message, Scope, read_body, replaying, rewriting
from tests.mutants._base import ASGIApp, Mutant
from tests.mutants._envelope import edit_data, error_code, replace_error, request_header


def _bad_credentials(*, known: bool, answer: Callable[[str], Denied]) -> type[AuthService]:
    """A service whose "Invalid email or password" becomes `answer(email)` for known (or unknown) emails."""

    class BadCredentials(AuthService):
        def login(self, email: str, password: str, *, socket_ip: str,
                  headers: Mapping[str, str]) -> IssuedSession | PendingLogin:
            try:
                return super().login(email, password, socket_ip=socket_ip, headers=headers)
            except Denied as denied:
                if denied.code == "invalid_credentials" and (self.find_user(email) is not None) == known:
                    raise answer(email) from None
                raise

    return BadCredentials


class _AttemptsLeft(AuthService):
    """A wrong password for a registered account says how many tries are left, counting down;
    an unknown email's answer does not (nothing to count): the difference hides among fields
    that vary from one answer to the next."""

    def login(self, email: str, password: str, *, socket_ip: str,
              headers: Mapping[str, str]) -> IssuedSession | PendingLogin:
        try:
            return super().login(email, password, socket_ip=socket_ip, headers=headers)
        except Denied as denied:
            user = self.find_user(email)
            if denied.code != "invalid_credentials" or user is None:
                raise
            left = self.policy.lockout_threshold - user.failures
            raise Denied(401, denied.code, f"{denied.message} ({left} attempts left)") from None


class _UnknownEmailSkipsHashing(AuthService):
    """Returns early for an unknown email: no password hash, so the answer comes faster."""

    def verify_password(self, user: User | None, password: str) -> bool:
        if user is None:
            return False
        return super().verify_password(user, password)


def _truncating(limit: int, description: str) -> type[AuthService]:
    """Hashes only the first `limit` bytes of a password, at creation and at login alike."""

    class Truncating(AuthService):
        __doc__ = description

        def hash_password(self, password: str, salt: bytes) -> bytes:
            data = password.encode("utf-8", "surrogatepass")[:limit]
            return hashlib.pbkdf2_hmac("sha256", data, salt, self.policy.hash_iterations)

    return Truncating


def _login_editor(edit: Editor) -> Callable[[ASGIApp], ASGIApp]:
    return rewriting(edit, "/auth/login")


def _on_success(edit: Callable[[dict[str, Any]], None]) -> Editor:
    def editor(scope: Scope, answer: Answer) -> None:
        if answer.status == 200:
            edit_data(answer, edit)
    return editor


def _drop_user_field(name: str) -> Editor:
    return _on_success(lambda data: data.get("user", {}).pop(name, None))


def _opaque_refresh(data: dict[str, Any]) -> None:
    if "refreshToken" in data:
        data["refreshToken"] = secrets.token_hex(32)


def _generic_message(scope: Scope, answer: Answer) -> None:
    if error_code(answer) == "invalid_credentials":
        replace_error(answer, 401, "invalid_credentials", "Invalid credentials")


def _crash_on_login_body(crashes: Callable[[str, bytes], bool]) -> Callable[[ASGIApp], ASGIApp]:
    """Login requests whose (content type, body) `crashes` says so answer 500; others reach the fake."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Callable[[], Awaitable[Message]],
                          send: Callable[[Message], Awaitable[None]]) -> None:
            if scope["type"] != "http" or not str(scope.get("path", "")).endswith("/auth/login"):
                await app(scope, receive, send)
                return
            body = await read_body(receive)
            if crashes(request_header(scope, "content-type") or "", body):
                await send({"type": "http.response.start", "status": 500,
                            "headers": [(b"content-type", b"text/plain")]})
                await send({"type": "http.response.body", "body": b"Internal Server Error"})
                return
            await app(scope, replaying(body, receive), send)

        wrapped.state = getattr(app, "state", None)  # type: ignore[attr-defined]
        return wrapped

    return wrap


_UNPARSABLE = object()
_LIMIT = 64 * 1024  # the fake's body limit


def _parsed(body: bytes) -> object:
    """The decoded JSON body, or _UNPARSABLE."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return _UNPARSABLE


def _is_json(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() == "application/json"


def _malformed_json(content_type: str, body: bytes) -> bool:
    return _is_json(content_type) and bool(body.strip()) and _parsed(body) is _UNPARSABLE


def _non_object_json(content_type: str, body: bytes) -> bool:
    value = _parsed(body)
    return value is not _UNPARSABLE and not isinstance(value, dict)


def _mistyped_field(content_type: str, body: bytes) -> bool:
    value = _parsed(body)
    fields = ("email", "password")
    return isinstance(value, dict) and any(isinstance(value.get(f), (dict, list)) for f in fields)


def _huge(content_type: str, body: bytes) -> bool:
    return len(body) > _LIMIT


def _wrong_content_type(content_type: str, body: bytes) -> bool:
    return bool(body.strip()) and not _is_json(content_type)


def _deeply_nested(content_type: str, body: bytes) -> bool:
    return body.count(b"[") > 1000


def _drops_next_login_after_500(app: ASGIApp) -> ASGIApp:
    """After a login answered 5xx, the next login's connection is cut mid-answer (the worker died)."""
    crashed = False

    async def wrapped(scope: Scope, receive: Callable[[], Awaitable[Message]],
                      send: Callable[[Message], Awaitable[None]]) -> None:
        nonlocal crashed
        if scope["type"] != "http" or not str(scope.get("path", "")).endswith("/auth/login"):
            await app(scope, receive, send)
            return
        if crashed:
            crashed = False
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]})
            await send({"type": "http.response.body", "body": b"{", "more_body": True})
            raise RuntimeError("mutant: the worker that answered 500 is gone; the connection drops")

        async def watch(message: Message) -> None:
            nonlocal crashed
            if message["type"] == "http.response.start" and message["status"] >= 500:
                crashed = True
            await send(message)

        await app(scope, receive, watch)

    wrapped.state = getattr(app, "state", None)  # type: ignore[attr-defined]
    return wrapped


def _drop_cache_control(scope: Scope, answer: Answer) -> None:
    answer.drop_header("Cache-Control")
    answer.drop_header("Pragma")


def _no_cache_instead_of_no_store(scope: Scope, answer: Answer) -> None:
    if answer.header("Cache-Control") is not None:
        answer.drop_header("Cache-Control")
        answer.headers.append((b"cache-control", b"no-cache, private"))


MUTANTS: list[Mutant] = [
    Mutant("login-plan-missing", "LOGIN-01", "data.user has no plan",
           wrap=_login_editor(_drop_user_field("plan"))),
    Mutant("login-email-not-echoed", "LOGIN-01", "data.user has no email",
           wrap=_login_editor(_drop_user_field("email"))),
    Mutant("login-opaque-refresh-token", "LOGIN-01",
           "data.refreshToken is an opaque random string, not a JWT",
           wrap=_login_editor(_on_success(_opaque_refresh))),
    Mutant("wrong-password-403", "LOGIN-02", "a wrong password answers 403 'Wrong password'",
           service=_bad_credentials(known=True, answer=lambda _: Denied(
               403, "wrong_password", "Wrong password"))),
    Mutant("invalid-credentials-generic-message", "LOGIN-02",
           "bad credentials answer 401 'Invalid credentials' (not the page's message), for every email",
           wrap=_login_editor(_generic_message)),
    Mutant("unknown-email-404", "LOGIN-03", "an unknown email answers 404 'User not found'",
           service=_bad_credentials(known=False, answer=lambda _: Denied(
               404, "user_not_found", "User not found"))),
    Mutant("unknown-email-longer-message", "LOGIN-03",
           "an unknown email answers 401 with the page's message plus a hint that no account exists",
           service=_bad_credentials(known=False, answer=lambda _: Denied(
               401, "invalid_credentials", "Invalid email or password (no account with this email)"))),
    Mutant("wrong-password-attempts-left", "LOGIN-03",
           "a wrong password's message counts the tries left down; an unknown email's has no count",
           service=_AttemptsLeft),
    Mutant("unknown-email-own-error-code", "LOGIN-03",
           "an unknown email answers 401 with the page's message but error code 'unknown_email'",
           service=_bad_credentials(known=False, answer=lambda _: Denied(
               401, "unknown_email", "Invalid email or password"))),
    Mutant("unknown-email-named-in-message", "LOGIN-03",
           "an unknown email answers 401 'Invalid email or password: no account for <email>'",
           service=_bad_credentials(known=False, answer=lambda email: Denied(
               401, "invalid_credentials", f"Invalid email or password: no account for {email}"))),
    Mutant("login-500-on-malformed-json", "LOGIN-04", "a body that is not valid JSON answers 500",
           wrap=_crash_on_login_body(_malformed_json), http=True),
    Mutant("login-500-on-non-object-json", "LOGIN-04",
           "valid JSON that is not an object (array, string, number, null) answers 500",
           wrap=_crash_on_login_body(_non_object_json)),
    Mutant("login-500-on-mistyped-field", "LOGIN-04",
           "an object or array where a string field belongs answers 500 (e.g. email.strip() on a dict)",
           wrap=_crash_on_login_body(_mistyped_field)),
    Mutant("login-500-on-huge-body", "LOGIN-04", "a body over the size limit answers 500, not 413",
           wrap=_crash_on_login_body(_huge)),
    Mutant("login-500-on-wrong-content-type", "LOGIN-04", "a non-JSON Content-Type answers 500, not 415",
           wrap=_crash_on_login_body(_wrong_content_type)),
    Mutant("login-500-then-drops-connection", "LOGIN-04",
           "deeply nested JSON answers 500, and the login after it loses its connection mid-answer",
           wrap=lambda app: _drops_next_login_after_500(_crash_on_login_body(_deeply_nested)(app)), http=True),
    Mutant("unknown-email-skips-hashing", "LOGIN-05",
           "an unknown email returns before hashing the password: measurably faster",
           service=_UnknownEmailSkipsHashing),
    Mutant("login-no-cache-control", "LOGIN-06", "login answers carry no Cache-Control",
           wrap=_login_editor(_drop_cache_control)),
    Mutant("refresh-no-cache-control", "LOGIN-06", "refresh answers carry no Cache-Control",
           wrap=rewriting(_drop_cache_control, "/auth/refresh")),
    Mutant("verify-2fa-no-cache-control", "LOGIN-06", "verify-2fa answers carry no Cache-Control",
           wrap=rewriting(_drop_cache_control, "/auth/verify-2fa")),
    Mutant("token-answers-no-cache", "LOGIN-06",
           "token answers say Cache-Control: no-cache, private (storable, revalidated) instead of no-store",
           wrap=rewriting(_no_cache_instead_of_no_store)),
    Mutant("password-cut-at-72-bytes", "LOGIN-07",
           "only the first 72 bytes of a password count (bcrypt's silent truncation)",
           service=_truncating(72, "bcrypt: bytes past the 72nd are ignored"), http=True),
    Mutant("password-cut-at-64-bytes", "LOGIN-07",
           "only the first 64 bytes of a password count (a pre-hash cut short of bcrypt's limit)",
           service=_truncating(64, "a 64-byte buffer: bytes past the 64th are ignored")),
    Mutant("password-cut-at-96-bytes", "LOGIN-07",
           "only the first 96 bytes count: past bcrypt's 72, so a check of the 72-byte prefix alone passes it",
           service=_truncating(96, "a 96-byte buffer: bytes past the 96th are ignored")),
]
