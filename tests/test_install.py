"""Installed, not cloned: the wheel in a fresh venv, run from an empty folder outside the checkout.

One wheel build and one venv for the module (about half a minute); every test then uses the
installed console scripts only, with the repository nowhere on the path.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from akol_conformance.catalog import CLAUSES
from akol_fake.spawn import ServedFake, spawn

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 600


def _run(argv: list[str], cwd: Path, timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
    # The checkout must not leak in: no PYTHONPATH, and a folder outside it as the working directory.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV") and not k.startswith("AKOL_")}
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ folder of a fresh venv with the project's wheel installed (dependencies included)."""
    base = tmp_path_factory.mktemp("install")
    built = _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(base / "dist"), str(ROOT)], base)
    assert built.returncode == 0, built.stdout + built.stderr
    wheel = next((base / "dist").glob("akol_conformance-*.whl"))
    made = _run([sys.executable, "-m", "venv", str(base / "venv")], base)
    assert made.returncode == 0, made.stderr
    bin_dir = base / "venv" / "bin"
    done = _run([str(bin_dir / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
                base)
    assert done.returncode == 0, done.stdout + done.stderr
    return bin_dir


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[ServedFake, ServedFake]]:
    with spawn() as target, spawn("--env", "staging") as foreign:
        yield target, foreign


def _report(report_dir: Path) -> dict[str, object]:
    return json.loads((report_dir / "conformance.json").read_text(encoding="utf-8"))


def test_installed_suite_judges_every_clause_from_any_folder(
        installed: Path, empty: Path, tmp_path: Path, fakes: tuple[ServedFake, ServedFake]) -> None:
    target, foreign = fakes
    report_dir = tmp_path / "elsewhere" / "reports"  # outside the working folder, space form below
    result = _run([str(installed / "akol-conformance"), "--target", target.url, "--foreign-target", foreign.url,
                   "--destructive", "--report-dir", str(report_dir)], empty)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    clauses = _report(report_dir)["clauses"]
    assert isinstance(clauses, list) and [c["id"] for c in clauses] == list(CLAUSES)
    unjudged = {c["id"]: (c["status"], c["reason"]) for c in clauses if c["status"] != "passed"}
    assert not unjudged, unjudged
    assert not list(empty.iterdir()), "the run wrote into the working folder"


def test_pyargs_runs_the_installed_suite(installed: Path, empty: Path, fakes: tuple[ServedFake, ServedFake]) -> None:
    result = _run([str(installed / "pytest"), "--pyargs", "akol_conformance", "--target", fakes[0].url,
                   "--clause", "BEARER-01", "--report-dir=out", "-p", "no:locust"], empty)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    by_id = {c["id"]: c for c in _report(empty / "out")["clauses"]}  # type: ignore[union-attr]
    assert by_id["BEARER-01"]["status"] == "passed"


def test_baseline_turns_a_known_failure_green_and_names_it(installed: Path, empty: Path) -> None:
    (empty / "baseline.yml").write_text(
        "known:\n  - clause: RATE-01\n    reason: the login limit is off on this staging build\n"
        "  - clause: BEARER-01\n    reason: fixed since, prune me\n", encoding="utf-8")
    with spawn("--rate-limit", "1000000") as unlimited:  # no IP login limit: RATE-01 fails
        argv = [str(installed / "akol-conformance"), "--target", unlimited.url, "--destructive",
                "--clause", "RATE-01", "--clause", "BEARER-01", "--max-rate-attempts", "30", "--report-dir=out"]
        without = _run(argv, empty)
        known = _run([*argv, "--baseline", "baseline.yml"], empty)
    assert without.returncode == 1, without.stdout[-2000:]
    assert known.returncode == 0, known.stdout[-3000:] + known.stderr[-2000:]
    report = _report(empty / "out")
    by_id = {c["id"]: c for c in report["clauses"]}  # type: ignore[union-attr]
    assert by_id["RATE-01"]["status"] == "failed" and by_id["RATE-01"]["known"]["reason"].startswith("the login")
    assert report["baseline"] == {"file": "baseline.yml", "known": ["RATE-01"], "stale": ["BEARER-01"],
                                  "expired": []}
    assert "BEARER-01" in known.stdout and "stale" in known.stdout.lower()


def test_diff_names_regressions(installed: Path, empty: Path, tmp_path: Path) -> None:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    clause = {"id": "LOCK-01", "level": "MUST", "title": "", "reason": None, "tests": [], "evidence": []}
    old.write_text(json.dumps({"clauses": [clause | {"status": "passed", "observed": {"threshold": 5}}]}))
    new.write_text(json.dumps({"clauses": [clause | {"status": "failed", "observed": {"threshold": 11}}]}))
    result = _run([str(installed / "akol-conformance"), "diff", str(old), str(new)], empty)
    assert result.returncode == 1, result.stdout
    assert "LOCK-01 (MUST): passed → failed" in result.stdout and "threshold: 5 → 11" in result.stdout
    back = _run([str(installed / "akol-conformance"), "diff", str(new), str(old)], empty)
    assert back.returncode == 0 and "LOCK-01 (MUST): failed → passed" in back.stdout


def test_installed_load_profiles_run_headless_with_a_gate(installed: Path, empty: Path) -> None:
    result = _run([str(installed / "akol-load"), "--headless", "-u", "2", "-r", "2", "-t", "3s", "LoginUser",
                   "--p95-ms", "2000"], empty, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads((empty / "reports" / "load-summary.json").read_text(encoding="utf-8"))
    assert summary["verdict"] == "passed" and summary["totals"]["requests"] > 0
