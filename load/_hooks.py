"""Locust event listeners: options, target set-up, sharing accounts out, gates and the summary.

Distributed runs: only the master (or the single local process) starts the fake, reads the
accounts and provisions; at test start it sends each worker a disjoint share of the
accounts (a custom message, ahead of the spawn message on the same channel). Workers report
which user got which account with their stats; the master judges the gates and writes the
summary.
"""
from __future__ import annotations

import atexit
import logging
import sys
from dataclasses import asdict
from typing import Any

from locust import log as locust_log
from locust.env import Environment
from locust.event import Events
from locust.runners import MasterRunner, Runner, WorkerRunner

from akol_conformance.client import Account
from akol_load._context import LoadContext, attach, find
from akol_load._fake import FakeStartError, start_fake
from akol_load._gates import GATE_EXIT_CODE, evaluate
from akol_load._options import LoadSettings, add_arguments
from akol_load._pool import AccountsError, Claim, partition, read_accounts_csv, read_pats
from akol_load._provision import control_over, http_client, provision, provisioner
from akol_load._step import StepShape
from akol_load._summary import build, write

logger = logging.getLogger("akol.load")
# httpx logs every provisioning request at INFO; only its warnings matter here.
logging.getLogger("httpx").setLevel(logging.WARNING)
SHARE_MESSAGE = "akol_load_share"
CLAIMS_KEY = "akol_load_claims"
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
    events.quitting.add_listener(_on_quitting)


def _on_init(environment: Environment, runner: Runner, **_: Any) -> None:
    context = attach(environment, LoadContext(LoadSettings.from_options(environment.parsed_options)))
    if isinstance(runner, WorkerRunner):
        runner.register_message(SHARE_MESSAGE, lambda environment, msg, **_: _receive_share(context, msg.data))
        environment.events.report_to_master.add_listener(
            lambda client_id, data: data.update({CLAIMS_KEY: [asdict(c) for c in context.pool.unreported_claims()]}))
        return
    if isinstance(runner, MasterRunner):
        environment.events.worker_report.add_listener(
            lambda client_id, data: context.claims.extend(Claim(**c) for c in data.get(CLAIMS_KEY, ())))
    environment.events.quit.add_listener(lambda **_: context.fake.stop() if context.fake else None)
    try:
        _prepare(environment, context)
    except (FakeStartError, AccountsError) as exc:
        logger.error("%s", exc)
        if context.fake is not None:
            context.fake.stop()
        sys.exit(1)


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
    if needs_pat and not pats:
        raise AccountsError("PatUser needs a personal access token: pass --pat TOKEN or --pats-file FILE")
    context.accounts, context.pats = accounts, pats
    logger.info("target %s: %d accounts%s, %d PATs", host, len(accounts),
                " (more are provisioned on demand)" if context.provisioning else "", len(pats))


def _on_test_start(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    context = find(environment)
    if isinstance(runner, WorkerRunner) or context is None:
        return
    host = environment.host or ""
    if not isinstance(runner, MasterRunner):
        context.pool.load(context.accounts, context.pats, provisioner(host) if context.provisioning else None,
                          "local")
        return
    workers = sorted(runner.clients.ready + runner.clients.spawning + runner.clients.running,
                     key=lambda worker: runner.get_worker_index(worker.id))
    if not workers:
        return  # Locust refuses to start without workers; nothing to share out
    context.processes = len(workers)
    shares = partition(context.accounts, len(workers))
    for position, (worker, share) in enumerate(zip(workers, shares, strict=True)):
        runner.send_message(SHARE_MESSAGE, {"accounts": [asdict(a) for a in share], "pats": context.pats,
                                            "provision": context.provisioning, "host": host,
                                            "label": f"w{position}"}, client_id=worker.id)
    logger.info("shared %d accounts out to %d workers (disjoint shares)", len(context.accounts), len(workers))


def _receive_share(context: LoadContext, data: dict[str, Any]) -> None:
    context.pool.load([Account(**a) for a in data["accounts"]], data["pats"],
                      provisioner(data["host"]) if data["provision"] else None, data["label"])


def _on_quitting(environment: Environment, **_: Any) -> None:
    """Master or local process only: judge the gates, set the exit code, write the summary."""
    runner = environment.runner
    context = find(environment)
    if runner is None or isinstance(runner, WorkerRunner) or context is None:
        return
    settings = context.settings
    if not isinstance(runner, MasterRunner):
        context.claims = list(context.pool.claims)
    gates = evaluate(runner.stats.total, settings)
    for gate in gates:
        (logger.info if gate.passed else logger.error)("%s (aggregate of %d requests)", gate.describe(),
                                                         runner.stats.total.num_requests)
    if not all(gate.passed for gate in gates):
        environment.process_exit_code = GATE_EXIT_CODE
    elif settings.max_fail_ratio is not None and not runner.exceptions:
        environment.process_exit_code = 0  # failures within the allowed ratio do not fail the run
    shape = environment.shape_class
    summary = build(
        stats=runner.stats, host=environment.host, auto_started_pid=context.fake.pid if context.fake else None,
        profiles=[c.__name__ for c in environment.user_classes],
        processes=context.processes, started=context.started,
        gates=gates, exit_code=_expected_exit_code(environment, runner), claims=context.claims,
        step=shape.report() if isinstance(shape, StepShape) else None)
    write(settings.summary_file, summary)
    logger.info("load summary written to %s", settings.summary_file)


def _expected_exit_code(environment: Environment, runner: Runner) -> int:
    """What locust.main's shutdown() will exit with, computed the same way."""
    if environment.process_exit_code is not None:
        return int(environment.process_exit_code)
    if runner.errors or runner.exceptions:
        return int(getattr(environment.parsed_options, "exit_code_on_error", 1))
    return 2 if locust_log.unhandled_greenlet_exception else 0
