"""Conforming variants (tests/variants.py) pass the LOGIN, LOCK and 2FA families clean."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests._mutation import ROOT, SUITE_TIMEOUT, suite_command
from tests.variants import FAMILIES, VARIANTS


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_conforming_variant_passes_clean(name: str, tmp_path: Path) -> None:
    cmd = suite_command(tmp_path, family=None, app_factory="tests.variants:app_factory")
    cmd += [f"--clause={family}" for family in FAMILIES]
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("AKOL_")}, "AKOL_VARIANT": name}
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=SUITE_TIMEOUT)
    report = json.loads((tmp_path / "conformance.json").read_text(encoding="utf-8"))
    unclean = {c["id"]: f"{c['status']}: {c.get('reason')}" for c in report["clauses"]
               if c["status"] in ("failed", "error")}
    assert unclean == {}, f"{VARIANTS[name].description}: {unclean}\n{(result.stdout + result.stderr)[-3000:]}"
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
