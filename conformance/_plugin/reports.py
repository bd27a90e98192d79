"""The three report files: conformance.json (INTERFACE.md), conformance.html, junit.xml.

Everything passes through the redactor on the way out, whatever the tests recorded.
"""
from __future__ import annotations

import html
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from akol_conformance._plugin.redact import Redactor
from akol_conformance._plugin.verdicts import ClauseVerdict
from akol_conformance.catalog import FAMILIES

JSON_NAME = "conformance.json"
HTML_NAME = "conformance.html"
JUNIT_NAME = "junit.xml"


@dataclass(frozen=True)
class RunInfo:
    target: str
    test_control: bool
    started: datetime
    duration: float
    strict: bool


def build_json(info: RunInfo, verdicts: Sequence[ClauseVerdict]) -> dict[str, Any]:
    summary = {level: {"passed": 0, "failed": 0, "error": 0, "skipped": 0, "notSelected": 0}
               for level in ("MUST", "SHOULD")}
    for v in verdicts:
        summary[v.clause.level][v.status if v.selected else "notSelected"] += 1
    return {
        "target": info.target,
        "testControl": info.test_control,
        "started": info.started.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "durationSeconds": round(info.duration, 3),
        "summary": summary,
        "clauses": [_clause_json(v) for v in verdicts],
    }


def _clause_json(v: ClauseVerdict) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": v.id,
        "level": v.clause.level,
        "status": v.status,
        "title": v.clause.title,
        "reason": v.reason,
    }
    if v.status == "error":
        entry["cause"] = v.cause
    if v.status == "passed":
        entry["coverage"] = "partial" if v.partial else "full"
        if v.partial:
            entry["notChecked"] = v.not_checked
    if not v.selected:
        entry["selected"] = False
    entry |= {"observed": v.observed, "tests": [t.nodeid for t in v.tests], "evidence": v.evidence}
    return entry


