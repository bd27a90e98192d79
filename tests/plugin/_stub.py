"""A tiny stand-in for the Akol API, for plugin tests that need no real auth behaviour."""
from __future__ import annotations

import threading
import time

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SLOW_SECONDS = 0.2


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.now = 1_764_086_400.0
        self.advanced: list[float] = []
        self.limited_seen: set[str] = set()
        self.counts: dict[str, int] = {}
        self.clock_faults = 0


def create_app(env: str = "production", *, test_control: bool = True, always_429: bool = False,
               clock_faults: int = 0) -> Starlette:
    """``clock_faults``: how many times GET /__test__/clock answers 503 before it works (-1: always)."""
    state = _State()

    async def agents(request: Request) -> Response:
        if request.headers.get("authorization") != "Bearer good-token-of-the-stub":
            return JSONResponse({"success": False, "error": {"message": "No bearer token"}}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        return JSONResponse({"success": True, "data": []})

    async def ip(request: Request) -> Response:
        return JSONResponse({"ip": request.client.host if request.client else None})

    async def boom(request: Request) -> Response:
        return JSONResponse({"error": "boom"}, status_code=500)

    async def slow(request: Request) -> Response:
        with state.lock:
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        await anyio.sleep(float(request.query_params.get("seconds", SLOW_SECONDS)))
        with state.lock:
            state.in_flight -= 1
        return JSONResponse({"max_in_flight": state.max_in_flight})

    async def limited(request: Request) -> Response:
        key = request.client.host if request.client else "?"
        if always_429 or key not in state.limited_seen:
            state.limited_seen.add(key)
            return JSONResponse({"error": "slow down"}, status_code=429,
                                headers={"Retry-After": "1000" if always_429 else "1"})
        return JSONResponse({"ok": True})

    async def count(request: Request) -> Response:
        with state.lock:
            state.counts[request.method] = state.counts.get(request.method, 0) + 1
            return JSONResponse({"seen": state.counts[request.method]})

    async def clock(request: Request) -> Response:
        if not test_control:
            return JSONResponse({"error": "not found"}, status_code=404)
        if clock_faults < 0 or state.clock_faults < clock_faults:
            state.clock_faults += 1
            return JSONResponse({"error": "unavailable"}, status_code=503)
        if request.method == "POST":
            seconds = float((await request.json())["advance"])
            state.advanced.append(seconds)
            state.now += seconds
        return JSONResponse({"now": state.now}, headers={"Date": time.strftime("%a, %d %b %Y %H:%M:%S GMT")})

    async def advanced(request: Request) -> Response:
        return JSONResponse({"advanced": state.advanced})

    app = Starlette(routes=[
        Route("/api/v1/agents", agents), Route("/api/v1/ip", ip), Route("/api/v1/boom", boom),
        Route("/api/v1/slow", slow), Route("/api/v1/limited", limited), Route("/api/v1/advanced", advanced),
        Route("/api/v1/count", count, methods=["GET", "POST"]),
        Route("/__test__/clock", clock, methods=["GET", "POST"]),
    ])
    app.state.stub = state
    return app


def no_control_app(env: str = "production") -> Starlette:
    return create_app(env, test_control=False)


def always_429_app(env: str = "production") -> Starlette:
    return create_app(env, test_control=False, always_429=True)


def clock_down_app(env: str = "production") -> Starlette:
    return create_app(env, clock_faults=-1)


def clock_flaky_app(env: str = "production") -> Starlette:
    return create_app(env, clock_faults=2)


def broken_factory(env: str = "production") -> Starlette:
    raise RuntimeError("the stub refuses to build")
