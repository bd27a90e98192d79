"""The three report files: conformance.json exactly as INTERFACE.md, html and junit well-formed."""
from __future__ import annotations

import html
import os
import re
import stat
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from akol_conformance.catalog import CLAUSES
from tests.plugin.conftest import Suite

STUB = "--app-factory=tests.plugin._stub:create_app"
SUITE = '''
import pytest
from akol_conformance._plugin.outcomes import expect, expect_status

@pytest.mark.clause("BEARER-01")
def test_401(api, observe):
    observe("status", api.agents().status_code)

@pytest.mark.clause("BEARER-02")
def test_must_fails(api):
    expect_status(api.agents(token="not-the-right-token-at-all"), 200, what="agents with a <token> & co")

@pytest.mark.clause("BEARER-06")
def test_should_fails(api):
    response = api.request("GET", "/boom")
    expect(response.status_code == 200, expected="200", observed=response.status_code)

@pytest.mark.clause("LOCK-01")
def test_skipped():
    pytest.skip("set AKOL_LOCKOUT_EMAIL and AKOL_LOCKOUT_PASSWORD")
'''
CLAUSE_KEYS = ["id", "level", "status", "title", "reason", "observed", "tests", "evidence"]
# status-dependent keys, in this order between "reason" and "observed"
OPTIONAL_KEYS = {"cause", "coverage", "notChecked", "selected", "reruns", "requests"}
EXCHANGE_KEYS = {"test", "method", "url", "requestHeaders", "requestBody", "status", "responseHeaders",
                 "responseBody", "responseBytes", "elapsedMs"}


def run(suite: Suite, *args: str) -> None:
    suite.pytester.makepyfile(test_bearer=SUITE)
    suite.run(STUB, *args)


def test_json_has_exactly_the_interface_format(suite: Suite) -> None:
    run(suite)
    report = suite.report()
    assert list(report) == ["target", "testControl", "testControlMode", "testControlReason", "started",
                            "durationSeconds", "verdict", "recovered", "summary", "clauses"]
    assert report["target"] == "inprocess" and report["testControl"] is True
    assert (report["testControlMode"], report["testControlReason"]) == (
        "auto", "GET /__test__/clock answered 200 with the server's time")
    assert report["verdict"] == "FAIL"
    assert report["recovered"] == {"resentRequests": 0, "rerunTests": 0}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", report["started"])
    assert isinstance(report["durationSeconds"], float) and report["durationSeconds"] >= 0
    not_selected = {level: sum(c.level == level for c in CLAUSES.values()) for level in ("MUST", "SHOULD")}
    assert report["summary"] == {
        "MUST": {"passed": 1, "failed": 1, "error": 0, "skipped": 1, "notSelected": not_selected["MUST"] - 3},
        "SHOULD": {"passed": 0, "failed": 1, "error": 0, "skipped": 0, "notSelected": not_selected["SHOULD"] - 1}}
    assert [c["id"] for c in report["clauses"]] == list(CLAUSES)
    for clause in report["clauses"]:
        assert [k for k in clause if k not in OPTIONAL_KEYS] == CLAUSE_KEYS
        assert clause["status"] in {"passed", "failed", "skipped", "error"}
        assert clause["level"] == CLAUSES[clause["id"]].level and clause["title"] == CLAUSES[clause["id"]].title
    by_id = {c["id"]: c for c in report["clauses"]}
    assert by_id["BEARER-01"] | {"evidence": None} == {
        "id": "BEARER-01", "level": "MUST", "status": "passed", "title": CLAUSES["BEARER-01"].title,
        "reason": None, "coverage": "full", "observed": {"status": 401}, "tests": ["test_bearer.py::test_401"],
        "evidence": None, "requests": {"total": 1, "login": 0, "passwordChecks": 0, "verify2fa": 0, "control": 0,
                                       "provisioned": 0}}
    assert by_id["BEARER-01"]["evidence"] == []  # evidence is for failures
    failed = by_id["BEARER-02"]
    assert failed["status"] == "failed"
    assert failed["reason"].startswith(
        "agents with a <token> & co: expected status 200; observed GET /api/v1/agents answered 401")
    assert [set(e) for e in failed["evidence"]] == [EXCHANGE_KEYS]
    assert failed["evidence"][0]["responseBytes"] == len(failed["evidence"][0]["responseBody"].encode())
    assert failed["evidence"][0]["status"] == 401 and failed["evidence"][0]["test"] == "test_bearer.py::test_must_fails"
    assert by_id["BEARER-06"]["status"] == "failed"  # a warning, but failed in the report
    assert (by_id["LOCK-01"]["status"], by_id["LOCK-01"]["reason"]) == (
        "skipped", "set AKOL_LOCKOUT_EMAIL and AKOL_LOCKOUT_PASSWORD")
    assert (by_id["LOGIN-01"]["status"], by_id["LOGIN-01"]["reason"], by_id["LOGIN-01"]["tests"]) == (
        "skipped", "no test in this suite", [])


