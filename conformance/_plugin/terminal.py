"""The terminal summary printed after pytest's own: one line per family, then every clause
that is not a plain pass, with its reason."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from akol_conformance._plugin.baseline import Outcome as BaselineOutcome
from akol_conformance._plugin.redact import Redactor
from akol_conformance._plugin.verdicts import FAIL, PASS, ClauseVerdict, run_verdict

_REASON_WIDTH = 300
# This many clauses with the same label and reason (a budget spent, a run cancelled) share one line.
_GROUP_FROM = 3
_GROUP_IDS = 6


def summary_lines(verdicts: Sequence[ClauseVerdict], strict: bool, redactor: Redactor,
                  reports: Sequence[Path], stopped: str | None = None, resent: int = 0,
                  baseline: BaselineOutcome | None = None) -> list[tuple[str, dict[str, bool]]]:
    """Lines and their terminal markup, ready for ``TerminalReporter.write_line``."""
    lines: list[tuple[str, dict[str, bool]]] = []
    families: dict[str, list[ClauseVerdict]] = {}
    for v in verdicts:
        if v.selected:
            families.setdefault(v.clause.family, []).append(v)
    for family, members in families.items():
        counts = {k: sum(v.label(strict) == k for v in members)
                  for k in ("passed", "partial", "failed", "known", "inconclusive", "warned", "skipped")}
        text = ", ".join(f"{n} {k}" for k, n in counts.items() if n or k in ("passed", "failed"))
        bad = counts["failed"] or counts["inconclusive"]
        lines.append((f"{family:<8} {text}", {"red": bool(counts["failed"]),
                                              "yellow": not counts["failed"] and bool(bad or counts["warned"]),
                                              "green": not bad and not counts["warned"]}))
    shown: dict[tuple[str, str], list[ClauseVerdict]] = {}
    for v in verdicts:
        label = v.label(strict)
        if not v.selected or label == "passed":
            continue
        if label == "partial":
            reason = "passed what ran; not checked: " + "; ".join(v.not_checked)
        elif label == "inconclusive":
            reason = f"not judged ({v.cause}): {v.reason or ''}"
        elif label == "known" and v.known is not None:
            reason = f"known failure (baseline: {v.known.reason}): {v.reason or ''}"
        else:
            reason = v.reason or ""
        reason = redactor.scrub_rendering(reason)
        if len(reason) > _REASON_WIDTH:
            reason = reason[:_REASON_WIDTH] + "…"
        shown.setdefault((label, reason), []).append(v)
    for (label, reason), members in shown.items():
        markup = {"red": label == "failed", "yellow": label in ("warned", "inconclusive", "partial", "known")}
        if len(members) >= _GROUP_FROM:
            ids = ", ".join(v.id for v in members[:_GROUP_IDS]) + (", …" if len(members) > _GROUP_IDS else "")
            lines.append((f"{label.upper():<12} {len(members)} clauses ({ids}): {reason}", markup))
        else:
            lines.extend((f"{label.upper():<12} {v.id} ({v.clause.level}): {reason}", markup) for v in members)
    unselected = {label: sum(v.label(strict) == label for v in verdicts) for label in ("not selected", "no test")}
    if unselected["not selected"]:
        lines.append((f"{unselected['not selected']} clauses not selected (--clause)", {}))
    if unselected["no test"]:
        lines.append((f"{unselected['no test']} clauses without a test in this suite", {}))
    reruns = sum(v.reruns for v in verdicts)
    if reruns or resent:
        lines.append((f"transport faults recovered from: {resent} requests sent again, {reruns} test runs "
                      "repeated (the network or the target dropped requests)", {"yellow": True}))
    if stopped:
        lines.append((f"the run stopped early: {stopped}", {"yellow": True}))
    if baseline is not None and (baseline.stale or baseline.expired):
        if baseline.stale:
            lines.append((f"baseline {baseline.file}: stale entries, these clauses pass now — remove them: "
                          f"{', '.join(baseline.stale)}", {"yellow": True}))
        if baseline.expired:
            lines.append((f"baseline {baseline.file}: expired entries (past their date: a failure counts "
                          "again; renew or remove them): "
                          f"{', '.join(baseline.expired)}", {"yellow": True}))
    verdict = run_verdict(verdicts, strict)
    lines.append((f"verdict: {verdict}", {"bold": True, "green": verdict == PASS, "red": verdict == FAIL,
                                          "yellow": verdict not in (PASS, FAIL)}))
    if reports:
        lines.append((f"reports: {', '.join(str(p) for p in reports)}", {"bold": True}))
    return lines
