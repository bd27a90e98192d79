"""Load profiles of the Akol auth API.

    locust -f load/locustfile.py --headless -u 20 -r 5 -t 1m LoginUser
    locust -f load/locustfile.py --host https://staging.example --accounts-file accounts.csv \
        --pats-file pats.txt --p95-ms 300 --max-fail-ratio 0.01 SessionUser PatUser

    # open model: 50 arrivals a second whatever the answers do, p95 from the intended start
    locust -f load/locustfile.py --headless -t 2m LoginUser --arrival-rate 50 --p95-ms login=300

Profiles: LoginUser, RefreshUser, SessionUser, PatUser (see their modules). Without --host
the reference fake is started on a free loopback port, provisioned, and stopped at exit.
Every run writes reports/load-summary.json (--summary-file) and an HTML load report beside
it (--report-file); add Locust's own ``--html reports/load.html --csv reports/load`` for its
reports. Exit code 3: a gate (--p95-ms per endpoint, --max-fail-ratio, --max-drop-ratio) was
exceeded; 5: inconclusive (the rate limiter answered more than --max-throttle-ratio, or too
few answered requests for a percentile); the log names the gate, the figure and the fixes.
For the knee, run the same profiles through load/stepfile.py. Installed: ``akol-load ...``.
"""
from __future__ import annotations

from locust import events

from akol_load._hooks import register
from akol_load.login_user import LoginUser
from akol_load.pat_user import PatUser
from akol_load.refresh_user import RefreshUser
from akol_load.session_user import SessionUser

register(events)

__all__ = ["LoginUser", "PatUser", "RefreshUser", "SessionUser"]
