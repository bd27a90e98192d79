"""ASGI wrappers for HTTP-surface mutants: rewrite what the correct fake answered."""
from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from tests.mutants._base import ASGIApp

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


@dataclass
class Answer:
    """A buffered response the editor may change in place."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: str) -> str | None:
        wanted = name.lower().encode("latin-1")
        return next((v.decode("latin-1") for k, v in self.headers if k.lower() == wanted), None)

    def drop_header(self, name: str) -> None:
        wanted = name.lower().encode("latin-1")
        self.headers = [(k, v) for k, v in self.headers if k.lower() != wanted]


Editor = Callable[[Scope, Answer], None]


def rewrite_responses(app: ASGIApp, edit: Editor) -> ASGIApp:
    """Buffer every HTTP response of ``app`` and let ``edit(scope, answer)`` change it before sending."""

    async def wrapped(scope: Scope, receive: Callable[[], Awaitable[Message]],
                      send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    answer = Answer(start["status"], list(start.get("headers", [])), b"".join(chunks))
                    edit(scope, answer)
                    headers = [(k, v) for k, v in answer.headers if k.lower() != b"content-length"]
                    headers.append((b"content-length", str(len(answer.body)).encode()))
                    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
                    await send({"type": "http.response.body", "body": answer.body})
            else:
                await send(message)

        await app(scope, receive, capture)

    wrapped.state = getattr(app, "state", None)  # type: ignore[attr-defined]
    return wrapped


def rewriting(edit: Editor, path: str | None = None) -> Callable[[ASGIApp], ASGIApp]:
    """A ``Mutant.wrap``: ``edit`` every response, or only those of paths ending with ``path``."""
    scoped = edit if path is None else on_path(path, edit)
    return lambda app: rewrite_responses(app, scoped)


def on_path(suffix: str, edit: Editor) -> Editor:
    """``edit`` applied only to requests whose path ends with ``suffix``."""

    def scoped(scope: Scope, answer: Answer) -> None:
        if str(scope.get("path", "")).endswith(suffix):
            edit(scope, answer)

    return scoped


# -- request side ---------------------------------------------------------------------

Receive = Callable[[], Awaitable[Message]]
RequestEditor = Callable[[Scope, bytes], Scope]
_MAX_CHUNKS = 100_000  # a cap on reading one request body (uvicorn sends 64 KiB chunks)


async def read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    for _ in range(_MAX_CHUNKS):
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the already read ``body`` first, then the real messages."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def rewriting_requests(edit: RequestEditor) -> Callable[[ASGIApp], ASGIApp]:
    """A ``Mutant.wrap``: ``edit(scope, body)`` returns the scope the app sees (headers changed,
    say); the body is buffered and replayed unchanged."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Callable[[Message], Awaitable[None]]) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            body = await read_body(receive)
            await app(edit(scope, body), replaying(body, receive), send)

        wrapped.state = getattr(app, "state", None)  # type: ignore[attr-defined]
        return wrapped

    return wrap
