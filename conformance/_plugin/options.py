"""Command-line options, environment variables and ini keys, resolved into one ``Settings``.

Precedence, for every option: command line > environment variable > ini key
(``[tool.pytest.ini_options]``, prefix ``akol_``) > default. The options with environment
variables are those of INTERFACE.md; an in-process run ignores every AKOL_* variable except
AKOL_TARGET and AKOL_MAX_DURATION, so CI settings and secrets meant for a remote run never
change what the reference fake is tested with.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from akol_conformance._plugin.baseline import Baseline, BaselineError
from akol_conformance._plugin.baseline import load as load_baseline
from akol_conformance.catalog import CLAUSES, FAMILIES
from akol_conformance.client import TotpSecretError, totp_key

INPROCESS = "inprocess"
DEFAULT_APP_FACTORY = "akol_fake:create_app"

# Credentials for targets without test control (INTERFACE.md), read only for remote targets.
PLAIN_VARS = ("AKOL_EMAIL", "AKOL_PASSWORD")
LOCKOUT_VARS = ("AKOL_LOCKOUT_EMAIL", "AKOL_LOCKOUT_PASSWORD")
LOCKOUT2_VARS = ("AKOL_LOCKOUT2_EMAIL", "AKOL_LOCKOUT2_PASSWORD")
TFA_VARS = ("AKOL_2FA_EMAIL", "AKOL_2FA_PASSWORD", "AKOL_2FA_TOTP_SECRET")
TFA2_VARS = ("AKOL_2FA2_EMAIL", "AKOL_2FA2_PASSWORD", "AKOL_2FA2_TOTP_SECRET")
LONG_PASSWORD_VARS = ("AKOL_LONG_PASSWORD_EMAIL", "AKOL_LONG_PASSWORD_PASSWORD")
PAT_VAR = "AKOL_PAT"
FOREIGN_TOKEN_VAR = "AKOL_FOREIGN_TOKEN"
# An account of the --foreign-target environment (TOTP secret only if it has 2FA): the suite mints
# a fresh foreign token itself, live at the target's clock, where a stored token would have expired.
FOREIGN_VARS = ("AKOL_FOREIGN_EMAIL", "AKOL_FOREIGN_PASSWORD", "AKOL_FOREIGN_TOTP_SECRET")
CREDENTIAL_VARS = (*PLAIN_VARS, *LOCKOUT_VARS, *LOCKOUT2_VARS, *TFA_VARS, *TFA2_VARS, *LONG_PASSWORD_VARS,
                   PAT_VAR, FOREIGN_TOKEN_VAR, *FOREIGN_VARS)

TEST_CONTROL_MODES = ("auto", "require", "off")


class Secrets(Mapping[str, str]):
    """Credential values by variable name; its repr and str name the variables, never a value
    (a truncated repr in a traceback once showed the tail of a password)."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._values = dict(values or {})

    def __getitem__(self, name: str) -> str:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Secrets({', '.join(f'{name}=***' for name in self._values)})"

    __str__ = __repr__


@dataclass(frozen=True)
class Settings:
    target: str
    foreign_target: str | None
    destructive: bool
    real_time: bool
    strict: bool
    skew: float
    max_lockout_attempts: int
    max_rate_attempts: int
    report_dir: Path
    clauses: tuple[str, ...]
    app_factory: str
    credentials: Secrets
    max_duration: float               # seconds for the whole run
    test_control: str                 # one of TEST_CONTROL_MODES
    baseline: Baseline | None = None  # --baseline: known failures

    @property
    def inprocess(self) -> bool:
        return self.target == INPROCESS

    def credential(self, name: str) -> str | None:
        return self.credentials.get(name) or None


@dataclass(frozen=True)
class _Option:
    name: str                       # dest and ini key suffix
    flags: tuple[str, ...]
    help: str
    env: str | None = None
    kind: str = "string"            # string | bool | list
    metavar: str | None = None
    # pytest itself owns --strict (it also turns on pytest's strict markers/config): reuse it.
    pytest_dest: str | None = None

    @property
    def dest(self) -> str:
        return self.pytest_dest or f"akol_{self.name}"


