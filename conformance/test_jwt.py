"""JWT — token integrity: every forgery of a real session token answers 401 (jwt_tool's playbook).

Forgeries are built offline from a token the target issued (``conformance/_forge.py``) and
sent to the protected endpoint. Failures name the accepted forgeries, never a token.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from akol_conformance._probes import forge as _forge
from akol_conformance._probes.forge import Forgery, Jwt
from akol_conformance.check import expect, expect_status

_RSA_FAMILIES = ("RS", "PS")
PUBLIC_KEY_VAR = "AKOL_JWT_PUBLIC_KEY"


def _parsed(token: str, what: str) -> Jwt:
    try:
        return Jwt.parse(token, what=what)
    except ValueError as exc:  # opaque tokens: nothing to forge (LOGIN-01 reports the shape)
        pytest.skip(str(exc))


def _original(session: Any) -> Jwt:
    return _parsed(session.token, "the session's access token")


def _expect_all_refused(api: Any, session: Any, forgeries: Sequence[Forgery],
                        observe: Callable[[str, object], None]) -> None:
    __tracebackhide__ = True
    # Control: a 401 for a forgery only means something if the original is accepted.
    expect_status(api.agents(token=session.token), 200,
                  what="the original access token (the control every forgery is judged against)")
    statuses = {forgery.name: api.agents(token=forgery.token).status_code for forgery in forgeries}
    observe("forgeries sent", len(statuses))
    not_refused = {name: status for name, status in statuses.items() if status != 401}
    expect(not not_refused, expected=f"401 for each of the {len(statuses)} forged tokens",
           observed={"forgeries not answered 401 (name: status)": not_refused})


def _other_account_id(request: pytest.FixtureRequest, own_id: object,
                      not_checked: Callable[[str, str], None]) -> str | None:
    """A real account id other than the session's (via test control), else None."""
    try:
        request.getfixturevalue("control")
    except pytest.skip.Exception as skip:
        # An unknown sub may be refused for naming no account, signature checked or not.
        not_checked("sub replaced by another real account's id", str(skip.msg))
        return None
    # The run's shared plain account: not the session's, and made once for the run's logins.
    other = request.getfixturevalue("shared_account").id
    return other if other and other != own_id else None


@pytest.mark.clause("JWT-01")
def test_alg_none_is_refused(api, session, observe) -> None:
    _expect_all_refused(api, session, _forge.alg_none(_original(session)), observe)


@pytest.mark.clause("JWT-02")
def test_stripped_truncated_or_altered_signature_is_refused(api, session, observe) -> None:
    _expect_all_refused(api, session, _forge.bad_signatures(_original(session)), observe)


@pytest.mark.clause("JWT-03")
def test_payload_edited_under_the_original_signature_is_refused(api, session, observe,
                                                                request, not_checked) -> None:
    original = _original(session)
    other = _other_account_id(request, original.payload.get("sub"), not_checked)
    observe("sub replaced by", "another real account's id" if other else "an altered sub")
    _expect_all_refused(api, session, _forge.edited_payloads(original, other), observe)


def _confusion_forgeries(original: Jwt, observe: Callable[[str, object], None],
                         not_checked: Callable[[str, str], None]) -> list[Forgery]:
    """HS256 keyed with the target's RSA public key, when its tokens are RSA-signed and the key
    is at hand (Akol publishes no JWKS, so it is handed in); otherwise none, and why."""
    public_key = os.environ.get(PUBLIC_KEY_VAR, "").strip()
    if not original.alg.startswith(_RSA_FAMILIES):
        observe("alg confusion", f"not applicable: the tokens are {original.alg}, not RSA-signed")
        return []
    if not public_key:
        not_checked("RS256/HS256 algorithm confusion", f"set {PUBLIC_KEY_VAR} to the target's RSA public key (PEM)")
        return []
    observe("alg confusion", f"tried with the public key from {PUBLIC_KEY_VAR}")
    return _forge.hmac_with_public_key(original, public_key.encode())


@pytest.mark.clause("JWT-04")
def test_claims_signed_by_an_attacker_are_refused(api, session, observe, not_checked) -> None:
    original = _original(session)
    observe("alg", original.alg)
    forgeries = _forge.attacker_signed(original) + _confusion_forgeries(original, observe, not_checked)
    _expect_all_refused(api, session, forgeries, observe)


@pytest.mark.clause("JWT-05")
def test_hmac_key_is_not_a_common_secret(session, observe) -> None:
    tokens = {"access token": _parsed(session.token, "the session's access token"),
              "refresh token": _parsed(session.refresh_token, "the session's refresh token")}
    algs = {name: token.alg for name, token in tokens.items()}
    observe("alg", algs)
    hmac_tokens = {name: token for name, token in tokens.items() if token.alg in _forge.HMAC_HASHES}
    if not hmac_tokens:
        pytest.skip(f"the session tokens are not HMAC-signed ({', '.join(set(algs.values()))}): "
                    "there is no shared secret to crack")
    words = _forge.load_wordlist()
    observe("word list entries", len(words))
    cracked = {name: line for name, token in hmac_tokens.items()
               if (line := _forge.crack_hmac(token, words)) is not None}
    observe("cracked", {name: (f"yes, line {cracked[name]}" if name in cracked else "no")
                        for name in hmac_tokens})
    expect(not cracked,
           expected=f"HMAC keys that are none of the {len(words)} entries of "
                    "fixtures/data/jwt-secrets.txt",
           observed="; ".join(f"the {name}'s key is an entry of the bundled list (line {line})"
                              for name, line in cracked.items()))
