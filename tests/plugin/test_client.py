"""Api behaviour: real concurrency, 429 waited out (clock or bounded sleep), exchange log."""
from __future__ import annotations

from tests.plugin.conftest import Suite

STUB = "--app-factory=tests.plugin._stub:create_app"


def test_parallel_calls_really_overlap(suite: Suite) -> None:
    suite.pytester.makepyfile(test_p='''
import pytest
@pytest.mark.clause("REFRESH-06")
def test_parallel(api, observe):
    responses = api.parallel([lambda: api.request("GET", "/slow") for _ in range(8)])
    assert len(responses) == 8
    observe("max_in_flight", max(r.json()["max_in_flight"] for r in responses))
''')
    result = suite.run(STUB)
    result.assert_outcomes(passed=1)
    assert suite.clause("REFRESH-06")["observed"] == {"max_in_flight": 8}


def test_parallel_reraises_a_call_error(suite: Suite) -> None:
    suite.pytester.makepyfile(test_p='''
import pytest
@pytest.mark.clause("REFRESH-06")
def test_parallel(api):
    def boom():
        raise ValueError("call failed")
    with pytest.raises(ValueError, match="call failed"):
        api.parallel([boom, lambda: api.agents()])
''')
    suite.run(STUB).assert_outcomes(passed=1)


def test_429_is_waited_out_by_advancing_the_test_clock(suite: Suite) -> None:
    suite.pytester.makepyfile(test_r='''
import pytest
@pytest.mark.clause("RATE-03")
def test_wait(api):
    assert api.request("GET", "/limited").status_code == 200
    assert api.request("GET", "/advanced").json() == {"advanced": [1.0]}
    assert [e.status for e in api.exchanges] == [429, 200, 200]
''')
    suite.run(STUB).assert_outcomes(passed=1)


def test_429_is_returned_inside_rate_limited(suite: Suite) -> None:
    suite.pytester.makepyfile(test_r='''
import pytest
@pytest.mark.clause("RATE-03")
def test_raw(api):
    with api.rate_limited():
        assert api.request("GET", "/limited").status_code == 429
    assert api.request("GET", "/advanced").json() == {"advanced": []}
''')
    suite.run(STUB).assert_outcomes(passed=1)


def test_429_without_test_clock_sleeps_retry_after(suite: Suite) -> None:
    suite.pytester.makepyfile(test_r='''
import pytest
@pytest.mark.clause("RATE-03")
def test_sleep(api, monkeypatch):
    import akol_conformance._plugin.api as client
    slept = []
    monkeypatch.setattr(client.time, "sleep", slept.append)
    assert api.request("GET", "/limited").status_code == 200
    assert slept == [1.0]
''')
    suite.run("--app-factory=tests.plugin._stub:no_control_app").assert_outcomes(passed=1)


def test_endless_429_is_inconclusive_with_one_message(suite: Suite) -> None:
    suite.pytester.makepyfile(test_r='''
import pytest
@pytest.mark.clause("RATE-03")
def test_endless(api):
    api.request("GET", "/limited")

@pytest.mark.clause("RATE-04")
def test_never_reached():
    pass
''')
    result = suite.run("--app-factory=tests.plugin._stub:always_429_app")
    assert result.ret == 0  # a SHOULD clause not judged does not decide the run
    result.stdout.fnmatch_lines(["*the target kept answering 429 Too Many Requests to GET /api/v1/limited*"])
    assert "Traceback" not in result.stdout.str()
    clause = suite.clause("RATE-03")
    assert (clause["status"], clause["cause"]) == ("error", "rate-limit")
    assert suite.clause("RATE-04")["status"] == "passed"
    assert suite.run("--app-factory=tests.plugin._stub:always_429_app", "--strict").ret == 2


def test_clock_without_control_or_real_time_skips(suite: Suite) -> None:
    suite.pytester.makepyfile(test_c='''
import pytest
@pytest.mark.clause("TOKEN-02")
def test_clock(clock):
    assert abs(clock.now() - __import__("time").time()) < 120
    clock.advance(900)
''')
    suite.run("--app-factory=tests.plugin._stub:no_control_app")
    assert suite.clause("TOKEN-02")["reason"] == "needs the test clock (/__test__/) or --real-time"


def test_real_time_refuses_waits_past_the_budget(suite: Suite) -> None:
    suite.pytester.makepyfile(test_c='''
import pytest
@pytest.mark.clause("TOKEN-04")
def test_week(clock):
    clock.advance(604800)
''')
    suite.run("--app-factory=tests.plugin._stub:no_control_app", "--real-time")
    assert suite.clause("TOKEN-04")["reason"].startswith("needs 604800 s of real waiting")
