"""docs/ci/: the pipeline examples use only commands, options and variables that exist, and keep
the reports when the gate fails."""
from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from akol_conformance._plugin.options import CREDENTIAL_VARS

ROOT = Path(__file__).resolve().parents[1]
GITHUB = ROOT / "docs" / "ci" / "github-actions.yml"
GITLAB = ROOT / "docs" / "ci" / "gitlab-ci.yml"
SCRIPTS = ("akol-conformance", "akol-load")
_FLAG = re.compile(r"^--[a-z0-9][a-z0-9-]*")
_VARIABLE = re.compile(r"\bAKOL_[A-Z0-9_]+")
# Variables the examples define for themselves rather than the suite reading them.
_OWN_VARIABLES = {"AKOL_STAGING_URL", "AKOL_LOAD_ACCOUNTS"}


def _commands(shell: str) -> list[list[str]]:
    """Each command line of a shell snippet, as words (continuations joined, variables kept)."""
    joined = shell.replace("\\\n", " ")
    lines = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            lines.append(shlex.split(line, comments=True))
    return lines


def _github_shell() -> list[str]:
    data = yaml.safe_load(GITHUB.read_text(encoding="utf-8"))
    return [step["run"] for job in data["jobs"].values() for step in job["steps"] if "run" in step]


def _gitlab_shell() -> list[str]:
    data = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))
    return [line for job in data.values() if isinstance(job, dict) and "script" in job for line in job["script"]]


@cache
def _help(script: str) -> str:
    path = shutil.which(script, path=str(Path(sys.executable).parent))
    assert path, f"{script} is not installed in this venv: pip install -e ."
    done = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=120, check=False)
    return done.stdout + done.stderr


@pytest.mark.parametrize(("name", "shell"), [("github", _github_shell), ("gitlab", _gitlab_shell)])
def test_every_option_the_examples_use_exists(name: str, shell: Any) -> None:
    used: dict[str, set[str]] = {script: set() for script in SCRIPTS}
    for snippet in shell():
        for words in _commands(snippet):
            if words and words[0] in SCRIPTS:
                used[words[0]] |= {m.group(0) for w in words[1:] if (m := _FLAG.match(w))}
    assert used["akol-conformance"] and used["akol-load"], f"{name}: expected both console scripts in use"
    for script, flags in used.items():
        unknown = sorted(flag for flag in flags if not re.search(rf"(^|[\s,]){re.escape(flag)}\b", _help(script)))
        assert not unknown, f"{name}: {script} has no option {unknown} (see `{script} --help`)"


@pytest.mark.parametrize("path", [GITHUB, GITLAB])
def test_every_akol_variable_the_examples_set_is_read_by_the_suite(path: Path) -> None:
    known = set(CREDENTIAL_VARS) | {"AKOL_TARGET"} | _OWN_VARIABLES
    unknown = sorted(set(_VARIABLE.findall(path.read_text(encoding="utf-8"))) - known)
    assert not unknown, f"{path.name} sets variables nothing reads: {unknown}"


def test_github_keeps_reports_and_publishes_junit_even_on_failure() -> None:
    steps = [s for job in yaml.safe_load(GITHUB.read_text(encoding="utf-8"))["jobs"].values() for s in job["steps"]]
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact"))
    junit = next(s for s in steps if "junit" in str(s.get("uses", "")))
    assert upload.get("if") == "always()" and upload["with"]["path"].rstrip("/") == "reports"
    assert junit.get("if") == "always()" and junit["with"]["report_paths"] == "reports/junit.xml"
    assert any("--report-dir reports" in s.get("run", "") for s in steps)


def test_gitlab_keeps_reports_and_publishes_junit_even_on_failure() -> None:
    job = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))["akol-conformance"]
    assert job["artifacts"]["when"] == "always" and "reports/" in job["artifacts"]["paths"]
    assert job["artifacts"]["reports"]["junit"] == "reports/junit.xml"
    assert any("--report-dir reports" in line for line in job["script"])
