"""The HTML load report: one self-contained page (inline SVG, no script, no network asset).

Three charts over the run: offered vs achieved rate, response-time and service-time
percentiles, errors/throttling/drops; then the verdict, the gates and the endpoint table.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from akol_load._record import Tally, percentiles

WIDTH, HEIGHT, PAD = 900, 240, 48
Line = tuple[str, str, list[float | None]]  # label, colour, one value per interval


def _scale(top: float) -> float:
    """A round upper bound for the y axis."""
    if top <= 0:
        return 1.0
    step = 10 ** len(str(int(top))) / 10
    for factor in (1, 2, 2.5, 5, 10):
        if top <= step * factor:
            return step * factor
    return top


def chart(title: str, unit: str, times: Sequence[float], lines: Sequence[Line]) -> str:
    values = [v for _, _, series in lines for v in series if v is not None]
    top = _scale(max(values, default=0.0))
    span = max(times[-1] - times[0], 1.0) if times else 1.0
    plot_w, plot_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD

    def x(t: float) -> float:
        return PAD + (t - times[0]) / span * plot_w

    def y(v: float) -> float:
        return PAD + plot_h - v / top * plot_h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<text x="{PAD}" y="20" font-weight="bold">{escape(title)}</text>',
             f'<rect x="{PAD}" y="{PAD}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#bbb"/>']
    for fraction in (0, 0.5, 1):
        parts.append(f'<text x="{PAD - 6}" y="{y(top * fraction) + 4:.1f}" text-anchor="end" font-size="11">'
                     f'{top * fraction:g}</text>')
    parts.append(f'<text x="{PAD}" y="{HEIGHT - 14}" font-size="11">0 s</text>'
                 f'<text x="{WIDTH - PAD}" y="{HEIGHT - 14}" font-size="11" text-anchor="end">{span:g} s</text>'
                 f'<text x="{PAD - 6}" y="{PAD - 8}" font-size="11" text-anchor="end">{escape(unit)}</text>')
    for index, (label, colour, series) in enumerate(lines):
        points = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in zip(times, series, strict=True) if v is not None)
        if points:
            # Earlier lines are drawn wider, so a line that runs on top of another leaves it visible.
            width = max(3.2 - 0.8 * index, 1.2)
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="{width:g}" points="{points}"/>')
        parts.append(f'<text x="{PAD + 10 + 150 * index}" y="{HEIGHT - 30}" font-size="12" fill="{colour}">'
                     f'&#9632; {escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def charts(series: Mapping[int, Tally], interval: int, open_model: bool) -> list[str]:
    starts = sorted(series)
    if not starts:
        return ["<p>No request was recorded, so there is nothing to chart.</p>"]
    times = [float(s - starts[0]) for s in starts]
    tallies = [series[s] for s in starts]

    def per_second(name: str) -> list[float | None]:
        return [getattr(t, name) / interval for t in tallies]

    def percentile(kind: str, p: int) -> list[float | None]:
        return [percentiles(getattr(t, kind))[p] for t in tallies]

    rates: list[Line] = [("answered/s", "#1f77b4", per_second("answered"))]
    if open_model:
        rates = [("offered/s", "#999999", per_second("offered")), ("achieved/s", "#2ca02c", per_second("completed")),
                 *rates]
    latency: list[Line] = [("service p50", "#9ecae1", percentile("service", 50)),
                           ("service p99", "#1f77b4", percentile("service", 99))]
    if open_model:
        latency += [("response p50", "#fdae6b", percentile("intended", 50)),
                    ("response p99", "#d62728", percentile("intended", 99))]
    trouble: list[Line] = [("failed/s", "#d62728", per_second("failed")), ("throttled/s", "#ff7f0e",
                                                                           per_second("throttled"))]
    if open_model:
        trouble.append(("dropped/s", "#7f7f7f", per_second("dropped")))
    return [chart("Offered vs achieved rate" if open_model else "Answered rate", "per s", times, rates),
            chart("Latency of answered requests" + (" (response: from the intended start)" if open_model else ""),
                  "ms", times, latency),
            chart("Errors and throttling", "per s", times, trouble)]


def _cell(value: Any) -> str:
    return "-" if value is None else escape(f"{value:g}" if isinstance(value, float) else str(value))


def render(summary: dict[str, Any], series: Mapping[int, Tally], interval: int) -> str:
    open_model = summary["model"] == "open"
    columns = ["requests", "answered", "throttled", "failures", "service_p50", "service_p95", "service_p99"]
    if open_model:
        columns += ["intended_p50", "intended_p95", "intended_p99", "offered_rps", "achieved_rps", "dropped"]
    rows = "".join(f"<tr><th>{escape(name)}</th>" + "".join(f"<td>{_cell(e[c])}</td>" for c in columns) + "</tr>"
                   for name, e in summary["endpoints"].items())
    gates = "".join(f"<tr><td>{escape(g['name'])}</td><td>{_cell(g['endpoint'])}</td><td>{_cell(g['limit'])}</td>"
                    f"<td>{_cell(g['observed'])}</td><td>{_cell(g['samples'])}</td>"
                    f"<td class=\"{escape(g['status'])}\">{escape(g['status'])}</td><td>{_cell(g['why'])}</td></tr>"
                    for g in summary["gates"])
    reason = f"<p>{escape(summary['reason'])}</p>" if summary["reason"] else ""
    arrivals = summary["arrivals"]
    model = (f"open model, {escape(arrivals['schedule'])}, at most {arrivals['maxInFlight']} in flight: "
             f"{arrivals['offered']} arrivals offered, {arrivals['completed']} completed, {arrivals['dropped']} dropped"
             if arrivals else "closed loop (each user waits for its answer before its next request)")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Akol load report</title>
<style>body{{font-family:sans-serif;margin:24px;color:#222}}table{{border-collapse:collapse;margin:12px 0}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}th{{text-align:left}}
.passed{{color:#2ca02c}}.failed{{color:#d62728;font-weight:bold}}.inconclusive{{color:#ff7f0e;font-weight:bold}}
svg{{display:block;margin:12px 0}}</style></head><body>
<h1>Akol load report: <span class="{escape(summary['verdict'])}">{escape(summary['verdict'])}</span></h1>
{reason}<p>{escape(', '.join(summary['profiles']))} against {escape(str(summary['target']['host']))},
{summary['durationSeconds']} s, {summary['processes']} process(es); {model}.
Latencies are of answered, non-throttled requests; response time counts from when the request was due.</p>
{''.join(charts(series, interval, open_model))}
<h2>Gates</h2><table><tr><th>gate</th><th>endpoint</th><th>limit</th><th>observed</th><th>samples</th>
<th>status</th><th>why</th></tr>{gates}</table>
<h2>Endpoints</h2><table><tr><th>endpoint</th>{''.join(f'<th>{c}</th>' for c in columns)}</tr>{rows}</table>
</body></html>
"""
