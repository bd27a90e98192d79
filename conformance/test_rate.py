"""RATE — the IP-level login rate limit (429)."""
from __future__ import annotations

import email.utils
import itertools
from collections.abc import Callable, Iterator

import httpx
import pytest

from akol_conformance.check import (
    FRESH_WINDOW_SECONDS,
    Api,
    Burst,
    Clock,
    Settings,
    UnknownEmails,
    expect,
    expect_status,
    let_pass,
    trip,
    wait_out,
)

pytestmark = pytest.mark.destructive

_SPOOF_HEADERS = ("X-Forwarded-For", "X-Real-IP")
_WRONG = "wrong-password"


@pytest.fixture
def emails(api: Api, clock: Clock) -> Iterator[UnknownEmails]:
    """Unknown emails for the burst, from an empty window where the test clock allows; waited out after.

    Without a test clock, earlier logins from this client in the same window count too, so an
    observed threshold is a lower bound there.
    """
    if clock.controllable:
        clock.advance(FRESH_WINDOW_SECONDS)
    yield UnknownEmails("rate")
    wait_out(api, clock)


def _limited(burst: Burst, settings: Settings) -> httpx.Response:
    expect(burst.limited is not None,
           expected=f"429 within --max-rate-attempts={settings.max_rate_attempts} login attempts",
           observed={"status counts": burst.statuses})
    assert burst.limited is not None
    return burst.limited


_PARTLY_FILLED = ("measured without a test clock: earlier requests from this client in the same window "
                  "count too, so the configured limit may be higher than this threshold (a target with a "
                  "test clock starts the burst on an empty window)")


def _observe_threshold(observe: Callable[[str, object], None], name: str, burst: Burst, clock: Clock) -> None:
    """Record the attempt that drew the first 429, unless the window was full before this test began."""
    if burst.limited is not None and burst.attempts == 1:
        observe(name, None)
        observe("note", "the first attempt already answered 429: earlier logins from this client filled "
                        "the window, so the threshold is not measured (a target with a test clock is)")
        return
    observe(name, burst.attempts if burst.limited is not None else None)
    if burst.before:
        observe("one_email_attempts_first", burst.before)
        observe("measured_by", "distinct emails: the limit did not count the attempts the lock refused")
    if burst.limited is not None and not clock.controllable:
        observe("note", _PARTLY_FILLED)


def _spoofed_ips() -> Iterator[str]:
    """Documentation addresses (RFC 5737), cycled: a fresh claimed client for every attempt."""
    return itertools.cycle(f"{net}.{host}" for net in ("192.0.2", "198.51.100", "203.0.113")
                           for host in range(1, 255))


Made = list[Burst]  # the burst over distinct emails this run made, once it did


@pytest.fixture(scope="session")
def made() -> Made:
    return []


def _spread_burst(api: Api, emails: UnknownEmails, settings: Settings, made: Made) -> Burst:
    """Wrong passwords, each for another unknown email, until the IP limit answers: what RATE-02
    asks for, and a burst RATE-01 can judge too, so a run pays for one (each is a password check)."""
    burst = trip(lambda n: api.login(emails(n), _WRONG), settings.max_rate_attempts)
    made.append(burst)
    return burst


def _made(made: Made, observe: Callable[[str, object], None]) -> Burst | None:
    """RATE-03's burst, if this run made it: the same attempts, and another would cost a window."""
    if made:
        observe("burst", "RATE-03's (its evidence holds the requests)")
        return made[0]
    return None


def _valid_retry_after(value: str) -> bool:
    """RFC 9110 §10.2.3: delay-seconds (digits) or an HTTP-date."""
    value = value.strip()
    if value.isdigit():
        return True
    try:
        return email.utils.parsedate_to_datetime(value) is not None
    except (TypeError, ValueError):
        return False


# ---------------------------------------------------------------- RATE-03 (first: RATE-01 and RATE-02 judge its burst)
@pytest.mark.clause("RATE-03")
def test_429_has_retry_after(api, clock, settings, emails, made, observe, not_checked) -> None:
    with api.rate_limited():
        burst = _spread_burst(api, emails, settings, made)
        limited = _limited(burst, settings)
        value = limited.headers.get("Retry-After")
        observe("retry_after", value)
        expect(value is not None and _valid_retry_after(value),
               expected="a Retry-After header on the 429: delay-seconds or an HTTP-date",
               observed={"Retry-After": value} if value is not None else {"header names": sorted(limited.headers)})
        # Honest value: once it has passed on the server, the client may log in again.
        if not let_pass(limited, clock):
            not_checked("no 429 once the Retry-After time has passed",
                        f"Retry-After {value} is longer than the suite waits in real time; "
                        f"a target with a test clock (/__test__/) is checked")
            return
        after = api.login(emails.fresh(), _WRONG)
    observe("retry_after_honoured", after.status_code != 429)
    expect(after.status_code != 429, expected="no 429 once the Retry-After time has passed",
           observed={"status": after.status_code})


# ---------------------------------------------------------------- RATE-01
@pytest.mark.clause("RATE-01")
def test_rate_limit_engages(api, settings, clock, emails, ip_bursts, made, observe) -> None:
    burst = _made(made, observe)
    if burst is None:
        # Alone, one email is cheaper: once the lock refuses it, an attempt costs no password check.
        with api.rate_limited():
            burst = ip_bursts.trip(lambda email: api.login(email, _WRONG), emails, settings.max_rate_attempts,
                                   clock)
    _observe_threshold(observe, "threshold", burst, clock)
    _limited(burst, settings)


# ---------------------------------------------------------------- RATE-02
@pytest.mark.clause("RATE-02")
def test_rate_limit_is_per_ip(api, settings, clock, emails, made, observe) -> None:
    burst = _made(made, observe)
    if burst is None:
        with api.rate_limited():
            burst = _spread_burst(api, emails, settings, made)
    _observe_threshold(observe, "threshold_distinct_emails", burst, clock)
    _limited(burst, settings)


# ---------------------------------------------------------------- RATE-04
@pytest.mark.clause("RATE-04")
def test_forwarded_headers_do_not_bypass(api, settings, clock, emails, ip_bursts, observe) -> None:
    ips = _spoofed_ips()

    def spoofed(email: str) -> httpx.Response:
        ip = next(ips)
        return api.request("POST", "/auth/login", json={"email": email, "password": _WRONG},
                           headers={name: ip for name in _SPOOF_HEADERS})

    # As in RATE-01: only the claimed client changes from attempt to attempt.
    with api.rate_limited():
        burst = ip_bursts.trip(spoofed, emails, settings.max_rate_attempts, clock)
        _observe_threshold(observe, "threshold_with_rotating_headers", burst, clock)
        _limited(burst, settings)
        after = spoofed(emails.fresh())
    expect_status(after, 429, what="a login with a fresh X-Forwarded-For / X-Real-IP after the 429")
