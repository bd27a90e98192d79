"""RATE mutants: the IP-level login rate limit, each broken once."""
from __future__ import annotations

from collections.abc import Callable, Mapping

from akol_fake import AuthService
from akol_fake import _errors as err
from akol_fake._service import IssuedSession, PendingLogin
from tests.mutants._asgi import Answer, Scope, rewriting
from tests.mutants._base import ASGIApp, Mutant


class _PerAccount(AuthService):
    """The limiter is keyed by the email, not the client: spreading over emails never trips it."""

    def _check_rate(self, socket_ip: str, headers: Mapping[str, str]) -> None:
        return None

    def login_key(self, email: str, socket_ip: str) -> str:
        return "email:" + self.normalize_email(email)

    def login(self, email: str, password: str, *, socket_ip: str,
              headers: Mapping[str, str]) -> IssuedSession | PendingLogin:
        retry_after = self.rate_limit_hit(self.login_key(email, socket_ip))
        if retry_after is not None:
            raise err.rate_limited(retry_after)
        return super().login(email, password, socket_ip=socket_ip, headers=headers)


class _PerIpAndAccount(_PerAccount):
    """The common "ip + email" limiter key: one client spreading over emails never trips it."""

    def login_key(self, email: str, socket_ip: str) -> str:
        return f"{socket_ip}|{self.normalize_email(email)}"


class _KnownEmailsOnly(AuthService):
    def login(self, email: str, password: str, *, socket_ip: str,
              headers: Mapping[str, str]) -> IssuedSession | PendingLogin:
        if self.find_user(email) is None:
            self.verify_password(None, password)
            raise err.invalid_credentials()
        return super().login(email, password, socket_ip=socket_ip, headers=headers)


class _TrustsForwardedFor(AuthService):
    def client_key(self, socket_ip: str, headers: Mapping[str, str]) -> str:
        forwarded = headers.get("x-forwarded-for", "").split(",")[0].strip()
        return forwarded or socket_ip


class _TrustsRealIp(AuthService):
    def client_key(self, socket_ip: str, headers: Mapping[str, str]) -> str:
        return headers.get("x-real-ip", "").strip() or socket_ip


def _retry_after(value: str | None) -> Callable[[ASGIApp], ASGIApp]:
    """A wrapper that replaces the Retry-After of login 429s with ``value`` (None: drops it)."""

    def edit(scope: Scope, answer: Answer) -> None:
        if answer.status == 429:
            answer.drop_header("Retry-After")
            if value is not None:
                answer.headers.append((b"retry-after", value.encode("latin-1")))

    return rewriting(edit, "/auth/login")


MUTANTS: list[Mutant] = [
    Mutant("rate-limit-500", "RATE-01", "the login limit is 500 attempts per window (> M=200)",
           policy={"rate_limit": 500}),
    Mutant("rate-limit-200", "RATE-01", "the login limit lets 200 attempts through: the 429 comes at 201",
           policy={"rate_limit": 200}),
    Mutant("rate-per-account", "RATE-02", "the limit is keyed by the email instead of the client",
           service=_PerAccount),
    Mutant("rate-known-emails-only", "RATE-02", "attempts on unknown emails are never counted",
           service=_KnownEmailsOnly),
    Mutant("rate-ip-and-email-key", "RATE-02",
           "the limit is keyed by client and email together: spreading over emails never trips it",
           service=_PerIpAndAccount),
    Mutant("rate-no-retry-after", "RATE-03", "a 429 carries no Retry-After header",
           wrap=_retry_after(None), http=True),
    Mutant("rate-retry-after-with-unit", "RATE-03", 'Retry-After says "60s", which is no delay-seconds',
           wrap=_retry_after("60s")),
    Mutant("rate-retry-after-too-short", "RATE-03",
           "Retry-After always says 1 s while the window keeps the client out for longer",
           wrap=_retry_after("1")),
    Mutant("rate-trusts-x-forwarded-for", "RATE-04",
           "the limit is keyed by the client-supplied X-Forwarded-For", service=_TrustsForwardedFor),
    Mutant("rate-trusts-x-real-ip", "RATE-04",
           "the limit is keyed by the client-supplied X-Real-IP", service=_TrustsRealIp),
]
