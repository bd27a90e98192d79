"""The clause catalog: every behaviour the suite checks, with its level.

Mirrors ``docs/spec/CLAUSES.md`` (the project's tests keep the two in step); the
suite may add clauses, never drop or renumber one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["MUST", "SHOULD"]


@dataclass(frozen=True)
class Clause:
    id: str
    level: Level
    title: str

    @property
    def family(self) -> str:
        return self.id.rsplit("-", 1)[0]


FAMILIES: dict[str, str] = {
    "BEARER": "using a token",
    "LOGIN": "POST /auth/login",
    "TOKEN": "lifetimes",
    "REFRESH": "POST /auth/refresh",
    "LOGOUT": "POST /auth/logout",
    "LOCK": "account lockout",
    "RATE": "IP-level login rate limit",
    "PAT": "personal access tokens",
    "2FA": "two-factor login",
    "ENV": "per-environment signing",
    "JWT": "token integrity (an accepted forgery means requests are not authenticated)",
    "ROBUST": "whole-surface contract",
}

CLAUSES: dict[str, Clause] = {
    c.id: c
    for c in (
        Clause('BEARER-01', 'MUST', 'A protected endpoint with no Authorization header answers 401.'),
        Clause('BEARER-02', 'MUST', 'A valid access token as Authorization: Bearer <token> answers 200.'),
        Clause('BEARER-03', 'MUST', 'The raw token without the Bearer  prefix answers 401, and the body says "No bearer token".'),
        Clause('BEARER-04', 'MUST', 'Other schemes (Basic …, Token …), Bearer with an empty or garbage token answer 401 (never 2xx, never 5xx).'),
        Clause('BEARER-05', 'MUST', 'A refresh token sent as the Bearer token answers 401.'),
        Clause('BEARER-06', 'SHOULD', 'Every 401 carries a WWW-Authenticate: Bearer … challenge (RFC 9110 §15.5.2, RFC 6750 §3).'),
        Clause('BEARER-07', 'SHOULD', 'A token is accepted only in the Authorization header: the same valid access token (or PAT) sent as an access_token query parameter or body field, without the header, answers 401 (the page: "passed as a Bearer token in the Authorization header"; RFC 6750 §2.3 and §5.3: tokens in URLs leak into logs).'),
        Clause('LOGIN-01', 'MUST', 'Valid credentials answer 200 with success: true and data.user {id, email equal to the login email, role, plan}, data.token and data.refreshToken: both JWTs.'),
        Clause('LOGIN-02', 'MUST', 'A wrong password answers 401, body says "Invalid email or password".'),
        Clause('LOGIN-03', 'MUST', 'An unknown email answers exactly like LOGIN-02 (same status, same message).'),
        Clause('LOGIN-04', 'MUST', 'Malformed bodies (not JSON, wrong content type, missing or mistyped fields, empty, huge) answer 4xx, never 5xx.'),
        Clause('LOGIN-05', 'SHOULD', 'Response time does not tell unknown emails from wrong passwords (statistical test over repeated samples; OWASP ASVS 5.0 6.3.8).'),
        Clause('LOGIN-06', 'SHOULD', 'Responses that carry tokens send Cache-Control: no-store (RFC 6749 §5.1).'),
        Clause('LOGIN-07', 'SHOULD', "The whole password is checked: for an account whose password is longer than 72 bytes, the same first 72 bytes with a different tail answer 401 (bcrypt's silent 72-byte truncation; OWASP Password Storage Cheat Sheet)."),
        Clause('TOKEN-01', 'MUST', 'Access token: exp − iat = 900 s.'),
        Clause('TOKEN-02', 'MUST', 'Access token accepted at T+900−skew, rejected (401) at T+900+skew.'),
        Clause('TOKEN-03', 'MUST', 'Refresh token: exp − iat = 604800 s (7 days).'),
        Clause('TOKEN-04', 'MUST', 'Refresh token refreshes at T+604800−skew, rejected (401) at T+604800+skew.'),
        Clause('REFRESH-01', 'MUST', 'A valid refresh token answers 200 with a new access token and a new refresh token, both different from the old ones; the new access token works.'),
        Clause('REFRESH-02', 'MUST', 'The old refresh token is revoked: presenting it again answers 401, at once and at any later time.'),
        Clause('REFRESH-03', 'MUST', 'After the access token expired (401), the refresh token still yields a working pair: the flow the page prescribes.'),
        Clause('REFRESH-04', 'MUST', 'An access token (or a PAT, or a pendingToken) in refreshToken answers 401; a missing or garbage refreshToken answers 400 or 401, never 5xx.'),
        Clause('REFRESH-05', 'SHOULD', 'Reuse detection: presenting a revoked refresh token also revokes the newer refresh token of that family (RFC 9700 §4.14.2, OWASP ASVS 5.0 10.4.5).'),
        Clause('REFRESH-06', 'SHOULD', 'Rotation is atomic: N concurrent refreshes with one token yield at most one 200.'),
        Clause('LOGOUT-01', 'MUST', 'Logout with a valid Bearer access token answers 2xx.'),
        Clause('LOGOUT-02', 'MUST', 'The logged-out access token answers 401 on protected endpoints at once and for the rest of its 15-minute life (checked again near its expiry).'),
        Clause('LOGOUT-03', 'MUST', 'Logout with no token or a garbage token answers 401.'),
        Clause('LOGOUT-04', 'SHOULD', 'Logout ends the session: the refresh token issued with that access token no longer refreshes (OWASP ASVS 5.0 7.4.1).'),
        Clause('LOCK-01', 'MUST', 'Consecutive wrong passwords for one account answer 423 within at most N attempts (N configurable, default 10); the observed threshold is reported.'),
        Clause('LOCK-02', 'MUST', 'While locked, the correct password answers 423 and issues no token.'),
        Clause('LOCK-03', 'MUST', 'The lock lasts 30 minutes: still 423 at lock+1800−skew, the correct password logs in at lock+1800+skew.'),
        Clause('LOCK-04', 'SHOULD', 'Concurrent wrong attempts get no more verdicts than the threshold allows (no race in the counter).'),
        Clause('LOCK-05', 'SHOULD', 'Case variants of the email count against the same account (no lockout bypass by User@…).'),
        Clause('LOCK-06', 'SHOULD', 'The lockout does not reveal which emails are registered: the same run of wrong passwords answers the same sequence of statuses for an unknown email as for a registered one (OWASP Authentication Cheat Sheet, account enumeration).'),
        Clause('RATE-01', 'MUST', 'Rapid login attempts from one client answer 429 within at most M attempts (M configurable, default 200); the observed threshold is reported.'),
        Clause('RATE-02', 'MUST', 'The limit is per IP, not per account: attempts spread over many different (also unknown) emails still reach 429.'),
        Clause('RATE-03', 'SHOULD', 'A 429 carries Retry-After (RFC 6585 §4, RFC 9110 §10.2.3); its value is reported.'),
        Clause('RATE-04', 'SHOULD', 'Client-supplied X-Forwarded-For / X-Real-IP values do not reset or bypass the limit.'),
        Clause('PAT-01', 'MUST', 'A PAT as the Bearer token answers 200 on a protected endpoint.'),
        Clause('PAT-02', 'MUST', 'A PAT does not expire: still accepted after 7 days and after 400 days (and, if it is a JWT, it has no exp).'),
        Clause('PAT-03', 'MUST', 'A PAT is not subject to the login rate limit: while login answers 429 for this client, PAT requests answer 200.'),
        Clause('PAT-04', 'MUST', 'A revoked PAT answers 401.'),
        Clause('PAT-05', 'MUST', "A PAT carries the account's role at creation: after the account's role changes, the PAT still acts with the old role."),
        Clause('2FA-01', 'MUST', 'Login for a 2FA account answers 200 with success: true, data.requires2FA: true, data.pendingToken, and no token or refreshToken.'),
        Clause('2FA-02', 'MUST', 'POST /auth/verify-2fa with {"pendingToken", "code"} and a valid TOTP code (RFC 6238: SHA-1, 6 digits, 30 s) answers as LOGIN-01.'),
        Clause('2FA-03', 'MUST', 'A wrong code answers 401 and issues no token.'),
        Clause('2FA-04', 'MUST', 'A pendingToken is not accepted as a Bearer token (401).'),
        Clause('2FA-05', 'SHOULD', 'A pendingToken is single-use and short-lived: rejected after its successful use, and 10 minutes after issue (OWASP ASVS 5.0 6.5.1).'),
        Clause('2FA-06', 'SHOULD', 'Wrong codes are limited: after at most 10 wrong codes the pendingToken is dead (brute force of a 6-digit code).'),
        Clause('2FA-07', 'SHOULD', 'A TOTP code is accepted at most once: after a successful verify-2fa, the same code presented on another pendingToken of the same account answers 401 — also when several are sent at once (RFC 6238 §5.2).'),
        Clause('2FA-08', 'SHOULD', 'Wrong codes are limited per account, not only per pendingToken: after at most 20 wrong codes spread over fresh pendingTokens of one account, further verify-2fa attempts for that account are refused for a while (RFC 4226 §7.3 throttling).'),
        Clause('ENV-01', 'MUST', 'A token issued by another environment of Akol answers 401 on this one.'),
        Clause('ENV-02', 'SHOULD', 'Tokens name their environment in iss or aud (RFC 8725 §3.8–3.9).'),
        Clause('JWT-01', 'MUST', 'alg: none (none, None, NONE, nOnE), with or without a signature, answers 401 (RFC 8725 §3.1).'),
        Clause('JWT-02', 'MUST', 'A stripped (null), truncated or altered signature answers 401.'),
        Clause('JWT-03', 'MUST', 'A payload changed under the original signature (role, sub, exp) answers 401.'),
        Clause('JWT-04', 'MUST', 'The same claims signed by an attacker answer 401: another random key, the empty key, a kid pointing at /dev/null or an SQL-injected kid signed to match, an embedded jwk/jku header with the attacker\'s key, an ES256 "psychic" signature (CVE-2022-21449) — the forgeries jwt_tool tries.'),
        Clause('JWT-05', 'SHOULD', 'An HMAC signing key is not a common weak secret: cracked offline against a bundled word list, no request sent (RFC 8725 §3.5).'),
        Clause('ROBUST-01', 'MUST', 'No request the suite sends, schema-generated ones included, answers 5xx.'),
        Clause('ROBUST-02', 'MUST', "Every response of the auth endpoints conforms to the project's OpenAPI document of the Akol auth API (status code documented, JSON body matching its schema)."),
    )
}
