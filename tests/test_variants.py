"""Conforming variants (tests/variants.py) pass the LOGIN, LOCK and 2FA families clean."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests._mutation import ROOT, SUITE_TIMEOUT, suite_command
from tests.field._run import run_suite
from tests.plugin.conftest import serve
from tests.test_blackbox import SEED, black_box_env
from tests.variants import FAMILIES, RATE_VARIANTS, VARIANTS


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


@pytest.mark.parametrize("name", ["lockout-threshold-4", "lock-set-by-the-4th-failure"])
def test_login_05_goes_on_with_a_new_account_when_one_locks_within_its_cadence(name: str, tmp_path: Path) -> None:
    """With test control LOGIN-05 resets the count after every 4th wrong password: on a target that
    locks sooner (at the 4th, or at the correct login after it) it goes on with a new account
    every 2, and judges the clause instead of skipping it."""
    unclean, tail, _ = _run(name, ("LOGIN-05",), tmp_path)
    assert unclean == {}, tail
    clause = next(c for c in json.loads((tmp_path / "conformance.json").read_text(encoding="utf-8"))["clauses"]
                  if c["id"] == "LOGIN-05")
    assert clause["status"] == "passed", (clause.get("reason"), tail)
    assert clause["observed"]["accounts_renewed"].startswith("1:"), clause["observed"]
    assert clause["observed"]["wrong_passwords_between_resets"] == 2


@pytest.mark.parametrize("name", sorted(RATE_VARIANTS))
def test_the_lock_never_misleads_the_ip_limit_checks(name: str, tmp_path: Path) -> None:
    mutant, failing = RATE_VARIANTS[name]
    unclean, tail, _ = _run(name, ("RATE", "PAT"), tmp_path)
    assert set(unclean) == failing, f"{mutant.description}: {unclean}\n{tail}"
    assert all(why.startswith("failed") for why in unclean.values()), unclean


def test_a_limit_the_lock_does_not_fill_is_found_without_a_test_clock(tmp_path: Path) -> None:
    """Black-box: the one-email burst draws no 429, so distinct emails fill the window, its short
    Retry-After is waited out in real time, and the threshold is measured from an empty window."""
    mutant, _ = RATE_VARIANTS["lock-before-ip-limit"]
    app = dataclasses.replace(mutant, policy={"test_control": False, "rate_window": 2}).build()
    with serve(app) as url:
        outcome = run_suite(tmp_path, f"--target={url}", "--destructive", "--clause=RATE-01")
    clauses = outcome.clauses()
    assert outcome.code == 0, outcome.tail()
    assert clauses["RATE-01"]["status"] == "passed", outcome.tail()
    observed = clauses["RATE-01"]["observed"]
    assert observed["threshold"] == 21 and observed["one_email_attempts_first"] == 200, observed


def test_a_count_kept_after_a_correct_login_locks_no_shared_account_black_box(tmp_path: Path) -> None:
    """django-axes' default, black-box: LOGIN-05's wrong passwords lock the account they go to. That
    is the sacrificial lockout account (the lockout checks then skip, saying why), never the plain
    account the other checks log in to: nothing fails and nothing is inconclusive."""
    app = dataclasses.replace(VARIANTS["lock-count-kept-on-success"],
                              policy={"test_control": False, "rate_limit": 100_000}).build()
    app.state.service.seed(SEED)
    with serve(app) as url:
        outcome = run_suite(tmp_path, f"--target={url}", "--destructive", "--clause=LOGIN", "--clause=LOCK",
                            "--clause=TOKEN", env=black_box_env())
    clauses = outcome.clauses()
    assert outcome.code == 0, outcome.tail()
    assert not [cid for cid, c in clauses.items() if c["status"] in ("failed", "error")], outcome.tail()
    assert clauses["LOGIN-05"]["status"] == "skipped" and "does not reset the count" in clauses["LOGIN-05"]["reason"]
    assert "by LOGIN-05 of this run" in clauses["LOCK-01"]["reason"]
