"""Targets a new user points the suite at by mistake, or that misbehave: the run says so in one
message, judges nothing it cannot, and its reports can never look green by accident."""
from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import akol_fixtures
from akol_fake.spawn import spawn
from tests._early import starts_early
from tests.field._proxy import proxy
from tests.field._run import REPO, Outcome, clean_env, command, failed, run_suite
from tests.field._targets import answering
from tests.plugin.conftest import free_port, serve

TOTP_80_BITS = "JBSWY3DPEHPK3PXP"  # the classic authenticator example: 10 bytes


def assert_aborted(outcome: Outcome, *why: str) -> None:
    """Exit 4, one message, no test run, and every report says ABORTED and why."""
    assert outcome.code == 4, outcome.tail()
    assert "Traceback" not in outcome.output and " passed" not in outcome.output
    report = outcome.report()
    assert report["verdict"] == "ABORTED" and all(part in report["aborted"] for part in why), report["aborted"]
    assert {c["status"] for c in report["clauses"]} == {"error"}
    suite_el = outcome.junit().find("testsuite")
    assert suite_el is not None and (suite_el.get("tests"), suite_el.get("errors"), suite_el.get("skipped")) == (
        "1", "1", "0")
    error = suite_el.find("testcase/error")
    assert error is not None and why[0] in error.get("message", "")
    page = outcome.html()
    first_screen = page[page.index("<body>"):page.index("</table>")]
    assert '<div class="banner ABORTED"><b>ABORTED</b>nothing was judged: ' in first_screen
    assert why[0] in first_screen.replace("&#x27;", "'")


@pytest.mark.parametrize(("status", "body", "why"), [
    (200, {"ok": True}, "doesn't look like the Akol API"),
    (500, {"error": "down"}, "the Akol target is not serving"),
])
def test_a_server_that_is_not_akol_stops_the_run(tmp_path: Path, status: int, body: dict[str, bool],
                                                 why: str) -> None:
    with serve(answering(status, body)) as url:
        outcome = run_suite(tmp_path, f"--target={url}")
    assert_aborted(outcome, why, f"answered {status}", "(the Akol API answers 401)")


def test_a_closed_port_stops_the_run_and_ci_shows_an_error(tmp_path: Path) -> None:
    outcome = run_suite(tmp_path, f"--target=http://127.0.0.1:{free_port()}")
    assert_aborted(outcome, "cannot reach the Akol target", "connection refused")


def test_a_broken_install_is_a_suite_error_never_a_verdict(tmp_path: Path) -> None:
    """A real incomplete install: akol_fixtures without its data files, first on the path."""
    broken = tmp_path / "site" / "akol_fixtures"
    broken.mkdir(parents=True)
    shutil.copy(Path(akol_fixtures.__file__), broken / "__init__.py")
    outcome = run_suite(tmp_path / "reports", env={"PYTHONPATH": str(tmp_path / "site")})
    assert_aborted(outcome, "the bundled data file openapi.yaml is missing", "reinstall")
    assert outcome.output.count("openapi.yaml is missing") == 1, outcome.tail()


@pytest.fixture(scope="module")
def fake() -> Iterator[str]:
    with spawn() as served:
        yield served.url


