"""SIGTERM and SIGINT (a CI job cancelled or timed out) end the run like Ctrl-C: pytest unwinds,
the plugin writes the reports of what ran, and the clauses not judged say the run was cancelled.

Python's default SIGTERM ends the process on the spot, with no report at all.
"""
from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGTERM, signal.SIGINT)


def on_cancel(record: Callable[[str], None]) -> Callable[[], None]:
    """Make SIGTERM and SIGINT raise KeyboardInterrupt after ``record(signal name)``; returns
    what restores the previous handlers. A no-op off the main thread (signals go there)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: FrameType | None) -> None:
        record(signal.Signals(signum).name)
        raise KeyboardInterrupt(f"cancelled by {signal.Signals(signum).name}")

    for sig in SIGNALS:
        previous[sig] = signal.signal(sig, handler)

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore
