"""Locust event listeners: options, target set-up, sharing accounts out, gates and the summary.

Distributed runs: only the master (or the single local process) starts the fake, reads the
accounts and provisions; at test start it sends each worker a disjoint share of the
accounts and, in an arrival-rate run, its share of the arrivals (a custom message, ahead of
the spawn message on the same channel). Workers report which user got which account, and
their measurements (HdrHistograms), with their stats. When the test stops, the master asks
every worker to stop its users and send its last figures, and waits for them: Locust itself
waits only half a second for the workers' last reports, and a gate must not judge a run
whose last seconds went missing. The master then judges the gates and writes the summary
and the HTML report.
"""
from __future__ import annotations

import atexit
import logging
import math
import sys
import time
from dataclasses import asdict
from functools import partial
from typing import Any

import gevent
from locust import log as locust_log
from locust.env import Environment
from locust.event import Events
from locust.runners import MasterRunner, Runner, WorkerRunner

from akol_conformance.client import Account
from akol_load._arrivals import Arrivals
from akol_load._context import LoadContext, attach, find
from akol_load._fake import FakeStartError, start_fake
from akol_load._gates import evaluate, verdict
from akol_load._options import LoadSettings, add_arguments
from akol_load._pool import AccountsError, Claim, partition, read_accounts_csv, read_pats
from akol_load._provision import control_over, http_client, provision, provisioner
from akol_load._report import render
from akol_load._schedule import Schedule, Stage
from akol_load._step import StepShape
from akol_load._summary import build, write, write_json
from akol_load._terminal import table

logger = logging.getLogger("akol.load")
# httpx logs every provisioning request at INFO; only its warnings matter here.
logging.getLogger("httpx").setLevel(logging.WARNING)
SHARE_MESSAGE = "akol_load_share"
CLAIMS_KEY = "akol_load_claims"
RECORD_KEY = "akol_load_record"
FINISH_MESSAGE = "akol_load_finish"  # master -> worker: stop your users, send your last figures
FINAL_MESSAGE = "akol_load_final"  # worker -> master: the last figures
FINAL_GRACE_SECONDS = 15.0  # beyond --stop-timeout, how long the master waits for them
CHART_POINTS = 300  # the charts' intervals: one second, or longer so a long run has at most this many
_registered = False


def register(events: Events) -> None:
    """Hook the profiles into Locust; idempotent (locustfile.py and stepfile.py both call it)."""
    global _registered
    if _registered:
        return
    _registered = True
    events.init_command_line_parser.add_listener(add_arguments)
    events.init.add_listener(_on_init)
    events.test_start.add_listener(_on_test_start)
    events.test_stopping.add_listener(_on_test_stopping)
    events.quitting.add_listener(_on_quitting)


def _on_init(environment: Environment, runner: Runner, **_: Any) -> None:
    try:
        settings = LoadSettings.from_options(environment.parsed_options)
    except ValueError as exc:
        logger.error("%s", exc)
        sys.exit(1)
    context = attach(environment, LoadContext(settings))
    environment.events.request.add_listener(partial(_record, context))
    if isinstance(runner, WorkerRunner):
        runner.register_message(SHARE_MESSAGE, lambda environment, msg, **_: _receive_share(context, msg.data))
        runner.register_message(FINISH_MESSAGE, lambda environment, msg, **_: _finish(runner, context))
        environment.events.report_to_master.add_listener(lambda client_id, data: data.update(_report(context)))
        return
    if isinstance(runner, MasterRunner):
        environment.events.worker_report.add_listener(lambda client_id, data: _worker_report(context, data))
        runner.register_message(FINAL_MESSAGE, lambda environment, msg, **_: _final(context, msg.node_id, msg.data))
    environment.events.quit.add_listener(lambda **_: context.fake.stop() if context.fake else None)
    try:
        if settings.schedule is not None:
            _open_model(environment, settings)
        _prepare(environment, context)
    except (FakeStartError, AccountsError, ValueError) as exc:
        logger.error("%s", exc)
        if context.fake is not None:
            context.fake.stop()
        sys.exit(1)


def _record(load: LoadContext, *, name: str, response_time: float, exception: BaseException | None,
            context: dict[str, Any] | None = None, response: Any = None, **_: Any) -> None:
    """Locust's request event, into this process's recorder: an answer is any HTTP status (0: none)."""
    load.recorder.request(name, at=time.time(), service_ms=float(response_time or 0.0),
                          lag_ms=(context or {}).get("akol_lag_ms"), failed=exception is not None,
                          answered=bool(getattr(response, "status_code", 0)))


def _report(context: LoadContext) -> dict[str, Any]:
    """A worker's figures since its last report."""
    return {CLAIMS_KEY: [asdict(c) for c in context.pool.unreported_claims()], RECORD_KEY: context.recorder.export()}


def _worker_report(context: LoadContext, data: dict[str, Any]) -> None:
    context.claims.extend(Claim(**c) for c in data.get(CLAIMS_KEY, ()))
    if RECORD_KEY in data:
        context.run.merge(data[RECORD_KEY])