def test_a_slow_target_stops_at_the_budget_with_reports(fake: str, tmp_path: Path) -> None:
    with proxy(fake, delay=1.0) as slow:
        outcome = run_suite(tmp_path, f"--target={slow.url}", "--max-duration=6")
    assert outcome.code == 2, outcome.tail()
    report = outcome.report()
    assert report["verdict"] == "INCONCLUSIVE" and report["stopped"] == "the run's --max-duration of 6 s was spent"
    causes = {c["cause"] for c in report["clauses"] if c["status"] == "error"}
    assert causes == {"budget"} and failed(outcome) == []
    assert "no answer within" in json.dumps(report) or "not done" in json.dumps(report)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_cancelled_run_writes_the_reports_of_what_ran(fake: str, tmp_path: Path, sig: signal.Signals) -> None:
    log = tmp_path / "output.log"
    with proxy(fake, delay=0.3) as slow, log.open("w") as sink:
        child = subprocess.Popen(command(tmp_path / "reports", f"--target={slow.url}"), cwd=REPO,
                                 env=clean_env({"PYTHONUNBUFFERED": "1"}), stdout=sink, stderr=subprocess.STDOUT,
                                 text=True)
        deadline = time.monotonic() + 60
        while not log.read_text().strip():  # -q: the first thing printed is a test's result
            assert time.monotonic() < deadline and child.poll() is None, log.read_text()
            time.sleep(0.1)
        child.send_signal(sig)
        code = child.wait(60)
    outcome = Outcome(code, log.read_text(), tmp_path / "reports", 0.0)
    assert code == 2, outcome.tail()
    report = outcome.report()
    assert report["stopped"] == f"cancelled by {sig.name}" and report["verdict"] == "INCONCLUSIVE"
    unjudged = [c for c in report["clauses"] if c["status"] == "error"]
    assert unjudged and {c["cause"] for c in unjudged} == {"aborted"}
    assert f"the run was cancelled by {sig.name} before this test was judged" in {c["reason"] for c in unjudged}
    assert (tmp_path / "reports" / "junit.xml").exists() and "INCONCLUSIVE" in outcome.html()


def test_a_huge_answer_is_read_bounded_and_never_a_failure(tmp_path: Path) -> None:
    size = 50 * 1024 * 1024
    with spawn(command=[sys.executable, "-m", "tests.field._targets", "huge-login", str(size)]) as huge:
        outcome = run_suite(tmp_path, f"--target={huge.url}", "--clause=LOGIN,2FA")
    assert outcome.code == 2 and failed(outcome) == [], outcome.tail()
    login = outcome.clauses()["LOGIN-01"]
    assert (login["status"], login["cause"]) == ("error", "oversize")
    assert "with a body of 52,3" in login["reason"] and "the suite reads at most 1,048,576 bytes" in login["reason"]
    sizes = {e["responseBytes"] for c in outcome.report()["clauses"] for e in c["evidence"]}
    assert max(sizes) > 50_000_000  # the true size, not the 1 MiB kept


@starts_early(__name__, "test_an_80_bit_totp_secret_works_black_box")
def _80_bit_totp_secret(tmp_path: Path) -> Outcome:
    seed = tmp_path / "seed.json"
    users = [{"email": "plain@example.test", "password": "plain-password-1", "role": "USER", "plan": "STARTER",
              "totpSecret": None, "pats": []},
             {"email": "short@example.test", "password": "short-secret-password-1", "role": "USER",
              "plan": "STARTER", "totpSecret": TOTP_80_BITS, "pats": []}]
    seed.write_text(json.dumps({"users": users}))
    env = {"AKOL_EMAIL": "plain@example.test", "AKOL_PASSWORD": "plain-password-1",
           "AKOL_2FA_EMAIL": "short@example.test", "AKOL_2FA_PASSWORD": "short-secret-password-1",
           "AKOL_2FA_TOTP_SECRET": TOTP_80_BITS}
    with spawn("--no-test-control", "--seed", str(seed), "--rate-limit", "100000", die_with_parent=True) as target:
        return run_suite(tmp_path / "reports", f"--target={target.url}", "--clause=2FA,LOGIN-06", env=env)


def test_an_80_bit_totp_secret_works_black_box(tmp_path: Path) -> None:
    outcome, _ = _80_bit_totp_secret.outcome(tmp_path)
    assert outcome.code == 0 and failed(outcome) == [], outcome.tail()
    clauses = outcome.clauses()
    for cid in ("2FA-02", "2FA-03", "LOGIN-06"):
        assert clauses[cid]["status"] == "passed", (cid, clauses[cid]["reason"])
    assert outcome.report()["testControl"] is False
    assert TOTP_80_BITS not in outcome.output + json.dumps(outcome.report())
