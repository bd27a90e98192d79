"""reports/load-summary.json: per endpoint, totals, gates, accounts, step results."""
from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from akol_load._api import THROTTLED_SUFFIX
from akol_load._gates import GateResult
from akol_load._pool import Claim

if TYPE_CHECKING:  # importing locust monkey-patches the process: keep this module importable without it
    from locust.stats import RequestStats, StatsEntry


def _percentiles(entry: StatsEntry | None) -> dict[str, float | None]:
    if entry is None or entry.num_requests == 0:
        return {"p50": None, "p95": None, "p99": None}
    return {f"p{int(p * 100)}": float(entry.get_response_time_percentile(p)) for p in (0.5, 0.95, 0.99)}


def endpoints(stats: RequestStats, duration: float) -> dict[str, dict[str, Any]]:
    """Locust's entries folded per endpoint: ``X [429 throttled]`` counts as throttled under ``X``."""
    groups: dict[str, list[StatsEntry]] = defaultdict(list)
    for entry in stats.entries.values():
        groups[THROTTLED_SUFFIX.sub("", entry.name)].append(entry)
    folded: dict[str, dict[str, Any]] = {}
    for name in sorted(groups):
        entries = groups[name]
        served = next((e for e in entries if e.name == name), None)
        requests = sum(e.num_requests for e in entries)
        folded[name] = {
            "requests": requests,
            "failures": sum(e.num_failures for e in entries),
            "throttled": sum(e.num_requests for e in entries if e.name != name),
            "rps": round(requests / duration, 2) if duration > 0 else None,
            **_percentiles(served),
        }
    return folded


def accounts(claims: Sequence[Claim]) -> dict[str, Any]:
    """Which user had which account: ``shared`` lists accounts more than one user got (must be empty)."""
    users_per_account = Counter(c.account for c in claims)
    return {
        "users": len(claims),
        "distinctAccounts": len(users_per_account),
        "shared": sorted(a for a, n in users_per_account.items() if n > 1),
        "assignments": [asdict(c) for c in claims],
    }


def build(*, stats: RequestStats, host: str | None, auto_started_pid: int | None, profiles: Iterable[str],
          processes: int, started: float, gates: Sequence[GateResult], exit_code: int,
          claims: Sequence[Claim], step: dict[str, Any] | None) -> dict[str, Any]:
    total = stats.total
    last = total.last_request_timestamp or time.time()
    duration = max(last - total.start_time, 0.0) if total.num_requests else 0.0
    per_endpoint = endpoints(stats, duration)
    return {
        "target": {"host": host, "autoStartedFake": auto_started_pid is not None, "fakePid": auto_started_pid},
        "profiles": sorted(profiles),
        "processes": processes,
        "startedAt": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "durationSeconds": round(duration, 2),
        "endpoints": per_endpoint,
        "totals": {
            "requests": total.num_requests,
            "failures": total.num_failures,
            "throttled": sum(e["throttled"] for e in per_endpoint.values()),
            "failRatio": round(total.fail_ratio, 6),
            "rps": round(total.num_requests / duration, 2) if duration > 0 else None,
            **_percentiles(total),
        },
        "errors": sorted(({"name": e.name, "error": str(e.error), "occurrences": e.occurrences}
                          for e in stats.errors.values()), key=lambda e: -int(e["occurrences"])),
        "gates": [g.as_json() for g in gates],
        "verdict": "passed" if all(g.passed for g in gates) else "failed",
        "exitCode": exit_code,
        "accounts": accounts(claims),
        "step": step,
    }


def write(path: Path, summary: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)
