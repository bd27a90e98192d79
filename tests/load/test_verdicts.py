"""The pure parts of measuring and judging a run: schedules, histograms, per-endpoint gates, verdicts, reports."""
from __future__ import annotations

import itertools
import random
import re
from pathlib import Path

import pytest

from akol_load._gates import GATE_EXIT_CODE, INCONCLUSIVE_EXIT_CODE, MIN_SAMPLES, evaluate, verdict
from akol_load._options import LatencyLimits, LoadSettings
from akol_load._record import Recorder, histogram, percentiles
from akol_load._report import render
from akol_load._schedule import Schedule, ScheduleError, parse_rate, parse_stages
from akol_load._summary import build
from akol_load._terminal import table
from akol_load.cli import locust_argv

LOGIN = "POST /auth/login"


def _settings(**overrides: object) -> LoadSettings:
    base = dict(accounts_file=None, pat=None, pats_file=None, throttle_is_failure=False, p95_ms=None,
                max_fail_ratio=None, max_throttle_ratio=0.2, schedule=None, max_in_flight=100, max_drop_ratio=0.01,
                think_time=0.0, replay_every=10, summary_file=Path("s.json"), report_file=Path("r.html"),
                fake_hash_iterations=1000, step_users=5, step_seconds=10.0, step_max_users=100,
                step_p95_ms=250.0, step_max_fail_ratio=0.01)
    return LoadSettings(**{**base, **overrides})  # type: ignore[arg-type]


def _requests(recorder: Recorder, name: str, count: int, ms: float, *, lag_ms: float | None = None,
              throttled: bool = False, at: float = 1000.0) -> None:
    for _ in range(count):
        recorder.request(f"{name} [429 throttled]" if throttled else name, at=at, service_ms=ms, lag_ms=lag_ms,
                         answered=True, failed=False)


# -- schedules -------------------------------------------------------------------------------------

def test_a_constant_rate_is_split_across_shares_without_losing_or_doubling_an_arrival() -> None:
    whole = list(itertools.islice(parse_rate("40").due(), 80))
    shares = [list(itertools.takewhile(lambda t: t <= whole[-1], parse_rate("40").due(i, 3))) for i in range(3)]
    assert whole[:3] == [0.025, 0.05, 0.075]
    assert sorted(itertools.chain(*shares)) == whole
    assert [len(s) for s in shares] == [27, 27, 26]


def test_stages_ramp_linearly_and_offer_the_integral_of_the_rate() -> None:
    schedule = parse_stages("10s:10,10s:10,5s:0")
    due = list(schedule.due())
    assert schedule.seconds == 25 and len(due) == 50 + 100 + 25
    assert due == sorted(due) and due[-1] <= 25
    assert sum(1 for t in due if t <= 10) == 50  # the ramp 0 -> 10/s offers half of a full 10 s at 10/s
    assert due[49] == pytest.approx(10.0)
    assert sorted(list(schedule.due(0, 2)) + list(schedule.due(1, 2))) == due


@pytest.mark.parametrize(("text", "fragment"), [
    ("fast", "stage 1 'fast' is not DURATION:RATE"),
    ("30s:10,2x:5", "stage 2 '2x:5' is not DURATION:RATE"),
    ("0s:5", "lasts no time"),
    ("10s:0,5s:0", "never offers an arrival"),
])
def test_bad_stages_say_what_form_is_expected(text: str, fragment: str) -> None:
    with pytest.raises(ScheduleError, match=re.escape(fragment)):
        parse_stages(text)


@pytest.mark.parametrize("text", ["0", "-5", "lots", "inf"])
def test_a_bad_rate_says_what_is_expected(text: str) -> None:
    with pytest.raises(ScheduleError, match="--arrival-rate: expected"):
        parse_rate(text)


# -- --p95-ms --------------------------------------------------------------------------------------

