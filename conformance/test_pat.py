"""PAT — personal access tokens: accepted, never expiring, outside the login limit, revocable, role snapshot."""
from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from akol_conformance.check import (
    Api,
    Clock,
    Inconclusive,
    IpBursts,
    Observe,
    Pat,
    Settings,
    UnknownEmails,
    expect,
    expect_status,
    parse_jwt,
    wait_out,
)

_DAY = 86_400.0
_LATER_DAYS = (7, 400)
# PAT requests judged while login answers 429, and the tries to get them (a short window may
# lapse around some).
_JUDGED_ROUNDS = 3
_MAX_ROUNDS = 8


@pytest.mark.clause("PAT-01")
def test_pat_is_accepted(api, pat) -> None:
    expect_status(api.agents(token=pat.token), 200, what="protected endpoint with a PAT as Bearer token")


@pytest.mark.clause("PAT-02")
def test_pat_jwt_has_no_exp(pat, observe) -> None:
    parts = parse_jwt(pat.token)
    observe("jwt", parts is not None)
    expect(parts is None or "exp" not in parts.payload, expected="a PAT that is a JWT carries no exp claim",
           observed={"claims": sorted(parts.payload) if parts else None})


@pytest.mark.clause("PAT-02")
def test_pat_does_not_expire(api, pat, clock, settings) -> None:
    elapsed = 0.0
    for days in _LATER_DAYS:
        clock.advance(days * _DAY + settings.skew - elapsed)
        elapsed = days * _DAY + settings.skew
        expect_status(api.agents(token=pat.token), 200, what=f"the PAT {days} days after it was created")


def _pat_while_limited(api: Api, pat: Pat, ip_bursts: IpBursts, attempt: Callable[[str], httpx.Response],
                       emails: UnknownEmails, cap: int, clock: Clock) -> tuple[int, bool] | None:
    """One PAT request bracketed by the login limit: trip it right before, verify it right after
    (with a fresh email: the burst's own email may be locked, and a lock may answer 429).

    (PAT status, whether login still answered 429 right after); None when no 429 came within ``cap``.
    A window that lapsed in between (a short sliding window) leaves the PAT's answer unjudged.
    """
    if ip_bursts.trip(attempt, emails, cap, clock).limited is None:
        return None
    status = api.agents(token=pat.token).status_code
    return status, attempt(emails.fresh()).status_code == 429


@pytest.mark.clause("PAT-03")
@pytest.mark.destructive
def test_pat_skips_login_rate_limit(api: Api, pat: Pat, settings: Settings, clock: Clock, ip_bursts: IpBursts,
                                    observe: Observe) -> None:
    emails = UnknownEmails("pat-rate")

    def attempt(email: str) -> httpx.Response:
        return api.login(email, "wrong-password")

    judged: list[int] = []
    lapsed: list[int] = []
    try:
        with api.rate_limited():
            first = ip_bursts.trip(attempt, emails, settings.max_rate_attempts, clock)
            if first.limited is None:
                pytest.skip(f"login never answered 429 within --max-rate-attempts={settings.max_rate_attempts} "
                            "(RATE-01 reports it), so there is no limited window to use the PAT in")
            observe("login_attempts_to_429", first.attempts)
            observe("retry_after", first.limited.headers.get("Retry-After"))
            while len(judged) < _JUDGED_ROUNDS and len(judged) + len(lapsed) < _MAX_ROUNDS:
                outcome = _pat_while_limited(api, pat, ip_bursts, attempt, emails, settings.max_rate_attempts,
                                             clock)
                if outcome is None:
                    break
                (judged if outcome[1] else lapsed).append(outcome[0])
    finally:
        wait_out(api, clock)
    observe("PAT statuses while login answered 429 before and after", judged)
    observe("PAT requests unjudged (the login limit lapsed around them)", len(lapsed))
    if not judged:
        raise Inconclusive(f"login answered 429 right before each of {len(lapsed)} PAT requests but no longer "
                           "right after any of them (the limit's window lapsed in between): no PAT request "
                           "was shown to be made while the limit was in force", cause="prerequisite")
    expect(all(status == 200 for status in judged),
           expected="PAT requests answer 200 while login answers 429 (429 right before and right after each)",
           observed={"PAT statuses": judged})


@pytest.mark.clause("PAT-04")
def test_revoked_pat_is_rejected(api, pat, control) -> None:
    expect_status(api.agents(token=pat.token), 200, what="the PAT before revocation")
    control.revoke_pat(pat.id)
    expect_status(api.agents(token=pat.token), 401, what="the PAT after revocation")


@pytest.mark.clause("PAT-05")
def test_pat_keeps_role_at_creation(api, pat, control, login, observe) -> None:
    before = control.whoami(pat.token)
    expect(before is not None, expected="test control's whoami accepting the fresh PAT", observed="401")
    old_role = before["role"]
    new_role = "ADMIN" if old_role != "ADMIN" else "USER"
    control.set_role(pat.account.id, new_role)
    session_role = login(pat.account).user.get("role")
    expect(session_role == new_role, expected=f"a fresh login after the role change reporting role {new_role}",
           observed={"role": session_role})
    after = control.whoami(pat.token) or {}
    observe("role_at_creation", old_role)
    observe("pat_role_after_change", after.get("role"))
    expect(after.get("role") == old_role and after.get("kind") == "pat",
           expected=f"the PAT still acting as {old_role} (kind pat) after the account became {new_role}",
           observed={k: after.get(k) for k in ("role", "kind")})
