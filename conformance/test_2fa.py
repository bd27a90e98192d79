"""2FA — two-factor login: the pendingToken and POST /auth/verify-2fa (TOTP at the server clock)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from akol_conformance.check import (
    ClauseFailure,
    expect,
    expect_login_success,
    expect_status,
    json_body,
    response_token_fields,
    token_fields,
)

TOTP_STEP = 30
# RFC 6238 §5.2 allows at most one step of drift; 5 steps (150 s) is wrong for any server
# within skew, so a code that far off must be refused.
_FAR_STEPS = 5
# Moves the server clock well away from the wall clock, so a verifier that reads the wall
# clock instead of the server's rejects codes made for the server's time.
_CLOCK_JUMP = 10 * TOTP_STEP
_MAX_WRONG_CODES = 10


def _data(response: httpx.Response, what: str) -> dict[str, Any]:
    body = json_body(response, what)
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        keys = sorted(body) if isinstance(body, dict) else type(body).__name__
        raise ClauseFailure(what=what, expected="a JSON body with a data object",
                            observed=f"body keys: {keys}")
    return data


def _pending_token(api: Any, account: Any) -> str:
    """Log the 2FA account in; its pendingToken."""
    what = "login of the 2FA account"
    response = api.login(account.email, account.password)
    expect_status(response, 200, what)
    pending = _data(response, what).get("pendingToken")
    if not (isinstance(pending, str) and pending):
        raise ClauseFailure(what=what, expected="data.pendingToken, a non-empty string",
                            observed=type(pending).__name__)
    return pending


def _expect_refused(response: httpx.Response, what: str) -> None:
    """Refused: a 4xx (the clause says "rejected"; 401 is the usual) that carries no token."""
    __tracebackhide__ = True
    expect(400 <= response.status_code < 500, what=what, expected="a 4xx refusal",
           observed=f"status {response.status_code}")
    leaked = response_token_fields(response)
    expect(not leaked, what=what, expected="no token in the body", observed=f"token fields: {leaked}")


def _codes_near(totp: Callable[..., str], secret: str, now: float, steps: int) -> set[str]:
    return {totp(secret, at=now + k * TOTP_STEP) for k in range(-steps, steps + 1)}


def _wrong_codes(totp: Callable[..., str], secret: str, now: float) -> Iterator[str]:
    """Six-digit codes valid at no step within two of ``now`` (spread so none is adjacent)."""
    near = _codes_near(totp, secret, now, 2)
    for i in range(_MAX_WRONG_CODES + len(near) + 1):
        code = f"{(123_457 + i * 271_829) % 1_000_000:06d}"
        if code not in near:
            yield code


@pytest.mark.clause("2FA-01")
def test_login_of_2fa_account_answers_pending(api, tfa_account, observe) -> None:
    what = "login of the 2FA account"
    response = api.login(tfa_account.email, tfa_account.password)
    expect_status(response, 200, what)
    body = json_body(response, what)
    expect(isinstance(body, dict) and body.get("success") is True, what=what,
           expected='"success": true', observed=type(body).__name__ if not isinstance(body, dict)
           else f"success = {body.get('success')!r}")
    data = _data(response, what)
    observe("data keys", sorted(data))
    expect(data.get("requires2FA") is True, what=what, expected="data.requires2FA: true",
           observed=f"requires2FA = {data.get('requires2FA')!r}")
    pending = data.get("pendingToken")
    expect(isinstance(pending, str) and pending != "", what=what,
           expected="data.pendingToken, a non-empty string", observed=type(pending).__name__)
    leaked = token_fields(body)
    expect(not leaked, what=what, expected="no token or refreshToken before the second factor",
           observed=f"token fields present: {leaked}")


@pytest.mark.clause("2FA-02")
def test_valid_code_answers_as_login(api, tfa_account, totp) -> None:
    pending = _pending_token(api, tfa_account)
    what = "verify-2fa with a valid code"
    data = expect_login_success(api.verify_2fa(pending, totp(tfa_account.totp_secret)),
                                tfa_account.email, what)
    expect_status(api.agents(token=data["token"]), 200,
                  what="protected endpoint with the access token from verify-2fa")


@pytest.mark.clause("2FA-02")
def test_codes_follow_the_server_clock(api, tfa_account, totp, clock) -> None:
    if not clock.controllable:
        pytest.skip("needs the test clock (/__test__/): with real time the server's clock and the "
                    "wall clock agree, so there is nothing to tell apart")
    clock.advance(_CLOCK_JUMP)
    pending = _pending_token(api, tfa_account)
    expect_login_success(api.verify_2fa(pending, totp(tfa_account.totp_secret)), tfa_account.email,
                         f"verify-2fa with the code of the server's time, {_CLOCK_JUMP} s after "
                         "the test clock moved")


@pytest.mark.clause("2FA-03")
def test_wrong_code_is_refused(api, tfa_account, totp, clock) -> None:
    secret = tfa_account.totp_secret
    now = clock.now()
    near = _codes_near(totp, secret, now, 1)
    candidates = {
        "a code valid at no nearby step": next(_wrong_codes(totp, secret, now)),
        f"the code of {_FAR_STEPS} steps ago": totp(secret, at=now - _FAR_STEPS * TOTP_STEP),
        f"the code of {_FAR_STEPS} steps ahead": totp(secret, at=now + _FAR_STEPS * TOTP_STEP),
    }
    pending = _pending_token(api, tfa_account)
    for name, code in candidates.items():
        if code in near:  # one chance in ~300 000: the far code happens to be a current one
            continue
        response = api.verify_2fa(pending, code)
        expect_status(response, 401, f"verify-2fa with {name}")
        _expect_refused(response, f"verify-2fa with {name}")


@pytest.mark.clause("2FA-04")
def test_pending_token_is_not_a_bearer_token(api, tfa_account) -> None:
    pending = _pending_token(api, tfa_account)
    expect_status(api.agents(token=pending), 401, "protected endpoint with the pendingToken as Bearer")


@pytest.mark.clause("2FA-05")
def test_pending_token_is_single_use(api, tfa_account, totp, clock) -> None:
    pending = _pending_token(api, tfa_account)
    expect_status(api.verify_2fa(pending, totp(tfa_account.totp_secret)), 200,
                  "first verify-2fa with a valid code")
    # A fresh code for the next step, so TOTP replay protection can't mask a reusable token.
    clock.advance(TOTP_STEP)
    _expect_refused(api.verify_2fa(pending, totp(tfa_account.totp_secret)),
                    "the same pendingToken again, with the next step's valid code")


@pytest.mark.clause("2FA-05")
def test_pending_token_dies_after_ten_minutes(api, tfa_account, totp, clock, settings) -> None:
    pending = _pending_token(api, tfa_account)
    clock.advance(600 + settings.skew)
    _expect_refused(api.verify_2fa(pending, totp(tfa_account.totp_secret)),
                    f"the pendingToken {600 + settings.skew:.0f} s after issue, with a valid code")


@pytest.mark.clause("2FA-06")
@pytest.mark.destructive
def test_wrong_codes_are_limited(api, tfa_account, totp, clock, observe) -> None:
    secret = tfa_account.totp_secret
    pending = _pending_token(api, tfa_account)
    wrong = _wrong_codes(totp, secret, clock.now())
    statuses = [api.verify_2fa(pending, next(wrong)).status_code for _ in range(_MAX_WRONG_CODES)]
    observe("statuses of the wrong codes", statuses)
    expect(all(400 <= s < 500 for s in statuses), expected="every wrong code refused (4xx)",
           observed=f"statuses {statuses}")
    response = api.verify_2fa(pending, totp(secret))
    observe("status of the right code after the wrong ones", response.status_code)
    _expect_refused(response, f"the right code after {_MAX_WRONG_CODES} wrong ones "
                              "(the pendingToken should be dead)")
