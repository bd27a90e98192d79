"""The arrival schedule of an open-model run: ``--arrival-rate R`` or ``--arrival-stages "30s:10,2m:50"``.

Arrival k (k = 1, 2, ...) is due when the integral of the rate reaches k, so a run of T seconds
offers floor(integral over [0, T]) arrivals. Stages ramp linearly (k6's ramping-arrival-rate):
each from the rate the previous one ended at (0 before the first) to its own target.
With S shares (worker processes), share i takes arrivals i+1, i+1+S, ...: the whole test
offers the rate asked for, not S times it.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


class ScheduleError(ValueError):
    """An --arrival-rate or --arrival-stages value that does not parse; the message shows the form."""


@dataclass(frozen=True)
class Stage:
    seconds: float
    target: float  # arrivals per second at the end of the stage


@dataclass(frozen=True)
class Schedule:
    """Either a constant ``rate`` (no end: the run's -t ends it) or ramping ``stages``."""

    rate: float | None = None
    stages: tuple[Stage, ...] = ()

    @property
    def seconds(self) -> float | None:
        """How long the schedule offers arrivals; None for a constant rate."""
        return sum(s.seconds for s in self.stages) if self.stages else None

    def describe(self) -> str:
        if self.rate is not None:
            return f"{self.rate:g}/s"
        return ", ".join(f"to {s.target:g}/s in {s.seconds:g} s" for s in self.stages)

    def due(self, share: int = 0, shares: int = 1) -> Iterator[float]:
        """Seconds after the start at which this share's arrivals are due, in order."""
        if not 0 <= share < shares:
            raise ValueError(f"share {share} of {shares}: expected 0 <= share < shares")
        if self.rate is not None:
            k = share + 1
            while True:  # a constant rate has no end of its own: the consumer stops with the test
                yield k / self.rate
                k += shares
        start, before, rate = 0.0, 0.0, 0.0  # stage start time, arrivals due before it, its start rate
        k = share + 1
        for stage in self.stages:
            inside = (rate + stage.target) * stage.seconds / 2
            while k <= before + inside:
                yield start + _time_into_stage(k - before, rate, stage)
                k += shares
            start, before, rate = start + stage.seconds, before + inside, stage.target


def _time_into_stage(count: float, rate: float, stage: Stage) -> float:
    """τ with rate·τ + (target − rate)·τ²/(2·D) = count: the due time of the count-th arrival of the stage."""
    slope = (stage.target - rate) / stage.seconds
    root = math.sqrt(max(rate * rate + 2 * slope * count, 0.0))
    denominator = rate + root
    return 2 * count / denominator if denominator > 0 else 0.0


def parse_rate(text: str) -> Schedule:
    try:
        rate = float(text)
    except ValueError:
        raise ScheduleError(f"--arrival-rate: expected arrivals per second (e.g. 50), got {text!r}") from None
    if not rate > 0 or math.isinf(rate):
        raise ScheduleError(f"--arrival-rate: expected a rate > 0 per second, got {text!r}")
    return Schedule(rate=rate)


def parse_stages(text: str) -> Schedule:
    """``"30s:10,2m:50,30s:0"``: DURATION:RATE stages, DURATION in ms, s (default), m or h."""
    stages: list[Stage] = []
    for number, part in enumerate(text.split(","), start=1):
        duration, _, target = part.strip().partition(":")
        match = _DURATION.match(duration.strip())
        try:
            rate = float(target)
        except ValueError:
            rate = -1.0
        if match is None or rate < 0 or math.isinf(rate) or not target.strip():
            raise ScheduleError(f"--arrival-stages: stage {number} {part.strip()!r} is not DURATION:RATE; expected "
                                "e.g. \"30s:10,2m:50,30s:0\" (ramp to 10/s over 30 s, to 50/s over 2 min, down to 0)")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        if seconds <= 0:
            raise ScheduleError(f"--arrival-stages: stage {number} {part.strip()!r} lasts no time; give it a duration")
        stages.append(Stage(seconds, rate))
    if not any(s.target > 0 for s in stages):
        raise ScheduleError(f"--arrival-stages {text!r} never offers an arrival: give some stage a rate > 0")
    return Schedule(stages=tuple(stages))
