"""Render a ``MatrixResult``: reports/mutation.json and reports/mutation.md (this run, with timings),
and the tracked proof a reader of the repository sees: the README score block and docs/MUTANTS.md
(deterministic: every mutant, what it breaks, killed or not)."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from akol_conformance.catalog import CLAUSES, FAMILIES
from tests._mutation import ControlResult, MatrixResult, MutantResult, Verdict

README_START = "<!-- mutation-score:start -->"
README_END = "<!-- mutation-score:end -->"
UPDATE_COMMAND = "python -m tests.mutation --update-readme"
_BLOCK = re.compile(re.escape(README_START) + r"\n?(.*?)\n?" + re.escape(README_END), re.DOTALL)


def _percent(result: MatrixResult) -> str:
    return f"{100 * result.score:.1f} %"


def _short(nodeid: str) -> str:
    """`test_x.py::test_y[param]` from `conformance/test_x.py::test_y[param]`, safe in a table cell."""
    path, sep, rest = nodeid.partition("::")
    return (path.rsplit("/", 1)[-1] + sep + rest).replace("|", "\\|")


def _run_json(verdict: Verdict, clause: str) -> dict[str, Any]:
    run = verdict.run
    return {
        "verdict": "killed" if verdict.killed else "survived",
        "why": verdict.why,
        "exitCode": run.exit_code,
        "clauseStatus": run.status(clause).status,
        "clauseReason": run.status(clause).reason,
        "failedClauses": run.failed_clauses,
        "killingTests": run.failing_tests(clause),
        "failedTests": run.failing_tests(),
        "durationSeconds": round(run.duration, 2),
        "cpuSeconds": run.cpu_seconds,
        "reportDir": str(run.report_dir),
    }


def _mutant_json(r: MutantResult) -> dict[str, Any]:
    m = r.mutant
    http = r.verdicts.get("http")
    return {
        "name": m.name,
        "clause": m.clause,
        "level": m.level,
        "family": m.family,
        "description": m.description,
        "http": m.http,
        **_run_json(r.verdicts["inprocess"], m.clause),
        "verdict": "killed" if r.killed else "survived",
        "httpRun": _run_json(http, m.clause) if http is not None else None,
    }


def _control_json(c: ControlResult) -> dict[str, Any]:
    return {
        "clean": c.clean,
        "problems": list(c.problems),
        "exitCode": c.run.exit_code,
        "failedClauses": c.run.failed_clauses,
        "skippedTests": c.run.skipped_tests,
        "tests": len(c.run.tests),
        "durationSeconds": round(c.run.duration, 2),
        "cpuSeconds": c.run.cpu_seconds,
        "reportDir": str(c.run.report_dir),
    }


def to_json(result: MatrixResult) -> dict[str, Any]:
    return {
        "score": round(result.score, 4),
        "killed": result.killed,
        "total": len(result.mutants),
        "partial": result.partial,
        "wallSeconds": round(result.wall_seconds, 1),
        "cpuSeconds": round(result.cpu_seconds, 1),
        "jobs": result.jobs,
        "httpRuns": {"total": len(result.http_runs), "killed": sum(v.killed for v in result.http_runs)},
        "correctFake": {mode: _control_json(c) for mode, c in result.controls.items()},
        "mutants": [_mutant_json(r) for r in result.mutants],
        "clauses": [
            {
                "id": c.clause,
                "level": CLAUSES[c.clause].level,
                "mutants": list(c.mutants),
                "killedBy": list(c.killers),
                "status": "killed" if c.killers else ("no mutant" if not c.mutants else "survived"),
            }
            for c in result.coverage
        ],
        "uncoveredClauses": result.uncovered,
        "problems": result.problems(),
    }


def _controls_line(result: MatrixResult) -> str:
    if not result.controls:
        return "the correct fake was not run"
    if all(c.clean for c in result.controls.values()):
        return "the correct fake is clean (" + " and ".join(result.controls) + ")"
    return "the correct fake is NOT clean (" + ", ".join(m for m, c in result.controls.items() if not c.clean) + ")"


def readme_block(result: MatrixResult) -> str:
    """The README's score text: deterministic for a given set of verdicts (no timings)."""
    covered = sum(bool(c.killers) for c in result.coverage)
    http = result.http_runs
    return (
        f"**Mutation score: {result.killed}/{len(result.mutants)} mutants killed ({_percent(result)})**"
        f" · {covered}/{len(result.coverage)} clauses have a killing mutant"
        f" · {sum(v.killed for v in http)}/{len(http)} HTTP runs killed · {_controls_line(result)}.\n"
        f"Every mutant and what it breaks: [docs/MUTANTS.md](docs/MUTANTS.md); regenerate both with"
        f" `{UPDATE_COMMAND}`."
    )


def catalog_markdown(result: MatrixResult) -> str:
    """docs/MUTANTS.md: per family, each clause's mutants, what they break and whether they were killed.
    Deterministic for a given set of verdicts, so the tracked file changes only when the proof does."""
    out = ["# Mutants: the proof of detection", "", readme_block(result).split("\n")[0], "",
           "Each mutant is the reference fake broken in exactly one way (`tests/mutants/<family>.py`). "
           "`tests/test_mutation_matrix.py` runs the conformance suite against every one: a MUST mutant "
           "is killed when the run exits 1 with its clause `failed`; a SHOULD mutant when the run exits 0 "
           "with its clause `failed` (a warning). Mutants marked HTTP run over real HTTP as well.",
           f"Regenerate with `{UPDATE_COMMAND}`.", ""]
    for family in FAMILIES:
        rows = sorted((r for r in result.mutants if r.mutant.family == family),
                      key=lambda r: (r.mutant.clause, r.mutant.name))
        if not rows:
            continue
        out += [f"## {family} — {FAMILIES[family]}", "", "| clause | mutant | what it breaks | killed |",
                "|---|---|---|---|"]
        for r in rows:
            modes = " + ".join(r.verdicts) if r.mutant.http else "in-process"
            what = r.mutant.description.replace("|", "\\|")
            out.append(f"| {r.mutant.clause} ({r.mutant.level}) | `{r.mutant.name}` | {what} | "
                       f"{'yes' if r.killed else '**NO**'} ({modes}) |")
        out.append("")
    return "\n".join(out)


