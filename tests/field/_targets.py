"""Targets that are not what the suite hopes for, served on loopback: a catch-all JSON server,
one that answers 500 to everything, and the reference fake whose login answers a huge body.

``python -m tests.field._targets huge-login BYTES`` serves the last in its own process, with
``akol_fake.cli.serve`` (the fake's own serving: proxy headers never trusted), so a client
that streams tens of megabytes never competes with the server for the test process's CPU.
"""
from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from akol_fake import create_app
from akol_fake.cli import serve

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_PAD_CHUNK = b"x" * 65536


def answering(status: int, body: dict[str, Any]) -> Starlette:
    """Answers ``status`` with ``body`` to every request, whatever its method and path."""
    async def everything(request: Request) -> Response:
        return JSONResponse(body, status_code=status)

    return Starlette(routes=[Route("/{path:path}", everything, methods=_METHODS)])


def huge_login(size: int, path: str = "/api/v1/auth/login") -> ASGIApp:
    """The reference fake, except that every answer to ``path`` is padded to about ``size`` bytes
    with a ``"padding"`` string field: still valid JSON, streamed, never held in memory."""
    inner = create_app()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != path:
            await inner(scope, receive, send)
            return
        start: Message = {}
        body = bytearray()

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))

        await inner(scope, receive, keep)
        document = json.loads(bytes(body))
        head = json.dumps(document)[:-1].encode() + b', "padding": "'
        chunks = max(1, (size - len(head)) // len(_PAD_CHUNK))
        total = len(head) + chunks * len(_PAD_CHUNK) + 2
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        await send({**start, "headers": [*headers, (b"content-length", str(total).encode())]})

        gone = asyncio.Event()

        async def watch() -> None:
            # A client that read what it wanted and left: stop sending (uvicorn would only log each write).
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.create_task(watch())

        async def pieces() -> AsyncIterator[bytes]:
            yield head
            for _ in range(chunks):
                yield _PAD_CHUNK
            yield b'"}'

        try:
            async for piece in pieces():
                await asyncio.sleep(0)  # lets the watcher see a disconnect between pieces
                if gone.is_set():
                    return
                await send({"type": "http.response.body", "body": piece, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            watcher.cancel()

    return app


if __name__ == "__main__":
    kind, size = sys.argv[1:3]
    if kind != "huge-login":
        raise SystemExit(f"usage: python -m tests.field._targets huge-login BYTES (not {kind!r})")
    serve(huge_login(int(size)))
