"""LOCK — account lockout after consecutive wrong passwords (423, 30 minutes).

An account can be locked once per run (and per 30 minutes) without test control, and each lock
costs its wrong passwords' password checks with it, so the checks share what they learn: LOCK-05
runs first, on the lockout account before anything else locks it (or on AKOL_LOCKOUT2_*'s, when
set), and the checks after it reuse the lock this run made (`ledger`) instead of asking for a
second one.
"""
from __future__ import annotations

import itertools
import re
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from akol_conformance.check import (
    FRESH_WINDOW_SECONDS,
    Account,
    Answer,
    Api,
    Clock,
    Control,
    Inconclusive,
    NotChecked,
    Observe,
    Settings,
    advance_to,
    expect,
    expect_status,
    parse_jwt,
    past_ip_limit,
    response_token_fields,
)

_LOCK_SECONDS = 1800
_JWT_CANDIDATE = re.compile(r"[\w-]+\.[\w-]+\.[\w-]*")
_NOT_A_PASSWORD = "not-the-password"
# LOCK-06: the run of wrong passwords goes on this far past the lock, where an oracle may show.
_PAST_THE_LOCK = 2
# LOCK-04, the right password in a concurrent burst: wrong passwords sent with it (the first one
# counted locks the account; a second stands in for a first held up on the way), bursts at most,
# and bursts that must show the right password let in through a lock before that is a failure on
# a server whose own answers cannot prove that it resets its count (see _Burst).
_BURST_WRONG = 2
_MAX_BURSTS = 5
# LOCK-04: the right password's head start for the wrong ones, in seconds (see _Burst).
_MIN_RIGHT_DELAY = 0.05
_MAX_RIGHT_DELAY = 2.0
# LOCK-04, wrong passwords only: sent at once this many past the threshold, so a counter that
# loses increments lets through more than threshold - 1 (each of them is a password check).
_PAST_THRESHOLD = 2
_CONFIRMATIONS = 3
_OWN_429 = ("429 for this account while another account from the same client still got in: the lock "
            "answers 429 instead of 423")
_LOCKED_BEFORE = ("the lockout account was locked before this check reached it (by an earlier run, within its "
                  "30 minutes, or by LOGIN-05 of this run on a target that keeps the failure count after a "
                  "correct login), so this check cannot see its lock engage: run again once the lock ended, or "
                  "LOCK alone (--clause LOCK)")
_CASE_ACCOUNT_LOCKED = ("the {which} is locked already (an earlier run, within its 30 minutes) and LOCK-05 needs "
                        "it unlocked: run again once the lock ended{hint}")
_UNMEASURED = ("LOCK-05 locked the lockout account under case variants of its email that came more than once (it "
               "has too few letters for as many distinct ones), which does not show the threshold: set "
               "AKOL_LOCKOUT2_EMAIL/AKOL_LOCKOUT2_PASSWORD, so LOCK-05 locks that account instead")
_LOCKOUT2_HINT = (", or set AKOL_LOCKOUT2_EMAIL/AKOL_LOCKOUT2_PASSWORD to a second sacrificial account, which "
                  "LOCK-05 then locks instead")

pytestmark = pytest.mark.destructive


@dataclass(frozen=True)
class Lock:
    attempts: int  # the attempt that first answered as locked (its failures before it: attempts - 1)
    at: float  # server clock then
    statuses: tuple[int, ...]  # the answers from the first wrong password to the lock's, in order
    status: int  # how the lock answered: 423, or 429 when only this account got it
    how: str = "wrong passwords"
    spellings: int = 1  # of the email, the wrong passwords went under (LOCK-05's case variants)

    @property
    def measured(self) -> bool:
        """It shows the account's threshold: wrong passwords from a zero count, under one spelling of
        the email or under case variants none of which came twice (one counter for them: LOCK-05)."""
        return self.attempts > 0 and (self.spellings == 1 or self.attempts <= self.spellings)


Ledger = dict[str, Lock]  # the locks this run made, by email


@pytest.fixture(scope="session")
def ledger() -> Ledger:
    return {}


def _key(email: str) -> str:
    return email.strip().casefold()


