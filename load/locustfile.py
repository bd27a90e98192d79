"""Load profiles of the Akol auth API.

    locust -f load/locustfile.py --headless -u 20 -r 5 -t 1m LoginUser
    locust -f load/locustfile.py --host https://staging.example --accounts-file accounts.csv \
        --pats-file pats.txt --p95-ms 300 --max-fail-ratio 0.01 SessionUser PatUser

Profiles: LoginUser, RefreshUser, SessionUser, PatUser (see their modules). Without --host
the reference fake is started on a free loopback port, provisioned, and stopped at exit.
Every run writes reports/load-summary.json (--summary-file); add Locust's own
``--html reports/load.html --csv reports/load`` for its reports. Exit code 3 means a gate
(--p95-ms, --max-fail-ratio) was exceeded; the log names it with the observed figure.
For the knee, run the same profiles through load/stepfile.py.
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
