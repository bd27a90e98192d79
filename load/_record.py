"""What a run measured, per endpoint and over time, in HdrHistograms that merge exactly across processes.

Per endpoint (Locust's name with `` [429 throttled]`` folded back): requests, answered (an HTTP
answer that is not throttling), throttled (429/423), failed (Locust failures), and two latency
histograms of the answered requests: *service* time from the actual send, and *response* time
from the intended start (open model only: service time plus how late the arrival began).
Arrivals of the open model are counted under the endpoint their task names: offered, dropped,
completed. Workers export their figures with each report and start afresh; the master merges.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from akol_load._api import THROTTLED_SUFFIX

MAX_MICROSECONDS = 3_600_000_000  # an hour: longer values are clamped, never lost
FIGURES = 3  # HdrHistogram significant figures of the run's histograms
SERIES_FIGURES = 2  # coarser ones for the charts over time: one per interval
PERCENTILES = (50, 95, 99)


def histogram(figures: int = FIGURES) -> HdrHistogram:
    return HdrHistogram(1, MAX_MICROSECONDS, figures)


def _record(target: HdrHistogram, milliseconds: float) -> None:
    target.record_value(min(max(round(milliseconds * 1000), 0), MAX_MICROSECONDS))


def percentiles(source: HdrHistogram) -> dict[int, float | None]:
    """p50/p95/p99 in milliseconds (None when empty)."""
    if source.get_total_count() == 0:
        return dict.fromkeys(PERCENTILES)
    return {p: round(source.get_value_at_percentile(p) / 1000, 2) for p in PERCENTILES}


def encode(source: HdrHistogram) -> str:
    return source.encode().decode("ascii")


def _add(target: HdrHistogram, encoded: str) -> None:
    target.decode_and_add(encoded.encode("ascii"))


@dataclass
class Tally:
    """Counters and latencies of one endpoint, or of one interval of the run."""

    figures: int = FIGURES
    requests: int = 0
    answered: int = 0
    throttled: int = 0
    failed: int = 0
    offered: int = 0
    dropped: int = 0
    completed: int = 0
    service: HdrHistogram = field(init=False)
    intended: HdrHistogram = field(init=False)

    COUNTERS = ("requests", "answered", "throttled", "failed", "offered", "dropped", "completed")

    def __post_init__(self) -> None:
        self.service, self.intended = histogram(self.figures), histogram(self.figures)

    def request(self, *, service_ms: float, lag_ms: float | None, answered: bool, throttled: bool,
                failed: bool) -> None:
        self.requests += 1
        self.throttled += throttled
        self.failed += failed
        if answered and not throttled:
            self.answered += 1
            _record(self.service, service_ms)
            if lag_ms is not None:
                _record(self.intended, service_ms + lag_ms)

    def export(self) -> dict[str, Any]:
        data: dict[str, Any] = {name: getattr(self, name) for name in self.COUNTERS}
        data["service"], data["intended"] = encode(self.service), encode(self.intended)
        return data

    def merge(self, data: dict[str, Any]) -> None:
        """Add an export of another tally (from a worker): counters sum, histograms add exactly."""
        for name in self.COUNTERS:
            setattr(self, name, getattr(self, name) + int(data.get(name, 0)))
        _add(self.service, data["service"])
        _add(self.intended, data["intended"])

    def add(self, other: Tally) -> None:
        for name in self.COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.service.add(other.service)
        self.intended.add(other.intended)


@dataclass
class ProcessTally:
    """What one load-generating process contributed (for the summary's per-process view)."""

    offered: int = 0
    dropped: int = 0
    completed: int = 0
    samples: dict[str, int] = field(default_factory=dict)
    window: tuple[float, float] | None = None  # when it offered arrivals (wall clock)

    @property
    def seconds(self) -> float | None:
        return _span(self.window)


def _span(window: tuple[float, float] | None) -> float | None:
    return max(window[1] - window[0], 0.0) if window else None


def _widen(window: tuple[float, float] | None, started: float, until: float) -> tuple[float, float]:
    return (min(started, window[0]), max(until, window[1])) if window else (started, until)


class Recorder:
    """One process's figures since its last export (worker), or the whole run's (master, local)."""

    def __init__(self, interval: int = 1) -> None:
        self.interval = interval
        self.label = "local"
        self._reset()
        self.processes: dict[str, ProcessTally] = {}

    def _reset(self) -> None:
        self.endpoints: dict[str, Tally] = defaultdict(Tally)
        self.series: dict[int, Tally] = defaultdict(lambda: Tally(SERIES_FIGURES))
        self.window: tuple[float, float] | None = None  # when this process offered arrivals, open model only

    def _bucket(self, at: float) -> Tally:
        return self.series[int(at // self.interval) * self.interval]

    def request(self, name: str, *, at: float, service_ms: float, lag_ms: float | None, answered: bool,
                failed: bool) -> None:
        """One finished request, as Locust's request event reports it."""
        base = THROTTLED_SUFFIX.sub("", name)
        throttled = base != name
        for tally in (self.endpoints[base], self._bucket(at)):
            tally.request(service_ms=service_ms, lag_ms=lag_ms, answered=answered, throttled=throttled,
                          failed=failed)

    def arrival(self, endpoint: str, *, due: float, dropped: bool) -> None:
        for tally in (self.endpoints[endpoint], self._bucket(due)):
            tally.offered += 1
            tally.dropped += dropped

    def completed(self, endpoint: str, *, at: float) -> None:
        for tally in (self.endpoints[endpoint], self._bucket(at)):
            tally.completed += 1

    def offering(self, started: float, until: float) -> None:
        """The arrivals were offered from ``started`` to ``until`` (wall-clock seconds)."""
        self.window = _widen(self.window, started, until)

    def export(self) -> dict[str, Any]:
        """Everything since the last export, msgpack- and JSON-safe; then start afresh."""
        data = {"label": self.label, "window": list(self.window) if self.window else None,
                "endpoints": {name: tally.export() for name, tally in self.endpoints.items()},
                "series": {str(start): tally.export() for start, tally in self.series.items()}}
        self._reset()
        return data

    def merge(self, data: dict[str, Any]) -> None:
        """Add an export (of a worker) to these figures: histograms add up exactly."""
        for name, tally in data["endpoints"].items():
            self.endpoints[name].merge(tally)
        for start, tally in data["series"].items():
            self.series[int(start)].merge(tally)
        if data["window"]:
            self.offering(*data["window"])
        if not data["endpoints"]:
            return  # nothing measured yet (a worker reporting before the test started)
        process = self.processes.setdefault(data["label"], ProcessTally())
        if data["window"]:
            process.window = _widen(process.window, *data["window"])
        for name, tally in data["endpoints"].items():
            process.offered += tally["offered"]
            process.dropped += tally["dropped"]
            process.completed += tally["completed"]
            process.samples[name] = process.samples.get(name, 0) + tally["answered"]

    @property
    def offered_seconds(self) -> float | None:
        """From the first process's start of offering to the last one's end (processes may start apart)."""
        return _span(self.window)
