"""The fixtures clause tests use (docs/ARCHITECTURE.md §2); conftest.py re-exports them."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pyotp
import pytest

from conformance._accounts import (
    Account,
    Pat,
    Session,
    from_env,
    log_in,
    no_credentials,
)
from conformance._client import Api, ExchangeLog, RateLimitWaiter
from conformance._clock import Clock
from conformance._control import Control
from conformance._jwtparse import parse_jwt
from conformance._lifetimes import ACCESS_TTL
from conformance._run import Run, ServerErrors, get_run
from conformance._settings import FOREIGN_TOKEN_VAR, LOCKOUT_VARS, PAT_VAR, PLAIN_VARS, TFA_VARS, Settings

LOGS_KEY = pytest.StashKey[list[ExchangeLog]]()
OBSERVED_KEY = pytest.StashKey[dict[str, Any]]()

NO_CONTROL = "target has no /__test__/ test-control protocol (GET /__test__/clock did not answer 200)"
# A cached session is used only while it has this much life left.
_SESSION_MARGIN = 120.0


def destructive_skip_reason(settings: Settings) -> str | None:
    if settings.destructive:
        return None
    return (f"pass --destructive to run lockout/rate-limit checks (they lock an account or trip the IP "
            f"limit of {settings.target})")


@pytest.fixture
def akol_run(request: pytest.FixtureRequest) -> Run:
    return get_run(request.config)


@pytest.fixture(scope="session")
def settings(pytestconfig: pytest.Config) -> Settings:
    return get_run(pytestconfig).settings


@pytest.fixture(scope="session")
def server_errors(pytestconfig: pytest.Config) -> ServerErrors:
    """Every exchange of the session that answered 5xx (redacted); ROBUST-01 runs last."""
    run = get_run(pytestconfig)
    return ServerErrors(run.server_errors, run.redactor)


@pytest.fixture
def api(request: pytest.FixtureRequest, akol_run: Run) -> Iterator[Api]:
    target = akol_run.require_target()
    http = target.client()
    log = ExchangeLog(akol_run.redactor, akol_run.server_errors, request.node.nodeid)
    request.node.stash.setdefault(LOGS_KEY, []).append(log)
    control = akol_run.control(http)
    yield Api(http, log, RateLimitWaiter(control.advance if control else None))
    if akol_run.settings.inprocess:
        http.close()


@pytest.fixture
def control(akol_run: Run, api: Api) -> Control:
    found = akol_run.control(api.http)
    if found is None:
        pytest.skip(NO_CONTROL)
    return found


@pytest.fixture
def clock(akol_run: Run, api: Api) -> Clock:
    return Clock(akol_run.control(api.http), api, real_time=akol_run.settings.real_time)


@pytest.fixture
def totp(akol_run: Run, clock: Clock) -> Callable[..., str]:
    def code(secret: str, at: float | None = None) -> str:
        """The 6-digit RFC 6238 code for ``secret`` at server time ``at`` (default: now)."""
        akol_run.redactor.add(secret)
        return pyotp.TOTP(secret).at(clock.now() if at is None else at)

    return code


@pytest.fixture
def account(akol_run: Run, api: Api) -> Account:
    control = akol_run.control(api.http)
    if control is not None:
        return control.create_user()
    return from_env(akol_run.settings, PLAIN_VARS, "a plain account")


@pytest.fixture
def lockout_account(akol_run: Run, api: Api) -> Account:
    reason = destructive_skip_reason(akol_run.settings)
    if reason:
        pytest.skip(reason)
    control = akol_run.control(api.http)
    if control is not None:
        return control.create_user()
    return from_env(akol_run.settings, LOCKOUT_VARS, "a sacrificial account the lockout checks may lock")


@pytest.fixture
def tfa_account(akol_run: Run, api: Api) -> Account:
    control = akol_run.control(api.http)
    if control is not None:
        return control.create_user(two_factor=True)
    return from_env(akol_run.settings, TFA_VARS, "a 2FA account and its TOTP secret")


@pytest.fixture
def login(request: pytest.FixtureRequest, api: Api, totp: Callable[..., str]) -> Callable[..., Session]:
    def fresh(account: Account | None = None) -> Session:
        """A fresh login (through 2FA if needed); fails the test unless it succeeds."""
        return log_in(api, account or request.getfixturevalue("account"), totp)

    return fresh


def _lifetime(token: str) -> float:
    parts = parse_jwt(token)
    try:
        return float(parts.payload["exp"]) - float(parts.payload["iat"])  # type: ignore[union-attr]
    except (AttributeError, KeyError, TypeError, ValueError):  # AttributeError: not a JWT
        return float(ACCESS_TTL)


@pytest.fixture
def session(akol_run: Run, api: Api, account: Account, totp: Callable[..., str]) -> Session:
    """A session the test must not log out, refresh or otherwise spend."""
    if akol_run.test_control:
        # Fresh accounts every test, and the test clock may jump: nothing to reuse.
        return log_in(api, account, totp)
    cached = akol_run.sessions.get(account.email)
    if cached is not None:
        found, obtained, lifetime = cached
        if time.monotonic() - obtained < lifetime - _SESSION_MARGIN:
            return found
    fresh = log_in(api, account, totp)
    akol_run.sessions[account.email] = (fresh, time.monotonic(), _lifetime(fresh.token))
    return fresh


@pytest.fixture
def pat(request: pytest.FixtureRequest, akol_run: Run, api: Api) -> Pat:
    control = akol_run.control(api.http)
    if control is not None:
        return control.create_pat(request.getfixturevalue("account"))
    s = akol_run.settings
    token = s.credential(PAT_VAR)
    if not token:
        no_credentials(s, "a personal access token", (PAT_VAR,))
    assert token is not None
    email, password = (s.credential(n) for n in PLAIN_VARS)
    owner = Account(id=None, email=email, password=password) if email and password else None
    return Pat(id=None, token=token, account=owner)


@pytest.fixture
def foreign_token(request: pytest.FixtureRequest, akol_run: Run) -> str:
    """An access token issued by another environment of Akol."""
    foreign = akol_run.foreign()
    if foreign is not None and foreign[1]:
        target, _ = foreign
        http = target.client()
        control = Control(http, akol_run.redactor)
        # Its 5xx are another deployment's: kept out of this target's ROBUST-01 list.
        log = ExchangeLog(akol_run.redactor, [], request.node.nodeid)
        request.node.stash.setdefault(LOGS_KEY, []).append(log)
        foreign_api = Api(http, log, RateLimitWaiter(control.advance))
        return log_in(foreign_api, control.create_user(), lambda s: pyotp.TOTP(s).at(control.now())).token
    token = akol_run.settings.credential(FOREIGN_TOKEN_VAR)
    if token:
        return token
    if akol_run.settings.inprocess:
        pytest.skip("needs a token from another environment: the foreign in-process app has no test control")
    pytest.skip("needs a token from another environment: pass --foreign-target URL (a deployment with "
                "/__test__/) or set AKOL_FOREIGN_TOKEN")


@pytest.fixture
def observe(request: pytest.FixtureRequest, akol_run: Run) -> Callable[[str, object], None]:
    def record(name: str, value: object) -> None:
        """Report ``value`` under this clause's "observed" (redacted), pass or fail."""
        request.node.stash.setdefault(OBSERVED_KEY, {})[name] = akol_run.redactor.scrub_obj(value)

    return record
