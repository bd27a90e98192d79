"""BEARER — presenting a credential to the protected endpoint (GET /agents)."""
from __future__ import annotations

import base64
import re
from collections.abc import Callable
from urllib.parse import urlencode

import httpx
import pytest

from akol_conformance.check import (
    ACCESS_TTL,
    Api,
    Clock,
    Inconclusive,
    Login,
    NotChecked,
    Observe,
    Pat,
    Session,
    Settings,
    UnknownEmails,
    expect,
    expect_status,
)

_NO_BEARER = "no bearer token"
# Distinctive: the plugin treats every value sent as a token as a secret to scrub from reports.
_GARBAGE_TOKEN = "x-garbage-token-7e3a"
_UNKNOWN = UnknownEmails("bearer")
_BEARER_CHALLENGE = re.compile(r"(?:^|,)\s*bearer(?:\s|,|$)", re.IGNORECASE)

# Authorization values that are not "Bearer <a valid access token>", by what they try.
# Each takes the valid access token, so a scheme mix-up that accepts it is caught.
_OTHER_SCHEMES: dict[str, Callable[[str], str]] = {
    "Basic with the access token": lambda token: f"Basic {token}",
    "Basic with user:password credentials": lambda _: "Basic "
    + base64.b64encode(b"nobody@example.invalid:not-a-password").decode(),
    "Token with the access token": lambda token: f"Token {token}",
    "JWT with the access token": lambda token: f"JWT {token}",
    "Bearer and a space, no token": lambda _: "Bearer ",
    "Bearer with a garbage token": lambda _: f"Bearer {_GARBAGE_TOKEN}",
    "Bearer with three dot-separated garbage parts": lambda _: "Bearer x1.y2.z3",
    "Bearer Bearer <access token>": lambda token: f"Bearer Bearer {token}",
}
# Values that lack the literal "Bearer " prefix: the page's "Missing Bearer prefix" pitfall.
_MISSING_PREFIX: dict[str, Callable[[str], str]] = {
    "the raw access token": lambda token: token,
    "Bearer<token> without the space": lambda token: f"Bearer{token}",
}


def _agents(api: Api, authorization: str | None) -> httpx.Response:
    if authorization is None:
        return api.agents()
    return api.agents(headers={"Authorization": authorization})


def _statuses(api: Api, cases: dict[str, Callable[[str], str]], token: str) -> dict[str, httpx.Response]:
    return {name: _agents(api, make(token)) for name, make in cases.items()}


@pytest.mark.clause("BEARER-01")
def test_no_authorization_header(api: Api) -> None:
    expect_status(api.agents(), 401, what="protected endpoint without an Authorization header")


@pytest.mark.clause("BEARER-02")
def test_valid_bearer_token(api: Api, session: Session) -> None:
    expect_status(api.agents(token=session.token), 200,
                  what="protected endpoint with Authorization: Bearer <valid access token>")


@pytest.mark.clause("BEARER-03")
def test_missing_bearer_prefix(api: Api, session: Session, observe: Observe) -> None:
    responses = _statuses(api, _MISSING_PREFIX, session.token)
    observe("statuses", {name: r.status_code for name, r in responses.items()})
    wrong = {name: r.status_code for name, r in responses.items()
             if r.status_code != 401 or _NO_BEARER not in r.text.lower()}
    expect(not wrong, expected='401 with "No bearer token" in the body for every value without '
                               'the literal "Bearer " prefix',
           observed={"status of each offending value": wrong})
    # RFC 9110 §11.1 makes the scheme case-insensitive, the page says "literally": report only.
    observe("lowercase_bearer_scheme_status", _agents(api, f"bearer {session.token}").status_code)


@pytest.mark.clause("BEARER-04")
def test_other_schemes_and_garbage_tokens(api: Api, session: Session, observe: Observe) -> None:
    responses = _statuses(api, _OTHER_SCHEMES, session.token)
    statuses = {name: r.status_code for name, r in responses.items()}
    observe("statuses", statuses)
    wrong = {name: status for name, status in statuses.items() if status != 401}
    expect(not wrong, expected="401 for other schemes and for Bearer with an empty or garbage token",
           observed={"status of each offending value": wrong})


@pytest.mark.clause("BEARER-05")
def test_refresh_token_as_bearer(api: Api, session: Session) -> None:
    expect_status(api.agents(token=session.refresh_token), 401,
                  what="protected endpoint with the refresh token as the Bearer token")


def _expect_challenges(responses: dict[str, httpx.Response]) -> None:
    """Every 401 among `responses` carries a Bearer challenge."""
    __tracebackhide__ = True
    missing = {name: r.headers.get("www-authenticate") for name, r in responses.items()
               if r.status_code == 401
               and not _BEARER_CHALLENGE.search(r.headers.get("www-authenticate", ""))}
    expect(not missing, expected="WWW-Authenticate: Bearer … on every 401",
           observed={"WWW-Authenticate of each 401 without a Bearer challenge": missing})


