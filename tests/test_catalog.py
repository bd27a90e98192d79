"""The clause catalog is the spec's, and every clause lives in exactly one test module."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance._catalog import CLAUSES, FAMILIES

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT.parent / "shared" / "spec" / "CLAUSES.md"
ROW = re.compile(r"^\| ([A-Z0-9]+-\d\d) \| (MUST|SHOULD) \| (.*) \|$", re.MULTILINE)
MARK = re.compile(r"""pytest\.mark\.clause\(\s*["']([A-Z0-9]+-\d\d)["']""")


def test_catalog_mirrors_the_spec() -> None:
    if not SPEC.exists():
        pytest.skip(f"the spec is not beside this checkout ({SPEC})")
    rows = {m.group(1): (m.group(2), m.group(3).replace("`", "")) for m in ROW.finditer(SPEC.read_text())}
    ours = {c.id: (c.level, c.title) for c in CLAUSES.values()}
    missing = sorted(set(rows) - set(ours))
    changed = sorted(i for i in rows if i in ours and rows[i] != ours[i])
    assert not missing and not changed, f"regenerate conformance/_catalog.py: missing {missing}, changed {changed}"


def test_every_clause_family_is_named() -> None:
    assert {c.family for c in CLAUSES.values()} == set(FAMILIES)


def test_each_clause_is_marked_in_exactly_one_test_module() -> None:
    modules: dict[str, set[str]] = {}
    for path in sorted((ROOT / "conformance").glob("test_*.py")):
        for clause_id in MARK.findall(path.read_text()):
            modules.setdefault(clause_id, set()).add(path.name)
    unknown = sorted(set(modules) - set(CLAUSES))
    untested = sorted(set(CLAUSES) - set(modules))
    scattered = {i: sorted(m) for i, m in modules.items() if len(m) > 1}
    assert not unknown, f"marks naming no clause of the catalog: {unknown}"
    assert not untested, f"clauses with no test: {untested}"
    assert not scattered, f"clauses marked in more than one module: {scattered}"