def test_latency_limits_take_a_bare_number_names_or_both() -> None:
    assert LatencyLimits.parse("300").limit_for("GET /agents") == 300
    limits = LatencyLimits.parse("login=500, refresh=200,GET /agents=50")
    assert limits.per_endpoint == {LOGIN: 500, "POST /auth/refresh": 200, "GET /agents": 50}
    assert limits.limit_for("POST /auth/logout") is None
    mixed = LatencyLimits.parse("300,login=500")
    assert (mixed.limit_for(LOGIN), mixed.limit_for("POST /auth/logout")) == (500, 300)


@pytest.mark.parametrize(("text", "fragment"), [
    ("fast", "'fast' is not a limit in ms"),
    ("login=0", "'login=0' is not a limit in ms"),
    ("signup=100", "unknown endpoint 'signup'; expected one of login, verify-2fa, refresh, logout, agents"),
])
def test_bad_latency_limits_name_the_form(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)):
        LatencyLimits.parse(text)


# -- histograms --------------------------------------------------------------------------------------

def test_worker_histograms_merge_exactly_not_by_averaging_percentiles() -> None:
    rng = random.Random(7)
    values = [rng.lognormvariate(1.5, 1.2) for _ in range(5000)]
    alone, workers, master = Recorder(), [Recorder(), Recorder()], Recorder()
    for index, value in enumerate(values):
        alone.request(LOGIN, at=1000, service_ms=value, lag_ms=value / 2, answered=True, failed=False)
        workers[index % 2].request(LOGIN, at=1000, service_ms=value, lag_ms=value / 2, answered=True, failed=False)
    for number, worker in enumerate(workers):
        worker.label = f"w{number}"
        master.merge(worker.export())
    merged, single = master.endpoints[LOGIN], alone.endpoints[LOGIN]
    assert merged.service.get_total_count() == len(values) == sum(p.samples[LOGIN] for p in master.processes.values())
    assert percentiles(merged.service) == percentiles(single.service)
    assert percentiles(merged.intended) == percentiles(single.intended)
    assert workers[0].endpoints == {}, "an export starts the worker afresh"


def test_throttled_requests_are_counted_but_never_timed() -> None:
    recorder = Recorder()
    _requests(recorder, LOGIN, 30, 300.0)
    _requests(recorder, LOGIN, 3000, 1.0, throttled=True)
    recorder.request(LOGIN, at=1000, service_ms=60_000, lag_ms=None, answered=False, failed=True)  # no answer
    login = recorder.endpoints[LOGIN]
    assert (login.requests, login.answered, login.throttled, login.failed) == (3031, 30, 3000, 1)
    assert percentiles(login.service)[95] == pytest.approx(300, rel=0.01)


def test_values_past_an_hour_are_clamped_not_lost() -> None:
    latencies = histogram()
    recorder = Recorder()
    recorder.request(LOGIN, at=0, service_ms=5e9, lag_ms=None, answered=True, failed=False)
    latencies.add(recorder.endpoints[LOGIN].service)
    assert latencies.get_total_count() == 1


# -- gates and verdicts -------------------------------------------------------------------------------

def test_the_p95_gate_judges_answered_logins_not_the_aggregate_the_429s_flatten() -> None:
    recorder = Recorder()
    _requests(recorder, LOGIN, 40, 390.0)
    _requests(recorder, LOGIN, 5, 2.0, throttled=True)
    results = evaluate(recorder.endpoints, _settings(p95_ms=LatencyLimits.parse("100")))
    p95, throttle = results
    assert (p95.status, p95.endpoint, p95.samples) == ("failed", LOGIN, 40) and p95.observed == pytest.approx(390, 0.01)
    assert throttle.status == "passed" and throttle.observed == pytest.approx(5 / 45, abs=1e-3)
    judged = verdict(results)
    assert judged.status == "failed" and judged.exit_code == GATE_EXIT_CODE
    assert "gate p95-ms [POST /auth/login] FAILED: observed 390" in str(judged.reason)


def test_a_run_that_measured_the_limiter_is_inconclusive_with_the_fixes() -> None:
    recorder = Recorder()
    _requests(recorder, LOGIN, 20, 50.0)
    _requests(recorder, LOGIN, 18725, 1.0, throttled=True)
    judged = verdict(evaluate(recorder.endpoints, _settings(p95_ms=LatencyLimits.parse("100"))))
    assert judged.status == "inconclusive" and judged.exit_code == INCONCLUSIVE_EXIT_CODE
    reason = str(judged.reason)
    assert "18725 of 18745 answers were 429/423: the run measured the rate limiter" in reason
    assert all(fix in reason for fix in ("more source IPs", "allow-lists", "fewer login-heavy", "RefreshUser/PatUser"))


