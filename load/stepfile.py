"""The profiles of load/locustfile.py under StepShape, to find the knee.

    locust -f load/stepfile.py --headless LoginUser --step-users 10 --step-seconds 15 \
        --step-max-users 200 --step-p95-ms 250 --step-max-fail-ratio 0.01

Users rise by --step-users every --step-seconds; the run stops at the first step whose p95
or failure ratio crosses its bound (or after --step-max-users). The highest passing step is
logged ("knee: ...") and written under ``step`` in load-summary.json.
"""
from __future__ import annotations

from akol_load._step import StepShape
from akol_load.locustfile import LoginUser, PatUser, RefreshUser, SessionUser

__all__ = ["LoginUser", "PatUser", "RefreshUser", "SessionUser", "StepShape"]
