"""Targets: preflight of URLs (one clear line, no traceback), per-test client addresses."""
from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from akol_conformance._plugin.target import InProcessTarget
from tests.plugin._stub import create_app
from tests.plugin.conftest import Suite, free_port, serve

ONE_TEST = "import pytest\n@pytest.mark.clause('BEARER-01')\ndef test_x(api): pass\n"


def _one_clear_line(result: pytest.RunResult) -> str:
    """The one line that says why the run stopped (shown once, no traceback)."""
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output and "def " not in output
    lines = [line for line in result.stdout.lines + result.stderr.lines if "Exit: " in line]
    assert len(lines) == 1, output
    assert output.count(lines[0].split("Exit: ", 1)[1].rstrip(" !")) == 1, output
    return lines[0]


def test_unreachable_target_stops_with_one_message(suite: Suite) -> None:
    suite.pytester.makepyfile(test_x=ONE_TEST)
    port = free_port()
    result = suite.run(f"--target=http://127.0.0.1:{port}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    line = _one_clear_line(result)
    assert f"GET http://127.0.0.1:{port}/api/v1/agents" in line
    assert "connection refused: nothing is listening on" in line
    assert "Check --target / AKOL_TARGET" in line
    # The reports still say what happened, and nothing looks green.
    report = suite.report()
    assert report["verdict"] == "ABORTED" and report["aborted"].startswith("cannot reach the Akol target")
    assert suite.clause("BEARER-01")["status"] == "error" and suite.clause("BEARER-01")["cause"] == "aborted"


def test_unresolvable_host_says_dns(suite: Suite) -> None:
    suite.pytester.makepyfile(test_x=ONE_TEST)
    result = suite.run("--target=http://no-such-host.invalid")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "does not resolve" in _one_clear_line(result)


@pytest.mark.parametrize(("response", "said"), [
    (HTMLResponse("<html>not found</html>", status_code=404), "answered 404 text/html"),
    (HTMLResponse("<html>hello</html>", status_code=200), "answered 200 text/html"),
    # A catch-all JSON server passed preflight once, then ran the suite into 32 errors.
    (JSONResponse({"ok": True}), "answered 200 application/json"),
    (JSONResponse({"error": "forbidden"}, status_code=403), "answered 403 application/json"),
])
def test_non_akol_target_is_named_as_such(suite: Suite, response: Response, said: str) -> None:
    suite.pytester.makepyfile(test_x=ONE_TEST)
    app = Starlette(routes=[Route("/{path:path}", lambda request: response, methods=["GET", "POST"])])
    with serve(app) as url:
        result = suite.run(f"--target={url}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    line = _one_clear_line(result)
    assert f"{url} doesn't look like the Akol API" in line and said in line
    assert "(the Akol API answers 401)" in line
    result.assert_outcomes()  # not one test ran


@pytest.mark.parametrize("status", [500, 503])
def test_server_error_says_the_target_is_not_serving(suite: Suite, status: int) -> None:
    suite.pytester.makepyfile(test_x=ONE_TEST)
    app = Starlette(routes=[Route("/{path:path}", lambda request: JSONResponse({}, status_code=status))])
    with serve(app) as url:
        result = suite.run(f"--target={url}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    line = _one_clear_line(result)
    assert "the Akol target is not serving" in line and f"answered {status}" in line


def test_a_401_answering_target_passes_preflight(suite: Suite) -> None:
    suite.pytester.makepyfile(test_x=ONE_TEST)
    with serve(create_app()) as url:
        result = suite.run(f"--target={url}")
    result.assert_outcomes(passed=1)
    assert suite.report()["target"] == url and suite.report()["testControl"] is True


def test_inprocess_clients_have_distinct_addresses() -> None:
    target = InProcessTarget("tests.plugin._stub:create_app")
    addresses = {target.client().get("/api/v1/ip").json()["ip"] for _ in range(300)}
    assert len(addresses) == 300
    assert all(a.startswith("127.") for a in addresses)


STUB = "--app-factory=tests.plugin._stub:create_app"
NO_CONTROL = "--app-factory=tests.plugin._stub:no_control_app"


@pytest.mark.parametrize(("args", "on", "mode", "why"), [
    ((STUB,), True, "auto",
     "GET /__test__/clock answered 200 with the server's time"),
    ((NO_CONTROL,), False, "auto", "GET /__test__/clock answered 404"),
    ((STUB, "--test-control=off"), False, "off", "never asked (--test-control=off)"),
    ((STUB, "--test-control=require"), True, "require", "GET /__test__/clock answered 200 with the server's time"),
    # Two 503s, then the clock: asked again, never taken for "absent".
    (("--app-factory=tests.plugin._stub:clock_flaky_app",), True, "auto",
     "GET /__test__/clock answered 200 with the server's time"),
])
def test_test_control_mode_and_why_are_said(suite: Suite, args: tuple[str, ...], on: bool, mode: str,
                                            why: str) -> None:
    suite.pytester.makepyfile(test_x=ONE_TEST)
    result = suite.run(*args)
    result.stdout.fnmatch_lines([f"akol: target inprocess*; test control {'on' if on else 'off'} ({mode}: {why});*"])
    report = suite.report()
    assert (report["testControl"], report["testControlMode"], report["testControlReason"]) == (on, mode, why)
    page = (suite.report_dir / "conformance.html").read_text()
    assert f"test control</td><td>{'on' if on else 'off'} ({mode}: " in page


def test_require_stops_a_run_against_a_target_without_test_control(suite: Suite) -> None:
    suite.pytester.makepyfile(test_x=ONE_TEST)
    result = suite.run(NO_CONTROL, "--test-control=require")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    line = _one_clear_line(result)
    assert "--test-control=require, but the target lacks the test-control protocol: GET /__test__/clock " \
           "answered 404" in line
    assert suite.report()["verdict"] == "ABORTED"


def test_a_test_clock_that_never_answers_stops_the_run_instead_of_losing_test_control(suite: Suite) -> None:
    suite.pytester.makepyfile(test_x=ONE_TEST)
    result = suite.run("--app-factory=tests.plugin._stub:clock_down_app")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    line = _one_clear_line(result)
    assert "cannot tell whether the target has the test-control protocol: GET /__test__/clock failed 3 " \
           "times (it answered 503)" in line
    assert "--test-control=require" in line and "--test-control=off" in line
