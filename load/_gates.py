"""The run's gates and its verdict: passed, failed (exit 3) or inconclusive (exit 5).

Latency gates judge what they name: the p95 of one endpoint's answered, non-throttled
requests (response time from the intended start in arrival-rate runs, service time
otherwise), never an aggregate that throttled answers flatten. A run is *inconclusive*, not
passed, when it measured the rate limiter (more of an endpoint's answers throttled than
--max-throttle-ratio) or when a gated endpoint has too few answered requests for a percentile.
A gate that failed on enough evidence still fails the run.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from akol_load._options import LoadSettings, endpoint_of
from akol_load._record import Tally

GATE_EXIT_CODE = 3
INCONCLUSIVE_EXIT_CODE = 5
MIN_SAMPLES = 20  # fewer answered requests than this give no p95 worth judging
PASSED, FAILED, INCONCLUSIVE = "passed", "failed", "inconclusive"
THROTTLE_FIXES = ("run from more source IPs (Locust workers on other machines: --master/--worker), use a load "
                  "account or IP the limiter allow-lists, run fewer login-heavy users (LoginUser), or load "
                  "RefreshUser/PatUser, which do not log in each time")
SAMPLE_FIXES = "run longer (-t), offer more load, or gate only the endpoints you need (--p95-ms login=500)"


@dataclass(frozen=True)
class GateResult:
    name: str
    limit: float
    observed: float | None
    status: str
    endpoint: str | None = None
    samples: int | None = None
    why: str | None = None  # what kept an inconclusive gate from being judged

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def describe(self) -> str:
        where = f" [{self.endpoint}]" if self.endpoint else ""
        if self.status == INCONCLUSIVE:
            return f"gate {self.name}{where} INCONCLUSIVE: {self.why} (limit {self.limit:g})"
        relation = "<=" if self.passed else ">"
        verdict = "passed" if self.passed else "FAILED"
        observed = "no data" if self.observed is None else f"{self.observed:g}"
        return f"gate {self.name}{where} {verdict}: observed {observed} {relation} limit {self.limit:g}"

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "endpoint": self.endpoint, "limit": self.limit, "observed": self.observed,
                "samples": self.samples, "status": self.status, "passed": self.passed, "why": self.why}


@dataclass(frozen=True)
class Verdict:
    status: str
    reason: str | None
    exit_code: int | None  # None: leave Locust's own exit code


def by_endpoint(names: Mapping[str, Tally]) -> dict[str, Tally]:
    """Request names folded into their HTTP endpoint (``GET /agents [PAT]`` into ``GET /agents``), exactly."""
    folded: dict[str, Tally] = {}
    for name, tally in sorted(names.items()):
        folded.setdefault(endpoint_of(name), Tally()).add(tally)
    return folded


def evaluate(endpoints: Mapping[str, Tally], settings: LoadSettings) -> list[GateResult]:
    """Every gate the settings ask for (the throttle check always, unless throttling counts as failure)."""
    folded = by_endpoint(endpoints)
    results = [_p95(endpoint, tally, limit, settings)
               for endpoint, tally in folded.items()
               if tally.requests and settings.p95_ms is not None
               and (limit := settings.p95_ms.limit_for(endpoint)) is not None]
    if settings.p95_ms is not None:
        missing = sorted(e for e in settings.p95_ms.per_endpoint if not (e in folded and folded[e].requests))
        results += [GateResult("p95-ms", settings.p95_ms.per_endpoint[e], None, INCONCLUSIVE, e, 0,
                               "the run sent this endpoint no request") for e in missing]
        if not any(t.requests for t in folded.values()):
            results.append(GateResult("p95-ms", settings.p95_ms.default or 0, None, INCONCLUSIVE, None, 0,
                                      "no request was answered"))
    throttled = [] if settings.throttle_is_failure else \
        [_throttle(endpoint, tally, settings.max_throttle_ratio) for endpoint, tally in folded.items() if tally.throttled]
    results += throttled
    if settings.max_fail_ratio is not None:
        requests = sum(t.requests for t in folded.values())
        ratio = round(sum(t.failed for t in folded.values()) / requests, 6) if requests else None
        results.append(GateResult("max-fail-ratio", settings.max_fail_ratio, ratio,
                                  INCONCLUSIVE if ratio is None else PASSED if ratio <= settings.max_fail_ratio
                                  else FAILED, samples=requests, why="no request completed" if ratio is None else None))
    if settings.schedule is not None:
        limiter_held = any(not g.passed for g in throttled)
        results.append(_drops(folded.values(), settings.max_drop_ratio, limiter_held))
    return results


def _p95(endpoint: str, tally: Tally, limit: float, settings: LoadSettings) -> GateResult:
    latency = tally.intended if settings.schedule is not None else tally.service
    samples = latency.get_total_count()
    if samples < MIN_SAMPLES:
        observed = round(latency.get_value_at_percentile(95) / 1000, 2) if samples else None
        return GateResult("p95-ms", limit, observed, INCONCLUSIVE, endpoint, samples,
                          f"{samples} answered request(s), fewer than the {MIN_SAMPLES} a p95 needs")
    p95 = round(latency.get_value_at_percentile(95) / 1000, 2)
    return GateResult("p95-ms", limit, p95, PASSED if p95 <= limit else FAILED, endpoint, samples)


def _throttle(endpoint: str, tally: Tally, limit: float) -> GateResult:
    answers = tally.answered + tally.throttled
    ratio = round(tally.throttled / answers, 4)
    return GateResult("max-throttle-ratio", limit, ratio, PASSED if ratio <= limit else INCONCLUSIVE, endpoint,
                      answers, None if ratio <= limit else
                      f"{tally.throttled} of {answers} answers were 429/423: the run measured the rate limiter")


def _drops(tallies: Iterable[Tally], limit: float, limiter_held: bool) -> GateResult:
    offered = dropped = 0
    for tally in tallies:
        offered, dropped = offered + tally.offered, dropped + tally.dropped
    if offered == 0:
        return GateResult("max-drop-ratio", limit, None, INCONCLUSIVE, samples=0, why="no arrival fell due")
    ratio = round(dropped / offered, 4)
    if ratio <= limit:
        return GateResult("max-drop-ratio", limit, ratio, PASSED, samples=offered)
    if limiter_held:
        return GateResult("max-drop-ratio", limit, ratio, INCONCLUSIVE, samples=offered,
                          why=f"{dropped} of {offered} arrivals dropped while users waited out the rate limiter")
    return GateResult("max-drop-ratio", limit, ratio, FAILED, samples=offered)


def verdict(results: list[GateResult]) -> Verdict:
    """Failed beats inconclusive beats passed; the reason names the cause and how to fix it."""
    failed = [g for g in results if g.status == FAILED]
    if failed:
        return Verdict(FAILED, "; ".join(g.describe() for g in failed), GATE_EXIT_CODE)
    unsure = [g for g in results if g.status == INCONCLUSIVE]
    if not unsure:
        return Verdict(PASSED, None, None)
    causes = "; ".join(g.describe() for g in unsure)
    fixes = []
    if any(g.name in ("max-throttle-ratio", "max-drop-ratio") for g in unsure):
        fixes.append(THROTTLE_FIXES)
    if any(g.name == "p95-ms" for g in unsure):
        fixes.append(SAMPLE_FIXES)
    return Verdict(INCONCLUSIVE, f"{causes}. To fix: {'; or '.join(fixes) or 'see the causes above'}",
                   INCONCLUSIVE_EXIT_CODE)