_OPTIONS: tuple[_Option, ...] = (
    _Option("target", ("--target",), "Base URL of the deployment (the suite appends /api/v1), "
            "or 'inprocess' for the reference fake in this process. Default: inprocess.",
            env="AKOL_TARGET", metavar="URL"),
    _Option("foreign_target", ("--foreign-target",), "Another environment of Akol, for ENV-01. "
            "Default: a second in-process fake with another key (in-process runs only).",
            env="AKOL_FOREIGN_TARGET", metavar="URL"),
    _Option("destructive", ("--destructive",), "Allow checks that lock an account or trip the IP "
            "rate limit of a remote target (always on in-process).", kind="bool"),
    _Option("real_time", ("--real-time",), "Without a test clock, wait real time for time-based "
            "checks (up to about 31 minutes).", kind="bool"),
    _Option("strict", ("--strict",), "SHOULD failures fail the run too.", kind="bool", pytest_dest="strict"),
    _Option("skew", ("--skew",), "Clock tolerance on every time-based check. Default: 30.",
            metavar="SECONDS"),
    _Option("max_lockout_attempts", ("--max-lockout-attempts",),
            "LOCK-01 fails if no 423 comes within N wrong passwords. Default: 10.", metavar="N"),
    _Option("max_rate_attempts", ("--max-rate-attempts",),
            "RATE-01 fails if no 429 comes within M attempts. Default: 200.", metavar="M"),
    _Option("report_dir", ("--report-dir",), "Where the reports go. Default: reports.", metavar="DIR"),
    _Option("clause", ("--clause",), "Run only this clause (e.g. LOCK-01) or family (e.g. LOCK); "
            "repeatable, comma-separated lists accepted.", kind="list", metavar="ID"),
    _Option("app_factory", ("--app-factory",), "The in-process app: module:callable, called as "
            f"callable(env=...) -> ASGI app. Default: {DEFAULT_APP_FACTORY}.", metavar="MODULE:CALLABLE"),
    _Option("test_control", ("--test-control",), "auto: use the /__test__/ protocol when the target "
            "has it; require: stop (exit 4) when it lacks it; off: never use it. Default: auto.",
            env="AKOL_TEST_CONTROL", metavar="auto|require|off"),
    _Option("max_duration", ("--max-duration",), "Budget for the whole run: clauses not judged "
            "within it are inconclusive (cause budget) and the reports are written. Default: 1800.",
            env="AKOL_MAX_DURATION", metavar="SECONDS"),
    _Option("baseline", ("--baseline",), "Known failures: a YAML/JSON file of clause, reason and optional "
            "expires (YYYY-MM-DD). Listed failures do not fail the run, new ones do; stale and expired "
            "entries are reported.", env="AKOL_BASELINE", metavar="FILE"),
)

_DEFAULTS: dict[str, Any] = {
    "target": INPROCESS, "foreign_target": None, "real_time": False, "strict": False,
    "skew": "30", "max_lockout_attempts": "10", "max_rate_attempts": "200",
    "report_dir": "reports", "clause": [], "app_factory": DEFAULT_APP_FACTORY,
    "test_control": "auto", "max_duration": "1800", "baseline": None,
}
# Options an in-process run still reads from the environment: they describe the run, not how
# a remote target is reached or tested.
_RUN_ENV = frozenset({"target", "max_duration", "baseline"})


# Packages pytest marks for assertion rewriting only because they ship a pytest plugin: the suite
# uses them as libraries, and rewriting them costs seconds of compiling on every run.
_LIBRARIES = ("hypothesis", "_hypothesis_pytestplugin", "schemathesis", "locust", "anyio", "akol_load", "akol_fake")


