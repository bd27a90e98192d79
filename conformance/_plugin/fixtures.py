"""The fixtures clause tests use (docs/ARCHITECTURE.md §2); conftest.py re-exports them."""
from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from akol_conformance._plugin.api import Api, ExchangeLog, RateLimitWaiter
from akol_conformance._plugin.clock import Clock
from akol_conformance._plugin.options import (
    FOREIGN_TOKEN_VAR,
    FOREIGN_VARS,
    LOCKOUT2_VARS,
    LOCKOUT_VARS,
    LONG_PASSWORD_VARS,
    PAT_VAR,
    PLAIN_VARS,
    TFA2_VARS,
    TFA_VARS,
    Settings,
)
from akol_conformance._plugin.outcomes import ClauseFailure, Inconclusive, expect_status
from akol_conformance._plugin.run import Run, ServerErrors, get_run
from akol_conformance._plugin.target import Target
from akol_conformance._probes.ratelimit import IpBursts
from akol_conformance.check import ACCESS_TTL
from akol_conformance.client import (
    TOTP_STEP,
    Account,
    Control,
    ControlError,
    ForeignToken,
    Pat,
    Session,
    parse_jwt,
    totp_code,
)

LOGS_KEY = pytest.StashKey[list[ExchangeLog]]()
OBSERVED_KEY = pytest.StashKey[dict[str, Any]]()
NOT_CHECKED_KEY = pytest.StashKey[list[str]]()
# The last TOTP step of each secret the run handed out a code of: a server may refuse a code
# used before (RFC 6238 §5.2), so a later valid code comes from a later step.
TOTP_STEPS_KEY = pytest.StashKey[dict[str, int]]()
# Past the step boundary by the Date header's 1-s resolution, and a margin.
_STEP_MARGIN = 2.0
LONG_PASSWORD_CHARS = 100

# What the fixtures below provision through Run.provision with test control, by two_factor: an
# account for each test that takes the fixture, or one per run and use (unless the test also
# takes ``account``, which they then hand out). Only the prefetcher reads it: a fixture missing
# here loses its head start, one never called costs an account made ahead for nobody. test_login's
# ``refusals`` takes ``account`` once a run, for LOGIN-02 and LOGIN-03.
_PER_TEST: dict[str, bool] = {"account": False, "wrong_password_account": False, "spare_tfa_account": True}
_LOCKOUT = "lockout"  # the lockout account's use, in Run.accounts
_PER_RUN: dict[str, tuple[str, bool]] = {"lockout_account": (_LOCKOUT, False), "tfa_account": ("tfa", True),
                                         "refusals": ("refusals", False)}
_PER_RUN_UNLESS_ACCOUNT: dict[str, tuple[str, bool]] = {
    "shared_account": ("login", False), "login": ("login", False), "session": ("session", False),
    "pat": ("pat owner", False)}


def accounts_due(items: Iterable[pytest.Item]) -> Counter[bool]:
    """How many accounts of each kind (two_factor) the items will provision, at most."""
    due: Counter[bool] = Counter()
    uses: set[str] = set()
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        shared = {**_PER_RUN, **({} if "account" in names else _PER_RUN_UNLESS_ACCOUNT)}
        due.update(two_factor for name, two_factor in _PER_TEST.items() if name in names)
        uses.update(shared[name] for name in names & shared.keys())
    due.update(two_factor for _, two_factor in uses)
    return due


NO_CONTROL = "target has no /__test__/ test-control protocol (GET /__test__/clock did not answer 200)"
# A cached session is used only while it has this much life left.
_SESSION_MARGIN = 120.0


def no_credentials(settings: Settings, what: str, names: tuple[str, ...]) -> None:
    """Skip: ``what`` can't be had without test control; name the variables that would give it."""
    if settings.inprocess:
        pytest.skip(f"needs {what}: the in-process app has no test control (/__test__/)")
    missing = [n for n in names if not settings.credential(n)]
    pytest.skip(f"needs {what}: set {' and '.join(missing or names)} "
                f"(the target has no test control, /__test__/)")


def from_env(settings: Settings, names: tuple[str, ...], what: str) -> Account:
    values = [settings.credential(n) for n in names]
    if settings.inprocess or not all(values):
        no_credentials(settings, what, names)
    email, password, *rest = values
    assert email is not None and password is not None
    return Account(id=None, email=email, password=password, totp_secret=rest[0] if rest else None)


