"""The run's pass/fail gates, judged on the aggregate of the whole run."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from akol_load._options import LoadSettings

GATE_EXIT_CODE = 3


class Aggregate(Protocol):
    """What the gates read from Locust's aggregate ``StatsEntry`` (``stats.total``)."""

    @property
    def num_requests(self) -> int: ...

    @property
    def fail_ratio(self) -> float: ...

    def get_response_time_percentile(self, percent: float) -> float: ...


@dataclass(frozen=True)
class GateResult:
    name: str
    limit: float
    observed: float | None
    passed: bool

    def describe(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        if self.observed is None:
            return f"gate {self.name} {verdict}: no requests completed, so nothing shows it holds " \
                   f"(limit {self.limit:g})"
        relation = "<=" if self.passed else ">"
        return f"gate {self.name} {verdict}: observed {self.observed:g} {relation} limit {self.limit:g}"

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "limit": self.limit, "observed": self.observed, "passed": self.passed}


def evaluate(total: Aggregate, settings: LoadSettings) -> list[GateResult]:
    """--p95-ms against the aggregate p95 (ms), --max-fail-ratio against the aggregate failure ratio."""
    results: list[GateResult] = []
    has_data = total.num_requests > 0
    if settings.p95_ms is not None:
        p95 = float(total.get_response_time_percentile(0.95)) if has_data else None
        results.append(GateResult("p95-ms", settings.p95_ms, p95, p95 is not None and p95 <= settings.p95_ms))
    if settings.max_fail_ratio is not None:
        ratio = total.fail_ratio if has_data else None
        results.append(GateResult("max-fail-ratio", settings.max_fail_ratio, ratio,
                                  ratio is not None and ratio <= settings.max_fail_ratio))
    return results
