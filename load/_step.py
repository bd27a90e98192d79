"""StepShape: users rise in steps until a step's p95 or failure ratio crosses its bound (the knee)."""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

from locust import LoadTestShape
from locust.stats import StatsEntry, calculate_response_time_percentile, diff_response_time_dicts

from akol_load._context import context_of
from akol_load._options import LoadSettings

logger = logging.getLogger("akol.load")
# The first quarter of each step (users still spawning, connections opening) is not judged.
WARMUP_FRACTION = 0.25


@dataclass(frozen=True)
class Snapshot:
    requests: int
    failures: int
    response_times: dict[int, int]

    @classmethod
    def of(cls, total: StatsEntry) -> Snapshot:
        return cls(total.num_requests, total.num_failures, dict(total.response_times))


@dataclass(frozen=True)
class StepResult:
    users: int
    requests: int
    failures: int
    p95: float | None
    failRatio: float | None
    passed: bool
    reason: str

    @classmethod
    def judge(cls, users: int, before: Snapshot, after: Snapshot, settings: LoadSettings) -> StepResult:
        requests = after.requests - before.requests
        failures = after.failures - before.failures
        if requests <= 0:
            return cls(users, 0, 0, None, None, False, "no requests completed in the step")
        times = diff_response_time_dicts(after.response_times, before.response_times)
        p95 = float(calculate_response_time_percentile(times, requests, 0.95))
        ratio = failures / requests
        problems = []
        if p95 > settings.step_p95_ms:
            problems.append(f"p95 {p95:g} ms > {settings.step_p95_ms:g} ms")
        if ratio > settings.step_max_fail_ratio:
            problems.append(f"failure ratio {ratio:.4f} > {settings.step_max_fail_ratio:g}")
        reason = "; ".join(problems) or f"p95 {p95:g} ms, failure ratio {ratio:.4f} within bounds"
        return cls(users, requests, failures, p95, round(ratio, 6), not problems, reason)


class StepShape(LoadTestShape):
    """+--step-users every --step-seconds up to --step-max-users; stops at the first failing step.

    Select it with ``locust -f load/stepfile.py <Profile>``; the highest passing step goes to
    the log and to ``step`` in load-summary.json.
    """

    def __init__(self) -> None:
        super().__init__()
        self._reset()

    def reset_time(self) -> None:
        super().reset_time()
        self._reset()  # a (re)started test starts from step 0

    def _reset(self) -> None:
        self.results: list[StepResult] = []
        self._step = -1
        self._start: Snapshot | None = None
        self._warm: Snapshot | None = None
        self.stopped_because = "the run ended before the last step finished"

    def _users(self, step: int, settings: LoadSettings) -> int:
        return min((step + 1) * settings.step_users, settings.step_max_users)

    def tick(self) -> tuple[int, float] | None:
        assert self.runner is not None
        settings = context_of(self.runner.environment).settings
        total = self.runner.stats.total
        elapsed = self.get_run_time()
        step = int(elapsed // settings.step_seconds)
        if step > self._step:
            if self._step >= 0 and not self._finish_step(total, settings):
                return None
            self._step, self._start, self._warm = step, Snapshot.of(total), None
        elif self._warm is None and elapsed - step * settings.step_seconds >= WARMUP_FRACTION * settings.step_seconds:
            self._warm = Snapshot.of(total)
        return self._users(self._step, settings), float(max(settings.step_users, 1))

    def _finish_step(self, total: StatsEntry, settings: LoadSettings) -> bool:
        """Judge the step that just ended; False stops the test."""
        before = self._warm or self._start
        assert before is not None
        users = self._users(self._step, settings)
        result = StepResult.judge(users, before, Snapshot.of(total), settings)
        self.results.append(result)
        logger.info("step %d (%d users): %s: %s", len(self.results), users,
                    "passed" if result.passed else "FAILED", result.reason)
        if not result.passed:
            self.stopped_because = f"the step with {users} users failed: {result.reason}"
        elif users >= settings.step_max_users:
            self.stopped_because = f"reached --step-max-users {settings.step_max_users} with every step passing"
        else:
            return True
        logger.info("knee: highest passing step = %s; stopped because %s",
                    f"{self.highest_passing} users" if self.highest_passing else "none", self.stopped_because)
        return False

    @property
    def highest_passing(self) -> int | None:
        passing = [r.users for r in self.results if r.passed]
        return max(passing) if passing else None

    def report(self) -> dict[str, Any]:
        return {"highestPassingUsers": self.highest_passing, "stoppedBecause": self.stopped_because,
                "steps": [asdict(r) for r in self.results]}
