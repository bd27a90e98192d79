"""Per-process state of a load run, hung on Locust's Environment."""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

from locust.env import Environment

from akol_conformance.client import Account
from akol_load._arrivals import Arrivals
from akol_load._fake import FakeServer
from akol_load._options import LoadSettings
from akol_load._pool import AccountPool, Claim
from akol_load._provision import TargetClock
from akol_load._record import Recorder

_ATTRIBUTE = "akol_load"


@dataclass
class LoadContext:
    settings: LoadSettings
    pool: AccountPool = field(default_factory=AccountPool)
    clock: TargetClock = field(default_factory=TargetClock)
    fake: FakeServer | None = None
    provisioning: bool = False
    # The whole run's accounts and PATs, held by the master (or local runner) that shares them out.
    accounts: list[Account] = field(default_factory=list, repr=False)
    pats: list[str] = field(default_factory=list, repr=False)
    # The master's (or local runner's) record of every user's account, from all processes.
    claims: list[Claim] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    processes: int = 1  # load-generating processes (workers, on a master)
    user_numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    # This process's measurements (a worker exports them with each report), and the whole run's (master, local).
    recorder: Recorder = field(default_factory=Recorder)
    run: Recorder = field(default_factory=Recorder)
    arrivals: Arrivals | None = None  # the open model's scheduler, in an arrival-rate run
    awaiting: set[str] = field(default_factory=set)  # master: workers whose final figures have not come yet


def attach(environment: Environment, context: LoadContext) -> LoadContext:
    setattr(environment, _ATTRIBUTE, context)
    return context


def find(environment: Environment) -> LoadContext | None:
    """The context, or None when the init hook has not made one (it failed, or another locustfile)."""
    context = getattr(environment, _ATTRIBUTE, None)
    return context if isinstance(context, LoadContext) else None


def context_of(environment: Environment) -> LoadContext:
    context = find(environment)
    if context is None:
        raise RuntimeError("the Akol load context is missing: run the profiles through load/locustfile.py "
                           "(or load/stepfile.py), whose init hook creates it")
    return context
