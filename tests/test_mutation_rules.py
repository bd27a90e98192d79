"""The kill matrix's rules, on synthetic runs (fast): verdicts, the clean check, coverage, README block."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from akol_conformance.catalog import CLAUSES
from tests._mutation import (
    ROOT,
    ClauseStatus,
    MatrixResult,
    MutantResult,
    Outcome,
    SuiteRun,
    check_control,
    coverage,
    judge,
    mutant_server_command,
    served,
    suite_env,
)
from tests._mutation_probe import PROBE_ENV
from tests._mutation_report import (
    README_END,
    README_START,
    _short,
    read_readme_block,
    readme_block,
    replace_readme_block,
    to_json,
    to_markdown,
)
from tests.mutants import CATALOG, Mutant

MUST = Mutant("must-one", "LOGIN-02", "wrong password logs in", policy={"hash_iterations": 1})
SHOULD = Mutant("should-one", "LOGIN-06", "no Cache-Control", policy={"hash_iterations": 1})


def run(exit_code: int | None, statuses: dict[str, str], *, mode: str = "inprocess",
        tests: tuple[Outcome, ...] = (), problem: str | None = None) -> SuiteRun:
    return SuiteRun(
        label="x", mode=mode, family="LOGIN", exit_code=exit_code, duration=1.0,  # type: ignore[arg-type]
        clauses={c: ClauseStatus(s) for c, s in statuses.items()}, tests=tests,
        skipped_summary=sum(s == "skipped" for s in statuses.values()), report_dir=Path("/tmp/x"), problem=problem,
    )


FAILED_02 = (Outcome("conformance/test_login.py::test_wrong_password", "LOGIN-02", "failed"),)


@pytest.mark.parametrize(
    ("mutant", "exit_code", "status", "killed"),
    [
        (MUST, 1, "failed", True),
        (MUST, 0, "failed", False),  # a MUST failure that did not fail the run
        (MUST, 1, "passed", False),  # the run failed, but on another clause
        (MUST, 1, "error", False),
        (SHOULD, 0, "failed", True),  # a warning
        (SHOULD, 1, "failed", False),  # a SHOULD must only warn
        (SHOULD, 0, "passed", False),
        (SHOULD, 0, "skipped", False),
    ],
)
def test_verdict_rule(mutant: Mutant, exit_code: int, status: str, killed: bool) -> None:
    verdict = judge(mutant, run(exit_code, {mutant.clause: status, "LOGIN-01": "passed"}, tests=FAILED_02))
    assert verdict.killed is killed, verdict.why
    assert str(exit_code) in verdict.why


def test_a_killed_mutant_names_the_killing_test() -> None:
    verdict = judge(MUST, run(1, {"LOGIN-02": "failed"}, tests=FAILED_02))
    assert "test_wrong_password" in verdict.why


def test_a_run_without_report_never_kills() -> None:
    verdict = judge(MUST, run(None, {}, problem="timeout: no result within 120 s"))
    assert not verdict.killed and verdict.why.startswith("timeout")


def test_an_absent_clause_survives() -> None:
    verdict = judge(MUST, run(1, {"LOGIN-01": "failed"}))
    assert not verdict.killed and "LOGIN-02 is absent" in verdict.why


def test_clean_control() -> None:
    tests = (Outcome("t::a", "LOGIN-01", "passed"),)
    assert check_control(run(0, {"LOGIN-01": "passed"}, tests=tests)).clean


@pytest.mark.parametrize(
    ("exit_code", "status", "outcome", "mode", "clean"),
    [
        (1, "failed", "failed", "inprocess", False),
        (0, "failed", "failed", "inprocess", False),  # a SHOULD warning is not clean either
        (0, "skipped", "skipped", "inprocess", False),  # in-process everything must run
        (0, "skipped", "skipped", "http", True),  # a remote target may lack a credential
        (0, "error", "error", "http", False),
    ],
)
def test_control_problems(exit_code: int, status: str, outcome: str, mode: str, clean: bool) -> None:
    result = check_control(run(exit_code, {"LOGIN-01": status}, mode=mode,
                               tests=(Outcome("t::a", "LOGIN-01", outcome),)))
    assert result.clean is clean, result.problems


def test_control_without_clauses_is_not_clean() -> None:
    assert not check_control(run(0, {})).clean


def _matrix(killed_must: bool) -> MatrixResult:
    results = [
        MutantResult(MUST, {"inprocess": judge(MUST, run(1 if killed_must else 0, {"LOGIN-02": "failed"}))}),
        MutantResult(SHOULD, {"inprocess": judge(SHOULD, run(0, {"LOGIN-06": "failed"})),
                              "http": judge(SHOULD, run(0, {"LOGIN-06": "failed"}, mode="http"))}),
    ]
    control = check_control(run(0, {"LOGIN-01": "passed"}, tests=(Outcome("t::a", "LOGIN-01", "passed"),)))
    return MatrixResult(mutants=tuple(results), controls={"inprocess": control}, wall_seconds=3.0, jobs=2,
                        coverage=coverage(results))


def test_coverage_names_clauses_without_a_killing_mutant() -> None:
    matrix = _matrix(killed_must=False)
    assert set(matrix.uncovered) == set(CLAUSES) - {"LOGIN-02", "LOGIN-06"}
    assert matrix.unkilled == ["LOGIN-02"]
    assert matrix.killed == 1 and matrix.score == 0.5
    assert any("must-one" in p and "survived" in p for p in matrix.problems())


def test_reports_carry_every_mutant_and_the_score() -> None:
    matrix = _matrix(killed_must=True)
    data = json.loads(json.dumps(to_json(matrix)))
    assert (data["killed"], data["total"], data["score"]) == (2, 2, 1.0)
    assert [m["verdict"] for m in data["mutants"]] == ["killed", "killed"]
    assert data["mutants"][1]["httpRun"]["verdict"] == "killed"
    assert data["correctFake"]["inprocess"]["clean"] is True
    md = to_markdown(matrix)
    assert md.splitlines()[2].startswith("**Mutation score: 2/2 mutants killed (100.0 %)**")
    assert "`must-one`" in md and "**no mutant**" in md


def test_readme_block_round_trip() -> None:
    block = readme_block(_matrix(killed_must=True))
    readme = f"# Title\n\n{README_START}\nold claim\n{README_END}\n\nmore\n"
    updated = replace_readme_block(readme, block)
    assert read_readme_block(updated) == block
    assert updated.startswith("# Title\n\n") and updated.endswith("\n\nmore\n")
    assert replace_readme_block(updated, block) == updated


def test_readme_without_markers_says_so() -> None:
    assert read_readme_block("# no block\n") is None
    with pytest.raises(LookupError, match="mutation-score:start"):
        replace_readme_block("# no block\n", "x")


def test_probe_records_raw_outcomes(tmp_path: Path) -> None:
    (tmp_path / "test_probe.py").write_text(
        "import pytest\n"
        "@pytest.mark.clause('LOGIN-01')\ndef test_ok():\n    pass\n"
        "@pytest.mark.clause('LOGIN-02')\ndef test_bad():\n    assert False\n"
        "def test_skip():\n    pytest.skip('no')\n"
        "@pytest.fixture\ndef broken():\n    raise RuntimeError('x')\n"
        "def test_err(broken):\n    pass\n"
    )
    probe = tmp_path / "probe.jsonl"
    env = {**os.environ, PROBE_ENV: str(probe), "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests._mutation_probe",
         "-W", "ignore::pytest.PytestUnknownMarkWarning", "test_probe.py"],
        cwd=tmp_path, env=env, capture_output=True, timeout=60, check=False,
    )
    lines = [json.loads(line) for line in probe.read_text().splitlines()]
    records = {r["nodeid"].split("::")[1]: r for r in lines if r["outcome"] != "cpu"}
    assert {k: r["outcome"] for k, r in records.items()} == {
        "test_ok": "passed", "test_bad": "failed", "test_skip": "skipped", "test_err": "error"}
    assert records["test_bad"]["clause"] == "LOGIN-02"
    assert [r["cpuSeconds"] > 0 for r in lines if r["outcome"] == "cpu"] == [True]


@pytest.mark.skipif(not CATALOG, reason="tests/mutants/ defines no mutant yet")
def test_serve_prints_a_working_url_and_stops(tmp_path: Path) -> None:
    name = next(iter(CATALOG))
    with served(mutant_server_command(name), tmp_path / "server.log", suite_env(None)) as url:
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
        answer = httpx.get(f"{url}/api/v1/agents", timeout=10)
    assert answer.status_code < 600


def test_serve_rejects_an_unknown_mutant() -> None:
    done = subprocess.run([sys.executable, "-m", "tests.mutants.serve", "no-such-mutant", "--port", "0"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "no mutant named 'no-such-mutant'" in done.stderr


def test_a_server_that_prints_no_url_is_reported(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="expected the server to print its URL"):
        with served([sys.executable, "-c", "print('hello')"], tmp_path / "log", suite_env(None)):
            pass


def test_suite_env_drops_steering_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AKOL_TARGET", "http://example.invalid")
    monkeypatch.setenv("PYTEST_ADDOPTS", "-x")
    env = suite_env("some-mutant")
    assert "AKOL_TARGET" not in env and "PYTEST_ADDOPTS" not in env
    assert env["AKOL_MUTANT"] == "some-mutant"


def test_table_cells_keep_parametrized_test_names_whole() -> None:
    assert _short("conformance/test_robust.py::test_fuzz[POST /auth/verify-2fa]") == (
        "test_robust.py::test_fuzz[POST /auth/verify-2fa]")
    assert _short("conformance/test_a.py::t[x|y]") == "test_a.py::t[x\\|y]"
