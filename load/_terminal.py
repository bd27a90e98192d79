"""The summary table printed at the end of a run: per endpoint, the answered, throttled and failed
requests, service time and (open model) response time side by side, and the arrivals."""
from __future__ import annotations

from typing import Any


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def _number(value: float | int | None) -> str:
    return "-" if value is None else f"{value:g}"


def table(summary: dict[str, Any]) -> str:
    open_model = summary["model"] == "open"
    head = f"{'endpoint':<34} {'answered':>8} {'throttled':>9} {'failed':>6}   {'service p50/p95/p99 ms':>22}"
    if open_model:
        head += f"   {'response p50/p95/p99 ms':>23} {'offered/s':>9} {'achieved/s':>10} {'dropped':>7}"
    lines = [head]
    for name, e in summary["endpoints"].items():
        service = "/".join(_ms(e[f"service_p{p}"]) for p in (50, 95, 99))
        line = f"{name[:34]:<34} {e['answered']:>8} {e['throttled']:>9} {e['failures']:>6}   {service:>22}"
        if open_model:
            response = "/".join(_ms(e[f"intended_p{p}"]) for p in (50, 95, 99))
            line += (f"   {response:>23} {_number(e['offered_rps']):>9} {_number(e['achieved_rps']):>10} "
                     f"{_number(e['dropped']):>7}")
        lines.append(line)
    totals = summary["totals"]
    lines.append(f"aggregate, for reference only (throttled included): {totals['requests']} requests, "
                 f"p50/p95/p99 {'/'.join(_ms(totals[f'p{p}']) for p in (50, 95, 99))} ms")
    arrivals = summary["arrivals"]
    if arrivals is not None:
        lines.append(f"arrivals ({arrivals['schedule']}, at most {arrivals['maxInFlight']} in flight): "
                     f"{arrivals['offered']} offered ({_number(arrivals['offered_rps'])}/s), "
                     f"{arrivals['completed']} completed ({_number(arrivals['achieved_rps'])}/s), "
                     f"{arrivals['dropped']} dropped")
    return "\n".join(lines)
