"""The custom command-line options of the load profiles, and their typed view."""
from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from akol_load._schedule import Schedule, ScheduleError, parse_rate, parse_stages

DEFAULT_SUMMARY = "reports/load-summary.json"
REPORT_NAME = "load-report.html"  # written beside the summary unless --report-file says otherwise
# Short names --p95-ms accepts for the API's endpoints ("login=500"); a full "METHOD /path" works too.
ENDPOINT_ALIASES = {"login": "POST /auth/login", "verify-2fa": "POST /auth/verify-2fa",
                    "refresh": "POST /auth/refresh", "logout": "POST /auth/logout", "agents": "GET /agents"}
_BRACKETED = re.compile(r" \[[^\]]*\]$")


def endpoint_of(name: str) -> str:
    """The HTTP endpoint of a request name: ``GET /agents [PAT]`` and ``GET /agents`` are both ``GET /agents``."""
    return _BRACKETED.sub("", name)


@dataclass(frozen=True)
class LatencyLimits:
    """``--p95-ms``: a limit (ms) per endpoint; ``default`` (a bare number) applies to every other one."""

    default: float | None = None
    per_endpoint: dict[str, float] = field(default_factory=dict)

    def limit_for(self, endpoint: str) -> float | None:
        return self.per_endpoint.get(endpoint, self.default)

    @classmethod
    def parse(cls, text: str) -> LatencyLimits:
        """``300`` (each endpoint), ``login=500,refresh=200``, or both (``300,login=500``)."""
        default: float | None = None
        limits: dict[str, float] = {}
        for part in (p.strip() for p in text.split(",")):
            key, equals, value = part.rpartition("=") if "=" in part else ("", "", part)
            try:
                number = float(value)
            except ValueError:
                number = -1.0
            if number <= 0:
                raise ValueError(f"--p95-ms: {part!r} is not a limit in ms; expected e.g. 300 (each endpoint) "
                                 f"or login=500,refresh=200")
            if not equals:
                default = number
                continue
            endpoint = ENDPOINT_ALIASES.get(key.strip(), key.strip())
            if endpoint not in ENDPOINT_ALIASES.values() and not re.fullmatch(r"[A-Z]+ /\S+", endpoint):
                raise ValueError(f"--p95-ms: unknown endpoint {key.strip()!r}; expected one of "
                                 f"{', '.join(ENDPOINT_ALIASES)} or a full name such as 'GET /agents'")
            limits[endpoint] = number
        return cls(default, limits)


def _checked(parse: Callable[[str], object]) -> Callable[[str], str]:
    """An argparse type that reports a bad value as Locust's usage error and keeps the text:
    Locust sends parsed options to its workers, so they must stay plain values."""
    def check(text: str) -> str:
        try:
            parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(re.sub(r"^--[\w-]+:? ", "", str(exc))) from None
        return text
    return check


