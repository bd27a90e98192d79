"""The custom command-line options of the load profiles, and their typed view."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_SUMMARY = "reports/load-summary.json"


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
    option("--p95-ms", env_var="AKOL_LOAD_P95_MS", type=float, default=None,
           help="gate: exit non-zero when the whole run's aggregate p95 exceeds this (ms)")
    option("--max-fail-ratio", env_var="AKOL_LOAD_MAX_FAIL_RATIO", type=float, default=None,
           help="gate: exit non-zero when the whole run's failure ratio exceeds this (0-1)")
    option("--think-time", env_var="AKOL_LOAD_THINK_TIME", type=float, default=0.0,
           help="mean seconds a user waits between tasks (default 0: closed loop)")
    option("--replay-every", env_var="AKOL_LOAD_REPLAY_EVERY", type=int, default=10,
           help="RefreshUser: replay the rotated refresh token after every Nth rotation (0: never)")
    option("--summary-file", env_var="AKOL_LOAD_SUMMARY_FILE", default=DEFAULT_SUMMARY,
           help=f"where the JSON summary goes (default {DEFAULT_SUMMARY})")
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
    p95_ms: float | None
    max_fail_ratio: float | None
    think_time: float
    replay_every: int
    summary_file: Path
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

        return cls(
            accounts_file=path(options.accounts_file),
            pat=options.pat or None,
            pats_file=path(options.pats_file),
            throttle_is_failure=bool(options.throttle_is_failure),
            p95_ms=options.p95_ms,
            max_fail_ratio=options.max_fail_ratio,
            think_time=float(options.think_time),
            replay_every=int(options.replay_every),
            summary_file=Path(options.summary_file),
            fake_hash_iterations=int(options.fake_hash_iterations),
            step_users=int(options.step_users),
            step_seconds=float(options.step_seconds),
            step_max_users=int(options.step_max_users),
            step_p95_ms=float(options.step_p95_ms),
            step_max_fail_ratio=float(options.step_max_fail_ratio),
        )
