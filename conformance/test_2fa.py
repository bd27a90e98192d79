"""2FA — two-factor login: the pendingToken and POST /auth/verify-2fa (TOTP at the server clock)."""
from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from akol_conformance.check import (
    FRESH_WINDOW_SECONDS,
    Account,
    Answer,
    Api,
    ClauseFailure,
    Clock,
    Inconclusive,
    NotChecked,
    Observe,
    Totp,
    UnknownEmails,
    expect,
    expect_login_success,
    expect_status,
    json_body,
    past_ip_limit,
    response_token_fields,
    token_fields,
    wait_out,
)

TOTP_STEP = 30
# RFC 6238 §5.2 allows at most one step of drift; 5 steps (150 s) is wrong for any server
# within skew, so a code that far off must be refused.
_FAR_STEPS = 5
# Moves the server clock well away from the wall clock, so a verifier that reads the wall
# clock instead of the server's rejects codes made for the server's time.
_CLOCK_JUMP = 10 * TOTP_STEP
_MAX_WRONG_CODES = 10  # 2FA-06: the pendingToken is dead after at most this many
_BACKOFF_SECONDS = 60  # 2FA-06: waited before the right code, so a back-off has ended
_BURST_CODES = 12  # 2FA-06: wrong codes sent at once on one pendingToken
_TOKENS_AT_ONCE = 6  # 2FA-07: pendingTokens one code is sent on at once
_ACCOUNT_LIMIT = 20  # 2FA-08: wrong codes over fresh pendingTokens before the account's codes are refused
_CODES_PER_TOKEN = 4  # 2FA-08: under any per-pendingToken limit, so each code is checked
_MOST_WRONG_CODES = _ACCOUNT_LIMIT + _BURST_CODES + _MAX_WRONG_CODES
_NOT_A_PENDING_TOKEN = "not-a-pending-token"
_NOT_A_CODE = "000000"
_NOT_A_PASSWORD = "not-a-password"
_OTHER_ACCOUNTS = UnknownEmails("2fa-probe")  # another account, to tell the IP limit's 429 from a throttle's
_PROBES = itertools.count()
# Request ids, times and counters in an error body: masked when comparing kinds of answer.
_VARYING = re.compile(r"[0-9a-fA-F-]{8,}|\d+")


def _data(response: httpx.Response, what: str) -> dict[str, Any]:
    body = json_body(response, what)
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        keys = sorted(body) if isinstance(body, dict) else type(body).__name__
        raise ClauseFailure(what=what, expected="a JSON body with a data object",
                            observed=f"body keys: {keys}")
    return data