def read_readme_block(readme: str) -> str | None:
    match = _BLOCK.search(readme)
    return match.group(1).strip() if match else None


def replace_readme_block(readme: str, block: str) -> str:
    if _BLOCK.search(readme) is None:
        raise LookupError(f"README.md has no {README_START} … {README_END} block to update: add the two markers")
    return _BLOCK.sub(lambda _m: f"{README_START}\n{block}\n{README_END}", readme, count=1)


def _cell(r: MutantResult, clause: str) -> str:
    if clause == r.mutant.clause:
        return "**kill**" if r.killed else "**MISS**"
    tripped = any(clause in v.run.failed_clauses for v in r.verdicts.values())
    return "trip" if tripped else ""


def _family_table(family: str, results: list[MutantResult]) -> list[str]:
    ids = [cid for cid, c in CLAUSES.items() if c.family == family]
    head = ["mutant", "level", *ids, "verdict", "killed by", "wall s", "cpu s"]
    lines = [f"### {family} — {FAMILIES[family]}", "", "| " + " | ".join(head) + " |",
             "|" + "---|" * len(head)]
    for r in results:
        killers = sorted({_short(t) for v in r.verdicts.values() for t in v.run.failing_tests(r.mutant.clause)})
        verdict = "; ".join(f"{mode}: {'killed' if v.killed else 'SURVIVED'}" for mode, v in r.verdicts.items())
        secs = sum(v.run.duration for v in r.verdicts.values())
        cpu = sum(v.run.cpu_seconds or 0.0 for v in r.verdicts.values())
        row = [f"`{r.mutant.name}`", r.mutant.level, *(_cell(r, cid) for cid in ids), verdict,
               "<br>".join(f"`{k}`" for k in killers) or "—", f"{secs:.1f}", f"{cpu:.1f}"]
        lines.append("| " + " | ".join(row) + " |")
    return lines + [""]


def to_markdown(result: MatrixResult) -> str:
    out = [
        "# Mutation matrix: proof of detection",
        "",
        readme_block(result).split("\n")[0],
        "",
        f"Wall time {result.wall_seconds:.0f} s with {result.jobs} workers; the suite processes used"
        f" {result.cpu_seconds:.0f} s of CPU"
        + (" — a partial run (`--only`), not a coverage claim." if result.partial else "."),
        "Each mutant is the reference fake broken in one way (`tests/mutants/`). A MUST mutant is killed when"
        " the suite run on its clause family exits non-zero with its clause `failed`; a SHOULD mutant when the"
        " run exits 0 with its clause `failed` (a warning).",
        "",
    ]
    problems = result.problems()
    if problems:
        out += ["## Problems", "", *(f"- {p}" for p in problems), ""]
    if result.uncovered:
        out += ["## Clauses with no mutant", "", ", ".join(result.uncovered), ""]
    out += ["## Correct fake", "", "| run | clean | exit | tests | skipped | wall s | cpu s | problems |",
            "|---|---|---|---|---|---|---|---|"]
    for mode, c in result.controls.items():
        out.append(
            f"| {mode} | {'yes' if c.clean else 'NO'} | {c.run.exit_code} | {len(c.run.tests)}"
            f" | {len(c.run.skipped_tests)} | {c.run.duration:.1f} | {c.run.cpu_seconds or 0.0:.1f}"
            f" | {'<br>'.join(c.problems) or '—'} |"
        )
    out += ["", "## Mutants × clauses", "",
            "`kill`: the mutant's own clause, killed · `MISS`: its own clause, survived ·"
            " `trip`: another clause that failed in the same run.", ""]
    for family in FAMILIES:
        rows = [r for r in result.mutants if r.mutant.family == family]
        if rows:
            out += _family_table(family, rows)
    out += ["## Clauses", "", "| clause | level | mutants | killed by |", "|---|---|---|---|"]
    for c in result.coverage:
        killed = ", ".join(f"`{k}`" for k in c.killers) or ("**no mutant**" if not c.mutants else "**none**")
        out.append(f"| {c.clause} | {CLAUSES[c.clause].level} | {len(c.mutants)} | {killed} |")
    survivors = [(r, mode, v) for r in result.mutants for mode, v in r.verdicts.items() if not v.killed]
    if survivors:
        out += ["", "## Survivors", ""]
        out += [f"- `{r.mutant.name}` ({r.mutant.clause}, {mode}): {v.why} — report: `{v.run.report_dir}`"
                for r, mode, v in survivors]
    return "\n".join(out) + "\n"


def write_reports(result: MatrixResult, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    as_json, as_md = out_dir / "mutation.json", out_dir / "mutation.md"
    as_json.write_text(json.dumps(to_json(result), indent=2) + "\n", encoding="utf-8")
    as_md.write_text(to_markdown(result), encoding="utf-8")
    return as_json, as_md
