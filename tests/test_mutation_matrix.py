"""The proof of detection: the whole kill matrix, run once per session (several minutes).

Every mutant must be killed on its named clause (one test line per mutant), every clause
must have a killing mutant, the correct fake must be clean, and the README's score block
must match this run.
"""
from __future__ import annotations

import os

import pytest

from akol_conformance.catalog import CLAUSES
from tests._mutation import ROOT, MatrixResult, run_matrix
from tests._mutation_report import (
    README_END,
    README_START,
    UPDATE_COMMAND,
    catalog_markdown,
    read_readme_block,
    readme_block,
    write_reports,
)
from tests.mutants import CATALOG

REPORTS = ROOT / "reports"
HTTP_MUTANTS = [name for name, m in CATALOG.items() if m.http]


@pytest.fixture(scope="module")
def matrix() -> MatrixResult:
    if "PYTEST_XDIST_WORKER" in os.environ:
        pytest.fail("the matrix runs its own 2 workers and would run once per xdist worker here:"
                    " run tests/test_mutation_matrix.py without -n")
    result = run_matrix(CATALOG, REPORTS, jobs=2)
    write_reports(result, REPORTS)
    return result


def _verdict(matrix: MatrixResult, name: str, mode: str) -> str | None:
    """None when killed, else the reason the mutant survived."""
    result = next(r for r in matrix.mutants if r.mutant.name == name)
    verdict = result.verdicts[mode]  # type: ignore[index]
    return None if verdict.killed else verdict.why


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_mutant_is_killed_in_process(matrix: MatrixResult, name: str) -> None:
    m = CATALOG[name]
    why = _verdict(matrix, name, "inprocess")
    assert why is None, (
        f"{m.level} mutant {name!r} ({m.description}) survived `pytest --clause {m.family}`: {why}. "
        f"Expected {m.clause} failed and exit code {'non-zero' if m.level == 'MUST' else '0 (a warning)'}; "
        f"fix the check in the {m.family} tests or the mutant, then rerun `python -m tests.mutation --only {name}`"
    )


@pytest.mark.parametrize("name", HTTP_MUTANTS)
def test_http_mutant_is_killed_over_http(matrix: MatrixResult, name: str) -> None:
    m = CATALOG[name]
    why = _verdict(matrix, name, "http")
    assert why is None, (
        f"mutant {name!r} served by `python -m tests.mutants.serve` survived "
        f"`pytest --target URL --clause {m.family} --destructive`: {why}"
    )


def test_every_clause_has_a_killing_mutant(matrix: MatrixResult) -> None:
    assert not matrix.uncovered, f"clauses with no mutant in tests/mutants/: {', '.join(matrix.uncovered)}"
    assert not matrix.unkilled, f"clauses whose every mutant survived: {', '.join(matrix.unkilled)}"
    assert {c.clause for c in matrix.coverage} == set(CLAUSES)


@pytest.mark.parametrize("mode", ["inprocess", "http"])
def test_correct_fake_is_clean(matrix: MatrixResult, mode: str) -> None:
    control = matrix.controls[mode]  # type: ignore[index]
    assert control.clean, (
        f"the correct fake ({mode}) must pass the whole suite with no failure, warning or error"
        f"{' and no skip' if mode == 'inprocess' else ''}; got: {'; '.join(control.problems)}"
        f" (report: {control.run.report_dir})"
    )
    assert control.run.tests, "the correct-fake run recorded no test at all"


def test_readme_score_is_current(matrix: MatrixResult) -> None:
    readme = ROOT / "README.md"
    block = read_readme_block(readme.read_text(encoding="utf-8")) if readme.exists() else None
    assert block is not None, (
        f"README.md has no mutation score block: add the lines {README_START} and {README_END}"
        f" and run `{UPDATE_COMMAND}`"
    )
    assert block == readme_block(matrix), (
        f"README.md's mutation score is stale: it says {block.splitlines()[0] if block else 'nothing'!r} but this run"
        f" gives {readme_block(matrix).splitlines()[0]!r}; run `{UPDATE_COMMAND}`"
    )


def test_mutants_doc_is_current(matrix: MatrixResult) -> None:
    doc = ROOT / "docs" / "MUTANTS.md"
    assert doc.exists() and doc.read_text(encoding="utf-8") == catalog_markdown(matrix), (
        f"docs/MUTANTS.md is missing or stale (mutants were added, renamed or changed verdict): run `{UPDATE_COMMAND}`"
    )
