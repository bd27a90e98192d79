"""Conforming variants (tests/variants.py) pass the LOGIN, LOCK and 2FA families clean."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests._mutation import ROOT, SUITE_TIMEOUT, suite_command
from tests.variants import FAMILIES, LOCK_429, VARIANTS


def _run(name: str, families: tuple[str, ...], tmp_path: Path) -> tuple[dict[str, str], str, int]:
    """The variant's unclean clauses (failed or inconclusive, with why), the run's output tail, its exit."""
    cmd = suite_command(tmp_path, family=None, app_factory="tests.variants:app_factory")
    cmd += [f"--clause={family}" for family in families]
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("AKOL_")}, "AKOL_VARIANT": name}
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=SUITE_TIMEOUT)
    report = json.loads((tmp_path / "conformance.json").read_text(encoding="utf-8"))
    unclean = {c["id"]: f"{c['status']}: {c.get('reason')}" for c in report["clauses"]
               if c["status"] in ("failed", "error")}
    return unclean, (result.stdout + result.stderr)[-3000:], result.returncode


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_conforming_variant_passes_clean(name: str, tmp_path: Path) -> None:
    unclean, tail, code = _run(name, FAMILIES, tmp_path)
    assert unclean == {}, f"{VARIANTS[name].description}: {unclean}\n{tail}"
    assert code == 0, tail


@pytest.mark.parametrize("name", sorted(LOCK_429))
def test_a_lock_answering_429_is_never_taken_for_the_ip_limit(name: str, tmp_path: Path) -> None:
    mutant, failing = LOCK_429[name]
    unclean, tail, _ = _run(name, ("RATE", "PAT"), tmp_path)
    assert set(unclean) == failing, f"{mutant.description}: {unclean}\n{tail}"
    assert all(why.startswith("failed") for why in unclean.values()), unclean
