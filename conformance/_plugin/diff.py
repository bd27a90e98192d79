"""``akol-conformance diff OLD.json NEW.json``: what changed between two runs.

Regressions (a clause failed in NEW that did not fail in OLD; clauses either run left out with ``--clause``
are not compared), fixes (failed in OLD, passed in
NEW), clauses whose judgement changed otherwise (now inconclusive, now skipped, coverage
partial), and changed observed values (lockout threshold, rate-limit threshold, token
lifetimes, …). Exit 1 when a MUST clause regressed (any clause with ``--strict``), 4 when a
file cannot be read, else 0.
"""
from __future__ import annotations

import argparse
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

USAGE_ERROR = 4
# Observed values that vary from run to run on any target: timings, sample sizes, seeds.
_NOISE = re.compile(r"(?i)(^|_)(ms|p|u|z|median|medians|shift|elapsed|samples|pairs|seed|mann_whitney)($|_)|"
                    r"_ms$|per_request_fields|statuses")


class DiffError(Exception):
    """A report file cannot be compared; the message says why."""


@dataclass(frozen=True)
class Clause:
    id: str
    level: str
    status: str
    coverage: str | None
    known: bool
    selected: bool
    observed: Mapping[str, Any]

    @property
    def judgement(self) -> str:
        if self.status == "passed" and self.coverage == "partial":
            return "passed (partial)"
        if self.status == "failed" and self.known:
            return "failed (known)"
        return self.status


@dataclass
class Diff:
    regressions: list[str] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    observed: list[str] = field(default_factory=list)
    must_regressed: bool = False


def load(path: Path) -> dict[str, Clause]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DiffError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise DiffError(f"{path} is not JSON ({exc}): give a conformance.json a run wrote") from None
    clauses = data.get("clauses") if isinstance(data, dict) else None
    if not isinstance(clauses, list):
        raise DiffError(f"{path} has no \"clauses\" list: give a conformance.json a run wrote")
    found: dict[str, Clause] = {}
    for entry in clauses:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            continue
        found[entry["id"]] = Clause(
            id=entry["id"], level=str(entry.get("level", "MUST")), status=str(entry.get("status")),
            coverage=entry.get("coverage"), known=bool(entry.get("known")),
            selected=entry.get("selected", True) is not False,
            observed=entry.get("observed") if isinstance(entry.get("observed"), dict) else {})
    return found


def _scalars(observed: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in observed.items()
            if (v is None or isinstance(v, (str, int, float, bool))) and not _NOISE.search(k)}


def compare(old: Mapping[str, Clause], new: Mapping[str, Clause], *, strict: bool = False) -> Diff:
    diff = Diff()
    for cid, after in new.items():
        before = old.get(cid)
        if not after.selected or (before is not None and not before.selected):
            continue  # a clause one of the runs left out (--clause) says nothing about change
        label = f"{cid} ({after.level})"
        was = before.judgement if before else "absent"
        if after.status == "failed" and not after.known and (before is None or before.status != "failed"
                                                             or before.known):
            diff.regressions.append(f"{label}: {was} → failed")
            diff.must_regressed |= after.level == "MUST" or strict
        elif before is not None and before.status == "failed" and not before.known and after.status == "passed":
            diff.fixes.append(f"{label}: failed → {after.judgement}")
        elif before is not None and before.judgement != after.judgement:
            diff.changes.append(f"{label}: {before.judgement} → {after.judgement}")
        if before is not None:
            old_values, new_values = _scalars(before.observed), _scalars(after.observed)
            for key in sorted(old_values.keys() | new_values.keys()):
                if key in old_values and key in new_values and old_values[key] != new_values[key]:
                    diff.observed.append(f"{cid} {key}: {old_values[key]!r} → {new_values[key]!r}")
    return diff


def render(diff: Diff) -> list[str]:
    lines: list[str] = []
    for title, items in (("regressions", diff.regressions), ("fixes", diff.fixes),
                         ("other changes", diff.changes), ("changed observed values", diff.observed)):
        lines.append(f"{title}: {len(items) or 'none'}")
        lines.extend(f"  {item}" for item in items)
    return lines


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="akol-conformance diff",
                                     description="Compare two conformance.json reports.")
    parser.add_argument("old", type=Path, help="the earlier run's conformance.json")
    parser.add_argument("new", type=Path, help="the later run's conformance.json")
    parser.add_argument("--strict", action="store_true", help="a SHOULD regression also exits 1")
    args = parser.parse_args(argv)
    try:
        diff = compare(load(args.old), load(args.new), strict=args.strict)
    except DiffError as exc:
        print(f"akol-conformance diff: {exc}")
        return USAGE_ERROR
    print("\n".join(render(diff)))
    return 1 if diff.must_regressed else 0
