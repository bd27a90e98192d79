"""The terminal summary printed after pytest's own: one line per family, then every clause
that is not a plain pass, with its reason."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from akol_conformance._plugin.redact import Redactor
from akol_conformance._plugin.verdicts import ClauseVerdict

_REASON_WIDTH = 300


def summary_lines(verdicts: Sequence[ClauseVerdict], strict: bool, redactor: Redactor,
                  reports: Sequence[Path]) -> list[tuple[str, dict[str, bool]]]:
    """Lines and their terminal markup, ready for ``TerminalReporter.write_line``."""
    lines: list[tuple[str, dict[str, bool]]] = []
    families: dict[str, list[ClauseVerdict]] = {}
    for v in verdicts:
        if v.selected:
            families.setdefault(v.clause.family, []).append(v)
    for family, members in families.items():
        counts = {k: sum(v.label(strict) == k for v in members)
                  for k in ("passed", "partial", "failed", "inconclusive", "warned", "skipped")}
        text = ", ".join(f"{n} {k}" for k, n in counts.items() if n or k in ("passed", "failed"))
        bad = counts["failed"] or counts["inconclusive"]
        lines.append((f"{family:<8} {text}", {"red": bool(counts["failed"]),
                                              "yellow": not counts["failed"] and bool(bad or counts["warned"]),
                                              "green": not bad and not counts["warned"]}))
    for v in verdicts:
        label = v.label(strict)
        if not v.selected or label == "passed":
            continue
        if label == "partial":
            reason = "passed what ran; not checked: " + "; ".join(v.not_checked)
        elif label == "inconclusive":
            reason = f"not judged ({v.cause}): {v.reason or ''}"
        else:
            reason = v.reason or ""
        reason = redactor.scrub_rendering(reason)
        if len(reason) > _REASON_WIDTH:
            reason = reason[:_REASON_WIDTH] + "…"
        lines.append((f"{label.upper():<12} {v.id} ({v.clause.level}): {reason}",
                      {"red": label == "failed", "yellow": label in ("warned", "inconclusive", "partial")}))
    unselected = sum(not v.selected for v in verdicts)
    if unselected:
        lines.append((f"{unselected} clauses not selected (--clause) or without a test", {}))
    if reports:
        lines.append((f"reports: {', '.join(str(p) for p in reports)}", {"bold": True}))
    return lines
