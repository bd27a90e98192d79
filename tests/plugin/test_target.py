"""Targets: preflight of URLs (one clear line, no traceback), per-test client addresses."""
from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse
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
    # The reports still say what happened.
    assert suite.clause("BEARER-01")["reason"].startswith("not run: cannot reach the Akol target")


def test_unresolvable_host_says_dns(suite: Suite) -> None:
    suite.pytester.makepyfile(test_x=ONE_TEST)
    result = suite.run("--target=http://no-such-host.invalid")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "does not resolve" in _one_clear_line(result)


@pytest.mark.parametrize(("page", "status"), [("<html>not found</html>", 404), ("<html>hello</html>", 200)])
def test_non_akol_target_is_named_as_such(suite: Suite, page: str, status: int) -> None:
    suite.pytester.makepyfile(test_x=ONE_TEST)
    app = Starlette(routes=[Route("/{path:path}", lambda request: HTMLResponse(page, status_code=status))])
    with serve(app) as url:
        result = suite.run(f"--target={url}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    line = _one_clear_line(result)
    assert f"{url} doesn't look like the Akol API" in line and f"answered {status} text/html" in line


def test_gateway_error_says_the_target_is_not_serving(suite: Suite) -> None:
    suite.pytester.makepyfile(test_x=ONE_TEST)
    app = Starlette(routes=[Route("/{path:path}", lambda request: JSONResponse({}, status_code=503))])
    with serve(app) as url:
        result = suite.run(f"--target={url}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "answered 503" in _one_clear_line(result)


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
