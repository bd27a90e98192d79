"""``--baseline FILE``: known failures, the way conformance suites keep them (an expectations file).

A YAML (or JSON) file lists clauses known to fail on the target, each with a reason and an
optional expiry date::

    known:
      - clause: REFRESH-05
        reason: family revocation lands with AUTH-412
        expires: 2027-03-31

A listed clause that fails is reported as *known* and does not fail the run; a failure that
is not listed does. A listed clause that now passes, or an entry past its expiry date (its
failure counts again), is reported so the file gets pruned.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from akol_conformance.catalog import CLAUSES

EXAMPLE = "known:\n  - clause: REFRESH-05\n    reason: why it fails\n    expires: 2027-03-31"


class BaselineError(ValueError):
    """The baseline file cannot be used; the message names the file, the entry and the fix."""


@dataclass(frozen=True)
class Entry:
    clause: str
    reason: str
    expires: dt.date | None = None

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and today > self.expires

    def as_json(self) -> dict[str, Any]:
        return {"reason": self.reason, "expires": self.expires.isoformat() if self.expires else None}


@dataclass(frozen=True)
class Baseline:
    name: str                          # the file as given on the command line
    entries: Mapping[str, Entry]


@dataclass
class Outcome:
    """What the baseline did to one run."""

    file: str
    known: list[str] = field(default_factory=list)     # failed, listed: not failing the run
    stale: list[str] = field(default_factory=list)     # listed, but passed: prune the entry
    expired: list[str] = field(default_factory=list)   # listed past its date: the failure counts

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "known": self.known, "stale": self.stale, "expired": self.expired}


def _date(value: object, where: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise BaselineError(f"{where}: expires {value!r} is not a date: write it as YYYY-MM-DD")


def _entries(raw: object, source: str) -> Iterable[Entry]:
    items = raw.get("known") if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        raise BaselineError(f"{source}: expected a list of entries under \"known\", e.g.\n{EXAMPLE}")
    for index, item in enumerate(items):
        where = f"{source}, entry {index + 1}"
        if not isinstance(item, dict):
            raise BaselineError(f"{where}: expected clause, reason and optional expires, e.g.\n{EXAMPLE}")
        clause = str(item.get("clause", "")).strip().upper()
        if clause not in CLAUSES:
            raise BaselineError(f"{where}: {item.get('clause')!r} is no clause id (they look like LOGIN-01)")
        reason = item.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise BaselineError(f"{where} ({clause}): give a reason: why it fails and what will fix it")
        yield Entry(clause, reason.strip(), _date(item.get("expires"), f"{where} ({clause})"))


def load(path: Path, *, shown: str | None = None) -> Baseline:
    """The baseline at ``path`` (named ``shown`` in messages and reports, as the user wrote it)."""
    name = shown or str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BaselineError(f"--baseline {name}: cannot read it ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise BaselineError(f"--baseline {name}: not YAML or JSON ({exc})") from None
    entries: dict[str, Entry] = {}
    for entry in _entries(raw, f"--baseline {name}"):
        if entry.clause in entries:
            raise BaselineError(f"--baseline {name}: {entry.clause} is listed twice; keep one entry")
        entries[entry.clause] = entry
    return Baseline(name, entries)


def apply(baseline: Baseline, verdicts: Sequence[Any], today: dt.date) -> Outcome:
    """Mark listed, unexpired failures of ``verdicts`` as known; report stale and expired entries."""
    outcome = Outcome(baseline.name)
    for verdict in verdicts:
        entry = baseline.entries.get(verdict.id)
        if entry is None or not verdict.selected:
            continue
        if entry.expired(today):
            outcome.expired.append(verdict.id)
        elif verdict.status == "failed":
            verdict.known = entry
            outcome.known.append(verdict.id)
        elif verdict.status == "passed":
            outcome.stale.append(verdict.id)
    return outcome
