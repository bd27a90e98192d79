"""The open model (issue 13) against served fakes: stalls show in response time, the rate holds, drops count.

Margins are wide on purpose: the box is two cores shared with other test runs.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from hdrh.histogram import HdrHistogram

from akol_fake.spawn import ServedFake, spawn
from akol_load._fake import FakeServer
from akol_load._gates import GATE_EXIT_CODE
from tests.load._locust import Finished, LocustRun, headless

PAT_AGENTS, LOGIN = "GET /agents [PAT]", "POST /auth/login"
RATE = 40


def _open(*extra: str, seconds: float) -> list[str]:
    return ["--headless", "-t", f"{seconds}s", "--only-summary", *extra]


@pytest.fixture(scope="module")
def stalled() -> Iterator[dict[str, ServedFake]]:
    fakes = {
        # The stall: 2 s every 10 s, so any 20 s holds 4 s of it.
        "every 10 s": spawn("--stall-every", "10", "--stall-for", "2", die_with_parent=True),
        # Stalled two thirds of the time: any run of a few seconds meets a stall.
        "mostly": spawn("--stall-every", "1.5", "--stall-for", "1", die_with_parent=True),
    }
    yield fakes
    for fake in fakes.values():
        fake.stop()


@pytest.fixture(scope="module")
def runs(stalled: dict[str, ServedFake], served_fake: FakeServer,
         tmp_path_factory: pytest.TempPathFactory) -> dict[str, Finished]:
    """All runs at once: each is bound by its run time, so together they take the longest one's."""
    base = tmp_path_factory.mktemp("open")
    stall_url = stalled["every 10 s"].url
    started = {
        "stall, open": LocustRun(base / "stall-open", *_open(
            "PatUser", "--host", stall_url, "--arrival-rate", str(RATE), "--max-in-flight", "150", seconds=20)),
        "stall, closed": LocustRun(base / "stall-closed", *headless("PatUser", "--host", stall_url, users=4,
                                                                      seconds=20)),
        "keeps up": LocustRun(base / "keeps-up", *_open(
            "LoginUser", "--host", served_fake.url, "--arrival-rate", str(RATE), "--max-in-flight", "100", seconds=20)),
        "tiny in-flight": LocustRun(base / "tiny", *_open(
            "PatUser", "--host", stalled["mostly"].url, "--arrival-rate", str(RATE), "--max-in-flight", "2",
            seconds=4)),
        "two processes": LocustRun(base / "two", *_open(
            "PatUser", "--host", served_fake.url, "--processes", "2", "--arrival-rate", str(RATE),
            "--max-in-flight", "10", seconds=5)),
        # No -t: the run ends with its stages (ramp to 20/s over 1 s, hold 2 s).
        "stages": LocustRun(base / "stages", "--headless", "--only-summary", "PatUser", "--host", served_fake.url,
                            "--arrival-stages", "1s:20,2s:20", "--max-in-flight", "10"),
    }
    return {name: run.finish(timeout=120) for name, run in started.items()}


def test_a_stall_shows_in_the_open_models_response_time_and_hides_in_the_closed_loops(
        runs: dict[str, Finished]) -> None:
    open_run, closed_run = runs["stall, open"].summary, runs["stall, closed"].summary
    opened, closed = open_run["endpoints"][PAT_AGENTS], closed_run["endpoints"][PAT_AGENTS]
    # Arrivals during a 2 s stall wait up to 2 s; a fifth of a 20 s run is stalled, so p99 is most of 2 s.
    assert opened["intended_p99"] >= 1500, opened
    assert opened["dropped"] == 0 and open_run["arrivals"]["offered"] >= 0.8 * RATE * 18
    # The closed loop's users sat out each stall with one request apiece, and then fired thousands of quick
    # ones: its p99 hides the stall it lived through.
    assert closed["requests"] > 10 * 4 * 2, closed
    assert closed["p99"] * 3 < opened["intended_p99"], (closed, opened)
    assert closed_run["model"] == "closed" and closed["intended_p99"] is None


