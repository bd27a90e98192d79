"""The straightforward starlette + PyJWT login / refresh / agents that bench_fake.py --compare
measures the fake against: no rate limit, lockout, 2FA, blacklist or envelope checks.

    python bench/_plain_app.py [--hash-iterations 1000]

Served through akol-fake's own `serve()` (same uvicorn settings); prints `plain serving URL`.
POST /__test__/users provisions an account the way the fake's test control does.
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import secrets
import sys
import threading
import time
from typing import Any

import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from akol_fake.cli import serve

KEY = os.urandom(32)
ACCESS_TTL, REFRESH_TTL = 900, 604800


def _hash(password: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)


def _denied(message: str = "Invalid or expired token") -> JSONResponse:
    return JSONResponse({"success": False, "error": {"code": "invalid_token", "message": message}}, 401)


def create_app(iterations: int) -> Starlette:
    users: dict[str, dict[str, Any]] = {}  # email -> {"id", "salt", "hash"}
    heads: dict[str, str] = {}  # session id -> jti of its current refresh token
    lock = threading.Lock()

    def issue(user_id: str, sid: str) -> tuple[str, str]:
        now = int(time.time())
        jti = secrets.token_urlsafe(16)
        heads[sid] = jti
        access = jwt.encode({"sub": user_id, "jti": secrets.token_urlsafe(16), "iat": now,
                             "exp": now + ACCESS_TTL, "typ": "access", "sid": sid}, KEY, "HS256")
        refresh = jwt.encode({"sub": user_id, "jti": jti, "iat": now, "exp": now + REFRESH_TTL,
                              "typ": "refresh", "sid": sid}, KEY, "HS256")
        return access, refresh

    def session(user_id: str, sid: str) -> JSONResponse:
        access, refresh = issue(user_id, sid)
        return JSONResponse({"success": True, "data": {"user": {"id": user_id}, "token": access,
                                                      "refreshToken": refresh}})

    async def provision(request: Request) -> JSONResponse:
        email, password = f"user-{secrets.token_hex(8)}@akol.test", secrets.token_urlsafe(18)
        salt = os.urandom(16)
        users[email] = {"id": f"user_{secrets.token_hex(8)}", "salt": salt,
                        "hash": _hash(password, salt, iterations)}
        return JSONResponse({"email": email, "password": password}, 201)

    async def login(request: Request) -> JSONResponse:
        body = await request.json()
        user = users.get(str(body.get("email")))
        if user is None or not hmac.compare_digest(
                _hash(str(body.get("password")), user["salt"], iterations), user["hash"]):
            return JSONResponse({"success": False, "error": {"code": "invalid_credentials"}}, 401)
        return session(user["id"], f"sid_{secrets.token_urlsafe(12)}")

    async def refresh(request: Request) -> JSONResponse:
        body = await request.json()
        try:
            claims = jwt.decode(str(body.get("refreshToken")), KEY, algorithms=["HS256"])
        except jwt.InvalidTokenError:
            return _denied()
        if claims.get("typ") != "refresh":
            return _denied()
        with lock:  # rotation: only the session's current refresh token is accepted
            if heads.get(claims["sid"]) != claims["jti"]:
                heads.pop(claims["sid"], None)
                return _denied()
            return session(claims["sub"], claims["sid"])

    async def agents(request: Request) -> JSONResponse:
        header = request.headers.get("authorization", "")
        try:
            claims = jwt.decode(header.removeprefix("Bearer "), KEY, algorithms=["HS256"])
        except jwt.InvalidTokenError:
            return _denied()
        if claims.get("typ") != "access":
            return _denied()
        seed = hashlib.sha256(claims["sub"].encode()).hexdigest()
        return JSONResponse({"success": True, "data": {"agents": [
            {"id": f"agent_{seed[:12]}", "name": "Front desk"},
            {"id": f"agent_{seed[12:24]}", "name": "Sales assistant"}]}})

    return Starlette(routes=[
        Route("/__test__/users", provision, methods=["POST"]),
        Route("/api/v1/auth/login", login, methods=["POST"]),
        Route("/api/v1/auth/refresh", refresh, methods=["POST"]),
        Route("/api/v1/agents", agents, methods=["GET"]),
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hash-iterations", type=int, default=1000)
    args = parser.parse_args(argv)
    serve(create_app(args.hash_iterations), port=0, banner="plain serving {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