def _pending_token(api: Api, account: Account, response: httpx.Response | None = None) -> str:
    """Log the 2FA account in (or take this login's answer); its pendingToken."""
    what = "login of the 2FA account"
    response = response or api.login(account.email, account.password)
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
    """Six-digit codes valid at no step within four of ``now`` (spread so none is adjacent)."""
    near = _codes_near(totp, secret, now, 4)
    for i in range(_MOST_WRONG_CODES + len(near)):
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
    data = expect_login_success(api.verify_2fa(pending, lambda: totp(tfa_account.totp_secret)),
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
    expect_login_success(api.verify_2fa(pending, lambda: totp(tfa_account.totp_secret)), tfa_account.email,
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
def test_pending_token_is_single_use(api, tfa_account, totp) -> None:
    pending = _pending_token(api, tfa_account)
    expect_status(api.verify_2fa(pending, lambda: totp(tfa_account.totp_secret)), 200,
                  "first verify-2fa with a valid code")
    # totp() hands out a code of a later step than the one just used (waiting for it if need be),
    # so a server that rightly refuses a reused code cannot pass off as single-use tokens.
    _expect_refused(api.verify_2fa(pending, lambda: totp(tfa_account.totp_secret)),
                    "the same pendingToken again, with a later step's valid code")


@pytest.mark.clause("2FA-05")
def test_pending_token_dies_after_ten_minutes(api, tfa_account, totp, clock, settings) -> None:
    pending = _pending_token(api, tfa_account)
    clock.advance(600 + settings.skew)
    _expect_refused(api.verify_2fa(pending, lambda: totp(tfa_account.totp_secret)),
                    f"the pendingToken {600 + settings.skew:.0f} s after issue, with a valid code")


# The spare account's checks run 2FA-07, 2FA-06, 2FA-08 in this order: each spends wrong codes
# (2FA-07 few, 2FA-08 enough to get the account's codes refused for a while), and a black-box run
# has one such account.

# ---------------------------------------------------------------- 2FA-07
@pytest.mark.clause("2FA-07")
def test_a_code_is_accepted_once(api: Api, spare_tfa_account: Account, totp: Totp, clock: Clock,
                                 observe: Observe) -> None:
    account = spare_tfa_account
    if clock.controllable:
        clock.advance(FRESH_WINDOW_SECONDS)  # the logins and the burst below start on an empty IP window
    pendings = [_pending_token(api, account) for _ in range(_TOKENS_AT_ONCE)]
    code, statuses = _one_code_at_once(api, clock, account, totp, pendings)
    observe("one code on pendingTokens at once", statuses)
    accepted = statuses.count(200)
    expect(accepted <= 1, what=f"one valid code sent on {len(pendings)} pendingTokens of one account at once",
           expected="accepted at most once", observed=f"accepted {accepted} times: {statuses}")
    if accepted == 0:
        why = (f"none of {len(pendings)} pendingTokens accepted a valid, unused code sent at once (answers "
               f"{statuses}), so there is no use of it to repeat")
        if account.id is None:  # a black-box account: an earlier run's 2FA-08 may have locked its codes
            pytest.skip(f"{why}: the AKOL_2FA2_* account's codes may still be locked by an earlier run "
                        "(2FA-08); run again once that lock ends")
        raise Inconclusive(why, cause="prerequisite")
    live = [p for p, status in zip(pendings, statuses) if status != 200]
    _expect_reuse_refused(api.verify_2fa(live[0], code), "the used code on another pendingToken, right after")
    # Still inside the +-1-step window a server may allow for drift: a replay guard that forgets a
    # code when its step ends lets it in here.
    clock.wait_short(TOTP_STEP)
    _expect_reuse_refused(api.verify_2fa(live[1], code), f"the used code on another pendingToken, {TOTP_STEP} s later")


def _one_code_at_once(api: Api, clock: Clock, account: Account, totp: Totp,
                      pendings: list[str]) -> tuple[str, list[int]]:
    """A fresh code sent on every pendingToken at once; sent again (a newer code) if the IP limit
    took the whole burst before any was accepted. The code and the answers' statuses."""
    for _ in range(2):
        code = totp(account.totp_secret)
        with api.rate_limited():
            statuses = [r.status_code for r in api.parallel([lambda p=p: api.verify_2fa(p, code) for p in pendings])]
        if 200 in statuses or 429 not in statuses:
            break
        wait_out(api, clock)
    return code, statuses


def _expect_reuse_refused(response: httpx.Response, what: str) -> None:
    __tracebackhide__ = True
    expect_status(response, 401, what)
    _expect_refused(response, what)


# ---------------------------------------------------------------- 2FA-06
def _verify(api: Api, clock: Clock, pending: str, code: str) -> Answer:
    """One verify-2fa; its 429 told apart from the IP limit's (a throttle of this account is a refusal)."""
    return past_ip_limit(api, clock, lambda: api.verify_2fa(pending, code),
                         lambda: api.verify_2fa(_NOT_A_PENDING_TOKEN, _NOT_A_CODE))


def _kind(response: httpx.Response) -> tuple[int, str]:
    """What kind of answer this is: the status and the body with request ids, times and numbers
    masked, so two answers of one kind compare equal."""
    return response.status_code, _VARYING.sub("#", response.text)


def _checked_limit(kinds: list[tuple[int, str]]) -> int | None:
    """How many wrong codes in a row were checked (answered like the first) before the answers
    changed, or None when they never changed (checked and refused codes look alike)."""
    changed = next((i for i, kind in enumerate(kinds) if kind != kinds[0]), None)
    return changed if kinds and kinds[0][0] != 429 else None


def _concurrent_wrong_codes(api: Api, clock: Clock, account: Account, totp: Totp, checked_kind: tuple[int, str],
                            limit: int, observe: Observe) -> None:
    pending = _pending_token(api, account)
    codes = _wrong_codes(totp, account.totp_secret, clock.now())
    burst = [next(codes) for _ in range(_BURST_CODES)]
    with api.rate_limited():
        answers = api.parallel([lambda c=c: api.verify_2fa(pending, c) for c in burst])
    checked = sum(_kind(r) == checked_kind for r in answers)
    observe("wrong codes checked of a concurrent burst", f"{checked} of {len(burst)}")
    observe("checked beyond the limit", max(0, checked - limit))
    expect(checked <= limit, what=f"{len(burst)} wrong codes sent at once on one pendingToken",
           expected=f"at most {limit} checked (answered like a checked wrong code), as when sent one by one",
           observed=f"{checked} checked: the count of wrong codes races")


@pytest.mark.clause("2FA-06")
@pytest.mark.destructive
def test_wrong_codes_are_limited(api: Api, spare_tfa_account: Account, totp: Totp, clock: Clock,
                                 observe: Observe, not_checked: NotChecked) -> None:
    account = spare_tfa_account
    pending = _pending_token(api, account)
    codes = _wrong_codes(totp, account.totp_secret, clock.now())
    answers = [_verify(api, clock, pending, next(codes)) for _ in range(_MAX_WRONG_CODES)]
    statuses = [answer.status for answer in answers]
    observe("statuses of the wrong codes", statuses)
    expect(all(400 <= s < 500 for s in statuses), expected="every wrong code refused (4xx)",
           observed=f"statuses {statuses}")
    # A back-off refuses for a while and then lets the right code in; a dead pendingToken never does.
    clock.wait_short(_BACKOFF_SECONDS)
    right = _verify(api, clock, pending, totp(account.totp_secret))
    observe("status of the right code after the wrong ones", right.status)
    _expect_refused(right.response, f"the right code {_BACKOFF_SECONDS} s after {_MAX_WRONG_CODES} wrong ones "
                                    "(the pendingToken should be dead, not throttled)")
    kinds = [_kind(answer.response) for answer in answers]
    limit = _checked_limit(kinds)
    if limit is None:
        not_checked("wrong codes sent at once", "a checked wrong code and a refused one got alike answers, so "
                                                "the checks of a concurrent burst cannot be counted")
        return
    observe("wrong codes checked one by one", limit)
    _concurrent_wrong_codes(api, clock, account, totp, kinds[0], limit, observe)


# ---------------------------------------------------------------- 2FA-08
def _pending_or_refusal(api: Api, clock: Clock, account: Account) -> str | Answer:
    """A fresh pendingToken of the account, or the login's answer when the server refused it."""
    answer = past_ip_limit(api, clock, lambda: api.login(account.email, account.password),
                           lambda: api.login(_OTHER_ACCOUNTS(next(_PROBES)), _NOT_A_PASSWORD))
    if answer.status == 401:
        raise Inconclusive("the 2FA account's password login answered 401: check its credentials",
                           cause="prerequisite")
    return _pending_token(api, account, answer.response) if answer.status == 200 else answer


@pytest.mark.clause("2FA-08")
@pytest.mark.destructive
def test_wrong_codes_are_limited_per_account(api: Api, spare_tfa_account: Account, totp: Totp, clock: Clock,
                                             observe: Observe) -> None:
    account = spare_tfa_account
    codes = _wrong_codes(totp, account.totp_secret, clock.now())
    statuses: list[int] = []
    pending = ""
    for _ in range(_ACCOUNT_LIMIT):
        if len(statuses) % _CODES_PER_TOKEN == 0:
            fresh = _pending_or_refusal(api, clock, account)
            if isinstance(fresh, Answer):
                break
            pending = fresh
        answer = _verify(api, clock, pending, next(codes))
        statuses.append(answer.status)
        if answer.own_429:
            break  # the account's codes are refused already: no need to spend the rest
    observe(f"wrong codes, {_CODES_PER_TOKEN} per fresh pendingToken", statuses)
    final = _pending_or_refusal(api, clock, account)
    what = f"the right code on a fresh pendingToken after {_ACCOUNT_LIMIT} wrong ones spread over pendingTokens"
    if isinstance(final, Answer):
        observe("login after the wrong codes", final.status)
        _expect_refused(final.response, "login after the wrong codes")
        return
    right = _verify(api, clock, final, totp(account.totp_secret))
    observe("status of the right code", right.status)
    _expect_refused(right.response, what + " (the account's codes should be refused for a while)")
