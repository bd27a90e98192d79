"""The clause catalog is the spec's (the repository's copy, docs/spec/), and every clause lives in
exactly one test module."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from akol_conformance.catalog import CLAUSES, FAMILIES

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "docs" / "spec" / "CLAUSES.md"
# The upstream spec, when it is checked out beside the repository; it may lag the copy (the
# project adds clauses first), never contradict it.
UPSTREAM = ROOT.parent / "shared" / "spec"
ROW = re.compile(r"^\| ([A-Z0-9]+-\d\d) \| (MUST|SHOULD) \| (.*) \|$", re.MULTILINE)
MARK = re.compile(r"""pytest\.mark\.clause\(\s*["']([A-Z0-9]+-\d\d)["']""")


def _rows(path: Path) -> dict[str, tuple[str, str]]:
    return {m.group(1): (m.group(2), m.group(3).replace("`", "")) for m in ROW.finditer(path.read_text())}


def test_catalog_is_the_spec_copy() -> None:
    rows = _rows(SPEC)
    ours = {c.id: (c.level, c.title) for c in CLAUSES.values()}
    missing, extra = sorted(set(rows) - set(ours)), sorted(set(ours) - set(rows))
    changed = sorted(i for i in rows if i in ours and rows[i] != ours[i])
    assert not missing and not extra and not changed, \
        f"conformance/catalog.py and docs/spec/CLAUSES.md differ: missing {missing}, extra {extra}, changed {changed}"


def test_spec_copy_agrees_with_upstream() -> None:
    if not UPSTREAM.is_dir():
        pytest.skip(f"the upstream spec is not beside this checkout ({UPSTREAM})")
    upstream, ours = _rows(UPSTREAM / "CLAUSES.md"), _rows(SPEC)
    missing = sorted(set(upstream) - set(ours))
    changed = sorted(i for i in upstream if i in ours and upstream[i] != ours[i])
    assert not missing and not changed, f"docs/spec/CLAUSES.md lags ../shared/spec: missing {missing}, changed {changed}"
    for name in ("authentication.txt", "TEST-CONTROL.md"):
        assert (ROOT / "docs" / "spec" / name).read_text() == (UPSTREAM / name).read_text(), \
            f"docs/spec/{name} differs from ../shared/spec/{name}: copy it over"


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
