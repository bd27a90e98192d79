"""``akol-conformance``: run the installed suite from any folder, and compare two runs.

    akol-conformance --target URL [suite and pytest options]
    akol-conformance diff OLD.json NEW.json

The suite runs with the package's own configuration (``_plugin/suite.ini``) and only its own
pytest plugin: options like ``--report-dir /elsewhere`` work in either form, and unrelated
plugins installed beside it (Locust's, say) stay out. Add one back with ``-p NAME``.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

PLUGIN = "akol_conformance._plugin.options"
_USAGE = """usage: akol-conformance [--target URL] [suite and pytest options]
       akol-conformance diff OLD.json NEW.json [--strict]

Runs the Akol conformance suite (see --help for every option), or compares two of its
conformance.json reports: regressions, fixes and changed observed values."""


def suite_args(argv: Sequence[str]) -> list[str]:
    """The pytest command line that runs the installed suite with ``argv`` added."""
    package = Path(__file__).resolve().parent
    return ["-c", str(package / "_plugin" / "suite.ini"), f"--rootdir={package.parent}",
            f"--confcutdir={package}", "-p", PLUGIN, str(package), *argv]


def run(argv: Sequence[str]) -> int:
    # Entry-point plugins load before any option is read: only the environment can keep them out.
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return int(pytest.main(suite_args(argv)))


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["diff"]:
        from akol_conformance._plugin.diff import main as diff_main

        return diff_main(args[1:])
    if args[:1] in (["-h"], ["--help"]):
        print(_USAGE + "\n")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