def _data(response: Any, what: str) -> dict[str, Any]:
    try:
        data = response.json()["data"]
        if isinstance(data, dict):
            return data
    except (ValueError, KeyError, TypeError):
        pass
    raise Inconclusive(f"{what}: expected a JSON body {{\"success\": true, \"data\": {{...}}}}, got "
                       f"{response.status_code} {response.text[:200]!r}", cause="prerequisite")


def log_in(api: Api, account: Account, code: Callable[[str], str]) -> Session:
    """Log ``account`` in (through 2FA when the server asks for it); the check is inconclusive
    (cause ``prerequisite``) if it can't: LOGIN-01 and 2FA-02 judge the login itself.

    A 429 is waited out even inside ``api.rate_limited()``: the test asked for a session.
    """
    with api.waiting_out():
        try:
            return _log_in(api, account, code)
        except ClauseFailure as failure:
            raise Inconclusive(f"needs a session, but {failure}", cause="prerequisite") from None


def _log_in(api: Api, account: Account, code: Callable[[str], str]) -> Session:
    response = api.login(account.email, account.password)
    expect_status(response, 200, what="login of the test account")
    data = _data(response, "login of the test account")
    if data.get("requires2FA"):
        if not account.totp_secret:
            raise ClauseFailure(what="login of the test account", expected="a session (the account has no 2FA)",
                                observed="requires2FA: true")
        secret = account.totp_secret
        response = api.verify_2fa(str(data.get("pendingToken")), lambda: code(secret))
        expect_status(response, 200, what="2FA verification of the test account")
        data = _data(response, "2FA verification of the test account")
    token, refresh = data.get("token"), data.get("refreshToken")
    if not isinstance(token, str) or not isinstance(refresh, str):
        raise ClauseFailure(what="login of the test account", expected="data.token and data.refreshToken",
                            observed=f"data keys {sorted(data)}")
    user = data.get("user")
    return Session(token=token, refresh_token=refresh, user=user if isinstance(user, dict) else {})


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
    log = ExchangeLog(akol_run.redactor, akol_run.server_errors, request.node.nodeid, akol_run.tally)
    request.node.stash.setdefault(LOGS_KEY, []).append(log)
    control = akol_run.control(http)
    waiter = RateLimitWaiter(control.advance if control else None, budget=akol_run.budget)
    yield Api(http, log, waiter, akol_run.budget)
    if akol_run.settings.inprocess:
        http.close()


@pytest.fixture(scope="session")
def ip_bursts() -> IpBursts:
    """How this run trips the IP login limit: what the target showed of it is kept for the run."""
    return IpBursts()


