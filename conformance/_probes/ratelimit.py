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

__all__ = ["Answer", "Burst", "UnknownEmails", "let_pass", "past_ip_limit", "past_limit", "trip", "wait_out"]

# Without a test clock, the longest real wait for one Retry-After (the client's own bound too).
MAX_REAL_WAIT = 120.0


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