@pytest.mark.clause("BEARER-06")
def test_every_401_challenges(api: Api, session: Session, login: Login,
                              observe: Observe, not_checked: NotChecked) -> None:
    # An unknown email answers a login as a wrong password does (LOGIN-03), and locks no account
    # nor needs one of its own; `session` is not spent (the run shares it).
    responses = {"login with an unknown email": api.login(_UNKNOWN.fresh(), "not-the-password")}
    live = session
    responses |= {"no Authorization header": _agents(api, None),
                  "refresh token as Bearer": api.agents(token=live.refresh_token)}
    responses |= _statuses(api, _MISSING_PREFIX, live.token)
    responses |= _statuses(api, _OTHER_SCHEMES, live.token)
    responses["logout without a token"] = api.request("POST", "/auth/logout")
    responses["logout with a garbage token"] = api.logout(_GARBAGE_TOKEN)
    responses["refresh with a garbage token"] = api.refresh(_GARBAGE_TOKEN)
    logged_out = login()
    if 200 <= (status := api.logout(logged_out.token).status_code) < 300:
        responses["a logged-out access token"] = api.agents(token=logged_out.token)
    else:
        not_checked("the 401 of a logged-out access token", f"logout answered {status} (LOGOUT-01 reports it)")
    unauthorized = sorted(name for name, r in responses.items() if r.status_code == 401)
    observe("checked_401s", unauthorized)
    expect(unauthorized, expected="401 answers to check for a challenge",
           observed={name: r.status_code for name, r in responses.items()})
    _expect_challenges(responses)


@pytest.mark.clause("BEARER-06")
def test_expired_token_401_challenges(api: Api, login: Login, clock: Clock, settings: Settings) -> None:
    expired = login()
    clock.advance(ACCESS_TTL + settings.skew + 1)
    response = api.agents(token=expired.token)
    if response.status_code != 401:
        pytest.skip(f"the access token still answered {response.status_code} past its 15 minutes "
                    "(TOKEN-02 reports that); no expiry 401 to check for a challenge")
    _expect_challenges({"an expired access token": response})


# Where RFC 6750 §2.2–2.3 lets a client put a token besides the header; the page allows only the header.
_FIELD = "access_token"
Place = Callable[[Api, str], httpx.Response]


def _in_query(api: Api, token: str) -> httpx.Response:
    query = urlencode({_FIELD: token})
    api.log.redactor.add(query.split("=", 1)[1])  # the URL-encoded form, as it shows in the URL
    return api.request("GET", f"/agents?{query}")


def _in_json_body(api: Api, token: str) -> httpx.Response:
    return api.request("POST", "/auth/logout", json={_FIELD: token})


def _in_form_body(api: Api, token: str) -> httpx.Response:
    form = urlencode({_FIELD: token})
    api.log.redactor.add(form.split("=", 1)[1])
    return api.request("POST", "/auth/logout", content=form,
                       headers={"Content-Type": "application/x-www-form-urlencoded"})


# The body places go to logout, the one Bearer endpoint with a body: a server that reads them
# logs that session out, so each such answer is followed by a fresh login.
_SESSION_PLACES: dict[str, Place] = {
    "the access token as ?access_token= on GET /agents": _in_query,
    "the access token as a JSON body field access_token of POST /auth/logout": _in_json_body,
    "the access token as a form field access_token of POST /auth/logout": _in_form_body,
}
_PAT_PLACES: dict[str, Place] = {"the PAT as ?access_token= on GET /agents": _in_query}


def _live_session(api: Api, login: Login) -> Session:
    """A fresh session whose token the header form accepts: the control every other place is judged against."""
    live = login()
    status = api.agents(token=live.token).status_code
    if status != 200:
        raise Inconclusive(f"a fresh access token answered {status} in the Authorization header "
                           "(BEARER-02 reports it): nothing to compare the other places with",
                           cause="prerequisite")
    return live


def _session_places(api: Api, login: Login) -> dict[str, int]:
    """The status of each place outside the header, for a live access token."""
    statuses: dict[str, int] = {}
    live: Session | None = None
    for name, place in _SESSION_PLACES.items():
        live = live or _live_session(api, login)
        statuses[name] = place(api, live.token).status_code
        if 200 <= statuses[name] < 300:
            live = None  # that answer may have logged the session out
    return statuses


def _pat_places(api: Api, pat: Pat, not_checked: NotChecked) -> dict[str, int]:
    """The status of each place outside the header, for a PAT the header form accepts."""
    if (status := api.agents(token=pat.token).status_code) != 200:
        not_checked("a PAT outside the Authorization header",
                    f"the PAT answered {status} in the header (PAT-01 reports it)")
        return {}
    return {name: place(api, pat.token).status_code for name, place in _PAT_PLACES.items()}


@pytest.mark.clause("BEARER-07")
def test_token_only_in_the_authorization_header(api: Api, login: Login, request: pytest.FixtureRequest,
                                                observe: Observe, not_checked: NotChecked) -> None:
    missing: list[str] = []

    def part_not_checked(part: str, why: str) -> None:
        not_checked(part, why)
        missing.append(f"{part}: {why}")

    statuses: dict[str, int] = {}
    try:
        statuses |= _session_places(api, login)
    except pytest.skip.Exception as skip:  # no account: the PAT may still be checked
        part_not_checked("an access token outside the Authorization header", str(skip.msg))
    try:
        pat: Pat = request.getfixturevalue("pat")
    except pytest.skip.Exception as skip:
        part_not_checked("a PAT outside the Authorization header", str(skip.msg))
    else:
        statuses |= _pat_places(api, pat, part_not_checked)
    if not statuses:
        pytest.skip("; ".join(missing))
    observe("statuses", statuses)
    accepted = {name: status for name, status in statuses.items() if status != 401}
    expect(not accepted, expected="401 for a valid token sent anywhere but the Authorization header "
                                  "(no header sent)",
           observed={"status of each place that did not answer 401": accepted})
