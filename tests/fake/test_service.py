"""The public surface: Policy, ServerClock, create_app(seed=...), the AuthService docstring contract."""
from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

import akol_fake
from akol_fake import AuthService, Policy, ServerClock, create_app
from tests.fake.conftest import API, Fake, bearer

SEED = Path(__file__).resolve().parents[2] / "fixtures" / "data" / "seed-example.json"


def test_policy_defaults_are_the_spec_values() -> None:
    policy = Policy()
    assert (policy.env, policy.access_ttl, policy.refresh_ttl, policy.pending_ttl) == (
        "production", 900, 604800, 600)
    assert (policy.lockout_threshold, policy.lockout_seconds, policy.rate_limit,
            policy.rate_window, policy.max_2fa_failures) == (5, 1800, 20, 60, 5)
    assert policy.test_control is True and policy.signing_key is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.env = "x"  # type: ignore[misc]


def test_public_surface() -> None:
    assert set(akol_fake.__all__) == {"AuthService", "ServerClock", "Policy", "create_app"}


def test_create_app_env_overrides_the_policy_and_exposes_the_service() -> None:
    app = create_app(Policy(env="production"), env="staging")
    assert isinstance(app.state.service, AuthService)
    assert app.state.service.policy.env == "staging"


def test_create_app_uses_the_given_service_class() -> None:
    class Custom(AuthService):
        pass

    assert type(create_app(service=Custom).state.service) is Custom


def test_clock_moves_only_forward() -> None:
    clock = ServerClock()
    before = clock.now()
    assert clock.advance(10) >= before + 10
    for bad in (0, -1, float("nan"), float("inf"), 1e12):
        with pytest.raises(ValueError):
            clock.advance(bad)


def test_every_method_in_the_docstring_exists_and_every_rule_is_listed() -> None:
    doc = AuthService.__doc__ or ""
    listed = set(re.findall(r"^    (\w+)\(", doc, flags=re.MULTILINE))
    assert listed, "the AuthService docstring lists no methods"
    missing = {name for name in listed if not callable(getattr(AuthService, name, None))}
    assert not missing, f"the docstring names methods AuthService lacks: {sorted(missing)}"
    public = {name for name, value in vars(AuthService).items()
              if callable(value) and not name.startswith("_")}
    helpers = {"find_user", "create_user", "provision_user", "update_user", "seed"}
    assert public - helpers <= listed, f"undocumented rules: {sorted(public - helpers - listed)}"


def test_seed_example_accounts_work() -> None:
    fake = Fake(create_app(Policy(hash_iterations=1000, test_control=False),
                           seed=json.loads(SEED.read_text())))
    client = fake.client()
    plain = client.post(f"{API}/auth/login", json={"email": "plain@example.test",
                                                   "password": "plain-password-1"})
    assert plain.status_code == 200
    pat = "akol_pat_example-plain-account-token"
    assert client.get(f"{API}/agents", headers=bearer(pat)).status_code == 200
    tfa = client.post(f"{API}/auth/login", json={"email": "twofactor@example.test",
                                                 "password": "twofactor-password-1"})
    assert tfa.json()["data"]["requires2FA"] is True


@pytest.mark.parametrize(("seed", "fragment"), [
    ({"users": "x"}, "not a list"), ({}, "missing"), ({"users": [{"email": "a@b"}]}, "password"),
    ({"users": [{"email": "a@b", "password": "x", "totpSecret": "not base32!"}]}, "base32"),
    ({"users": [{"email": "a@b", "password": "x"}, {"email": "A@b", "password": "y"}]},
     "already exists"),
    ({"users": [{"email": "a@b", "password": "x", "pats": "akol_pat_x"}]}, "list of token"),
])
def test_bad_seeds_say_what_is_wrong(seed: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        create_app(Policy(hash_iterations=1000), seed=seed)