@pytest.fixture
def quiet(akol_run: Run) -> Iterator[None]:
    """Nothing of the run's own (accounts made ahead) reaches the target beside this test's requests."""
    with akol_run.quiet():
        yield


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
def totp(request: pytest.FixtureRequest, akol_run: Run, clock: Clock) -> Callable[..., str]:
    used = request.config.stash.setdefault(TOTP_STEPS_KEY, {})
    # Secrets of AKOL_* accounts outlive the run: a run just before may have used this step's code.
    shared = {akol_run.settings.credential(names[2]) for names in (TFA_VARS, TFA2_VARS)}

    def code(secret: str, at: float | None = None, *, fresh: bool = True) -> str:
        """``at=None``: a code to present as valid now, of a step no earlier code of this run for
        ``secret`` came from (it waits for the next step if needed, at most one step), or with
        ``fresh=False`` the current one even if used (for a body that need not be accepted).
        ``at=T``: the 6-digit RFC 6238 code at server time T, nothing recorded."""
        akol_run.redactor.add(secret)
        if at is not None:
            return totp_code(secret, at)
        now = clock.now()
        last = used.get(secret, int(now // TOTP_STEP) if secret in shared else None)
        if fresh and last is not None and now // TOTP_STEP <= last:
            now = clock.wait_short((last + 1) * TOTP_STEP - now + _STEP_MARGIN)
        used[secret] = int(now // TOTP_STEP)
        return totp_code(secret, now)

    return code


@pytest.fixture
def account(akol_run: Run, api: Api) -> Account:
    """A plain account, fresh via test control: the tests that take it send it wrong passwords,
    and a target may rightly keep that count after a correct login (django-axes does)."""
    control = akol_run.control(api.http)
    if control is not None:
        return akol_run.provision(control)
    return from_env(akol_run.settings, PLAIN_VARS, "a plain account")


def _sacrificial(akol_run: Run, api: Api) -> Control | None:
    """Skips without --destructive against a remote target; the test control, if any."""
    reason = destructive_skip_reason(akol_run.settings)
    if reason:
        pytest.skip(reason)
    return akol_run.control(api.http)


@pytest.fixture
def lockout_account(akol_run: Run, api: Api) -> Account:
    """One per run, as AKOL_LOCKOUT_* is without test control: the lockout checks share the lock
    one of them makes (test_lockout's ledger) instead of paying a run of wrong passwords each."""
    control = _sacrificial(akol_run, api)
    if control is not None:
        return _run_account(akol_run, control, _LOCKOUT)
    return from_env(akol_run.settings, LOCKOUT_VARS, "a sacrificial account the lockout checks may lock")


@pytest.fixture
def renew_lockout_account(akol_run: Run) -> Callable[[], None]:
    """For a check that sent ``lockout_account`` wrong passwords without locking it: with test
    control the next one is a new account (a count left behind would show a lower threshold)."""
    def renew() -> None:
        akol_run.accounts.pop(_LOCKOUT, None)

    return renew


@pytest.fixture
def wrong_password_account(akol_run: Run, api: Api) -> Account:
    """An account a test sends many wrong passwords to (LOGIN-05), with correct logins between:
    fresh via test control, else the sacrificial AKOL_LOCKOUT_* account (destructive). A target
    may keep its failure count across correct logins (django-axes does by default) and lock the
    account; that must not be AKOL_EMAIL, which the other checks log in to."""
    control = _sacrificial(akol_run, api)
    if control is not None:
        return akol_run.provision(control)
    return from_env(akol_run.settings, LOCKOUT_VARS, "a sacrificial account many wrong passwords may lock")


@pytest.fixture
def lockout2_account(akol_run: Run, api: Api) -> Account | None:
    """A second sacrificial account (AKOL_LOCKOUT2_*), so LOCK-05 locks its own, or None: LOCK-05
    then takes the lockout account before the other lockout checks lock it, and they reuse its lock
    (always with test control: a second account would cost a password check to make and a lock)."""
    if _sacrificial(akol_run, api) is None and all(akol_run.settings.credential(n) for n in LOCKOUT2_VARS):
        return from_env(akol_run.settings, LOCKOUT2_VARS, "a second sacrificial account")
    return None


@pytest.fixture
def tfa_account(akol_run: Run, api: Api) -> Account:
    """One per run, as AKOL_TFA_* is without test control (``totp`` never hands out a code twice)."""
    control = akol_run.control(api.http)
    if control is not None:
        return _run_account(akol_run, control, "tfa", two_factor=True)
    return from_env(akol_run.settings, TFA_VARS, "a 2FA account and its TOTP secret")


@pytest.fixture
def spare_tfa_account(akol_run: Run, api: Api) -> Account:
    """A 2FA account the run may exhaust: 2FA-06..08 spend wrong codes on it, which a server
    rightly answers by refusing its codes for a while (2FA-08). Fresh via control, so 2FA-08
    counts from zero (it tells a limit of 20 from 21), not one per run as AKOL_TFA2_* is."""
    control = akol_run.control(api.http)
    if control is not None:
        return akol_run.provision(control, two_factor=True)
    return from_env(akol_run.settings, TFA2_VARS, "a second 2FA account the run may exhaust (its wrong "
                                                  "codes may lock its codes for a while)")


@pytest.fixture
def long_password_account(akol_run: Run, api: Api) -> Account:
    """An account whose password is longer than 72 bytes (LOGIN-07): chosen via test control, or
    AKOL_LONG_PASSWORD_*."""
    control = akol_run.control(api.http)
    if control is None:
        return from_env(akol_run.settings, LONG_PASSWORD_VARS, "an account with a password longer than 72 bytes")
    chosen = secrets.token_urlsafe(LONG_PASSWORD_CHARS)[:LONG_PASSWORD_CHARS]
    try:
        account = control.create_user(password=chosen)
    except ControlError as exc:
        pytest.skip(f"needs an account with a password longer than 72 bytes, but {exc} for a "
                    f"{LONG_PASSWORD_CHARS}-character password")
    if account.password != chosen:
        pytest.skip("needs an account with a password longer than 72 bytes, but the target's test control "
                    "ignored the chosen one (POST /__test__/users without the optional password field)")
    return account


def _run_account(akol_run: Run, control: Control, use: str, *, two_factor: bool = False) -> Account:
    """The account provisioned for ``use`` once per run: each provisioning is a password hash."""
    account = akol_run.accounts.get(use)
    if account is None:
        account = akol_run.accounts[use] = akol_run.provision(control, two_factor=two_factor)
    return account


def _shared_account(request: pytest.FixtureRequest, akol_run: Run, use: str) -> Account:
    """With test control, an account provisioned once for ``use`` and shared by the tests that
    never see it (they only log in with it); else ``account``."""
    if not akol_run.test_control or "account" in request.fixturenames:
        return request.getfixturevalue("account")  # type: ignore[no-any-return]
    return _run_account(akol_run, request.getfixturevalue("control"), use)


@pytest.fixture
def shared_account(request: pytest.FixtureRequest, akol_run: Run) -> Account:
    """A plain account the test only logs in to, with its right password: via test control the
    one ``login()`` uses, shared by the run; else ``account`` (AKOL_EMAIL/AKOL_PASSWORD)."""
    return _shared_account(request, akol_run, "login")


@pytest.fixture
def login(request: pytest.FixtureRequest, akol_run: Run, api: Api, totp: Callable[..., str]) -> Callable[..., Session]:
    def fresh(account: Account | None = None) -> Session:
        """A fresh login (through 2FA if needed); fails the test unless it succeeds. Without an
        account: the test's ``account``, or one shared by the tests that take no ``account``."""
        return log_in(api, account or _shared_account(request, akol_run, "login"), totp)

    return fresh


def _lifetime(token: str) -> float:
    parts = parse_jwt(token)
    try:
        return float(parts.payload["exp"]) - float(parts.payload["iat"])  # type: ignore[union-attr]
    except (AttributeError, KeyError, TypeError, ValueError):  # AttributeError: not a JWT
        return float(ACCESS_TTL)


@pytest.fixture
def session(request: pytest.FixtureRequest, akol_run: Run, api: Api, clock: Clock,
            totp: Callable[..., str]) -> Session:
    """A session the test must not log out, refresh or otherwise spend.

    Shared between the tests that ask for it while its access token is live in server time, so a
    slow password check is paid once, not per test. A test that also takes ``account`` gets a
    fresh session of that very account; the others share one account of their own."""
    # Not the `login` fixture's shared account: a target may revoke all of an account's sessions
    # when a test there replays a refresh token, and this session must outlive such tests.
    account = _shared_account(request, akol_run, "session")
    if akol_run.test_control and "account" in request.fixturenames:
        return log_in(api, account, totp)  # a fresh account of this test alone: nothing to share
    # Live by both clocks: the server's (a test clock jumps) and this machine's (no test clock; a
    # server clock read from Date headers, or this machine's, which may be off the server's).
    now, since = clock.now(), time.monotonic()
    cached = akol_run.sessions.get(account.email)
    if cached is not None:
        found, server_deadline, local_deadline = cached
        if now < server_deadline - _SESSION_MARGIN and since < local_deadline - _SESSION_MARGIN:
            return found
    fresh = log_in(api, account, totp)
    lifetime = _lifetime(fresh.token)
    akol_run.sessions[account.email] = (fresh, now + lifetime, since + lifetime)
    return fresh


@pytest.fixture
def pat(request: pytest.FixtureRequest, akol_run: Run, api: Api) -> Pat:
    control = akol_run.control(api.http)
    if control is not None:
        # A test's own account, else one owner per run (PAT-05 changes its role: not `login`'s).
        owner = request.getfixturevalue("account") if "account" in request.fixturenames else \
            _run_account(akol_run, control, "pat owner")
        return control.create_pat(owner)
    s = akol_run.settings
    token = s.credential(PAT_VAR)
    if not token:
        no_credentials(s, "a personal access token", (PAT_VAR,))
    assert token is not None
    email, password = (s.credential(n) for n in PLAIN_VARS)
    owner = Account(id=None, email=email, password=password) if email and password else None
    return Pat(id=None, token=token, account=owner)


_ASK_FOREIGN = ("pass --foreign-target URL (a deployment with /__test__/, or set AKOL_FOREIGN_EMAIL and "
                "AKOL_FOREIGN_PASSWORD for an account there) or set AKOL_FOREIGN_TOKEN")
_REMEDY_CONTROL = "both test clocks were aligned right before minting it: run ENV again"
_REMEDY_ACCOUNT = ("this target's test clock ran past the token's life and the foreign target has no test "
                   "control to follow it: give --foreign-target test control, or run ENV first (--clause ENV)")
_REMEDY_TOKEN = ("set AKOL_FOREIGN_EMAIL and AKOL_FOREIGN_PASSWORD with --foreign-target, so the suite mints "
                 "a fresh token, or store a token minted right before the run")


def _align(foreign: Control, clock: Clock) -> None:
    """Bring both test clocks to the later one (they only move forward): a token minted next is
    then issued at this target's time, not days before it."""
    gap = clock.now() - foreign.now()
    if gap > 0:
        foreign.advance(gap)
    elif gap < 0 and clock.controllable:
        clock.advance(-gap)


def _foreign_account(settings: Settings) -> Account | None:
    email, password, secret = (settings.credential(n) for n in FOREIGN_VARS)
    if not (email and password):
        return None
    return Account(id=None, email=email, password=password, totp_secret=secret)


def _foreign_api(request: pytest.FixtureRequest, akol_run: Run, target: Target,
                 controlled: bool) -> tuple[Api, Control | None]:
    http = target.client()
    control = Control(http, akol_run.redactor.add_from, tally=akol_run.tally) if controlled else None
    # Its 5xx are another deployment's: kept out of this target's ROBUST-01 list.
    log = ExchangeLog(akol_run.redactor, [], request.node.nodeid, akol_run.tally)
    request.node.stash.setdefault(LOGS_KEY, []).append(log)
    waiter = RateLimitWaiter(control.advance if control else None, budget=akol_run.budget)
    return Api(http, log, waiter, akol_run.budget), control


def _mint(foreign: Api, control: Control | None, clock: Clock, akol_run: Run) -> ForeignToken | None:
    """A fresh access token of the other environment (clocks aligned first where both have test
    control); None without an account there."""
    if control is not None:
        _align(control, clock)
        # One a run: making it is a password check there too.
        akol_run.foreign_account = akol_run.foreign_account or control.create_user()
    account = akol_run.foreign_account if control is not None else _foreign_account(akol_run.settings)
    if account is None:
        return None
    foreign_clock = Clock(control, foreign, real_time=False)
    token = log_in(foreign, account, lambda secret: totp_code(secret, foreign_clock.now())).token
    how = "its test control" if control is not None else "AKOL_FOREIGN_EMAIL"
    return ForeignToken(token, f"minted by this run on the other environment ({how})",
                        _REMEDY_CONTROL if control is not None else _REMEDY_ACCOUNT,
                        minted_at=clock.now(), home_status=foreign.agents(token=token).status_code)


@pytest.fixture
def foreign_token(request: pytest.FixtureRequest, akol_run: Run, clock: Clock) -> ForeignToken:
    """An access token issued by another environment: minted by the run where it can (live at this
    target's clock), else AKOL_FOREIGN_TOKEN; ENV-01 judges whether it is live here."""
    settings = akol_run.settings
    foreign = akol_run.foreign()
    foreign_api, control = _foreign_api(request, akol_run, *foreign) if foreign else (None, None)
    if foreign_api is not None and (minted := _mint(foreign_api, control, clock, akol_run)) is not None:
        return minted
    token = settings.credential(FOREIGN_TOKEN_VAR)
    if token:
        home = foreign_api.agents(token=token).status_code if foreign_api is not None else None
        return ForeignToken(token, FOREIGN_TOKEN_VAR, _REMEDY_TOKEN, home_status=home)
    if settings.inprocess:
        pytest.skip("needs a token from another environment: the foreign in-process app has no test control")
    pytest.skip(f"needs a token from another environment: {_ASK_FOREIGN}")


@pytest.fixture
def observe(request: pytest.FixtureRequest, akol_run: Run) -> Callable[[str, object], None]:
    def record(name: str, value: object) -> None:
        """Report ``value`` under this clause's "observed" (redacted), pass or fail."""
        request.node.stash.setdefault(OBSERVED_KEY, {})[name] = akol_run.redactor.scrub_obj(value)

    return record


@pytest.fixture
def not_checked(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    def record(part: str, why: str) -> None:
        """A part of this check that could not run: the clause passes with ``coverage: partial``."""
        request.node.stash.setdefault(NOT_CHECKED_KEY, []).append(f"{part}: {why}")

    return record
