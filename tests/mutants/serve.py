"""Serve one mutant over HTTP: ``python -m tests.mutants.serve NAME --port P [--host 127.0.0.1]``.

Prints ``akol-mutant NAME serving http://HOST:PORT (env ENV)`` once listening, through
``akol-fake``'s own ``serve()``; ``--port 0`` picks a free port and the printed URL carries the real one.
Test control is on (the Policy default), so the suite can run with ``--destructive``.
"""
from __future__ import annotations

import argparse
import sys

from akol_fake.cli import serve
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
        serve(app, host=args.host, port=args.port, banner=f"akol-mutant {args.name} serving {{url}} (env {args.env})")
    except OSError as exc:
        parser.error(f"cannot listen on {args.host}:{args.port}: {exc.strerror}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