def test_the_achieved_rate_stays_within_5_percent_of_the_offered_one_when_the_server_keeps_up(
        runs: dict[str, Finished]) -> None:
    run = runs["keeps up"]
    assert run.returncode == 0, run.output[-3000:]
    arrivals, login = run.summary["arrivals"], run.summary["endpoints"][LOGIN]
    # 100 users in flight ride out a 2.5 s hiccup of this shared box at 40/s; the default 1 % drop gate held.
    assert arrivals["dropRatio"] <= 0.01 and arrivals["schedule"] == f"{RATE}/s"
    assert abs(arrivals["achieved_rps"] - arrivals["offered_rps"]) <= 0.05 * arrivals["offered_rps"], arrivals
    assert abs(arrivals["offered_rps"] - RATE) <= 0.1 * RATE, "the scheduler keeps time"
    assert abs(login["achieved_rps"] - login["offered_rps"]) <= 0.05 * login["offered_rps"], login
    for p in (50, 95, 99):
        assert login[f"intended_p{p}"] >= login[f"service_p{p}"], "lateness only adds to the response time"
    assert "response p50/p95/p99 ms" in run.output and "offered/s" in run.output


def test_arrivals_that_find_every_user_busy_are_dropped_and_counted(runs: dict[str, Finished]) -> None:
    run = runs["tiny in-flight"]
    arrivals = run.summary["arrivals"]
    assert arrivals["dropped"] > 0.2 * arrivals["offered"], arrivals
    # Every arrival is accounted for: completed, dropped, or still in progress at the end (at most 2).
    assert 0 <= arrivals["offered"] - arrivals["dropped"] - arrivals["completed"] <= 2
    assert run.summary["endpoints"][PAT_AGENTS]["dropped"] == arrivals["dropped"]
    assert run.returncode == GATE_EXIT_CODE, run.output[-3000:]
    assert "gate max-drop-ratio FAILED" in run.output


def _count(encoded: str) -> int:
    histogram = HdrHistogram.decode(encoded.encode("ascii"))
    return int(histogram.get_total_count())


def test_two_processes_split_the_rate_and_merge_their_histograms(runs: dict[str, Finished]) -> None:
    run = runs["two processes"]
    assert run.returncode == 0, run.output[-3000:]
    summary = run.summary
    arrivals, by_process = summary["arrivals"], summary["arrivals"]["byProcess"]
    assert summary["processes"] == 2 and set(by_process) == {"w0", "w1"}
    # Each process offers half the rate from its own start (on a busy box one may start a little later).
    rates = [p["offered_rps"] for p in by_process.values()]
    assert all(abs(rate - RATE / 2) <= 0.15 * RATE / 2 for rate in rates), by_process
    assert sum(p["offered"] for p in by_process.values()) == arrivals["offered"]
    assert arrivals["offered_rps"] <= 1.05 * RATE, "the whole test offers the rate, not each process"
    samples = [p["samples"][PAT_AGENTS] for p in by_process.values()]
    merged = summary["histograms"][PAT_AGENTS]
    assert _count(merged["intended"]) == _count(merged["service"]) == sum(samples) == \
        summary["endpoints"][PAT_AGENTS]["answered"]
    assert all(samples)


def test_arrival_stages_ramp_and_end_the_run(runs: dict[str, Finished]) -> None:
    run = runs["stages"]
    assert run.returncode == 0, run.output[-3000:]
    arrivals = run.summary["arrivals"]
    # 10 arrivals on the ramp, 40 while holding 20/s.
    assert 45 <= arrivals["offered"] <= 50 and arrivals["dropped"] == 0, arrivals
    assert "the arrival schedule (to 20/s in 1 s, to 20/s in 2 s) has ended" in run.output


def test_the_html_report_is_written_beside_the_summary(runs: dict[str, Finished]) -> None:
    run = runs["stall, open"]
    page = (run.summary_path.parent / "load-report.html").read_text()
    assert "Offered vs achieved rate" in page and "response p99" in page and page.count("<svg") == 3