class _WellFormed(HTMLParser):
    VOID = {"meta", "br", "hr", "img", "input", "link"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.classes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.classes += [v or "" for k, v in attrs if k == "class"]
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.problems.append(f"unbalanced </{tag}>")


def test_html_is_one_well_formed_self_contained_page(suite: Suite) -> None:
    run(suite)
    page = (suite.report_dir / "conformance.html").read_text()
    parser = _WellFormed()
    parser.feed(page)
    parser.close()
    assert parser.problems == [] and parser.stack == []
    assert "<script" not in page and "<link" not in page and "src=" not in page
    assert {"passed", "failed", "warned", "skipped", "no-test"} <= set(parser.classes)
    assert "agents with a &lt;token&gt; &amp; co" in page  # escaped, never raw
    assert "GET http://testserver/api/v1/agents → 401" in page  # the failure's evidence


def _text(page: str) -> str:
    """What a reader sees of a page, in one line."""
    body = page.split("</head>", 1)[-1]
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))).strip()


def test_html_opens_with_the_verdict_then_what_failed(suite: Suite) -> None:
    run(suite)
    page = (suite.report_dir / "conformance.html").read_text()
    text = _text(page)
    assert text.index("FAIL 1 MUST clause failed") < text.index("Failed: 2") < text.index("All clauses")
    assert "<title>FAIL" in page
    failed_list = text[text.index("Failed: 2"):text.index("All clauses")]
    assert "BEARER-02 (MUST)" in failed_list and "BEARER-06 (SHOULD) warned" in failed_list
    # Header values are words, not Python literals.
    head = text[:text.index("Failed: 2")]
    assert "test control on (auto: GET /__test__/clock answered 200 with the server's time)" in head
    assert "True" not in head and "None" not in head


INCONCLUSIVE_AND_PARTIAL = '''
import pytest
from akol_conformance._plugin.outcomes import Inconclusive

@pytest.mark.clause("BEARER-01")
def test_partial(not_checked):
    not_checked("the 2FA account's token", "no 2FA account (set AKOL_2FA_EMAIL)")

@pytest.mark.clause("BEARER-02")
def test_inconclusive():
    raise Inconclusive("the target dropped the connection \\x1b[31m\\x00 twice", cause="transport")
'''


def test_inconclusive_and_partial_come_before_the_matrix(suite: Suite) -> None:
    suite.pytester.makepyfile(test_x=INCONCLUSIVE_AND_PARTIAL)
    assert suite.run(STUB).ret == 2
    page = (suite.report_dir / "conformance.html").read_text()
    text = _text(page)
    assert text.startswith("Akol conformance report INCONCLUSIVE no MUST clause failed, but 1 could not be judged")
    assert (text.index("Inconclusive (not judged): 1") < text.index("Passed with partial coverage: 1")
            < text.index("All clauses"))
    assert "not checked: the 2FA account's token: no 2FA account (set AKOL_2FA_EMAIL)" in text
    clause = suite.clause("BEARER-01")
    assert (clause["status"], clause["coverage"]) == ("passed", "partial")


def test_junit_is_well_formed_with_control_characters_and_inconclusive_is_an_error(suite: Suite) -> None:
    suite.pytester.makepyfile(test_x=INCONCLUSIVE_AND_PARTIAL)
    suite.run(STUB)
    root = ET.parse(suite.report_dir / "junit.xml").getroot()  # raises on malformed XML
    cases = {c.get("name"): c for c in root.iter("testcase")}
    error = cases["BEARER-02"][0]
    assert error.tag == "error" and error.get("message", "").startswith("not judged (transport): the target dropped")
    assert "\\x1b" in error.get("message", "") and "\\x00" in error.get("message", "")
    suite_el = root.find("testsuite")
    assert suite_el is not None and suite_el.get("errors") == "1"


def test_report_files_get_the_usual_permissions(suite: Suite) -> None:
    old = os.umask(0o022)
    try:
        run(suite)
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in suite.report_dir.iterdir()}
    assert modes == {"conformance.json": 0o644, "conformance.html": 0o644, "junit.xml": 0o644}


def test_junit_one_testcase_per_clause(suite: Suite) -> None:
    run(suite)
    root = ET.parse(suite.report_dir / "junit.xml").getroot()
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert list(cases) == list(CLAUSES)
    assert cases["BEARER-01"].get("classname") == "BEARER" and list(cases["BEARER-01"]) == []
    assert [child.tag for child in cases["BEARER-02"]] == ["failure"]
    should = cases["BEARER-06"][0]
    assert should.tag == "skipped" and should.get("message", "").startswith("SHOULD not met: expected 200")
    assert cases["LOCK-01"][0].tag == "skipped"
    suite_el = root.find("testsuite")
    assert suite_el is not None and (suite_el.get("tests"), suite_el.get("failures")) == (str(len(CLAUSES)), "1")


def test_junit_strict_makes_should_a_failure(suite: Suite) -> None:
    run(suite, "--strict")
    root = ET.parse(suite.report_dir / "junit.xml").getroot()
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert cases["BEARER-06"][0].tag == "failure"


def test_reports_are_written_when_the_run_stops_early(suite: Suite) -> None:
    suite.pytester.makepyfile(test_stop='''
import pytest
@pytest.mark.clause("BEARER-01")
def test_a():
    pass
@pytest.mark.clause("BEARER-02")
def test_b():
    pytest.exit("stopping on purpose")
''')
    result = suite.run(STUB)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert suite.clause("BEARER-01")["status"] == "passed"
    assert (suite.report_dir / "junit.xml").exists() and (suite.report_dir / "conformance.html").exists()
