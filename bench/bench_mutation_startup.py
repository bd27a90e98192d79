"""Print the start-up cost of one kill-matrix suite subprocess, with and without its savings.

`python bench/bench_mutation_startup.py [--family BEARER] [--repeat 3]` runs
`pytest --collect-only --clause FAMILY` three ways and prints the median CPU seconds of each:
the plain suite, with the unused pytest plugins disabled, and also narrowed to the family's
test modules (what tests/_mutation.py does). CPU, not wall: the machine may be shared.
"""
from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests._mutation import UNUSED_PLUGINS, family_modules, suite_env  # noqa: E402


def _cpu_of(cmd: list[str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, cwd=ROOT, env=suite_env(None), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=120, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", default="BEARER")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    base = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--collect-only", f"--clause={args.family}"]
    no_plugins = [*base, *(arg for plugin in UNUSED_PLUGINS for arg in ("-p", f"no:{plugin}"))]
    modules = family_modules(Path("/tmp/bench-mutation-startup")).get(args.family, ())
    variants = {
        "plain suite": base,
        "unused plugins off": no_plugins,
        "plugins off + family modules only": [*no_plugins, *modules],
    }
    for label, cmd in variants.items():
        samples = [_cpu_of(cmd) for _ in range(args.repeat)]
        shown = ", ".join(f"{s:.2f}" for s in samples)
        print(f"{label:<36} median {statistics.median(samples):5.2f} s CPU  (samples {shown})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