def _wrong(password: str) -> str:
    return password + "-not-it"


def _unknown_like(email: str) -> str:
    """An address no account has, on the domain of `email`."""
    return f"nobody-{uuid.uuid4().hex[:16]}@{email.rpartition('@')[2]}"


def _login(api: Api, clock: Clock, email: str, password: str) -> Answer:
    """One login; a 429 that only this account gets is the lock answering 429, not the IP limit."""
    return past_ip_limit(api, clock, lambda: api.login(email, password),
                         lambda: api.login(_unknown_like(email), _NOT_A_PASSWORD))


def _expect_locked(answer: Answer, what: str) -> None:
    __tracebackhide__ = True
    expect(not answer.own_429, what=what, expected="423", observed=_OWN_429)
    expect_status(answer.response, 423, what=what)


def _lock(api: Api, clock: Clock, settings: Settings, account: Account, ledger: Ledger,
          spellings: list[str] | None = None, how: str = "wrong passwords") -> Lock:
    """Wrong passwords (under `spellings` of the email in turn, else the account's) until the account
    answers as locked; fails if it does not within settings.max_lockout_attempts."""
    statuses: list[int] = []
    for attempt in range(1, settings.max_lockout_attempts + 1):
        email = spellings[(attempt - 1) % len(spellings)] if spellings else account.email
        answer = _login(api, clock, email, _wrong(account.password))
        statuses.append(answer.status)
        if answer.status == 423 or answer.own_429:
            earlier = ledger.get(_key(account.email))
            if attempt == 1 and earlier is not None:
                return earlier  # still locked from this run's earlier lock of it
            lock = Lock(attempt, clock.now(), tuple(statuses), answer.status, how, len(spellings or [email]))
            ledger.setdefault(_key(account.email), lock)
            return lock
        expect(answer.status == 401, expected="401 for a wrong password before the lock engages (then 423)",
               observed={"attempt": attempt, "status": answer.status})
    expect(False, expected=f"423 within --max-lockout-attempts={settings.max_lockout_attempts} {how}",
           observed={"statuses": statuses})
    raise AssertionError("unreachable")


def _locked(api: Api, clock: Clock, settings: Settings, account: Account, ledger: Ledger, *,
            measured: bool) -> Lock:
    """The account, locked: by this run's earlier lock of it, or now. An account not provisioned
    for this test (black-box) first logs in, which clears failures an earlier run left and shows
    whether it is locked; `measured`: the caller needs to see the lock engage (skip if it can't)."""
    if account.id is None:
        start = _login(api, clock, account.email, account.password)
        if start.status == 423 or start.own_429:
            earlier = ledger.get(_key(account.email))
            if earlier is not None:
                return earlier
            if measured:
                pytest.skip(_LOCKED_BEFORE)
            return Lock(0, clock.now(), (), start.status, "a lock from before this run")
        if start.status != 200:
            raise Inconclusive(f"the lockout account does not log in with its password (it answered "
                               f"{start.status}): check AKOL_LOCKOUT_EMAIL/AKOL_LOCKOUT_PASSWORD",
                               cause="prerequisite")
    return _lock(api, clock, settings, account, ledger)


def _issued_tokens(response: httpx.Response) -> list[str]:
    """Where the response hands out a credential: token fields, or a JWT in the body or any header."""
    found = [f"body field {path}" for path in response_token_fields(response)]
    places = [("body", response.text)] + [(f"header {k}", v) for k, v in response.headers.multi_items()]
    for place, text in places:
        if any(parse_jwt(candidate) for candidate in _JWT_CANDIDATE.findall(text)):
            found.append(f"a JWT in the {place}")
    return found


# ---------------------------------------------------------------- LOCK-05 (first: it needs an unlocked account)
def _case_variants(email: str, count: int) -> list[str]:
    """Up to `count` distinct case variants of an email, none equal to it: one letter flipped each,
    all upper, title case, then two letters flipped (a short address has few of the first kinds)."""
    letters = [i for i, ch in enumerate(email) if ch.swapcase() != ch]

    def flipped(*at: int) -> str:
        return "".join(ch.swapcase() if i in at else ch for i, ch in enumerate(email))

    candidates = itertools.chain((flipped(i) for i in letters), (email.upper(), email.title()),
                                 (flipped(*pair) for pair in itertools.combinations(letters, 2)))
    unique = (v for v in dict.fromkeys(candidates) if v != email)
    return list(itertools.islice(unique, count))


