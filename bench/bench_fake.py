"""Throughput and latency of the served reference fake: GET /agents and POST /auth/refresh.

    .venv/bin/python bench/bench_fake.py [--duration 10] [--connections 32] [--chains 32] [--httpx]
    .venv/bin/python bench/bench_fake.py --compare [--rounds 3]

Starts `akol-fake --port 0` (low hash cost, rate limit out of the way), then drives
GET /api/v1/agents and POST /auth/refresh for a fixed duration with wrk (if on PATH; else,
or with --httpx as well, an asyncio httpx generator). Refresh runs many chains in parallel,
each request using the newest refresh token of its chain (wrk: one connection per thread =
one chain, a Lua script carries the token). Prints requests/second, p50/p95 latency and the
server's CPU time per request. Client and server share this machine's cores: req/s and
latency are for the pair; server CPU/request is the fake's own cost.

--compare (wrk only) also serves bench/_plain_app.py, a straightforward starlette + PyJWT
implementation, the same way, alternates fake and plain measurements for --rounds rounds and
prints the medians side by side with the fake/plain ratio (the median of each round's ratio).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from akol_fake.spawn import spawn

API = "/api/v1"
WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("AKOL %d %d %f %f %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""
# One connection per wrk thread, so each thread is one refresh chain: request() sends the
# thread's newest refresh token, response() takes the next one from the answer.
WRK_REFRESH = """
local counter = 0
setup = function(thread)
  counter = counter + 1
  local i = 0
  for line in io.lines(os.getenv("AKOL_TOKENS")) do
    i = i + 1
    if i == counter then thread:set("token", line) end
  end
end
request = function()
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"},
    '{"refreshToken":"' .. token .. '"}')
end
response = function(status, headers, body)
  if status == 200 then token = string.match(body, '"refreshToken":"([^"]+)"') end
