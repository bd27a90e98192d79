"""Options → Settings: precedence, in-process isolation from remote-run variables, bad input."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from akol_conformance._plugin.options import Settings
from akol_conformance._plugin.run import RUN_KEY
from tests.plugin.conftest import PLUGIN, Suite

STUB = "tests.plugin._stub:create_app"


def settings_of(pytester: pytest.Pytester, *args: str) -> Settings:
    config = pytester.parseconfigure(*PLUGIN, *args)
    return config.stash[RUN_KEY].settings


def test_defaults(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AKOL_TARGET", raising=False)
    s = settings_of(pytester)
    assert (s.target, s.inprocess, s.destructive, s.strict, s.real_time) == ("inprocess", True, True, False, False)
    assert (s.skew, s.max_lockout_attempts, s.max_rate_attempts) == (30.0, 10, 200)
    assert s.report_dir == pytester.path / "reports"
    assert s.app_factory == "akol_fake:create_app" and s.clauses == ()
    assert (s.test_control, s.max_duration) == ("auto", 1800.0)


def test_precedence_cli_over_env_over_ini_over_default(pytester: pytest.Pytester,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makeini("[pytest]\nakol_target = http://ini.example\nakol_skew = 7\nakol_report_dir = ini-reports\n")
    monkeypatch.delenv("AKOL_TARGET", raising=False)
    ini = settings_of(pytester)
    assert (ini.target, ini.skew, ini.report_dir.name) == ("http://ini.example", 7.0, "ini-reports")
    assert ini.destructive is False  # remote: off unless asked

    monkeypatch.setenv("AKOL_TARGET", "https://env.example/")
    env = settings_of(pytester)
    assert env.target == "https://env.example" and env.skew == 7.0

    cli = settings_of(pytester, "--target=http://cli.example:8000", "--skew=2.5", "--destructive", "--strict")
    assert (cli.target, cli.skew, cli.destructive, cli.strict) == ("http://cli.example:8000", 2.5, True, True)


def test_inprocess_ignores_remote_run_variables(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AKOL_TARGET", "inprocess")
    for name in ("AKOL_EMAIL", "AKOL_PASSWORD", "AKOL_PAT", "AKOL_FOREIGN_TOKEN"):
        monkeypatch.setenv(name, "value-for-a-remote-run")
    monkeypatch.setenv("AKOL_FOREIGN_TARGET", "not a url at all")
    s = settings_of(pytester)
    assert s.inprocess and s.credentials == {} and s.foreign_target is None


def test_remote_run_reads_credentials(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AKOL_EMAIL", "me@example.test")
    monkeypatch.setenv("AKOL_FOREIGN_TARGET", "http://staging.example")
    s = settings_of(pytester, "--target=http://prod.example")
    assert s.credential("AKOL_EMAIL") == "me@example.test" and s.credential("AKOL_PASSWORD") is None
    assert s.foreign_target == "http://staging.example"


def test_run_options_and_their_variables(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AKOL_TEST_CONTROL", "Require")
    monkeypatch.setenv("AKOL_MAX_DURATION", "600")
    remote = settings_of(pytester, "--target=http://prod.example")
    assert (remote.test_control, remote.max_duration) == ("require", 600.0)
    cli = settings_of(pytester, "--target=http://prod.example", "--test-control=off", "--max-duration=90.5")
    assert (cli.test_control, cli.max_duration) == ("off", 90.5)
    # In-process: the budget applies, a remote run's test-control setting does not.
    local = settings_of(pytester)
    assert (local.test_control, local.max_duration) == ("auto", 600.0)


def test_settings_never_show_a_secret(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "a-long-2fa-password-with-tail-WXYZ"
    monkeypatch.setenv("AKOL_2FA_PASSWORD", secret)
    s = settings_of(pytester, "--target=http://prod.example")
    assert s.credential("AKOL_2FA_PASSWORD") == secret and dict(s.credentials) == {"AKOL_2FA_PASSWORD": secret}
    for shown in (repr(s), str(s), repr(s.credentials), str(s.credentials)):
        assert "WXYZ" not in shown and "a-long" not in shown
    assert "AKOL_2FA_PASSWORD=***" in repr(s)


def test_a_malformed_totp_secret_is_a_usage_error_naming_the_variable(
        suite: Suite, monkeypatch: pytest.MonkeyPatch) -> None:
    suite.pytester.makepyfile(test_x="import pytest\n@pytest.mark.clause('BEARER-01')\ndef test_x(): pass\n")
    monkeypatch.setenv("AKOL_2FA_TOTP_SECRET", "not-base32-at-all-1890")
    result = suite.run("--target=http://127.0.0.1:9")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert "AKOL_2FA_TOTP_SECRET is not a TOTP secret (not base32 (letters A-Z and digits 2-7))" in output
    assert "not-base32-at-all-1890" not in output and "Traceback" not in output
    report = suite.report()  # the aborted run still says why
    assert report["verdict"] == "ABORTED" and report["aborted"].startswith("AKOL_2FA_TOTP_SECRET is not")
    assert "not-base32-at-all-1890" not in suite.report_texts()["conformance.json"]


def test_clause_selection_expands_families(pytester: pytest.Pytester) -> None:
    s = settings_of(pytester, "--clause=lock", "--clause", "RATE-01,BEARER-02")
    assert s.clauses == ("LOCK-01", "LOCK-02", "LOCK-03", "LOCK-04", "LOCK-05", "LOCK-06", "RATE-01", "BEARER-02")


@pytest.mark.parametrize(("args", "message"), [
    (["--skew=abc"], "--skew='abc' is not a number of seconds"),
    (["--skew=-1"], "--skew='-1' must be ≥ 0"),
    (["--max-lockout-attempts=0"], "--max-lockout-attempts='0' must be ≥ 1"),
    (["--max-rate-attempts=-5"], "--max-rate-attempts='-5' must be ≥ 1"),
    (["--target=staging.akol.ai"], "is not a URL: give the deployment's base URL with its scheme"),
    (["--target=https://staging.akol.ai/api/v1/"], "ends in /api/v1: drop it"),
    (["--foreign-target=ftp://x"], "--foreign-target='ftp://x' is not a URL"),
    (["--clause=NOPE-01"], "--clause 'NOPE-01' is no clause id or family"),
    (["--test-control=maybe"], "--test-control='maybe' is not a test-control mode: give one of auto, require, off"),
    (["--max-duration=0"], "--max-duration='0' must be > 0"),
    (["--max-duration=soon"], "--max-duration='soon' is not a number of seconds"),
    (["--app-factory=akol_fake"], "give module:callable"),
    (["--app-factory=no_such_module_xyz:create"], "cannot import module 'no_such_module_xyz'"),
    (["--app-factory=tests.plugin._stub:nothing_here"], "has no attribute 'nothing_here'"),
    (["--app-factory=tests.plugin._stub:broken_factory"], "raised RuntimeError: the stub refuses to build"),
])
def test_bad_input_is_one_clear_usage_error(suite: Suite, args: list[str], message: str) -> None:
    suite.pytester.makepyfile(test_x="import pytest\n@pytest.mark.clause('BEARER-01')\ndef test_x(): pass\n")
    result = suite.run(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_bad_env_value_names_the_variable(suite: Suite, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AKOL_TARGET", "localhost:8000")
    result = suite.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*AKOL_TARGET='localhost:8000' is not a URL*"])


def test_report_dir_taken_for_a_test_path_is_named(tmp_path: Path) -> None:
    """`--report-dir /elsewhere` (space form) sends pytest's config search astray: one clear line."""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "--report-dir", str(tmp_path)],
                          cwd=root, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert f"write it as --report-dir={tmp_path}" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr + done.stdout


def test_asking_for_a_target_where_no_suite_is_collected_says_how_to_run_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_unrelated="def test_x():\n    pass\n")
    (pytester.path / "test_unrelated.py").unlink()  # an empty folder, as after `pip install`
    result = pytester.runpytest("--target=http://127.0.0.1:9", "-p", "no:locust")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(["*no Akol conformance suite was collected here*akol-conformance --target URL*"])
