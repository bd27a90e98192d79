"""PAT — personal access tokens: accepted, never expiring, outside the login limit, revocable, role snapshot."""
from __future__ import annotations

import pytest

from akol_conformance.check import UnknownEmails, expect, expect_status, parse_jwt, trip, wait_out

_DAY = 86_400.0
_LATER_DAYS = (7, 400)


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


@pytest.mark.clause("PAT-03")
@pytest.mark.destructive
def test_pat_skips_login_rate_limit(api, pat, settings, clock, observe) -> None:
    emails = UnknownEmails("pat-rate")
    try:
        with api.rate_limited():
            burst = trip(lambda n: api.login(emails(n), "wrong-password"), settings.max_rate_attempts)
            if burst.limited is None:
                pytest.skip(f"login never answered 429 within --max-rate-attempts={settings.max_rate_attempts} "
                            "(RATE-01 reports it), so there is no limited window to use the PAT in")
            observe("login_attempts_to_429", burst.attempts)
            statuses = [api.agents(token=pat.token).status_code for _ in range(3)]
            still_limited = api.login(emails(0), "wrong-password").status_code
    finally:
        wait_out(api, clock)
    expect(statuses == [200, 200, 200], expected="PAT requests answer 200 while login answers 429",
           observed={"PAT statuses": statuses})
    expect(still_limited == 429, expected="login still answering 429 after the PAT requests (same window)",
           observed={"login status": still_limited})


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
