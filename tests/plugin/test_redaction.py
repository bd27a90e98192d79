"""No report and no terminal output ever shows a token, password or secret the run used."""
from __future__ import annotations

import json

import pytest

from akol_conformance._plugin.redact import MASK, Redactor
from akol_fake import Policy, create_app
from tests.plugin.conftest import Suite, serve
from tests.plugin.test_fixtures import CREDENTIALS, SEED

LEAKY = '''
import json, os
import pytest
from akol_conformance._plugin.outcomes import expect

@pytest.fixture
def keep(request):
    path = request.config.rootpath / "secrets.json"
    secrets = json.loads(path.read_text()) if path.exists() else []
    def add(*values):
        secrets.extend(values)
        path.write_text(json.dumps(secrets))
    return add

@pytest.mark.clause("LOGIN-01")
def test_assert_rewriting_prints_tokens(api, account, login, keep):
    s = login(account)
    keep(account.password, s.token, s.refresh_token)
    print("token for debugging:", s.token, s.refresh_token, account.password)
    assert s.token == s.refresh_token + account.password

@pytest.mark.clause("2FA-02")
def test_totp_secret_in_observed(tfa_account, totp, keep, observe):
    keep(tfa_account.totp_secret, tfa_account.password)
    observe("leak", {"secret": tfa_account.totp_secret, "text": "pw=" + tfa_account.password})
    expect(False, expected="no secret", observed=f"{tfa_account.totp_secret} / {tfa_account.password}")

@pytest.mark.clause("PAT-01")
def test_pat_in_locals(pat, keep):
    token = pat.token
    keep(token)
    raise RuntimeError(f"PAT {token} rejected")

@pytest.mark.clause("LOGIN-06")
def test_should_warning_with_refresh_token(api, session, keep):
    keep(session.refresh_token, session.token)
    expect(False, expected="Cache-Control: no-store", observed={"refreshToken": session.refresh_token})

@pytest.mark.clause("BEARER-02")
def test_skip_reason_with_password(account, keep):
    keep(account.password)
    pytest.skip(f"cannot use {account.password}")

@pytest.mark.clause("BEARER-05")
def test_env_credentials(keep):
    values = [os.environ[n] for n in sorted(os.environ) if n.startswith("AKOL_") and n != "AKOL_TARGET"]
    keep(*values)
    assert not values, values
'''


_WINDOW = 16


def _assert_clean(suite: Suite, result: pytest.RunResult, *, min_secrets: int) -> None:
    secrets = set(json.loads((suite.pytester.path / "secrets.json").read_text()))
    assert len(secrets) >= min_secrets
    outputs = {"stdout": result.stdout.str(), "stderr": result.stderr.str(), **suite.report_texts()}
    for name, text in outputs.items():
        for secret in secrets:
            # Not even a fragment: pytest's diffs print the tail of long strings.
            windows = {secret[i:i + _WINDOW] for i in range(max(1, len(secret) - _WINDOW + 1))}
            leaked = [w for w in windows if w in text]
            assert not leaked, f"a secret ({len(secret)} chars) leaked into {name}"
    # The failures really happened and were scrubbed (not merely absent).
    assert MASK in outputs["stdout"] and MASK in outputs["conformance.json"]


def test_in_process_run_leaks_nothing(suite: Suite) -> None:
    suite.pytester.makepyfile(test_leaky=LEAKY)
    result = suite.run("-l", "-rA", "-vv")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    _assert_clean(suite, result, min_secrets=7)


def test_black_box_run_leaks_no_akol_variable(suite: Suite, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AKOL_FOREIGN_TOKEN", "foreign-token-from-another-environment")
    suite.pytester.makepyfile(test_leaky=LEAKY)
    with serve(create_app(Policy(test_control=False), seed=SEED)) as url:
        result = suite.run(f"--target={url}", "-l", "-rA")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    _assert_clean(suite, result, min_secrets=len(CREDENTIALS) + 1)


def test_patterns_catch_unregistered_secrets() -> None:
    r = Redactor()
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    text = r.scrub(f'Authorization: Bearer abcdefgh12345678 {{"password": "hunter22", "x": "{jwt}"}}')
    assert "abcdefgh12345678" not in text and "hunter22" not in text and jwt not in text
    assert r.scrub("A valid access token as Authorization: Bearer <token> answers 200.") == \
        "A valid access token as Authorization: Bearer <token> answers 200."
    assert r.scrub_headers({"Authorization": "Bearer abc", "Cookie": "s=1", "X": "y"}) == \
        {"Authorization": f"Bearer {MASK}", "Cookie": MASK, "X": "y"}


def test_registry_catches_escaped_forms_and_ignores_short_junk() -> None:
    r = Redactor()
    r.add('pa"ss\\word')
    r.add("garbage", min_len=16)
    assert r.scrub(json.dumps({"note": 'pa"ss\\word'})) == json.dumps({"note": MASK})
    assert r.scrub("Bearer garbage") == "Bearer garbage"


def test_renderings_lose_fragments_of_known_secrets() -> None:
    r = Redactor()
    token = "akol_pat_" + "Q7x9Lm2Pz8Kw4Rt6Yv1Bn3Hs5Jd0Fg"
    r.add(token, min_len=16)
    tail = f"- ...{token[-14:]}"
    assert token[-14:] not in r.scrub_rendering(tail)
    assert r.scrub(tail) == tail  # the fast path only masks whole secrets and patterns
    assert r.scrub_rendering("an ordinary_sentence_word here") == "an ordinary_sentence_word here"


def test_settings_in_a_traceback_show_no_secret_not_even_its_tail(
        suite: Suite, monkeypatch: pytest.MonkeyPatch) -> None:
    """A truncated repr once showed the last 4 characters of AKOL_2FA_PASSWORD."""
    password = "twofactor-password-ends-in-Q9Z7"
    monkeypatch.setenv("AKOL_2FA_PASSWORD", password)
    suite.pytester.makepyfile(test_repr='''
import pytest

@pytest.mark.clause("BEARER-01")
def test_looks_at_settings(settings):
    shown = settings
    assert shown is None
''')
    with serve(create_app(Policy(test_control=False), seed=SEED)) as url:
        result = suite.run(f"--target={url}", "-l", "--tb=long", "-vv")
    output = result.stdout.str() + result.stderr.str() + "".join(suite.report_texts().values())
    assert "AKOL_2FA_PASSWORD=***" in output  # the settings were shown
    assert "Q9Z7" not in output and "ends-in" not in output