end
""" + WRK_DONE


@dataclass
class Figures:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    errors: int
    server_cpu_s: float = 0.0

    def line(self) -> str:
        cpu = self.server_cpu_s * 1000 / self.requests if self.requests else 0.0
        return (f"{self.name:<44} {self.requests / self.seconds:8.1f} req/s   "
                f"p50 {self.p50_ms:7.2f} ms   p95 {self.p95_ms:7.2f} ms   "
                f"server CPU {cpu:5.2f} ms/req   requests {self.requests}   errors {self.errors}")


@dataclass
class Samples:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0

    def figures(self, name: str, seconds: float) -> Figures:
        enough = len(self.latencies) > 1
        cuts = statistics.quantiles(self.latencies, n=100) if enough else [0.0] * 99
        return Figures(name, len(self.latencies), seconds, cuts[49] * 1000, cuts[94] * 1000,
                       self.errors)


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process used so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(pid: int, run: Callable[[], Figures]) -> Figures:
    before = cpu_seconds(pid)
    figures = run()
    figures.server_cpu_s = cpu_seconds(pid) - before
    return figures


@contextmanager
def served(hash_iterations: int) -> Iterator[tuple[str, int]]:
    with spawn("--env", "bench", "--hash-iterations", str(hash_iterations),
               "--rate-limit", "1000000000") as fake:
        yield fake.url, fake.pid


@contextmanager
def served_plain(hash_iterations: int) -> Iterator[tuple[str, int]]:
    plain = [sys.executable, str(Path(__file__).with_name("_plain_app.py"))]
    with spawn("--hash-iterations", str(hash_iterations), command=plain) as app:
        yield app.url, app.pid


def new_session(url: str) -> tuple[str, str, dict[str, str]]:
    """(access token, refresh token, account) of a fresh test-control account."""
    with httpx.Client(base_url=url, timeout=10) as client:
        account = client.post("/__test__/users", json={}).json()
        data = client.post(f"{API}/auth/login", json={
            "email": account["email"], "password": account["password"]}).json()["data"]
    return data["token"], data["refreshToken"], account


async def drive(workers: int, seconds: float,
                step: Callable[[httpx.AsyncClient, int], Awaitable[bool]], url: str) -> Samples:
    """`workers` loops calling `step(client, worker)` until the time is up; step says ok."""
    samples = Samples()
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:

        async def loop(worker: int) -> None:
            while (start := time.perf_counter()) < deadline:
                ok = await step(client, worker)
                samples.latencies.append(time.perf_counter() - start)
                samples.errors += 0 if ok else 1

        await asyncio.gather(*(loop(i) for i in range(workers)))
    return samples


def bench_agents_httpx(url: str, workers: int, seconds: float) -> Figures:
    token = new_session(url)[0]
    headers = {"Authorization": f"Bearer {token}"}

    async def step(client: httpx.AsyncClient, _: int) -> bool:
        return (await client.get(f"{API}/agents", headers=headers)).status_code == 200

    samples = asyncio.run(drive(workers, seconds, step, url))
    return samples.figures(f"GET /agents (httpx asyncio, {workers} conns)", seconds)


def run_wrk(name: str, url: str, threads: int, connections: int, seconds: float, script: str,
            headers: list[str], env: dict[str, str] | None = None) -> Figures:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script)
    try:
        command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(seconds)}s", "-s", lua.name]
        for header in headers:
            command += ["-H", header]
        result = subprocess.run([*command, url], capture_output=True, text=True,
                                timeout=seconds + 60, env={**os.environ, **(env or {})})
    finally:
        os.unlink(lua.name)
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("AKOL ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no summary (exit {result.returncode}): "
                         f"{result.stderr[-300:]}")
    requests, micros, p50, p95, errors = line.split()[1:]
    return Figures(name, int(requests), int(micros) / 1e6, float(p50) / 1000, float(p95) / 1000,
                   int(errors))


def bench_agents_wrk(url: str, connections: int, seconds: float) -> Figures:
    token = new_session(url)[0]
    return run_wrk(f"GET /agents (wrk, {connections} conns)", f"{url}{API}/agents", 2,
                   connections, seconds, WRK_DONE, [f"Authorization: Bearer {token}"])


def bench_refresh_wrk(url: str, chains: int, seconds: float) -> Figures:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as tokens:
        tokens.write("".join(new_session(url)[1] + "\n" for _ in range(chains)))
    try:
        return run_wrk(f"POST /auth/refresh (wrk, {chains} chains)", f"{url}{API}/auth/refresh",
                       chains, chains, seconds, WRK_REFRESH, [], {"AKOL_TOKENS": tokens.name})
    finally:
        os.unlink(tokens.name)


def bench_refresh(url: str, chains: int, seconds: float) -> Figures:
    tokens = [new_session(url)[1] for _ in range(chains)]

    async def step(client: httpx.AsyncClient, chain: int) -> bool:
        response = await client.post(f"{API}/auth/refresh", json={"refreshToken": tokens[chain]})
        if response.status_code != 200:
            tokens[chain] = (await asyncio.to_thread(new_session, url))[1]  # restarts; counted as an error
            return False
        tokens[chain] = response.json()["data"]["refreshToken"]
        return True

    samples = asyncio.run(drive(chains, seconds, step, url))
    return samples.figures(f"POST /auth/refresh (httpx asyncio, {chains} chains)", seconds)


def compare(args: argparse.Namespace) -> None:
    """Fake and plain app, measured alternately; the medians of each side and their ratio."""
    with served(args.hash_iterations) as fake, served_plain(args.hash_iterations) as plain:
        print(f"fake at {fake[0]}, plain at {plain[0]}; {args.rounds} rounds of {args.duration:g} s; "
              f"{os.cpu_count()} CPUs shared by client and servers", flush=True)
        benches = {"GET /agents": lambda url: bench_agents_wrk(url, args.connections, args.duration),
                   "POST /auth/refresh": lambda url: bench_refresh_wrk(url, args.chains, args.duration)}
        runs: dict[tuple[str, str], list[Figures]] = {}
        for _ in range(args.rounds):
            for what, bench in benches.items():
                for side, (url, pid) in (("fake", fake), ("plain", plain)):
                    figures = measured(pid, lambda: bench(url))
                    figures.name = f"{side} {figures.name}"
                    print(figures.line(), flush=True)
                    runs.setdefault((what, side), []).append(figures)
    # The ratio is the median of each round's own ratio: the two runs of a round are adjacent,
    # so load from other processes on the machine cancels out best there.
    print(f"\nmedians of {args.rounds}     fake req/s  p95 ms   plain req/s  p95 ms   fake/plain")
    for what in benches:
        fake_runs, plain_runs = runs[what, "fake"], runs[what, "plain"]
        ratio = statistics.median(f.requests / f.seconds / (p.requests / p.seconds)
                                  for f, p in zip(fake_runs, plain_runs))
        print(f"{what:<20} {statistics.median(f.requests / f.seconds for f in fake_runs):12.1f} "
              f"{statistics.median(f.p95_ms for f in fake_runs):7.2f} "
              f"{statistics.median(p.requests / p.seconds for p in plain_runs):13.1f} "
              f"{statistics.median(p.p95_ms for p in plain_runs):7.2f}   {ratio:9.2f}x", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=32, help="concurrent GET /agents")
    parser.add_argument("--chains", type=int, default=32, help="parallel refresh chains")
    parser.add_argument("--hash-iterations", type=int, default=1000)
    parser.add_argument("--httpx", action="store_true",
                        help="also measure with the asyncio httpx generator (client-bound: "
                             "one Python process drives all connections)")
    parser.add_argument("--compare", action="store_true",
                        help="also serve bench/_plain_app.py and compare (wrk, alternating runs)")
    parser.add_argument("--rounds", type=int, default=3, help="--compare: runs per side and endpoint")
    args = parser.parse_args(argv)
    if args.compare:
        if not shutil.which("wrk"):
            raise SystemExit("--compare needs wrk on PATH (apt-get install wrk)")
        compare(args)
        return 0
    with served(args.hash_iterations) as (url, pid):
        print(f"fake at {url}; {args.duration:g} s per measurement; {os.cpu_count()} CPUs "
              "shared by client and server", flush=True)
        runs: list[Callable[[], Figures]] = []
        if shutil.which("wrk"):
            runs.append(lambda: bench_agents_wrk(url, args.connections, args.duration))
            runs.append(lambda: bench_refresh_wrk(url, args.chains, args.duration))
        else:
            print("wrk not on PATH (apt-get install wrk): using the httpx generator", flush=True)
        if args.httpx or not runs:
            runs.append(lambda: bench_agents_httpx(url, args.connections, args.duration))
            runs.append(lambda: bench_refresh(url, args.chains, args.duration))
        results = [measured(pid, run) for run in runs]
    for figures in results:
        print(figures.line(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