def test_throttle_is_failure_leaves_the_throttling_to_the_fail_ratio_gate() -> None:
    recorder = Recorder()
    _requests(recorder, LOGIN, 50, 1.0, throttled=True)
    assert evaluate(recorder.endpoints, _settings(throttle_is_failure=True)) == []


def test_too_few_answered_requests_make_the_gate_inconclusive_not_passed() -> None:
    recorder = Recorder()
    _requests(recorder, LOGIN, MIN_SAMPLES - 1, 10.0)
    _requests(recorder, "POST /auth/refresh", 500, 10.0)
    results = evaluate(recorder.endpoints, _settings(p95_ms=LatencyLimits.parse("login=500,refresh=200")))
    assert {(g.endpoint, g.status) for g in results} == {(LOGIN, "inconclusive"), ("POST /auth/refresh", "passed")}
    judged = verdict(results)
    assert judged.status == "inconclusive" and "19 answered request(s), fewer than the 20" in str(judged.reason)
    assert "run longer" in str(judged.reason)


def test_a_named_endpoint_the_run_never_sent_is_inconclusive() -> None:
    recorder = Recorder()
    _requests(recorder, "POST /auth/refresh", 50, 10.0)
    results = evaluate(recorder.endpoints, _settings(p95_ms=LatencyLimits.parse("login=500")))
    assert [(g.endpoint, g.status, g.why) for g in results] == [
        (LOGIN, "inconclusive", "the run sent this endpoint no request")]


def test_bracketed_names_are_judged_as_their_endpoint() -> None:
    recorder = Recorder()
    _requests(recorder, "GET /agents", 15, 10.0)
    _requests(recorder, "GET /agents [after logout]", 10, 30.0)
    [gate] = evaluate(recorder.endpoints, _settings(p95_ms=LatencyLimits.parse("agents=20")))
    assert gate.endpoint == "GET /agents" and gate.samples == 25 and gate.status == "failed"


def test_open_runs_gate_response_time_from_the_intended_start_and_count_drops() -> None:
    recorder = Recorder()
    _requests(recorder, LOGIN, 100, 10.0, lag_ms=500.0)
    for dropped in [False] * 90 + [True] * 10:
        recorder.arrival(LOGIN, due=1000, dropped=dropped)
    schedule = parse_rate("50")
    p95, drops = evaluate(recorder.endpoints, _settings(p95_ms=LatencyLimits.parse("100"), schedule=schedule))
    assert p95.status == "failed" and p95.observed == pytest.approx(510, rel=0.01), "service time alone is 10 ms"
    assert (drops.name, drops.status, drops.observed) == ("max-drop-ratio", "failed", 0.1)


def test_drops_while_users_wait_out_the_limiter_are_not_blamed_on_the_target() -> None:
    recorder = Recorder()
    _requests(recorder, LOGIN, 5, 10.0)
    _requests(recorder, LOGIN, 50, 1.0, throttled=True)
    for dropped in [False] * 10 + [True] * 90:
        recorder.arrival(LOGIN, due=1000, dropped=dropped)
    results = evaluate(recorder.endpoints, _settings(schedule=parse_rate("50")))
    assert [g.status for g in results] == ["inconclusive", "inconclusive"]
    assert verdict(results).status == "inconclusive"


def test_failed_beats_inconclusive_beats_passed() -> None:
    recorder = Recorder()
    _requests(recorder, LOGIN, 30, 500.0)
    _requests(recorder, LOGIN, 30, 1.0, throttled=True)
    assert verdict(evaluate(recorder.endpoints, _settings(p95_ms=LatencyLimits.parse("100")))).status \
        == "failed"
    assert verdict(evaluate(recorder.endpoints, _settings(p95_ms=LatencyLimits.parse("1000")))).status \
        == "inconclusive"
    assert verdict(evaluate(recorder.endpoints, _settings(max_throttle_ratio=0.5))).status == "passed"
    assert verdict([]).exit_code is None