def _finish(runner: WorkerRunner, context: LoadContext) -> None:
    """Worker: stop the users (gracefully within --stop-timeout), then send everything not yet reported."""
    runner.stop()
    runner.send_message(FINAL_MESSAGE, _report(context))


def _final(context: LoadContext, worker: str, data: dict[str, Any]) -> None:
    _worker_report(context, data)
    context.awaiting.discard(worker)


def _await_finals(environment: Environment, runner: MasterRunner, context: LoadContext) -> None:
    """Master, as the test stops: ask the workers for their last figures and wait for them (bounded)."""
    if not context.awaiting:
        return
    for worker in context.awaiting:
        runner.send_message(FINISH_MESSAGE, None, client_id=worker)
    patience = (environment.stop_timeout or 0) + FINAL_GRACE_SECONDS
    deadline = time.monotonic() + patience
    while context.awaiting and time.monotonic() < deadline:
        gevent.sleep(0.05)
    if context.awaiting:
        logger.error("%d worker(s) sent no final figures within %g s: the summary misses their last seconds",
                     len(context.awaiting), patience)


def _open_model(environment: Environment, settings: LoadSettings) -> None:
    """An arrival-rate run: --max-in-flight users serve the arrivals, all spawned at once."""
    options = environment.parsed_options
    if environment.shape_class is not None:
        raise ValueError("an arrival-rate run sets its own pace: load/stepfile.py (a shape of user counts) does not "
                         "combine with --arrival-rate/--arrival-stages; use load/locustfile.py")
    if settings.think_time > 0:
        raise ValueError("--think-time paces a closed loop; an arrival-rate run is paced by its schedule: "
                         "drop --think-time or --arrival-rate/--arrival-stages")
    if options is None:
        return
    if options.num_users not in (None, settings.max_in_flight):
        logger.info("arrival-rate run: -u %s is ignored; --max-in-flight %d users serve the arrivals",
                    options.num_users, settings.max_in_flight)
    options.num_users = options.spawn_rate = settings.max_in_flight
    seconds = settings.schedule.seconds if settings.schedule else None
    if seconds is not None and not options.run_time:
        options.run_time = math.ceil(seconds) + 1  # the stages, and a second for the last arrivals to finish
        logger.info("arrival stages last %g s: the run stops after %d s (-t overrides)", seconds, options.run_time)


def _prepare(environment: Environment, context: LoadContext) -> None:
    """Start the fake when there is no --host, then gather (or provision) accounts and PATs."""
    settings = context.settings
    needs_account = any(getattr(c, "needs_account", False) for c in environment.user_classes)
    needs_pat = any(getattr(c, "needs_pat", False) for c in environment.user_classes)
    if not environment.host:
        if settings.accounts_file or settings.pat or settings.pats_file:
            raise AccountsError("--accounts-file, --pat and --pats-file are for a real --host; without --host "
                                "the load runs against an auto-started fake that provisions its own")
        context.fake = start_fake(hash_iterations=settings.fake_hash_iterations)
        atexit.register(context.fake.stop)
        environment.host = context.fake.url
        if environment.parsed_options is not None:
            environment.parsed_options.host = context.fake.url
        logger.info("no --host: started akol-fake (pid %d) at %s; it stops when Locust exits",
                    context.fake.pid, context.fake.url)
    host = environment.host
    assert host
    accounts = read_accounts_csv(settings.accounts_file) if settings.accounts_file else []
    pats = read_pats(settings.pat, settings.pats_file)
    if settings.accounts_file is None and (needs_account or (needs_pat and not pats)):
        with http_client(host) as http:
            control = control_over(http)
            if control is None:
                raise AccountsError(
                    f"{host} does not speak the test-control protocol (GET /__test__/clock is not 200), so "
                    "no accounts can be provisioned: pass --accounts-file CSV (email,password[,totp_secret])"
                    + (" and --pat TOKEN or --pats-file FILE" if needs_pat and not pats else ""))
            upfront = int(getattr(environment.parsed_options, "num_users", 0) or 0) if needs_account else 0
            accounts, provisioned_pats = provision(control, upfront)
        pats = pats or provisioned_pats
        context.provisioning = True
    if needs_account and not accounts and not context.provisioning:
        raise AccountsError(f"--accounts-file {settings.accounts_file} holds no account rows")
    if needs_account and settings.schedule is not None and not context.provisioning \
            and len(accounts) < settings.max_in_flight:
        raise AccountsError(f"--max-in-flight {settings.max_in_flight} needs as many accounts (each user serving "
                            f"arrivals keeps its own), but --accounts-file has {len(accounts)}: add rows or lower "
                            "--max-in-flight")
    if needs_pat and not pats:
        raise AccountsError("PatUser needs a personal access token: pass --pat TOKEN or --pats-file FILE")
    context.accounts, context.pats = accounts, pats
    logger.info("target %s: %d accounts%s, %d PATs", host, len(accounts),
                " (more are provisioned on demand)" if context.provisioning else "", len(pats))


def _chart_interval(environment: Environment) -> int:
    run_time = getattr(environment.parsed_options, "run_time", None)
    return max(1, math.ceil(run_time / CHART_POINTS)) if run_time else 5


