"""A TCP proxy on loopback that misbehaves like a real network: it cuts some connections, or
answers slowly.

Each accepted connection is cut with probability ``cut_ratio``, decided in accept order by a
seeded generator, at one of three points a real network breaks at:

- ``refused``: reset at once, before a byte reaches the server (the request never arrives);
- ``answer-lost``: the request reaches the server, which processes it; the answer is dropped;
- ``truncated``: the first part of the answer is relayed, then the connection is reset.

``script`` fixes the fate of the first connections (``None``: forwarded whole), for tests
that need one exact fault; the seeded draw decides the rest. ``lose_answers=(prefix, n)``
loses the answer to each of the first ``n`` requests that start with ``prefix`` (e.g.
``b"POST /api/v1/count"``), on whatever connection they come: the server processed them.
``delay`` holds each piece of a request that long before it goes on: a slow target.

Threads, not asyncio: a few hundred short connections is all a conformance run opens.
"""
from __future__ import annotations

import random
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

CUTS = ("refused", "answer-lost", "truncated")
_CHUNK = 65536
_BACKLOG = 128


def _reset(sock: socket.socket) -> None:
    """Close with a TCP RST (SO_LINGER 0), as a crashed peer or a middlebox does."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # Wakes the other pump thread's recv(): a socket blocked there is not released by close().
        sock.shutdown(socket.SHUT_RD)
    except OSError:
        pass
    sock.close()


class Proxy:
    """Forwards ``127.0.0.1:<port>`` to ``upstream``; ``url`` is where clients connect."""

    def __init__(self, upstream: str, *, cut_ratio: float = 0.0, seed: int = 0, delay: float = 0.0,
                 script: Sequence[str | None] = (), lose_answers: tuple[bytes, int] = (b"", 0)) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._cut_ratio = cut_ratio
        self._delay = delay
        self._script = list(script)
        self._lose_prefix, self._lose_left = lose_answers
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.connections = 0
        self.cuts: Counter[str] = Counter()
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=_BACKLOG)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._accept_loop, daemon=True, name="proxy-accept")

    def _decide(self) -> str | None:
        with self._lock:
            self.connections += 1
            if self._script:
                cut = self._script.pop(0)
            elif self._random.random() >= self._cut_ratio:
                return None
            else:
                cut = self._random.choice(CUTS)
            if cut is not None:
                self.cuts[cut] += 1
            return cut

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            cut = self._decide()
            if cut == "refused":
                _reset(client)
                continue
            threading.Thread(target=self._serve, args=(client, cut), daemon=True, name="proxy-conn").start()

    def _loses(self, data: bytes) -> bool:
        with self._lock:
            if self._lose_left > 0 and data.startswith(self._lose_prefix):
                self._lose_left -= 1
                self.cuts["answer-lost"] += 1
                return True
            return False

    def _serve(self, client: socket.socket, cut: str | None) -> None:
        try:
            upstream = socket.create_connection(self._upstream, timeout=10)
        except OSError:
            _reset(client)
            return
        upstream.settimeout(None)
        for sock in (client, upstream):
            # Small writes relayed one by one: Nagle plus delayed ACKs would add 40 ms to each.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        done = threading.Event()
        lose = threading.Event()

        def requests() -> None:
            try:
                while not done.is_set():
                    data = client.recv(_CHUNK)
                    if not data:
                        break
                    if self._delay:
                        time.sleep(self._delay)
                    if self._loses(data):
                        lose.set()
                    upstream.sendall(data)
            except OSError:
                pass
            finally:
                done.set()
                try:
                    upstream.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

        forward = threading.Thread(target=requests, daemon=True, name="proxy-requests")
        forward.start()
        try:
            while True:
                data = upstream.recv(_CHUNK)
                if not data:
                    break
                if cut == "answer-lost" or lose.is_set():
                    cut = cut or "answer-lost"
                    break
                if cut == "truncated":
                    client.sendall(data[: max(1, len(data) // 2)])
                    break
                client.sendall(data)
        except OSError:
            pass
        finally:
            done.set()
            if cut is None:
                try:
                    client.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                client.close()
            else:
                _reset(client)
            try:
                upstream.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            upstream.close()

    def start(self) -> Proxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes accept(): close() alone would not
        except OSError:
            pass
        self._listener.close()
        self._thread.join(5)


@contextmanager
def proxy(upstream: str, **options: Any) -> Iterator[Proxy]:
    running = Proxy(upstream, **options).start()
    try:
        yield running
    finally:
        running.stop()
