"""Tripping the IP-level login rate limit (RATE, PAT-03) and leaving the client usable after."""
from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from akol_conformance._plugin.api import Api
from akol_conformance._plugin.clock import Clock
from akol_conformance._plugin.outcomes import Inconclusive
from akol_conformance.client import retry_after_seconds

__all__ = ["FRESH_WINDOW_SECONDS", "Answer", "Burst", "IpBursts", "UnknownEmails", "let_pass", "past_ip_limit",
           "past_limit", "trip", "wait_out"]

# Without a test clock, the longest real wait for one Retry-After (the client's own bound too).
MAX_REAL_WAIT = 120.0
# Longer than any plausible login-limit window: a test clock moved this far starts an empty one.
FRESH_WINDOW_SECONDS = 3600.0


class UnknownEmails:
    """Distinct addresses no account has (the reserved .invalid TLD): attempts burn no real account."""

    def __init__(self, prefix: str) -> None:
        self._run = f"{prefix}-{uuid.uuid4().hex[:12]}"
        self._fresh = itertools.count(1)

    def __call__(self, n: int) -> str:
        return f"{self._run}-{n}@example.invalid"

    def fresh(self) -> str:
        """An address no earlier call returned: no lock or throttle of its own can answer for it."""
        return f"{self._run}-fresh-{next(self._fresh)}@example.invalid"


@dataclass(frozen=True)
class Burst:
    attempts: int                   # attempts sent, the 429 included
    limited: httpx.Response | None  # the first 429, None when none came within the cap
    statuses: dict[int, int]        # counts of the answers before it
    # One-email attempts sent before these, which drew no 429: the limit did not count what the
    # lock refused, so distinct emails followed (``attempts`` counts those only).
    before: int = 0


def trip(attempt: Callable[[int], httpx.Response], cap: int,
         confirm: Callable[[], httpx.Response] | None = None) -> Burst:
    """Call attempt(1), attempt(2), … until the IP limit answers 429, at most ``cap`` requests.

    ``confirm`` (the same login for a fresh unknown email) tells the IP limit's 429 from one that
    only the attempt's account gets (a lock or a per-account throttle answering 429), so a burst
    may spend one email, which the lockout soon refuses without a password check. The confirmed
    429 is the one returned (its Retry-After is the IP limit's); an account's own only counts.

    Call inside ``api.rate_limited()`` so the 429 reaches the caller instead of being waited out.
    """
    statuses: dict[int, int] = {}
    sent = 0
    while sent < cap:
        response = attempt(sent + 1)
        sent += 1
        if response.status_code == 429:
            if confirm is None:
                return Burst(sent, response, statuses)
            confirmed = confirm()
            if confirmed.status_code == 429:
                return Burst(sent, confirmed, statuses)
            statuses[429] = statuses.get(429, 0) + 1  # the account's own
            response = confirmed
            sent += 1
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    return Burst(sent, None, statuses)


class IpBursts:
    """Trips the IP limit as cheaply as this run's target allows, the same answer either way.

    One email first: once the lock refuses it, an attempt costs the target no password check. A
    target whose limit never counts what the lock refused (the lock answers before the limiter)
    draws no 429 from that, though it limits each client. So when a one-email burst the lock
    refused ends without a 429, distinct emails (each a password check) settle it, from an empty
    window, with the whole cap: the test clock moves past the window, or without one the window
    is filled and its Retry-After waited out. From then on this run sends only distinct emails;
    once they found no 429 within the cap, a failed one-email burst stands: the confirmation is
    paid once per run, not per check."""

    def __init__(self) -> None:
        self._lock_refusals_count: bool | None = None  # None: not known yet
        self._no_limit_seen = False

    def trip(self, attempt: Callable[[str], httpx.Response], emails: UnknownEmails, cap: int,
             clock: Clock) -> Burst:
        """Logins ``attempt(email)`` until the IP limit answers 429, at most ``cap`` per burst.
        Call inside ``api.rate_limited()``."""
        def spread(n: int) -> httpx.Response:
            return attempt(emails.fresh())

        if self._lock_refusals_count is False:
            return trip(spread, cap)
        burst = trip(lambda n: attempt(emails(0)), cap, confirm=lambda: spread(0))
        if burst.limited is not None:
            self._lock_refusals_count = True
            return burst
        if self._lock_refusals_count or self._no_limit_seen or not _lock_refused(burst):
            return burst
        if not _empty_window(spread, cap, clock):
            self._no_limit_seen = True
            return burst
        again = trip(spread, cap)
        if again.limited is None:
            self._no_limit_seen = True
        else:
            self._lock_refusals_count = False
        return Burst(again.attempts, again.limited, again.statuses, before=burst.attempts)


