"""Faults of the way are never verdicts: tests rerun after a transport fault, the run's budget,
all against a real loopback server behind a proxy that loses answers."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.field._proxy import proxy
from tests.plugin._stub import create_app
from tests.plugin.conftest import Suite, serve

POST_COUNT = b"POST /api/v1/count"
RERUN = '''
import pytest

@pytest.mark.clause("REFRESH-01")
def test_post(api, observe):
    observe("seen", api.request("POST", "/count").json()["seen"])
'''


@pytest.fixture
def stub_url() -> Iterator[str]:
    with serve(create_app()) as url:
        yield url


def test_a_lost_answer_reruns_the_test_from_scratch(suite: Suite, stub_url: str) -> None:
    suite.pytester.makepyfile(test_r=RERUN)
    with proxy(stub_url, lose_answers=(POST_COUNT, 1)) as lossy:
        result = suite.run(f"--target={lossy.url}")
    assert result.ret == 0
    result.assert_outcomes(passed=1)  # one outcome per test: the discarded run is not logged
    clause = suite.clause("REFRESH-01")
    # The server processed both POSTs; only the last run's observations are kept.
    assert (clause["status"], clause["reruns"], clause["observed"]) == ("passed", 1, {"seen": 2})
    assert suite.report()["recovered"] == {"resentRequests": 0, "rerunTests": 1}


def test_a_fault_in_every_run_is_inconclusive_never_failed(suite: Suite, stub_url: str) -> None:
    suite.pytester.makepyfile(test_r=RERUN)
    with proxy(stub_url, lose_answers=(POST_COUNT, 10)) as lossy:
        result = suite.run(f"--target={lossy.url}")
    assert result.ret == 2
    clause = suite.clause("REFRESH-01")
    assert (clause["status"], clause["cause"], clause["reruns"]) == ("error", "transport", 2)
    assert clause["reason"].startswith("POST /api/v1/count: the connection broke before the whole answer came")
    assert clause["reason"].endswith("(a transport fault in each of 3 runs of this test)")
    assert lossy.cuts["answer-lost"] == 3
    assert "Traceback" not in result.stdout.str()


def test_a_fault_in_a_parallel_call_reruns_the_test(suite: Suite, stub_url: str) -> None:
    suite.pytester.makepyfile(test_p='''
import pytest

@pytest.mark.clause("REFRESH-06")
def test_parallel(api, observe):
    responses = api.parallel([lambda: api.request("POST", "/count")] * 4)
    observe("answers", len(responses))
''')
    with proxy(stub_url, lose_answers=(POST_COUNT, 1)) as lossy:
        assert suite.run(f"--target={lossy.url}").ret == 0
    clause = suite.clause("REFRESH-06")
    assert (clause["status"], clause["reruns"], clause["observed"]) == ("passed", 1, {"answers": 4})


def test_a_fault_wrapped_in_an_exception_group_is_still_transport(suite: Suite, stub_url: str) -> None:
    """Hypothesis wraps what an example raised (FlakyFailure is an ExceptionGroup)."""
    suite.pytester.makepyfile(test_g='''
import pytest

@pytest.mark.clause("ROBUST-01")
def test_grouped(api):
    try:
        api.request("POST", "/count")
    except Exception as exc:
        raise ExceptionGroup("examples failed", [exc]) from None
''')
    with proxy(stub_url, lose_answers=(POST_COUNT, 1)) as lossy:
        assert suite.run(f"--target={lossy.url}").ret == 0
    assert suite.clause("ROBUST-01")["reruns"] == 1


def test_a_failure_is_never_rerun(suite: Suite, stub_url: str) -> None:
    suite.pytester.makepyfile(test_f='''
import pytest
from akol_conformance.check import expect

@pytest.mark.clause("REFRESH-01")
def test_fails(api):
    seen = api.request("POST", "/count").json()["seen"]
    expect(seen == 0, expected="nothing", observed=seen)
''')
    result = suite.run(f"--target={stub_url}")
    assert result.ret == 1
    clause = suite.clause("REFRESH-01")
    assert clause["status"] == "failed" and "reruns" not in clause and clause["reason"].endswith("observed 1")


def test_a_5xx_before_a_fault_still_counts_for_robust_01(suite: Suite, stub_url: str) -> None:
    """A fault after a 5xx must not hide the 5xx: the session-wide list keeps it across reruns."""
    suite.pytester.makepyfile(test_a='''
import pytest

@pytest.mark.clause("BEARER-01")
def test_boom_then_fault(api):
    api.request("GET", "/boom")
    api.request("POST", "/count")
''', test_robust='''
import pytest
from akol_conformance.check import expect

@pytest.mark.clause("ROBUST-01")
def test_no_5xx(server_errors):
    expect(not server_errors, expected="no 5xx", observed=len(server_errors))
''')
    with proxy(stub_url, lose_answers=(POST_COUNT, 10)) as lossy:
        result = suite.run(f"--target={lossy.url}")
    assert result.ret == 1
    assert suite.clause("BEARER-01")["cause"] == "transport"
    robust = suite.clause("ROBUST-01")
    assert robust["status"] == "failed" and robust["reason"].endswith("observed 3")


BUDGET = '''
import pytest

@pytest.mark.clause("BEARER-01")
def test_slow(api):
    for _ in range(50):
        api.request("GET", "/slow?seconds=0.1")

@pytest.mark.clause("BEARER-02")
def test_never_reached(api):
    api.agents()
'''


def test_a_spent_budget_makes_the_rest_inconclusive_and_writes_the_reports(suite: Suite) -> None:
    suite.pytester.makepyfile(test_b=BUDGET)
    result = suite.run("--app-factory=tests.plugin._stub:create_app", "--max-duration=1")
    assert result.ret == 2
    report = suite.report()
    assert report["verdict"] == "INCONCLUSIVE" and report["stopped"] == "the run's --max-duration of 1 s was spent"
    first, second = suite.clause("BEARER-01"), suite.clause("BEARER-02")
    assert (first["cause"], second["cause"]) == ("budget", "budget")
    assert first["reason"] == "GET /api/v1/slow?seconds=0.1 not done: the run's --max-duration of 1 s was spent"
    assert second["reason"] == "the run's --max-duration of 1 s was spent before this test was judged"
    result.stdout.fnmatch_lines(["*the run stopped early: the run's --max-duration of 1 s was spent*"])


def test_a_request_waits_no_longer_than_the_budget(suite: Suite, stub_url: str) -> None:
    suite.pytester.makepyfile(test_h='''
import pytest

@pytest.mark.clause("BEARER-01")
def test_hangs(api):
    api.request("GET", "/slow?seconds=30")
''')
    result = suite.run(f"--target={stub_url}", "--max-duration=3")
    assert result.ret == 2
    clause = suite.clause("BEARER-01")
    assert clause["cause"] == "budget"
    assert clause["reason"].startswith("GET /api/v1/slow: no answer within ")
    assert clause["reason"].endswith("the run's --max-duration of 3 s was spent")
    assert suite.report()["durationSeconds"] < 10


def test_a_destructive_test_without_test_control_is_not_rerun(suite: Suite) -> None:
    """Its first run may have locked the account or spent the limit: a rerun would judge that."""
    suite.pytester.makepyfile(test_d='''
import pytest

@pytest.mark.destructive
@pytest.mark.clause("LOCK-01")
def test_locks(api):
    api.request("POST", "/count")
''')
    with serve(create_app(test_control=False)) as url, proxy(url, lose_answers=(POST_COUNT, 1)) as lossy:
        result = suite.run(f"--target={lossy.url}", "--destructive")
    assert result.ret == 2
    clause = suite.clause("LOCK-01")
    assert (clause["status"], clause["cause"]) == ("error", "transport") and "reruns" not in clause