def _ratio(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a ratio between 0 and 1, got {text!r}")
    return value


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def add_arguments(parser: Any) -> None:
    """Register the options on Locust's parser (``events.init_command_line_parser``)."""
    def option(*names: str, **kwargs: Any) -> None:
        # Read once at start-up into LoadSettings: the web UI must not offer to change them later.
        parser.add_argument(*names, include_in_web_ui=False, **kwargs)

    option("--accounts-file", env_var="AKOL_LOAD_ACCOUNTS_FILE", default=None,
           help="CSV of email,password[,totp_secret] rows for a real --host; each user gets an account "
                "no other user (in any process or worker) touches")
    option("--pat", env_var="AKOL_LOAD_PAT", default=None,
           help="a personal access token for PatUser on a real --host")
    option("--pats-file", env_var="AKOL_LOAD_PATS_FILE", default=None,
           help="file of personal access tokens, one per line, for PatUser")
    option("--throttle-is-failure", env_var="AKOL_LOAD_THROTTLE_IS_FAILURE", action="store_true", default=False,
           help="count 429/423 answers as failures (default: counted apart as throttled)")
    option("--p95-ms", env_var="AKOL_LOAD_P95_MS", type=_checked(LatencyLimits.parse), default=None,
           help="gate: p95 (ms) of answered, non-throttled requests, per endpoint: 300 (each endpoint) or "
                "login=500,refresh=200; in arrival-rate runs the response time from the intended start")
    option("--max-fail-ratio", env_var="AKOL_LOAD_MAX_FAIL_RATIO", type=_ratio, default=None,
           help="gate: exit non-zero when the whole run's failure ratio exceeds this (0-1)")
    option("--max-throttle-ratio", env_var="AKOL_LOAD_MAX_THROTTLE_RATIO", type=_ratio, default=0.2,
           help="when more of an endpoint's answers than this were 429/423, the run measured the rate limiter: "
                "its verdict is inconclusive (exit 5), not passed (default 0.2)")
    option("--arrival-rate", env_var="AKOL_LOAD_ARRIVAL_RATE", type=_checked(parse_rate), default=None,
           help="open model: arrivals per second for the whole test (split across processes and workers), "
                "each started on time whatever earlier requests are doing")
    option("--arrival-stages", env_var="AKOL_LOAD_ARRIVAL_STAGES", type=_checked(parse_stages), default=None,
           help='open model, ramping: "30s:10,2m:50,30s:0" ramps the arrival rate to 10/s over 30 s, to 50/s '
                "over 2 min, then down to 0 (the run ends with the stages unless -t says otherwise)")
    option("--max-in-flight", env_var="AKOL_LOAD_MAX_IN_FLIGHT", type=_at_least_one, default=100,
           help="open model: at most this many arrivals in progress at once (the users serving them; "
                "default 100); an arrival due when all are busy is dropped and counted")
    option("--max-drop-ratio", env_var="AKOL_LOAD_MAX_DROP_RATIO", type=_ratio, default=0.01,
           help="gate, open model: exit non-zero when more than this share of arrivals was dropped (default 0.01)")
    option("--think-time", env_var="AKOL_LOAD_THINK_TIME", type=float, default=0.0,
           help="mean seconds a user waits between tasks (default 0: closed loop)")
    option("--replay-every", env_var="AKOL_LOAD_REPLAY_EVERY", type=int, default=10,
           help="RefreshUser: replay the rotated refresh token after every Nth rotation (0: never)")
    option("--summary-file", env_var="AKOL_LOAD_SUMMARY_FILE", default=DEFAULT_SUMMARY,
           help=f"where the JSON summary goes (default {DEFAULT_SUMMARY})")
    option("--report-file", env_var="AKOL_LOAD_REPORT_FILE", default=None,
           help=f"where the HTML load report goes (default {REPORT_NAME} beside the summary)")
    option("--fake-hash-iterations", env_var="AKOL_LOAD_FAKE_HASH_ITERATIONS", type=int, default=1000,
           help="PBKDF2 rounds of the auto-started fake (no --host only)")
    option("--step-users", env_var="AKOL_LOAD_STEP_USERS", type=int, default=5,
           help="load/stepfile.py: users added per step")
    option("--step-seconds", env_var="AKOL_LOAD_STEP_SECONDS", type=float, default=10.0,
           help="load/stepfile.py: length of one step")
    option("--step-max-users", env_var="AKOL_LOAD_STEP_MAX_USERS", type=int, default=100,
           help="load/stepfile.py: stop after the step with this many users")
    option("--step-p95-ms", env_var="AKOL_LOAD_STEP_P95_MS", type=float, default=250.0,
           help="load/stepfile.py: a step fails when its p95 exceeds this (ms)")
    option("--step-max-fail-ratio", env_var="AKOL_LOAD_STEP_MAX_FAIL_RATIO", type=float, default=0.01,
           help="load/stepfile.py: a step fails when its failure ratio exceeds this")


@dataclass(frozen=True)
class LoadSettings:
    accounts_file: Path | None
    pat: str | None
    pats_file: Path | None
    throttle_is_failure: bool
    p95_ms: LatencyLimits | None
    max_fail_ratio: float | None
    max_throttle_ratio: float
    schedule: Schedule | None
    max_in_flight: int
    max_drop_ratio: float
    think_time: float
    replay_every: int
    summary_file: Path
    report_file: Path
    fake_hash_iterations: int
    step_users: int
    step_seconds: float
    step_max_users: int
    step_p95_ms: float
    step_max_fail_ratio: float

    @classmethod
    def from_options(cls, options: Any) -> LoadSettings:
        """Every field comes from ``add_arguments``, registered in every Locust process."""
        def path(value: str | None) -> Path | None:
            return Path(value) if value else None

        if options.arrival_rate and options.arrival_stages:
            raise ScheduleError("--arrival-rate and --arrival-stages are two ways to give the schedule: pass one")
        schedule = parse_rate(options.arrival_rate) if options.arrival_rate else \
            parse_stages(options.arrival_stages) if options.arrival_stages else None
        summary_file = Path(options.summary_file)
        return cls(
            accounts_file=path(options.accounts_file),
            pat=options.pat or None,
            pats_file=path(options.pats_file),
            throttle_is_failure=bool(options.throttle_is_failure),
            p95_ms=LatencyLimits.parse(options.p95_ms) if options.p95_ms else None,
            max_fail_ratio=options.max_fail_ratio,
            max_throttle_ratio=float(options.max_throttle_ratio),
            schedule=schedule,
            max_in_flight=int(options.max_in_flight),
            max_drop_ratio=float(options.max_drop_ratio),
            think_time=float(options.think_time),
            replay_every=int(options.replay_every),
            summary_file=summary_file,
            report_file=Path(options.report_file) if options.report_file else summary_file.with_name(REPORT_NAME),
            fake_hash_iterations=int(options.fake_hash_iterations),
            step_users=int(options.step_users),
            step_seconds=float(options.step_seconds),
            step_max_users=int(options.step_max_users),
            step_p95_ms=float(options.step_p95_ms),
            step_max_fail_ratio=float(options.step_max_fail_ratio),
        )