_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse;width:100%}
td,th{border:1px solid #ccc;padding:.3em .5em;vertical-align:top;text-align:left}
.passed{background:#dff5df}.failed{background:#fbd9d9}.error{background:#f6c6a8}.skipped{background:#eee;color:#666}
.warned{background:#fff1c2}
.badge{font-weight:bold;white-space:nowrap}
pre{white-space:pre-wrap;word-break:break-all;background:#f7f7f7;padding:.5em;margin:.3em 0;font-size:12px}
details{margin:.3em 0}summary{cursor:pointer}
.meta td{border:none;padding:.1em 1em .1em 0}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _pretty(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _exchange_html(ex: dict[str, Any]) -> str:
    req_headers = "\n".join(f"{k}: {v}" for k, v in ex["requestHeaders"].items())
    resp_headers = "\n".join(f"{k}: {v}" for k, v in ex["responseHeaders"].items())
    return (
        f"<details><summary>{_e(ex['method'])} {_e(ex['url'])} → {_e(ex['status'])} "
        f"({_e(ex['elapsedMs'])} ms)</summary>"
        f"<pre>{_e(ex['method'])} {_e(ex['url'])}\n{_e(req_headers)}\n\n{_e(ex['requestBody'])}</pre>"
        f"<pre>HTTP {_e(ex['status'])}\n{_e(resp_headers)}\n\n{_e(ex['responseBody'])}</pre></details>"
    )


def build_html(info: RunInfo, verdicts: Sequence[ClauseVerdict], data: dict[str, Any]) -> str:
    rows_by_family: dict[str, list[str]] = {}
    for v in verdicts:
        label = v.label(info.strict)
        detail = ""
        if v.status in ("failed", "error"):
            parts = []
            for t in v.tests:
                if t.outcome not in ("failed", "error"):
                    continue
                parts.append(f"<p><b>{_e(t.nodeid)}</b>: {_e(t.message or '')}</p>")
                if t.expected is not None:
                    parts.append(f"<table><tr><th>expected</th><td>{_e(t.expected)}</td></tr>"
                                 f"<tr><th>observed</th><td><pre>{_e(t.observed_failure)}</pre></td></tr></table>")
                if t.details:
                    parts.append(f"<details><summary>traceback</summary><pre>{_e(t.details)}</pre></details>")
                parts.extend(_exchange_html(ex) for ex in t.evidence)
            detail = "".join(parts)
        elif v.reason:
            detail = f"<p>{_e(v.reason)}</p>"
        observed = f"<pre>{_e(_pretty(v.observed))}</pre>" if v.observed else ""
        rows_by_family.setdefault(v.clause.family, []).append(
            f'<tr class="{label}"><td class="badge">{_e(v.id)}</td><td>{_e(v.clause.level)}</td>'
            f'<td class="badge">{_e(label)}</td><td>{_e(v.clause.title)}{detail}</td><td>{observed}</td></tr>'
        )
    sections = []
    for family, rows in rows_by_family.items():
        sections.append(
            f"<h2>{_e(family)} — {_e(FAMILIES.get(family, ''))}</h2><table><tr><th>clause</th><th>level</th>"
            f"<th>status</th><th>behaviour</th><th>observed</th></tr>{''.join(rows)}</table>"
        )
    summary = data["summary"]
    meta = "".join(
        f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>"
        for k, v in (
            ("target", data["target"]), ("test control", data["testControl"]), ("started", data["started"]),
            ("duration", f"{data['durationSeconds']} s"),
            ("MUST", ", ".join(f"{n} {k}" for k, n in summary["MUST"].items())),
            ("SHOULD", ", ".join(f"{n} {k}" for k, n in summary["SHOULD"].items())),
        )
    )
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>Akol conformance — {_e(data['target'])}</title><style>{_CSS}</style></head><body>"
        f"<h1>Akol conformance report</h1><table class=\"meta\">{meta}</table>{''.join(sections)}</body></html>\n"
    )


# No "--" inside: XML comments forbid it.
_JUNIT_NOTE = ("One testcase per clause. A SHOULD clause not met is written as skipped with the message "
               "'SHOULD not met: ...' so CI shows it without failing the build; a strict run makes it a failure.")


def build_junit(info: RunInfo, verdicts: Sequence[ClauseVerdict]) -> str:
    """One testcase per clause. A SHOULD clause that is not met is written as <skipped> with
    "SHOULD not met: …": CI test tabs show it without failing the build (unless --strict)."""
    cases = []
    counts = {"failures": 0, "errors": 0, "skipped": 0}
    for v in verdicts:
        body = ""
        reason = v.reason or v.status
        label = v.label(info.strict)
        if label == "error":
            counts["errors"] += 1
            body = f"<error message={quoteattr(reason)}>{_e(_details(v))}</error>"
        elif label == "failed":
            counts["failures"] += 1
            body = f"<failure message={quoteattr(reason)}>{_e(_details(v))}</failure>"
        elif label == "warned":
            counts["skipped"] += 1
            body = f"<skipped message={quoteattr('SHOULD not met: ' + reason)}>{_e(_details(v))}</skipped>"
        elif label == "skipped":
            counts["skipped"] += 1
            body = f"<skipped message={quoteattr(reason)}/>"
        cases.append(
            f"  <testcase classname={quoteattr(v.clause.family)} name={quoteattr(v.id)} "
            f"time=\"{v.duration:.3f}\">{body}</testcase>"
        )
    stamp = info.started.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f"<!-- {_JUNIT_NOTE} -->\n<testsuites>\n"
        f'<testsuite name="akol-conformance" tests="{len(verdicts)}" failures="{counts["failures"]}" '
        f'errors="{counts["errors"]}" skipped="{counts["skipped"]}" time="{info.duration:.3f}" '
        f'timestamp="{stamp}" hostname={quoteattr(info.target)}>\n'
        + "\n".join(cases) + "\n</testsuite>\n</testsuites>\n"
    )


def _details(v: ClauseVerdict) -> str:
    lines = []
    for t in v.tests:
        if t.outcome in ("failed", "error"):
            lines.append(f"{t.nodeid}: {t.message}")
            lines.extend(f"  {ex['method']} {ex['url']} → {ex['status']}" for ex in t.evidence)
    return "\n".join(lines)


def _scrub(verdicts: Sequence[ClauseVerdict], redactor: Redactor) -> None:
    """Scrub again at write time: a secret first seen after a test ran is caught too."""
    for v in verdicts:
        v.reason = redactor.scrub_rendering(v.reason) if v.reason else v.reason
        v.observed = redactor.scrub_obj(v.observed)
        for t in v.tests:
            t.message = redactor.scrub_rendering(t.message) if t.message else t.message
            t.details = redactor.scrub_rendering(t.details) if t.details else t.details
            t.expected = redactor.scrub_rendering(t.expected) if t.expected else t.expected
            if t.observed_failure:
                t.observed_failure = redactor.scrub_rendering(t.observed_failure)
            t.observed = redactor.scrub_obj(t.observed)
            t.evidence = redactor.scrub_obj(t.evidence)


def _write(path: Path, text: str) -> None:
    # Atomic: a reader (CI dashboard) never sees half a report.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def write_reports(report_dir: Path, info: RunInfo, verdicts: Sequence[ClauseVerdict],
                  redactor: Redactor) -> list[Path]:
    report_dir.mkdir(parents=True, exist_ok=True)
    _scrub(verdicts, redactor)
    data = redactor.scrub_obj(build_json(info, verdicts))
    files = {
        JSON_NAME: json.dumps(data, indent=2, ensure_ascii=False) + "\n",
        HTML_NAME: redactor.scrub(build_html(info, verdicts, data)),
        JUNIT_NAME: redactor.scrub(build_junit(info, verdicts)),
    }
    paths = []
    for name, text in files.items():
        path = report_dir / name
        _write(path, text)
        paths.append(path)
    return paths