@pytest.mark.clause("LOCK-05")
def test_case_variants_share_the_lock(api: Api, clock: Clock, settings: Settings, lockout2_account: Account | None,
                                      lockout_account: Account, ledger: Ledger, observe: Observe,
                                      renew_lockout_account: Callable[[], None]) -> None:
    account = lockout2_account or lockout_account
    email, password = account.email, account.password
    upper = _login(api, clock, email.upper(), password)
    observe("upper_case_email_login", upper.status)
    if upper.status == 423 or upper.own_429:
        pytest.skip(_CASE_ACCOUNT_LOCKED.format(which="lockout account", hint=_LOCKOUT2_HINT)
                    if lockout2_account is None else
                    _CASE_ACCOUNT_LOCKED.format(which="AKOL_LOCKOUT2_* account", hint=""))
    if upper.status == 401:
        # Emails are case-sensitive identities here: a variant names another (unknown) account, no bypass.
        observe("emails_case_sensitive", True)
        return
    expect_status(upper.response, 200, what="login with the upper-cased email and the correct password")
    variants = _case_variants(email, settings.max_lockout_attempts)
    try:
        lock = _lock(api, clock, settings, account, ledger, spellings=variants,
                     how="wrong passwords under case variants of the email (LOCK-05)")
    finally:
        made = ledger.get(_key(email))
        if account is lockout_account and not (made and made.measured):
            renew_lockout_account()  # its count now unknown, the next lockout check gets a new one
    observe("variant_attempts_to_lock", lock.attempts)
    expect(lock.attempts <= len(variants),
           expected=f"the lock within {len(variants)} wrong passwords, each under a different case variant "
                    "of the email (one account, one counter)",
           observed={"statuses": list(lock.statuses)})
    _expect_locked(_login(api, clock, email, password), "the correct password under the email as provisioned")


# ---------------------------------------------------------------- LOCK-01
@pytest.mark.clause("LOCK-01")
def test_lockout_engages(api: Api, clock: Clock, settings: Settings, lockout_account: Account, ledger: Ledger,
                         observe: Observe) -> None:
    lock = _locked(api, clock, settings, lockout_account, ledger, measured=True)
    if not lock.measured:
        raise Inconclusive(_UNMEASURED, cause="prerequisite")
    observe("threshold", lock.attempts)
    observe("failures_before_lock", lock.attempts - 1)
    if lock.how != "wrong passwords":
        observe("measured_by", lock.how)
    expect(lock.status == 423, expected="423 once the account is locked",
           observed={"statuses": list(lock.statuses), "why": _OWN_429})


# ---------------------------------------------------------------- LOCK-06
@pytest.mark.clause("LOCK-06")
def test_lockout_does_not_reveal_registered_emails(api: Api, clock: Clock, settings: Settings,
                                                   lockout_account: Account, ledger: Ledger,
                                                   observe: Observe) -> None:
    lock = _locked(api, clock, settings, lockout_account, ledger, measured=True)
    wrong = _wrong(lockout_account.password)
    registered = [*lock.statuses, *(_login(api, clock, lockout_account.email, wrong).status
                                    for _ in range(_PAST_THE_LOCK))]
    ghost = _unknown_like(lockout_account.email)
    unknown = [_login(api, clock, ghost, wrong).status for _ in registered]
    observe("registered_email", registered)
    observe("unknown_email", unknown)
    expect(unknown == registered, what=f"{len(registered)} wrong passwords for each email",
           expected="the same answers, in the same order, for an unknown email as for a registered one",
           observed={"registered email": registered, "unknown email": unknown})


