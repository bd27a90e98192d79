"""Run the kill matrix: ``python -m tests.mutation [--update-readme] [--jobs 2] [--only NAME ...]``.

Writes reports/mutation.json and reports/mutation.md; exits 0 only when every mutant is
killed, every clause has a killing mutant and the correct fake is clean.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests._mutation import ROOT, SUITE_TIMEOUT, run_matrix
from tests._mutation_report import catalog_markdown, readme_block, replace_readme_block, write_reports
from tests.mutants import CATALOG

README = ROOT / "README.md"
MUTANTS_DOC = ROOT / "docs" / "MUTANTS.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutation", description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="suite subprocesses in parallel (default 2)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these mutants (no control runs)")
    parser.add_argument("--timeout", type=float, default=SUITE_TIMEOUT, help="seconds per suite run (default 120)")
    parser.add_argument("--report-dir", type=Path, default=ROOT / "reports", help="where to write (default reports/)")
    parser.add_argument("--update-readme", action="store_true",
                        help="rewrite the README's mutation-score block and docs/MUTANTS.md")
    args = parser.parse_args(argv)
    if args.update_readme and args.only:
        parser.error("--update-readme needs the full matrix: drop --only")
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    try:
        result = run_matrix(
            CATALOG, args.report_dir, jobs=args.jobs, timeout=args.timeout, only=args.only,
            controls=not args.only, progress=print,
        )
    except LookupError as exc:
        parser.error(str(exc))
    except KeyboardInterrupt:
        print("interrupted: the running suite processes were stopped, no report written", file=sys.stderr)
        return 130
    as_json, as_md = write_reports(result, args.report_dir)
    print(f"\n{readme_block(result).splitlines()[0]}\nwall {result.wall_seconds:.1f} s; wrote {as_json} and {as_md}")
    if args.update_readme:
        try:
            updated = replace_readme_block(README.read_text(encoding="utf-8"), readme_block(result))
        except LookupError as exc:
            print(f"{README}: {exc}", file=sys.stderr)
            return 2
        README.write_text(updated, encoding="utf-8")
        MUTANTS_DOC.write_text(catalog_markdown(result), encoding="utf-8")
        print(f"updated the score block in {README} and {MUTANTS_DOC}")
    problems = result.problems()
    for line in problems:
        print(f"FAIL {line}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