def _schedule_message(schedule: Schedule | None) -> dict[str, Any] | None:
    if schedule is None:
        return None
    return {"rate": schedule.rate, "stages": [[s.seconds, s.target] for s in schedule.stages]}


def _start_recording(context: LoadContext, label: str, interval: int, schedule: dict[str, Any] | None,
                     share: int, shares: int) -> None:
    """This process's recorder, and (open model) its scheduler for every ``shares``-th arrival."""
    context.recorder.label, context.recorder.interval = label, interval
    context.run.interval = interval
    context.arrivals = None if schedule is None else Arrivals(
        Schedule(schedule["rate"], tuple(Stage(*s) for s in schedule["stages"])), context.recorder,
        share=share, shares=shares)


def _on_test_start(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    context = find(environment)
    if isinstance(runner, WorkerRunner) or context is None:
        return
    host = environment.host or ""
    interval = _chart_interval(environment)
    schedule = _schedule_message(context.settings.schedule)
    if not isinstance(runner, MasterRunner):
        context.pool.load(context.accounts, context.pats, provisioner(host) if context.provisioning else None,
                          "local")
        _start_recording(context, "local", interval, schedule, 0, 1)
        return
    context.run.interval = interval
    workers = sorted(runner.clients.ready + runner.clients.spawning + runner.clients.running,
                     key=lambda worker: runner.get_worker_index(worker.id))
    if not workers:
        return  # Locust refuses to start without workers; nothing to share out
    context.processes = len(workers)
    context.awaiting = {worker.id for worker in workers}
    shares = partition(context.accounts, len(workers))
    for position, (worker, share) in enumerate(zip(workers, shares, strict=True)):
        runner.send_message(SHARE_MESSAGE, {"accounts": [asdict(a) for a in share], "pats": context.pats,
                                            "provision": context.provisioning, "host": host,
                                            "label": f"w{position}", "interval": interval, "schedule": schedule,
                                            "share": position, "shares": len(workers)}, client_id=worker.id)
    logger.info("shared %d accounts out to %d workers (disjoint shares)", len(context.accounts), len(workers))


def _receive_share(context: LoadContext, data: dict[str, Any]) -> None:
    context.pool.load([Account(**a) for a in data["accounts"]], data["pats"],
                      provisioner(data["host"]) if data["provision"] else None, data["label"])
    _start_recording(context, data["label"], data["interval"], data["schedule"], data["share"], data["shares"])


def _on_test_stopping(environment: Environment, **_: Any) -> None:
    """Before Locust stops the users: no arrival falls due (and is dropped) while they are being stopped;
    the master collects every worker's last figures."""
    context = find(environment)
    if context is None:
        return
    if context.arrivals is not None:
        context.arrivals.stop()
    if isinstance(environment.runner, MasterRunner):
        _await_finals(environment, environment.runner, context)


def _on_quitting(environment: Environment, **_: Any) -> None:
    """Master or local process only: judge the gates, set the exit code, write the summary."""
    runner = environment.runner
    context = find(environment)
    if runner is None or isinstance(runner, WorkerRunner) or context is None:
        return
    settings = context.settings
    if not isinstance(runner, MasterRunner):
        context.claims = list(context.pool.claims)
        context.run.merge(context.recorder.export())
    gates = evaluate(context.run.endpoints, settings)
    for gate in gates:
        (logger.info if gate.passed else logger.error)("%s", gate.describe())
    judged = verdict(gates)
    if judged.exit_code is not None:
        environment.process_exit_code = judged.exit_code
    elif settings.max_fail_ratio is not None and not runner.exceptions:
        environment.process_exit_code = 0  # failures within the allowed ratio do not fail the run
    shape = environment.shape_class
    open_model = None if settings.schedule is None else \
        {"schedule": settings.schedule.describe(), "max_in_flight": settings.max_in_flight}
    summary = build(
        stats=runner.stats, run=context.run, host=environment.host,
        auto_started_pid=context.fake.pid if context.fake else None,
        profiles=[c.__name__ for c in environment.user_classes],
        processes=context.processes, started=context.started, gates=gates, verdict=judged,
        exit_code=_expected_exit_code(environment, runner), claims=context.claims,
        step=shape.report() if isinstance(shape, StepShape) else None, open_model=open_model)
    write_json(settings.summary_file, summary)
    write(settings.report_file, render(summary, context.run.series, context.run.interval))
    logger.info("Akol load summary\n%s", table(summary))
    (logger.info if judged.status == "passed" else logger.error)(
        "verdict: %s%s", judged.status, f" ({judged.reason})" if judged.reason else "")
    logger.info("load summary written to %s, HTML report to %s", settings.summary_file, settings.report_file)


def _expected_exit_code(environment: Environment, runner: Runner) -> int:
    """What locust.main's shutdown() will exit with, computed the same way."""
    if environment.process_exit_code is not None:
        return int(environment.process_exit_code)
    if runner.errors or runner.exceptions:
        return int(getattr(environment.parsed_options, "exit_code_on_error", 1))
    return 2 if locust_log.unhandled_greenlet_exception else 0
