"""The terminal summary printed after pytest's own: one line per family, then every clause
that is not a plain pass, with its reason."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from conformance._redact import Redactor
from conformance._verdicts import ClauseVerdict

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
                  for k in ("passed", "failed", "error", "warned", "skipped")}
        text = ", ".join(f"{n} {k}" for k, n in counts.items() if n or k in ("passed", "failed"))
        bad = counts["failed"] or counts["error"]
        lines.append((f"{family:<8} {text}", {"red": bool(bad), "yellow": not bad and bool(counts["warned"]),
                                              "green": not bad and not counts["warned"]}))
    for v in verdicts:
        label = v.label(strict)
        if not v.selected or label == "passed":
            continue
        reason = redactor.scrub_rendering(v.reason or "")
        if len(reason) > _REASON_WIDTH:
            reason = reason[:_REASON_WIDTH] + "…"
        lines.append((f"{label.upper():<8} {v.id} ({v.clause.level}): {reason}",
                      {"red": label in ("failed", "error"), "yellow": label == "warned"}))
    unselected = sum(not v.selected for v in verdicts)
    if unselected:
        lines.append((f"{unselected} clauses not run (not selected or no test): listed as skipped in the reports", {}))
    if reports:
        lines.append((f"reports: {', '.join(str(p) for p in reports)}", {"bold": True}))
    return lines
