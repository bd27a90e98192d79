"""``akol-load [--step] [locust options] [Profile ...]``: the installed profiles, from any folder.

The same as ``locust -f <akol_load>/locustfile.py ...`` (``--step``: ``stepfile.py``, the knee
finder): every Locust option, the profiles' own options, and Locust's exit codes (plus 3 for a
failed gate and 5 for an inconclusive run). Without ``--host`` the reference fake is started.
"""
from __future__ import annotations

import sys
from pathlib import Path

STEP_FLAG = "--step"
LOCUSTFILE_FLAGS = ("-f", "--locustfile")


def locust_argv(args: list[str]) -> list[str]:
    """Locust's command line for ``akol-load ARGS``."""
    if any(a in LOCUSTFILE_FLAGS or a.startswith(("--locustfile=", "-f=")) for a in args):
        raise SystemExit("akol-load: -f/--locustfile is not an option here: akol-load runs the installed "
                         "profiles; run your own locustfile with `locust -f FILE`")
    folder = Path(__file__).resolve().parent
    locustfile = folder / ("stepfile.py" if STEP_FLAG in args else "locustfile.py")
    return ["akol-load", "-f", str(locustfile), *(a for a in args if a != STEP_FLAG)]


def main(argv: list[str] | None = None) -> int:
    sys.argv = locust_argv(sys.argv[1:] if argv is None else argv)
    # Imported late: importing locust monkey-patches the process.
    from locust import events
    from locust.main import main as locust_main

    from akol_load._hooks import register

    # Locust answers --help before it imports the locustfile: registered now, the profiles' own
    # options are in it (the locustfile's own register() is then a no-op).
    register(events)
    locust_main()  # exits with Locust's (or a gate's) exit code
    return 0


if __name__ == "__main__":
    sys.exit(main())
