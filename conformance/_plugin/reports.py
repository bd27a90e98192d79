"""The three report files: conformance.json (INTERFACE.md), conformance.html, junit.xml.

Everything passes through the redactor on the way out, whatever the tests recorded. No report
can look green by accident: each opens with the run's verdict (PASS, FAIL, INCONCLUSIVE,
ABORTED), an aborted run says why at the top of each file, and a clause that was not
checked is never shown as passed.
"""
from __future__ import annotations

import dataclasses
import html
import json
import os
import re
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from akol_conformance._plugin.baseline import Outcome as BaselineOutcome
from akol_conformance._plugin.outcomes import CAUSES
from akol_conformance._plugin.redact import Redactor
from akol_conformance._plugin.verdicts import ABORTED, FAIL, INCONCLUSIVE, ClauseVerdict, run_verdict
from akol_conformance.catalog import FAMILIES

JSON_NAME = "conformance.json"
HTML_NAME = "conformance.html"
JUNIT_NAME = "junit.xml"


@dataclass(frozen=True)
class RunInfo:
    target: str
    test_control: bool
    test_control_mode: str            # auto | require | off (--test-control)
    test_control_why: str             # "GET /__test__/clock answered 404", in words
    started: datetime
    duration: float
    strict: bool
    aborted: str | None = None        # why nothing could be judged
    stopped: str | None = None        # why the run ended before its last test
    resent: int = 0                   # requests sent again after a transport fault
    baseline: BaselineOutcome | None = None  # what --baseline did: known, stale, expired

    def verdict(self, verdicts: Sequence[ClauseVerdict]) -> str:
        return run_verdict(verdicts, self.strict, self.aborted)


def build_json(info: RunInfo, verdicts: Sequence[ClauseVerdict]) -> dict[str, Any]:
    summary = {level: {"passed": 0, "failed": 0, "error": 0, "skipped": 0, "notSelected": 0}
               for level in ("MUST", "SHOULD")}
    for v in verdicts:
        summary[v.clause.level][v.status if v.selected else "notSelected"] += 1
    data: dict[str, Any] = {
        "target": info.target,
        "testControl": info.test_control,
        "testControlMode": info.test_control_mode,
        "testControlReason": info.test_control_why,
        "started": info.started.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "durationSeconds": round(info.duration, 3),
        "verdict": info.verdict(verdicts),
    }
    if info.aborted is not None:
        data["aborted"] = info.aborted
    if info.stopped is not None:
        data["stopped"] = info.stopped
    data["recovered"] = {"resentRequests": info.resent, "rerunTests": sum(v.reruns for v in verdicts)}
    if info.baseline is not None:
        data["baseline"] = info.baseline.as_json()
    return data | {"summary": summary, "clauses": [_clause_json(v) for v in verdicts]}


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
    if v.known is not None:
        entry["known"] = v.known.as_json()
    if v.status == "passed":
        entry["coverage"] = "partial" if v.partial else "full"
        if v.partial:
            entry["notChecked"] = v.not_checked
    if not v.selected:
        entry["selected"] = False
    if v.reruns:
        entry["reruns"] = v.reruns
    if v.selected:
        entry["requests"] = v.requests
    entry |= {"observed": v.observed, "tests": [t.nodeid for t in v.tests], "evidence": v.evidence}
    return entry


