"""TOKEN-01..04, ENV-01..02: lifetimes on the server clock, per-environment keys."""
from __future__ import annotations

from typing import Any

import jwt

from akol_fake import Policy, create_app
from tests.fake.conftest import API, Fake, bearer


def _claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def test_lifetimes_and_claims(session: dict[str, Any]) -> None:
    access, refresh = _claims(session["token"]), _claims(session["refreshToken"])
    assert access["exp"] - access["iat"] == 900
    assert refresh["exp"] - refresh["iat"] == 604800
    assert {"sub", "jti", "iat", "exp", "typ", "iss", "aud", "role", "plan"} <= access.keys()
    assert access["iss"] == access["aud"] == "akol-production"
    assert access["jti"] != refresh["jti"]
    assert jwt.get_unverified_header(session["token"])["alg"] == "HS256"


def test_iat_follows_the_server_clock(fake: Fake, user: dict[str, Any]) -> None:
    now = fake.advance(86400)
    assert abs(_claims(fake.login(user)["token"])["iat"] - now) <= 1


def test_access_token_expires_at_900s_without_leeway(fake: Fake, session: dict[str, Any]) -> None:
    iat = _claims(session["token"])["iat"]
    fake.advance(iat + 899.5 - fake.now())
    assert fake.client().get(f"{API}/agents", headers=bearer(session["token"])).status_code == 200
    fake.advance(1)
    assert fake.client().get(f"{API}/agents", headers=bearer(session["token"])).status_code == 401


def test_refresh_token_expires_at_7_days(fake: Fake, user: dict[str, Any]) -> None:
    early, late = fake.login(user), fake.login(user)
    iat = _claims(early["refreshToken"])["iat"]
    fake.advance(iat + 604799.5 - fake.now())
    ok = fake.client().post(f"{API}/auth/refresh", json={"refreshToken": early["refreshToken"]})
    assert ok.status_code == 200
    fake.advance(_claims(late["refreshToken"])["exp"] + 0.5 - fake.now())
    gone = fake.client().post(f"{API}/auth/refresh", json={"refreshToken": late["refreshToken"]})
    assert gone.status_code == 401


def test_token_of_another_environment_is_rejected(session: dict[str, Any]) -> None:
    staging = Fake(create_app(Policy(hash_iterations=1000), env="staging"))
    staging_session = staging.login(staging.user())
    assert _claims(staging_session["token"])["iss"] == "akol-staging"
    production = Fake(create_app(Policy(hash_iterations=1000)))
    response = production.client().get(f"{API}/agents", headers=bearer(staging_session["token"]))
    assert response.status_code == 401


def test_each_instance_has_its_own_key(fake: Fake, session: dict[str, Any]) -> None:
    twin = Fake(create_app(Policy(hash_iterations=1000)))
    assert twin.client().get(f"{API}/agents", headers=bearer(session["token"])).status_code == 401


def test_a_configured_signing_key_is_shared_by_instances_of_one_env() -> None:
    policy = Policy(hash_iterations=1000, signing_key="k" * 32)
    first, second = Fake(create_app(policy)), Fake(create_app(policy))
    token = first.login(first.user())["token"]
    # Same key and env: the signature verifies; the account is unknown there, still 401.
    assert second.service.tokens.decode(token, second.service.clock.now()) is not None
    assert second.client().get(f"{API}/agents", headers=bearer(token)).status_code == 401
