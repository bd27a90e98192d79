"""Clause marks, MUST/SHOULD verdicts, exit codes, selection and ordering."""
from __future__ import annotations

import pytest

from tests.plugin.conftest import Suite

SYNTHETIC = '''
import pytest
from akol_conformance._plugin.outcomes import expect

@pytest.mark.clause("BEARER-01")
def test_bearer_ok():
    pass

@pytest.mark.clause("LOGIN-02")
def test_login_{must}():
    expect({must_ok}, expected="401", observed="200")

@pytest.mark.clause("LOGIN-06")
def test_cache_{should}():
    expect({should_ok}, expected="Cache-Control: no-store", observed="no Cache-Control")

@pytest.mark.clause("LOCK-01")
def test_skipped():
    pytest.skip("set AKOL_LOCKOUT_EMAIL")
'''


def write(suite: Suite, *, must_ok: bool, should_ok: bool) -> None:
    suite.pytester.makepyfile(test_synthetic=SYNTHETIC.format(
        must="passes" if must_ok else "fails", must_ok=must_ok,
        should="passes" if should_ok else "fails", should_ok=should_ok))


def test_all_clean_exits_zero(suite: Suite) -> None:
    write(suite, must_ok=True, should_ok=True)
    result = suite.run()
    assert result.ret == 0
    result.assert_outcomes(passed=3, skipped=1)


def test_must_failure_fails_the_run(suite: Suite) -> None:
    write(suite, must_ok=False, should_ok=True)
    result = suite.run()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    clause = suite.clause("LOGIN-02")
    assert clause["status"] == "failed" and clause["reason"] == "expected 401; observed 200"
    result.stdout.fnmatch_lines(["FAILED * LOGIN-02 (MUST): expected 401; observed 200"])


def test_should_failure_is_a_warning(suite: Suite) -> None:
    write(suite, must_ok=True, should_ok=False)
    result = suite.run("-v")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*test_cache_fails WARNED*", "WARNED * LOGIN-06 (SHOULD): expected*",
                                 "*1 warned*"])
    assert suite.clause("LOGIN-06")["status"] == "failed"
    assert suite.report()["summary"]["SHOULD"]["failed"] == 1
    letters = suite.run().stdout.lines
    assert any(line.startswith("test_synthetic.py ..Ws") for line in letters), letters


def test_should_failure_fails_a_strict_run(suite: Suite) -> None:
    write(suite, must_ok=True, should_ok=False)
    result = suite.run("--strict")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["FAILED * LOGIN-06 (SHOULD): *"])


def test_should_failure_does_not_stop_x(suite: Suite) -> None:
    write(suite, must_ok=True, should_ok=False)
    result = suite.run("-x")
    assert result.parseoutcomes() == {"passed": 2, "skipped": 1, "warned": 1}


def test_must_error_in_setup_is_inconclusive(suite: Suite) -> None:
    suite.pytester.makepyfile(test_e='''
import pytest
@pytest.fixture
def broken():
    raise RuntimeError("fixture exploded")
@pytest.mark.clause("BEARER-02")
def test_x(broken):
    pass
''')
    result = suite.run()
    assert result.ret == 2
    clause = suite.clause("BEARER-02")
    assert (clause["status"], clause["cause"]) == ("error", "suite")


def test_a_missing_fixture_is_named(suite: Suite) -> None:
    suite.pytester.makepyfile(test_e='''
import pytest
@pytest.mark.clause("BEARER-02")
def test_x(no_such_fixture):
    pass
''')
    assert suite.run().ret == 2
    clause = suite.clause("BEARER-02")
    assert (clause["status"], clause["cause"]) == ("error", "suite")
    assert "fixture 'no_such_fixture' not found" in clause["reason"], clause["reason"]


def test_skips_never_fail_and_name_the_reason(suite: Suite) -> None:
    write(suite, must_ok=True, should_ok=True)
    result = suite.run()
    assert result.ret == 0
    clause = suite.clause("LOCK-01")
    assert (clause["status"], clause["reason"]) == ("skipped", "set AKOL_LOCKOUT_EMAIL")
    result.stdout.fnmatch_lines(["SKIPPED * LOCK-01 (MUST): set AKOL_LOCKOUT_EMAIL"])