def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    must_rewrite = getattr(early_config.pluginmanager.rewrite_hook, "_must_rewrite", None)
    if isinstance(must_rewrite, set):
        must_rewrite.difference_update(_LIBRARIES)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the options once (the pytest11 entry point and conformance/conftest.py both call this)."""
    group = parser.getgroup("akol", "Akol conformance suite")
    if any("--target" in option.names() for option in group.options):
        return
    for opt in _OPTIONS:
        dest = opt.dest
        env_note = f" [env: {opt.env}]" if opt.env else ""
        if opt.pytest_dest:
            pass
        elif opt.kind == "bool":
            group.addoption(*opt.flags, dest=dest, action="store_true", default=None, help=opt.help)
        elif opt.kind == "list":
            group.addoption(*opt.flags, dest=dest, action="append", default=None,
                            metavar=opt.metavar, help=opt.help)
        else:
            group.addoption(*opt.flags, dest=dest, default=None, metavar=opt.metavar,
                            help=opt.help + env_note)
        if opt.kind != "list":
            if opt.kind == "bool":
                parser.addini(f"akol_{opt.name}", f"default for {opt.flags[0]}", type="bool", default=None)
            else:
                parser.addini(f"akol_{opt.name}", f"default for {opt.flags[0]}", type="string", default=None)


def _raw(config: pytest.Config, opt: _Option, env: Mapping[str, str], use_env: bool) -> tuple[Any, str]:
    """The winning raw value and where it came from (for error messages)."""
    cli = config.getoption(opt.dest, None)
    if cli is not None and cli is not False:
        return cli, opt.flags[0]
    if opt.env and use_env and env.get(opt.env):
        return env[opt.env], opt.env
    if opt.kind != "list":
        key = f"akol_{opt.name}"
        ini = config.getini(key)
        if ini not in (None, ""):
            return ini, f"ini {key}"
    return _DEFAULTS.get(opt.name), "default"


def _parse_url(value: str, source: str) -> str:
    url = value.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise pytest.UsageError(
            f"{source}={value!r} is not a URL: give the deployment's base URL with its scheme, "
            f"e.g. https://staging.akol.ai (or 'inprocess' for the reference fake)."
        )
    if parts.path.rstrip("/").endswith("/api/v1"):
        raise pytest.UsageError(
            f"{source}={value!r} ends in /api/v1: drop it, the suite appends /api/v1 itself "
            f"(use {url[: -len('/api/v1')]!r})."
        )
    if parts.query or parts.fragment:
        raise pytest.UsageError(f"{source}={value!r}: give a base URL without query or fragment.")
    return url


def _parse_number(value: Any, source: str, cast: Callable[[str], float | int], what: str) -> Any:
    try:
        number = cast(str(value).strip())
    except ValueError:
        raise pytest.UsageError(f"{source}={value!r} is not {what}: give e.g. "
                                f"{'30' if cast is float else '10'}.") from None
    if number < 0 or (cast is int and number == 0):
        raise pytest.UsageError(f"{source}={value!r} must be {'≥ 0' if cast is float else '≥ 1'}.")
    return number


def _parse_duration(value: Any, source: str) -> float:
    seconds = _parse_number(value, source, float, "a number of seconds")
    if seconds == 0:
        raise pytest.UsageError(f"{source}={value!r} must be > 0: give the run's budget in seconds, e.g. 1800.")
    return float(seconds)


def _parse_mode(value: Any, source: str) -> str:
    mode = str(value).strip().lower()
    if mode not in TEST_CONTROL_MODES:
        raise pytest.UsageError(f"{source}={value!r} is not a test-control mode: give one of "
                                f"{', '.join(TEST_CONTROL_MODES)}.")
    return mode


def _credentials(env: Mapping[str, str]) -> Secrets:
    """The AKOL_* credential variables that are set; a malformed TOTP secret is a usage error
    naming its variable (never its value)."""
    found = {name: env[name] for name in CREDENTIAL_VARS if env.get(name)}
    for name, value in found.items():
        if name.endswith("TOTP_SECRET"):
            try:
                totp_key(value)
            except TotpSecretError as exc:
                raise pytest.UsageError(
                    f"{name} is not a TOTP secret ({exc}): give the base32 secret the account's "
                    "authenticator was set up with (letters A-Z and digits 2-7; spaces and padding "
                    "are ignored).") from None
    return Secrets(found)


def _parse_clauses(values: list[str]) -> tuple[str, ...]:
    selected: list[str] = []
    for value in values:
        for token in filter(None, (t.strip().upper() for t in value.split(","))):
            if token in CLAUSES:
                ids = [token]
            elif token in FAMILIES:
                ids = [cid for cid, c in CLAUSES.items() if c.family == token]
            else:
                raise pytest.UsageError(
                    f"--clause {token!r} is no clause id or family. Give an id like LOCK-01 or a "
                    f"family: {', '.join(FAMILIES)}."
                )
            selected += [cid for cid in ids if cid not in selected]
    return tuple(selected)


def _parse_factory(value: str, source: str) -> str:
    module, sep, attr = value.partition(":")
    if not sep or not module.strip() or not attr.strip() or not all(
        p.isidentifier() for p in module.split(".") + attr.split(".")
    ):
        raise pytest.UsageError(f"{source}={value!r}: give module:callable, e.g. {DEFAULT_APP_FACTORY}.")
    return value


def _refuse_misread_report_dir(config: pytest.Config) -> None:
    # pytest looks for its configuration before any plugin can say that --report-dir takes a
    # value, so `--report-dir /existing/dir` makes it search that directory instead of this
    # project and run without testpaths; the `=` form is unambiguous.
    args = list(config.invocation_params.args)
    for flag, value in zip(args, args[1:]):
        if flag == "--report-dir" and config.inipath is None and Path(value).is_dir():
            raise pytest.UsageError(
                f"pytest took the directory of `--report-dir {value}` for a test path and lost this"
                f" project's configuration; write it as --report-dir={value}"
            )


def pytest_configure(config: pytest.Config) -> None:
    """Runs from the pytest11 entry point, before collection can go astray."""
    _refuse_misread_report_dir(config)


NOT_COLLECTED = ("no Akol conformance suite was collected here, so nothing was judged: run the installed "
                 "suite with `akol-conformance --target URL ...` (from any folder) or `pytest --pyargs "
                 "akol_conformance --target URL ...`; in a clone of the repository, run `pytest` from its root")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A run that asked for an Akol target but never loaded the suite (plain `pytest` in an empty
    folder after `pip install`) says how to run it, and fails, instead of exiting 5 in silence."""
    config = session.config
    asked = any(config.getoption(o.dest, None) not in (None, False, []) for o in _OPTIONS if not o.pytest_dest)
    if asked and not config.pluginmanager.has_plugin("akol-report-listener") and session.testscollected == 0:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"ERROR: {NOT_COLLECTED}", red=True)
        session.exitstatus = pytest.ExitCode.USAGE_ERROR