# -- HTML ------------------------------------------------------------------------------------

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse;width:100%}
td,th{border:1px solid #ccc;padding:.3em .5em;vertical-align:top;text-align:left}
.passed{background:#dff5df}.partial{background:#eaf5c6}.failed{background:#fbd9d9}
.inconclusive{background:#f6c6a8}.warned,.known{background:#fff1c2}
.skipped,.not-selected,.no-test{background:#eee;color:#666}
.badge{font-weight:bold;white-space:nowrap}
.banner{font-size:1.3em;padding:.7em 1em;margin:0 0 1em;border-radius:4px;border:2px solid}
.banner b{font-size:1.4em;margin-right:.6em}
.banner.PASS{background:#dff5df;border-color:#3a3}.banner.FAIL{background:#fbd9d9;border-color:#c33}
.banner.INCONCLUSIVE{background:#f6c6a8;border-color:#c63}.banner.ABORTED{background:#444;color:#fff;border-color:#000}
pre{white-space:pre-wrap;word-break:break-all;background:#f7f7f7;padding:.5em;margin:.3em 0;font-size:12px}
details{margin:.3em 0}summary{cursor:pointer}
.meta td{border:none;padding:.1em 1em .1em 0}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _css_class(label: str) -> str:
    return label.replace(" ", "-")


def _pretty(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _exchange_html(ex: dict[str, Any]) -> str:
    req_headers = "\n".join(f"{k}: {v}" for k, v in ex["requestHeaders"].items())
    resp_headers = "\n".join(f"{k}: {v}" for k, v in ex["responseHeaders"].items())
    return (
        f"<details><summary>{_e(ex['method'])} {_e(ex['url'])} → {_e(ex['status'])} "
        f"({_e(ex['elapsedMs'])} ms, {_e(ex.get('responseBytes', '?'))} bytes)</summary>"
        f"<pre>{_e(ex['method'])} {_e(ex['url'])}\n{_e(req_headers)}\n\n{_e(ex['requestBody'])}</pre>"
        f"<pre>HTTP {_e(ex['status'])}\n{_e(resp_headers)}\n\n{_e(ex['responseBody'])}</pre></details>"
    )


def _headline(info: RunInfo, verdicts: Sequence[ClauseVerdict], verdict: str) -> str:
    """The banner's sentence: what the verdict means for this run, in words."""
    labels = [v.label(info.strict) for v in verdicts if v.selected]
    count = {label: labels.count(label) for label in set(labels)}
    if verdict == ABORTED:
        return f"nothing was judged: {info.aborted}"
    deciding = "MUST" if not info.strict else "MUST or SHOULD (--strict)"
    failing = sum(v.fails_run(info.strict) for v in verdicts)
    unjudged = sum(v.inconclusive_run(info.strict) for v in verdicts)
    if verdict == FAIL:
        text = f"{failing} {deciding} clause{'s' * (failing != 1)} failed"
    elif verdict == INCONCLUSIVE:
        text = f"no {deciding} clause failed, but {unjudged} could not be judged"
    else:
        text = f"every {deciding} clause that ran passed"
    others = ", ".join(f"{count[k]} {k}" for k in ("passed", "partial", "known", "warned", "inconclusive", "skipped")
                       if count.get(k))
    return f"{text} ({others})" if others else text


def _test_details(v: ClauseVerdict) -> str:
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
    return "".join(parts)


def _first_screen(info: RunInfo, verdicts: Sequence[ClauseVerdict]) -> str:
    """Failed, then inconclusive, then partial clauses: what a reader must see before the matrix."""
    groups = (
        ("Failed", [v for v in verdicts if v.selected and v.status == "failed"],
         lambda v: f"{v.label(info.strict)}: {v.reason or ''}"),
        ("Inconclusive (not judged)", [v for v in verdicts if v.selected and v.status == "error"],
         lambda v: f"{v.cause} ({CAUSES.get(v.cause or '', '')}): {v.reason or ''}"),
        ("Passed with partial coverage", [v for v in verdicts if v.partial],
         lambda v: "not checked: " + "; ".join(v.not_checked)),
        ("Known failures (--baseline)", [v for v in verdicts if v.known is not None],
         lambda v: f"{v.known.reason if v.known else ''} — observed: {v.reason or ''}"),
    )
    out = []
    for title, members, describe in groups:
        if members:
            items = "".join(f'<li><a href="#{_e(v.id)}"><b>{_e(v.id)}</b></a> ({_e(v.clause.level)}) '
                            f"{_e(describe(v))}</li>" for v in members)
            out.append(f"<h2>{_e(title)}: {len(members)}</h2><ul>{items}</ul>")
    return "".join(out)


def _yes_no(flag: bool) -> str:
    return "on" if flag else "off"


def build_html(info: RunInfo, verdicts: Sequence[ClauseVerdict], data: dict[str, Any]) -> str:
    verdict = data["verdict"]
    banner = f'<div class="banner {verdict}"><b>{verdict}</b>{_e(_headline(info, verdicts, verdict))}</div>'
    meta_rows: list[tuple[str, str]] = [
        ("target", data["target"]),
        ("test control", f"{_yes_no(info.test_control)} ({info.test_control_mode}: {info.test_control_why})"),
        ("started", data["started"]), ("duration", f"{data['durationSeconds']} s"),
    ]
    if info.stopped:
        meta_rows.append(("stopped early", info.stopped))
    recovered = data["recovered"]
    if recovered["resentRequests"] or recovered["rerunTests"]:
        meta_rows.append(("transport faults", f"{recovered['resentRequests']} requests sent again, "
                                              f"{recovered['rerunTests']} test runs repeated"))
    if verdict != ABORTED:
        meta_rows += [(level, _label_counts(info, [v for v in verdicts if v.clause.level == level]))
                      for level in ("MUST", "SHOULD")]
    meta = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in meta_rows)
    body = "" if verdict == ABORTED else _first_screen(info, verdicts) + _matrix(info, verdicts)
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{verdict} — Akol conformance — {_e(data['target'])}</title><style>{_CSS}</style></head><body>"
        f"<h1>Akol conformance report</h1>{banner}<table class=\"meta\">{meta}</table>{body}</body></html>\n"
    )


_LABELS = ("passed", "partial", "failed", "known", "warned", "inconclusive", "skipped", "not selected", "no test")


def _label_counts(info: RunInfo, verdicts: Sequence[ClauseVerdict]) -> str:
    labels = [v.label(info.strict) for v in verdicts]
    return ", ".join(f"{labels.count(label)} {label}" for label in _LABELS
                     if labels.count(label) or label in ("passed", "failed"))


def _matrix(info: RunInfo, verdicts: Sequence[ClauseVerdict]) -> str:
    rows_by_family: dict[str, list[str]] = {}
    for v in verdicts:
        label = v.label(info.strict)
        if v.status in ("failed", "error"):
            detail = _test_details(v)
        elif v.partial:
            detail = "<p>not checked:</p><ul>" + "".join(f"<li>{_e(n)}</li>" for n in v.not_checked) + "</ul>"
        else:
            detail = f"<p>{_e(v.reason)}</p>" if v.reason else ""
        observed = f"<pre>{_e(_pretty(v.observed))}</pre>" if v.observed else ""
        rows_by_family.setdefault(v.clause.family, []).append(
            f'<tr id="{_e(v.id)}" class="{_css_class(label)}"><td class="badge">{_e(v.id)}</td>'
            f'<td>{_e(v.clause.level)}</td><td class="badge">{_e(label)}</td>'
            f"<td>{_e(v.clause.title)}{detail}</td><td>{observed}</td></tr>"
        )
    sections = [
        f"<h2>{_e(family)} — {_e(FAMILIES.get(family, ''))}</h2><table><tr><th>clause</th><th>level</th>"
        f"<th>status</th><th>behaviour</th><th>observed</th></tr>{''.join(rows)}</table>"
        for family, rows in rows_by_family.items()
    ]
    return "<h2>All clauses</h2>" + "".join(sections)


# -- JUnit -----------------------------------------------------------------------------------

# No "--" inside: XML comments forbid it.
_JUNIT_NOTE = ("One testcase per selected clause. A SHOULD clause not met is written as skipped with the "
               "message 'SHOULD not met: ...' so CI shows it without failing the build; a strict run makes it "
               "a failure. A run that judged nothing holds one testcase with an error that says why.")
# Characters XML 1.0 cannot carry, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)


def _junit_child(case: ET.Element, tag: str, message: str, text: str = "") -> None:
    child = ET.SubElement(case, tag, message=_xml_text(message))
    child.text = _xml_text(text) or None


def build_junit(info: RunInfo, verdicts: Sequence[ClauseVerdict]) -> str:
    """One testcase per selected clause (a SHOULD clause not met is <skipped> with "SHOULD not
    met: …", unless --strict); an aborted run holds one testcase with an <error>."""
    stamp = info.started.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    suite = ET.Element("testsuite", name="akol-conformance", time=f"{info.duration:.3f}", timestamp=stamp,
                       hostname=_xml_text(info.target))
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if info.aborted is not None:
        case = ET.SubElement(suite, "testcase", classname="akol-conformance", name="run", time=f"{info.duration:.3f}")
        _junit_child(case, "error", f"aborted: {info.aborted}", info.aborted)
        counts["tests"] = counts["errors"] = 1
    else:
        for v in verdicts:
            label = v.label(info.strict)
            if label == "not selected":
                continue
            counts["tests"] += 1
            case = ET.SubElement(suite, "testcase", classname=v.clause.family, name=v.id, time=f"{v.duration:.3f}")
            reason = v.reason or v.status
            if label == "failed":
                counts["failures"] += 1
                _junit_child(case, "failure", reason, _details(v))
            elif label == "inconclusive" and v.matters(info.strict):
                counts["errors"] += 1
                _junit_child(case, "error", f"not judged ({v.cause}): {reason}", _details(v))
            elif label == "inconclusive":
                counts["skipped"] += 1
                _junit_child(case, "skipped", f"SHOULD not judged ({v.cause}): {reason}", _details(v))
            elif label == "warned":
                counts["skipped"] += 1
                _junit_child(case, "skipped", f"SHOULD not met: {reason}", _details(v))
            elif label == "known" and v.known is not None:
                counts["skipped"] += 1
                _junit_child(case, "skipped", f"known failure (baseline: {v.known.reason}): {reason}", _details(v))
            elif label in ("skipped", "no test"):
                counts["skipped"] += 1
                _junit_child(case, "skipped", reason)
            elif label == "partial":
                ET.SubElement(case, "system-out").text = _xml_text("passed; not checked: " + "; ".join(v.not_checked))
    for key, value in counts.items():
        suite.set(key, str(value))
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            f"<!-- {_JUNIT_NOTE} -->\n{ET.tostring(root, encoding='unicode')}\n")


def _details(v: ClauseVerdict) -> str:
    lines = []
    for t in v.tests:
        if t.outcome in ("failed", "error"):
            lines.append(f"{t.nodeid}: {t.message}")
            lines.extend(f"  {ex['method']} {ex['url']} → {ex['status']}" for ex in t.evidence)
    return "\n".join(lines)


# -- writing ---------------------------------------------------------------------------------

def _scrub(verdicts: Sequence[ClauseVerdict], redactor: Redactor) -> None:
    """Scrub again at write time: a secret first seen after a test ran is caught too."""
    for v in verdicts:
        v.reason = redactor.scrub_rendering(v.reason) if v.reason else v.reason
        v.observed = redactor.scrub_obj(v.observed)
        v.not_checked = [redactor.scrub_rendering(n) for n in v.not_checked]
        for t in v.tests:
            t.message = redactor.scrub_rendering(t.message) if t.message else t.message
            t.details = redactor.scrub_rendering(t.details) if t.details else t.details
            t.expected = redactor.scrub_rendering(t.expected) if t.expected else t.expected
            if t.observed_failure:
                t.observed_failure = redactor.scrub_rendering(t.observed_failure)
            t.observed = redactor.scrub_obj(t.observed)
            t.evidence = redactor.scrub_obj(t.evidence)


def _write(path: Path, text: str) -> None:
    # Atomic: a reader (CI dashboard) never sees half a report. os.open with 0o666 lets the umask
    # decide the mode, as for any file the user writes (mkstemp would make it 0600).
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_reports(report_dir: Path, info: RunInfo, verdicts: Sequence[ClauseVerdict],
                  redactor: Redactor) -> list[Path]:
    report_dir.mkdir(parents=True, exist_ok=True)
    _scrub(verdicts, redactor)
    if info.aborted:
        info = dataclasses.replace(info, aborted=redactor.scrub_rendering(info.aborted))
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
