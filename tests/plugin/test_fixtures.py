"""The fixtures clause tests use, in-process (test control) and remote black-box (AKOL_*)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from akol_fake import Policy, create_app
from tests.plugin.conftest import Suite, serve

SEED = json.loads((Path(__file__).parents[2] / "fixtures" / "data" / "seed-example.json").read_text())
CREDENTIALS = {
    "AKOL_EMAIL": "plain@example.test", "AKOL_PASSWORD": "plain-password-1",
    "AKOL_2FA_EMAIL": "twofactor@example.test", "AKOL_2FA_PASSWORD": "twofactor-password-1",
    "AKOL_2FA_TOTP_SECRET": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    "AKOL_PAT": "akol_pat_example-plain-account-token",
}
ALL_FIXTURES = '''
import pytest

@pytest.mark.clause("BEARER-02")
def test_everything(api, control, clock, account, tfa_account, lockout_account, login, session, pat, totp,
                    foreign_token, observe, settings):
    assert settings.inprocess
    assert api.agents(token=session.token).status_code == 200
    assert api.agents(token=pat.token).status_code == 200 and pat.account == account
    assert api.agents(token=foreign_token.token).status_code == 401
    before = clock.now()
    assert clock.advance(3600) >= before + 3600 and clock.now() >= before + 3600
    # The code is for the server's (moved) clock: a local-time code would be refused.
    fresh = login(tfa_account)
    assert fresh.user["email"] == tfa_account.email and fresh.token != session.token
    assert len(totp(tfa_account.totp_secret)) == 6
    assert control.whoami(pat.token)["kind"] == "pat"
    assert lockout_account.email not in {account.email, tfa_account.email}
    observe("ok", True)
'''


def test_every_fixture_in_process(suite: Suite) -> None:
    suite.pytester.makepyfile(test_all=ALL_FIXTURES)
    result = suite.run()
    result.assert_outcomes(passed=1)
    assert suite.clause("BEARER-02")["observed"] == {"ok": True}


SKIPS = '''
import pytest

@pytest.mark.clause("LOGIN-01")
def test_plain(account):
    pass

@pytest.mark.clause("2FA-01")
def test_tfa(tfa_account):
    pass

@pytest.mark.clause("PAT-01")
def test_pat(pat):
    pass

@pytest.mark.clause("ENV-01")
def test_env(foreign_token):
    pass

@pytest.mark.clause("LOCK-01")
@pytest.mark.destructive
def test_lock():
    pass

@pytest.mark.clause("PAT-04")
def test_control(control):
    pass
'''


def test_missing_credentials_skip_naming_the_variables(suite: Suite, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CREDENTIALS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AKOL_2FA_EMAIL", "twofactor@example.test")
    monkeypatch.setenv("AKOL_2FA_PASSWORD", "twofactor-password-1")
    suite.pytester.makepyfile(test_skips=SKIPS)
    with serve(create_app(Policy(test_control=False), seed=SEED)) as url:
        result = suite.run(f"--target={url}")
    assert result.ret == 0
    reasons = {c["id"]: c["reason"] for c in suite.report()["clauses"] if c["tests"]}
    no_control = " (the target has no test control, /__test__/)"
    assert reasons == {
        "LOGIN-01": "needs a plain account: set AKOL_EMAIL and AKOL_PASSWORD" + no_control,
        "2FA-01": "needs a 2FA account and its TOTP secret: set AKOL_2FA_TOTP_SECRET" + no_control,
        "PAT-01": "needs a personal access token: set AKOL_PAT" + no_control,
        "ENV-01": "needs a token from another environment: pass --foreign-target URL (a deployment with "
                  "/__test__/, or set AKOL_FOREIGN_EMAIL and AKOL_FOREIGN_PASSWORD for an account there) "
                  "or set AKOL_FOREIGN_TOKEN",
        "LOCK-01": "pass --destructive to run lockout/rate-limit checks "
                   f"(they lock an account or trip the IP limit of {url})",
        "PAT-04": "target has no /__test__/ test-control protocol (GET /__test__/clock did not answer 200)",
    }


BLACK_BOX = '''
import pytest

@pytest.mark.clause("BEARER-02")
def test_one(api, session, pat, tfa_account, login):
    assert api.agents(token=session.token).status_code == 200
    assert api.agents(token=pat.token).status_code == 200
    assert login(tfa_account).user["email"] == tfa_account.email

@pytest.mark.clause("BEARER-05")
def test_two(api, session):
    assert api.agents(token=session.token).status_code == 200
'''


def test_black_box_uses_the_variables_and_reuses_the_session(suite: Suite, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    suite.pytester.makepyfile(test_bb=BLACK_BOX)
    app = _CountingLogins(create_app(Policy(test_control=False), seed=SEED))
    with serve(app) as url:
        result = suite.run(f"--target={url}")
    result.assert_outcomes(passed=2)
    assert suite.report()["testControl"] is False
    # One login for the session both tests share, one for the explicit login().
    assert app.logins == 2


class _CountingLogins:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.logins = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/api/v1/auth/login":
            self.logins += 1
        await self.app(scope, receive, send)


def test_inprocess_never_reads_remote_credentials(suite: Suite, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AKOL_EMAIL", "someone@remote.example")
    monkeypatch.setenv("AKOL_PASSWORD", "remote-password")
    suite.pytester.makepyfile(test_in='''
import pytest
@pytest.mark.clause("LOGIN-01")
def test_fresh(account):
    assert account.email != "someone@remote.example" and account.id
''')
    suite.run().assert_outcomes(passed=1)