def resolve(config: pytest.Config, env: Mapping[str, str] | None = None) -> Settings:
    """Build the run's Settings; a malformed value raises pytest.UsageError naming the fix."""
    env = os.environ if env is None else env
    by_name = {o.name: o for o in _OPTIONS}

    raw_target, src = _raw(config, by_name["target"], env, use_env=True)
    target = INPROCESS if str(raw_target).strip().lower() == INPROCESS else _parse_url(str(raw_target), src)
    inprocess = target == INPROCESS

    def get(name: str) -> tuple[Any, str]:
        return _raw(config, by_name[name], env, use_env=not inprocess or name in _RUN_ENV)

    raw_foreign, src = get("foreign_target")
    foreign = _parse_url(str(raw_foreign), src) if raw_foreign else None
    destructive_raw, _ = get("destructive")
    skew, src = get("skew")
    lock, lock_src = get("max_lockout_attempts")
    rate, rate_src = get("max_rate_attempts")
    factory, factory_src = get("app_factory")
    budget, budget_src = get("max_duration")
    mode, mode_src = get("test_control")
    baseline_file = get("baseline")[0]
    return Settings(
        target=target,
        foreign_target=foreign,
        destructive=inprocess or bool(destructive_raw),
        real_time=bool(get("real_time")[0]),
        strict=bool(get("strict")[0]),
        skew=float(_parse_number(skew, src, float, "a number of seconds")),
        max_lockout_attempts=int(_parse_number(lock, lock_src, int, "a whole number")),
        max_rate_attempts=int(_parse_number(rate, rate_src, int, "a whole number")),
        report_dir=report_dir_of(config),
        clauses=_parse_clauses(list(get("clause")[0] or [])),
        app_factory=_parse_factory(str(factory), factory_src),
        credentials=Secrets() if inprocess else _credentials(env),
        max_duration=_parse_duration(budget, budget_src),
        test_control=_parse_mode(mode, mode_src),
        baseline=_load_baseline(config, baseline_file) if baseline_file else None,
    )


def _load_baseline(config: pytest.Config, value: str) -> Baseline:
    try:
        return load_baseline(Path(value) if Path(value).is_absolute() else config.invocation_params.dir / value,
                             shown=value)
    except BaselineError as exc:
        raise pytest.UsageError(str(exc)) from None


def raw_value(config: pytest.Config, name: str) -> str:
    """An option's value as given, unchecked: what an aborted run's report can still say."""
    option = next(o for o in _OPTIONS if o.name == name)
    return str(_raw(config, option, os.environ, use_env=True)[0])


def report_dir_of(config: pytest.Config) -> Path:
    """Where the reports go, read on its own: a run stopped by a usage error in another option
    still writes its (aborted) reports there."""
    return config.invocation_params.dir / Path(raw_value(config, "report_dir"))