# -- summary, terminal table, HTML report ------------------------------------------------------------

class _Stats:
    """The few parts of Locust's RequestStats the summary reads."""

    class total:  # noqa: N801 - mirrors RequestStats.total
        num_requests, num_failures, fail_ratio, start_time, last_request_timestamp = 200, 0, 0.0, 1000.0, 1010.0

        @staticmethod
        def get_response_time_percentile(percent: float) -> float:
            return 5.0

    errors: dict[str, object] = {}


def _open_summary() -> tuple[dict[str, object], Recorder]:
    recorder = Recorder()
    for second in range(10):
        _requests(recorder, LOGIN, 20, 5.0, lag_ms=1.0 + 100 * (second == 4), at=1000.0 + second)
        for _ in range(20):
            recorder.arrival(LOGIN, due=1000.0 + second, dropped=False)
            recorder.completed(LOGIN, at=1000.0 + second)
    recorder.offering(1000.0, 1010.0)
    settings = _settings(p95_ms=LatencyLimits.parse("300"), schedule=Schedule(rate=20))
    gates = evaluate(recorder.endpoints, settings)
    summary = build(stats=_Stats, run=recorder, host="http://127.0.0.1:1", auto_started_pid=None,  # type: ignore
                    profiles=["LoginUser"], processes=1, started=1000.0, gates=gates, verdict=verdict(gates),
                    exit_code=0, claims=[], step=None, open_model={"schedule": "20/s", "max_in_flight": 10})
    return summary, recorder


def test_the_summary_gives_both_latencies_and_the_arrivals_per_endpoint() -> None:
    summary, _ = _open_summary()
    login = summary["endpoints"][LOGIN]  # type: ignore[index]
    assert login["offered_rps"] == login["achieved_rps"] == 20 and login["dropped"] == 0
    assert login["service_p50"] == pytest.approx(5, rel=0.01) and login["intended_p50"] == pytest.approx(6, rel=0.01)
    assert login["p99"] == login["intended_p99"] >= 100
    assert summary["arrivals"]["offered"] == 200 and summary["verdict"] == "passed"  # type: ignore[index]


def test_the_terminal_table_shows_service_and_response_time_side_by_side() -> None:
    summary, _ = _open_summary()
    text = table(summary)
    assert "service p50/p95/p99 ms" in text and "response p50/p95/p99 ms" in text and "offered/s" in text
    row = next(line for line in text.splitlines() if line.startswith(LOGIN))
    assert "5.0/5.0/5.0" in row and "6.0/106/106" in row and " 20 " in row


def test_the_html_report_is_one_self_contained_page_with_three_charts() -> None:
    summary, recorder = _open_summary()
    page = render(summary, recorder.series, recorder.interval)
    assert page.count("<svg") == 3
    for title in ("Offered vs achieved rate", "Latency of answered requests", "Errors and throttling"):
        assert title in page
    assert not re.search(r"<script|<link|src=|url\(|@import", page), "no external asset, no script"
    # The only addresses: the SVG namespace (a name, never fetched) and the target the page reports on.
    assert set(re.findall(r"https?://[^\"'<,\s]+", page)) == {"http://www.w3.org/2000/svg", "http://127.0.0.1:1"}


# -- akol-load -----------------------------------------------------------------------------------------

def test_akol_load_runs_the_installed_locustfile_or_stepfile() -> None:
    argv = locust_argv(["--headless", "-t", "3s", "LoginUser"])
    assert argv[1] == "-f" and Path(argv[2]).name == "locustfile.py" and Path(argv[2]).is_file()
    assert argv[3:] == ["--headless", "-t", "3s", "LoginUser"]
    step = locust_argv(["--step", "PatUser"])
    assert Path(step[2]).name == "stepfile.py" and step[3:] == ["PatUser"]
    with pytest.raises(SystemExit, match="run your own locustfile with `locust -f FILE`"):
        locust_argv(["-f", "mine.py"])
