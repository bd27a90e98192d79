"""Serve one mutant over HTTP: ``python -m tests.mutants.serve NAME --port P [--host 127.0.0.1]``.

Prints ``akol-mutant NAME serving http://HOST:PORT (env ENV)`` once uvicorn has started, with
``akol-fake``'s own server class; ``--port 0`` picks a free port and the printed URL carries the real one.
Test control is on (the Policy default), so the suite can run with ``--destructive``.
"""
from __future__ import annotations

import argparse
import signal
import sys

import uvicorn
from akol_fake.cli import _bind, _Server

from tests.mutants import CATALOG


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutants.serve", description=__doc__.splitlines()[0])
    parser.add_argument("name", help="the mutant's name (tests/mutants/<family>.py)")
    parser.add_argument("--port", type=int, required=True, help="TCP port; 0 picks a free one")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--env", default="production", help="the fake's environment (default production)")
    args = parser.parse_args(argv)
    if args.name not in CATALOG:
        parser.error(f"no mutant named {args.name!r}; known: {', '.join(sorted(CATALOG)) or 'none'}")
    app = CATALOG[args.name].build(args.env)
    try:
        sock = _bind(args.host, args.port)
    except OSError as exc:
        parser.error(f"cannot listen on {args.host}:{args.port}: {exc.strerror}")
    shown = f"[{args.host}]" if ":" in args.host else args.host
    banner = f"akol-mutant {args.name} serving http://{shown}:{sock.getsockname()[1]} (env {args.env})"
    # As akol-fake: uvicorn re-raises the signal after a graceful shutdown; exit 0 instead.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    _Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"), banner).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