# ---------------------------------------------------------------- LOCK-02
@pytest.mark.clause("LOCK-02")
def test_correct_password_while_locked(api: Api, clock: Clock, settings: Settings, lockout_account: Account,
                                       ledger: Ledger) -> None:
    _locked(api, clock, settings, lockout_account, ledger, measured=False)
    answer = _login(api, clock, lockout_account.email, lockout_account.password)
    _expect_locked(answer, "the correct password while the account is locked")
    leaked = _issued_tokens(answer.response)
    expect(not leaked, expected="a 423 answer carrying no token", observed={"tokens at": leaked})


# ---------------------------------------------------------------- LOCK-03
def _restart_note(api: Api, clock: Clock, settings: Settings, account: Account, last_try: float) -> str:
    """Why the lock outlasted 30 minutes: logs in again 1800+skew s after the last attempt made
    during the lock (test clock only); a 200 then means each attempt restarted the lock."""
    if not clock.controllable:
        return ("if the server restarts the lock on each attempt made during it, the attempt at "
                "lock+1800-skew explains this")
    advance_to(clock, last_try + _LOCK_SECONDS + settings.skew, "the last attempt+1800+skew")
    if api.login(account.email, account.password).status_code == 200:
        return ("the server restarted the 30-minute lock on the correct-password attempt made during it: "
                f"the account logged in {_LOCK_SECONDS}+skew s after the last such attempt")
    return f"still locked {_LOCK_SECONDS}+skew s after the last attempt too: the lock outlasts 30 minutes"


@pytest.mark.clause("LOCK-03")
def test_lock_lasts_thirty_minutes(api: Api, clock: Clock, settings: Settings, lockout_account: Account,
                                   ledger: Ledger) -> None:
    lock = _locked(api, clock, settings, lockout_account, ledger, measured=True)
    advance_to(clock, lock.at + _LOCK_SECONDS - settings.skew, f"lock+{_LOCK_SECONDS}-skew")
    _expect_locked(_login(api, clock, lockout_account.email, lockout_account.password),
                   f"the correct password at lock+{_LOCK_SECONDS}-skew")
    advance_to(clock, lock.at + _LOCK_SECONDS + settings.skew, f"lock+{_LOCK_SECONDS}+skew")
    tried = clock.now()
    after = api.login(lockout_account.email, lockout_account.password)
    what = f"the correct password at lock+{_LOCK_SECONDS}+skew"
    if after.status_code == 423:
        expect(False, what=what, expected="status 200: the lock over",
               observed=f"423; {_restart_note(api, clock, settings, lockout_account, tried)}")
    expect_status(after, 200, what=what)


# ---------------------------------------------------------------- LOCK-04
@dataclass(frozen=True)
class _Burst:
    """The right password sent with wrong ones, the account one wrong password short of its lock.
    Whichever is checked first decides: a wrong one locks the account (the right one then answers
    423), or the right one logs in and a server that resets its count on success answers the next
    wrong ones 401 again. The right one logging in while no wrong one got a 401 means it was let in
    through the lock, which a server that never resets its count can also show when the right one
    happened to be checked first. So the right one leaves half a password check after the wrong
    ones (see _right_delay): still inside the window of a server that checks the lock before its
    hash, but checked last by one that checks it after (on a shared CPU it hashes last, too)."""

    right: int
    wrong: tuple[int, ...]

    @property
    def kind(self) -> str:
        if self.right == 429 or all(s == 429 for s in self.wrong):
            return "void"  # the IP limit took the burst
        if self.right != 200:
            return "refused"
        if 401 in self.wrong:
            return "right first"  # checked before the lock, and the count reset: no verdict
        return "let in" if 423 in self.wrong else "void"


def _right_delay(took: list[float]) -> float:
    """Seconds the right password waits after the wrong ones leave: half a sequential wrong login,
    and on a fast target as much of one as it can without missing it, above scheduling noise."""
    wrong = statistics.median(took) if took else 0.0
    return min(_MAX_RIGHT_DELAY, max(wrong / 2, min(_MIN_RIGHT_DELAY, 0.9 * wrong)))