@pytest.mark.parametrize(("marks", "message"), [
    ("", "has 0 @pytest.mark.clause marks, needs exactly one"),
    ('@pytest.mark.clause("NOPE-01")', "@pytest.mark.clause('NOPE-01') names no clause of conformance/catalog.py"),
    ('@pytest.mark.clause("BEARER-01")\n@pytest.mark.clause("BEARER-02")', "has 2 @pytest.mark.clause marks"),
])
def test_bad_marks_are_a_clear_collection_error(suite: Suite, marks: str, message: str) -> None:
    suite.pytester.makepyfile(test_m=f"import pytest\n{marks}\ndef test_x():\n    pass\n")
    result = suite.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*test_m.py::test_x: {message}*"])
    assert "Traceback" not in result.stderr.str()
    assert suite.report()["verdict"] == "ABORTED" and message in suite.report()["aborted"]


def test_a_clause_belongs_to_one_module(suite: Suite) -> None:
    body = "import pytest\n@pytest.mark.clause('BEARER-01')\ndef test_x():\n    pass\n"
    suite.pytester.makepyfile(test_a=body, test_b=body)
    result = suite.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*clause BEARER-01 is already checked in test_a.py*"])


def test_clause_option_selects_a_family(suite: Suite) -> None:
    write(suite, must_ok=False, should_ok=True)
    result = suite.run("--clause=LOGIN")
    result.assert_outcomes(passed=1, failed=1, deselected=2)
    assert suite.clause("BEARER-01")["reason"] == "not selected (--clause)"
    assert suite.clause("TOKEN-01")["reason"] == "no test in this suite"
    # Not selected is never "skipped" to a reader, nor counted as such.
    assert suite.report()["summary"]["MUST"]["skipped"] == 0
    page = (suite.report_dir / "conformance.html").read_text()
    assert '<td class="badge">BEARER-01</td><td>MUST</td><td class="badge">not selected</td>' in page


def test_robust_module_runs_last(suite: Suite) -> None:
    suite.pytester.makepyfile(
        test_robust='''
import pytest
@pytest.mark.clause("ROBUST-01")
def test_no_5xx(server_errors, observe):
    observe("count", len(server_errors))
    assert [e["url"] for e in server_errors] == ["http://testserver/api/v1/boom"]
    assert server_errors[0]["status"] == 500
''',
        test_zzz='''
import pytest
@pytest.mark.clause("BEARER-01")
def test_boom(api):
    api.request("GET", "/boom")
''')
    result = suite.run("--app-factory=tests.plugin._stub:create_app", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_zzz.py::test_boom PASSED*", "*test_robust.py::test_no_5xx PASSED*"])
    assert suite.clause("ROBUST-01")["observed"] == {"count": 1}


def test_should_error_in_setup_is_inconclusive_and_decides_only_strict_runs(suite: Suite) -> None:
    suite.pytester.makepyfile(test_e='''
import pytest
@pytest.fixture
def broken():
    raise RuntimeError("fixture exploded")
@pytest.mark.clause("BEARER-06")
def test_x(broken):
    pass
''')
    assert suite.run().ret == 0
    assert suite.clause("BEARER-06")["status"] == "error"
    assert suite.run("--strict").ret == 2


def test_a_run_stopped_inside_a_test_does_not_pass_its_clause(suite: Suite) -> None:
    suite.pytester.makepyfile(test_stopped='''
import pytest

@pytest.mark.clause("BEARER-01")
def test_first():
    pass

@pytest.mark.clause("LOGIN-02")
def test_stops_the_run():
    pytest.exit("the target keeps answering 429", returncode=3)
''')
    result = suite.run()
    assert result.ret == 3
    assert suite.clause("BEARER-01")["status"] == "passed"
    clause = suite.clause("LOGIN-02")
    assert clause["status"] == "error" and "stopped before this test finished" in clause["reason"]


def test_a_collection_error_aborts_the_run_and_says_so(suite: Suite) -> None:
    suite.pytester.makepyfile(test_ok="import pytest\n@pytest.mark.clause('BEARER-01')\ndef test_x(): pass\n",
                              test_broken="import pytest\nthis is not python\n")
    result = suite.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    report = suite.report()
    assert report["verdict"] == "ABORTED"
    assert report["aborted"].startswith("the suite's own tests could not be collected: test_broken.py: ")
    assert suite.clause("BEARER-01")["status"] == "error"  # nothing looks passed
    result.stdout.fnmatch_lines(["ABORTED: no clause was judged the suite's own tests could not be collected*"])