def _empty_window(spread: Callable[[int], httpx.Response], cap: int, clock: Clock) -> bool:
    """Start the IP limit's window afresh; False when distinct emails show there is no limit
    within ``cap`` (nothing to wait out)."""
    if clock.controllable:
        clock.advance(FRESH_WINDOW_SECONDS)
        return True
    filled = trip(spread, cap)
    if filled.limited is None:
        return False
    if not let_pass(filled.limited, clock):
        raise Inconclusive(f"the IP limit answered 429 only once distinct emails followed a locked one, and its "
                           f"Retry-After ({filled.limited.headers.get('Retry-After')}) is longer than the suite "
                           "waits in real time, so its threshold cannot be measured from an empty window: use a "
                           "target with the test clock (/__test__/)", cause="rate-limit")
    return True


def _lock_refused(burst: Burst) -> bool:
    """Some attempts were refused before the password check: by the lock (423), or by a 429 the
    confirmation showed to be the account's own."""
    return bool(burst.statuses.get(423) or burst.statuses.get(429))


def wait_out(api: Api, clock: Clock) -> None:
    """Move the test clock past every 429 this test drew, so later tests from this client log in.

    Without a test clock nothing is waited here: the client waits 429s out when they come.
    """
    waits = [retry_after_seconds(httpx.Response(429, headers=e.response_headers))
             for e in api.exchanges if e.status == 429]
    if waits and clock.controllable:
        clock.advance(max(waits) + 1)


def past_limit(call: Callable[[], httpx.Response], clock: Clock) -> httpx.Response:
    """``call()`` inside ``api.rate_limited()``; one 429 is waited out (Retry-After) and retried once.

    An IP limit lets the retry through; a 429 that persists is returned, so a check that wants
    another status (LOCK's 423) fails saying so instead of the run stopping on a "rate limit".
    """
    response = call()
    if response.status_code != 429 or not let_pass(response, clock):
        return response
    return call()


def let_pass(limited: httpx.Response, clock: Clock) -> bool:
    """Let the Retry-After of ``limited`` (and a second) pass on the server: the test clock, else a
    real wait of at most MAX_REAL_WAIT; False, without waiting, when it asks for longer."""
    wait = retry_after_seconds(limited) + 1
    if clock.controllable:
        clock.advance(wait)
    elif wait <= MAX_REAL_WAIT:
        time.sleep(wait)
    else:
        return False
    return True


@dataclass(frozen=True)
class Answer:
    """One answer; ``own_429``: a 429 only this request's account got (the same kind of request
    for another account from this client got through, and this one was refused again)."""

    response: httpx.Response
    own_429: bool = False

    @property
    def status(self) -> int:
        return self.response.status_code


def past_ip_limit(api: Api, clock: Clock, call: Callable[[], httpx.Response],
                  other: Callable[[], httpx.Response], tries: int = 3) -> Answer:
    """``call()`` with its 429 told apart from the IP limit's: ``other()`` is the same kind of
    request for another (unknown) account. If it gets through, the 429 is the account's own (a
    lock or a throttle answering 429); if not, the IP limit is waited out by *its* Retry-After
    (never the account's, which may be a lock's 1800 s and end the lock) and ``call()`` tried
    again. Inconclusive (cause rate-limit) when the IP limit outlasts ``tries`` waits."""
    with api.rate_limited():
        for _ in range(tries):
            response = call()
            if response.status_code != 429:
                return Answer(response)
            if other().status_code != 429:
                again = call()
                return Answer(again, own_429=again.status_code == 429)
            past_limit(other, clock)
    raise Inconclusive(f"the IP limit kept answering 429 after {tries} waits for its Retry-After: allow this "
                       "client more requests, or use a target with the test clock (/__test__/)",
                       cause="rate-limit")