def _right_in_burst(api: Api, clock: Clock, account: Account, threshold: int) -> _Burst:
    took = []
    for attempt in range(1, threshold):
        answer = _login(api, clock, account.email, _wrong(account.password))
        if answer.status != 401:
            raise Inconclusive(f"wrong password {attempt} of {threshold - 1} before the burst answered "
                               f"{answer.status}, though a like account locked at attempt {threshold}",
                               cause="prerequisite")
        took.append(answer.response.elapsed.total_seconds())
    wrong, delay = _wrong(account.password), _right_delay(took)

    def right() -> httpx.Response:
        time.sleep(delay)
        return api.login(account.email, account.password)

    with api.rate_limited():
        first, *others = api.parallel([right] + [lambda: api.login(account.email, wrong)] * _BURST_WRONG)
    return _Burst(first.status_code, tuple(sorted(r.status_code for r in others)))


def _let_in(kinds: list[str]) -> bool:
    """Decided: let in through the lock, on a server whose own answers show it resets its count
    (a "right first" burst), or often enough that chance cannot explain it."""
    let_in = kinds.count("let in")
    return let_in >= _CONFIRMATIONS or (let_in > 0 and "right first" in kinds)


def _right_password_during_lock(api: Api, clock: Clock, control: Control, threshold: int, observe: Observe,
                                not_checked: NotChecked) -> None:
    kinds: list[str] = []
    for _ in range(_MAX_BURSTS):
        clock.advance(FRESH_WINDOW_SECONDS)
        kinds.append(_right_in_burst(api, clock, control.create_user(), threshold).kind)
        if kinds[-1] == "refused" or _let_in(kinds):
            break
    observe("right_password_bursts", kinds)
    expect(not _let_in(kinds),
           expected="the right password, sent right after wrong ones to an account one wrong password short "
                    f"of its lock, refused (423) once a wrong one locked the account (threshold {threshold})",
           observed=f"it logged in while the burst's wrong passwords answered 423 and none 401, in "
                    f"{kinds.count('let in')} of {len(kinds)} bursts: {threshold} wrong passwords or more had been "
                    f"checked ({threshold - 1} before the burst and the one that locked the account), so the "
                    "lock was checked before the password, not after")
    if "refused" not in kinds:
        not_checked("the right password during a lock",
                    f"in none of {len(kinds)} bursts was it checked after the lock engaged ({', '.join(kinds)})")


def _wrong_burst(api: Api, account: Account, size: int) -> list[int]:
    wrong = _wrong(account.password)
    with api.rate_limited():
        return sorted(r.status_code for r in api.parallel([lambda: api.login(account.email, wrong)] * size))


def _threshold(api: Api, clock: Clock, settings: Settings, control: Control, ledger: Ledger) -> int:
    """The attempt that locks an account: as a lock this run made showed it (LOCK-01's), else as
    locking a new account shows it now."""
    seen = next((lock.attempts for lock in ledger.values() if lock.measured), None)
    return seen or _lock(api, clock, settings, control.create_user(), ledger).attempts


@pytest.mark.clause("LOCK-04")
def test_concurrent_failures_respect_threshold(api: Api, clock: Clock, settings: Settings, control: Control,
                                               ledger: Ledger, observe: Observe, not_checked: NotChecked) -> None:
    threshold = _threshold(api, clock, settings, control, ledger)
    observe("threshold", threshold)
    size = threshold + _PAST_THRESHOLD
    clock.advance(FRESH_WINDOW_SECONDS)
    statuses = _wrong_burst(api, control.create_user(), size)
    failures = statuses.count(401)
    observe("concurrent_401s", failures)
    observe("evaluated_beyond_threshold", max(0, failures - (threshold - 1)))
    expect(failures <= threshold - 1,
           expected=f"at most {threshold - 1} of {size} concurrent wrong passwords answered 401 "
                    f"(sequentially, on another account, the lock engaged at attempt {threshold})",
           observed={"statuses": statuses})
    if statuses.count(429) > size - threshold:  # too few checked to cross the threshold
        not_checked("the count under concurrency",
                    f"the IP limit answered {statuses.count(429)} of the {size} wrong passwords")
    _right_password_during_lock(api, clock, control, threshold, observe, not_checked)
