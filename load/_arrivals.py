"""The open model: arrivals fall due on a schedule, whatever earlier requests are doing.

Each process runs one scheduler greenlet. When an arrival is due, it picks a profile (in
proportion to this process's users of each) and one of its tasks (by the task weights), and
hands both to an idle user of that profile. The users are the ``--max-in-flight`` bound: when
none of that profile is idle the arrival is **dropped** and counted, never queued or skipped
(k6's dropped_iterations). A user that starts an arrival late carries the lateness (``lag``)
into the response time of every request of that arrival.
"""
from __future__ import annotations

import logging
import random
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import gevent
from gevent.event import AsyncResult
from locust.exception import StopUser

from akol_load._record import Recorder
from akol_load._schedule import Schedule

logger = logging.getLogger("akol.load")
Task = Callable[[Any], None]
F = TypeVar("F", bound=Callable[..., Any])


def counts_as(endpoint: str) -> Callable[[F], F]:
    """Arrivals of the decorated task are counted (offered, dropped, completed) under ``endpoint``."""
    def mark(task: F) -> F:
        task.arrival_endpoint = endpoint  # type: ignore[attr-defined]
        return task
    return mark


def endpoint_of(profile: type, task: Task) -> str:
    return getattr(task, "arrival_endpoint", None) or f"{profile.__name__}.{getattr(task, '__name__', 'task')}"


@dataclass(frozen=True)
class Ticket:
    task: Task
    endpoint: str
    due: float  # time.monotonic() when the arrival was due


class Arrivals:
    """One process's share of the schedule and its idle users."""

    def __init__(self, schedule: Schedule, recorder: Recorder, *, share: int = 0, shares: int = 1) -> None:
        self.schedule, self.recorder, self.share, self.shares = schedule, recorder, share, shares
        self._idle: dict[type, deque[tuple[Any, AsyncResult]]] = {}
        self._members: Counter[type] = Counter()
        self._greenlet: gevent.Greenlet | None = None
        self._started: tuple[float, float] | None = None  # (monotonic, wall clock) at the schedule's start
        self._next_due = float("inf")  # monotonic due time of the first arrival not yet handed out or dropped
        self._stopped = False

    def join(self, user: Any) -> None:
        """A user of this process serves arrivals from now on."""
        self._members[type(user)] += 1
        self._idle.setdefault(type(user), deque())

    def next_for(self, user: Any) -> Ticket:
        """Block until the scheduler hands ``user`` an arrival; the first user to wait starts the schedule."""
        slot: AsyncResult = AsyncResult()
        entry = (user, slot)
        self._idle[type(user)].append(entry)
        if self._greenlet is None and not self._stopped:
            # Spawned now, it runs after every user spawned in the same batch has become idle too.
            self._greenlet = gevent.spawn(self._run)
            self._greenlet.link_exception(lambda g: logger.error("the arrival scheduler stopped: %s", g.exception))
        try:
            ticket: Ticket | None = slot.get()
        finally:
            if not slot.ready():  # killed while idle (the test stopped): no arrival may go to it
                self._idle[type(user)].remove(entry)
        if ticket is None:
            raise StopUser()  # the schedule stopped; with --stop-timeout the busy users finish their arrival
        return ticket

    def stop(self) -> None:
        """No arrival falls due after this (the test is stopping)."""
        self._stopped = True
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
        self._close_window()
        for idle in self._idle.values():
            while idle:
                idle.popleft()[1].set(None)

    def _close_window(self) -> None:
        """The arrivals were offered up to now, or up to the first one the stop cut off before it was handled."""
        if self._started is not None:
            mono, wall = self._started
            end = min(time.monotonic(), self._next_due, mono + (self.schedule.seconds or float("inf")))
            self.recorder.offering(wall, wall + end - mono)

    def _run(self) -> None:
        mono, wall = self._started = (time.monotonic(), time.time())
        profiles = list(self._members)
        for offset in self.schedule.due(self.share, self.shares):
            self._next_due = mono + offset
            gevent.sleep(max(self._next_due - time.monotonic(), 0.0))  # also yields when behind
            if self._stopped:
                return
            profile = random.choices(profiles, weights=[self._members[p] for p in profiles])[0]
            task: Task = random.choice(profile.tasks)
            endpoint = endpoint_of(profile, task)
            idle = self._idle[profile]
            self.recorder.arrival(endpoint, due=wall + offset, dropped=not idle)
            if idle:
                _, slot = idle.popleft()
                slot.set(Ticket(task, endpoint, mono + offset))
        self._next_due = float("inf")
        self._close_window()
        logger.info("the arrival schedule (%s) has ended", self.schedule.describe())
