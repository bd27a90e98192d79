"""reports/load-summary.json: per endpoint, arrivals, totals, gates and verdict, accounts, step results."""
from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from akol_load._gates import GateResult, Verdict
from akol_load._pool import Claim
from akol_load._record import Recorder, Tally, encode, percentiles

if TYPE_CHECKING:  # importing locust monkey-patches the process: keep this module importable without it
    from locust.stats import RequestStats, StatsEntry


def _rate(count: int, seconds: float | None) -> float | None:
    return round(count / seconds, 2) if seconds else None


def _figures(prefix: str, values: dict[int, float | None]) -> dict[str, float | None]:
    return {f"{prefix}p{p}": value for p, value in values.items()}


def endpoint(tally: Tally, *, duration: float, open_model: bool, offered_seconds: float | None) -> dict[str, Any]:
    """One endpoint: counts, the judged percentiles of answered requests, both latencies, arrivals."""
    service = percentiles(tally.service)
    intended = percentiles(tally.intended) if open_model else dict.fromkeys(service)
    arrivals = open_model and tally.offered > 0
    return {
        "requests": tally.requests,
        "answered": tally.answered,
        "throttled": tally.throttled,
        "failures": tally.failed,
        "rps": _rate(tally.requests, duration),
        # What the --p95-ms gate judges: response time from the intended start in arrival-rate runs.
        **_figures("", intended if open_model else service),
        **_figures("intended_", intended),
        **_figures("service_", service),
        "offered_rps": _rate(tally.offered, offered_seconds) if arrivals else None,
        "achieved_rps": _rate(tally.completed, offered_seconds) if arrivals else None,
        "dropped": tally.dropped if arrivals else None,
    }


def arrivals(run: Recorder, *, schedule: str, max_in_flight: int) -> dict[str, Any]:
    tallies = list(run.endpoints.values())
    offered, dropped, completed = (sum(getattr(t, name) for t in tallies) for name in ("offered", "dropped",
                                                                                        "completed"))
    seconds = run.offered_seconds
    return {
        "schedule": schedule, "maxInFlight": max_in_flight, "seconds": round(seconds, 2) if seconds else None,
        "offered": offered, "dropped": dropped, "completed": completed,
        # Started but cut off by the end of the run: their latency is not recorded (--stop-timeout lets them finish).
        "inFlightAtStop": offered - dropped - completed,
        "offered_rps": _rate(offered, seconds), "achieved_rps": _rate(completed, seconds),
        "dropRatio": round(dropped / offered, 4) if offered else None,
        # Each process offers its share from its own start: their rates add up to the schedule's.
        "byProcess": {label: {"offered": p.offered, "dropped": p.dropped, "completed": p.completed,
                              "seconds": round(p.seconds, 2) if p.seconds else None,
                              "offered_rps": _rate(p.offered, p.seconds), "samples": p.samples}
                      for label, p in sorted(run.processes.items())},
    }


def _locust_percentiles(entry: StatsEntry) -> dict[str, float | None]:
    if entry.num_requests == 0:
        return {"p50": None, "p95": None, "p99": None}
    return {f"p{int(p * 100)}": float(entry.get_response_time_percentile(p)) for p in (0.5, 0.95, 0.99)}


def accounts(claims: Sequence[Claim]) -> dict[str, Any]:
    """Which user had which account: ``shared`` lists accounts more than one user got (must be empty)."""
    users_per_account = Counter(c.account for c in claims)
    return {
        "users": len(claims),
        "distinctAccounts": len(users_per_account),
        "shared": sorted(a for a, n in users_per_account.items() if n > 1),
        "assignments": [asdict(c) for c in claims],
    }


def build(*, stats: RequestStats, run: Recorder, host: str | None, auto_started_pid: int | None,
          profiles: Iterable[str], processes: int, started: float, gates: Sequence[GateResult], verdict: Verdict,
          exit_code: int, claims: Sequence[Claim], step: dict[str, Any] | None,
          open_model: dict[str, Any] | None) -> dict[str, Any]:
    """``open_model``: the schedule and --max-in-flight of an arrival-rate run, None for a closed loop."""
    total = stats.total
    last = total.last_request_timestamp or time.time()
    duration = max(last - total.start_time, 0.0) if total.num_requests else 0.0
    per_endpoint = {name: endpoint(tally, duration=duration, open_model=open_model is not None,
                                   offered_seconds=run.offered_seconds)
                    for name, tally in sorted(run.endpoints.items())}
    tallies = list(run.endpoints.values())
    requests = sum(t.requests for t in tallies)
    return {
        "target": {"host": host, "autoStartedFake": auto_started_pid is not None, "fakePid": auto_started_pid},
        "profiles": sorted(profiles),
        "processes": processes,
        "model": "open" if open_model is not None else "closed",
        "startedAt": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "durationSeconds": round(duration, 2),
        "endpoints": per_endpoint,
        "arrivals": arrivals(run, **open_model) if open_model is not None else None,
        "totals": {
            **{key: sum(e[key] for e in per_endpoint.values()) for key in ("requests", "answered", "throttled",
                                                                            "failures")},
            "failRatio": round(sum(t.failed for t in tallies) / requests, 6) if requests else 0.0,
            "rps": _rate(requests, duration),
            # Locust's aggregate percentiles of every request, throttled ones included: for reference, never gated.
            **_locust_percentiles(total),
        },
        "errors": sorted(({"name": e.name, "error": str(e.error), "occurrences": e.occurrences}
                          for e in stats.errors.values()), key=lambda e: -int(e["occurrences"])),
        "gates": [g.as_json() for g in gates],
        "verdict": verdict.status,
        "reason": verdict.reason,
        "exitCode": exit_code,
        "accounts": accounts(claims),
        "step": step,
        # Exact HdrHistograms (microseconds, base64 V2 'HISTF...') of each endpoint's answered requests.
        "histograms": {name: {"service": encode(tally.service),
                              "intended": encode(tally.intended) if open_model is not None else None}
                       for name, tally in sorted(run.endpoints.items()) if tally.answered},
    }


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def write_json(path: Path, summary: dict[str, Any]) -> None:
    write(path, json.dumps(summary, indent=2) + "\n")
